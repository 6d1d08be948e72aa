"""The engine stays free of Flask: importing every engine module must not load it."""

import subprocess
import sys


def test_engine_imports_without_flask():
    code = (
        "import sys, pkgutil, importlib, engine, engine.services\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    if '.migrations' not in m.name: importlib.import_module(m.name)\n"
        "assert 'flask' not in sys.modules, sorted(k for k in sys.modules if k.startswith('flask'))\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
