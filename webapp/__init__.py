"""The Flask application: a thin layer over the engine's services."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from webapp import extensions
from webapp.security import SESSION_SETTINGS


class DatabaseInteger(IntegerConverter):
    """``<int:...>`` up to what an INTEGER column holds: a larger id is a 404, not a database overflow (500)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = 2**31 - 1,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides the environment (tests pass their own)."""
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = DatabaseInteger
    configure_settings(app, config or {})
    extensions.init_app(app)
    from webapp import auth, i18n, pages, security
    from webapp.api import api

    app.register_blueprint(api)
    for integration in (i18n, security, auth, pages):
        integration.init_app(app)
    return app


def configure_settings(app: Flask, overrides: dict[str, Any]) -> None:
    """Read the contract's environment variables, then apply overrides."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=os.environ.get("CAPEXIT_DATABASE_URL") or f"sqlite:///{instance / 'capexit.db'}",
        SECRET_KEY=os.environ.get("CAPEXIT_SECRET_KEY") or _instance_secret(instance),
        CAPEXIT_CLOCK=os.environ.get("CAPEXIT_CLOCK", "system"),
        CAPEXIT_CLOCK_START=os.environ.get("CAPEXIT_CLOCK_START"),
        CAPEXIT_SWEEP_SECONDS=float(os.environ.get("CAPEXIT_SWEEP_SECONDS", "1")),
        CAPEXIT_SCHEDULER=False,
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=11 * 1024 * 1024,  # attachments: 10 MB plus form overhead
    )
    app.config.update(SESSION_SETTINGS)
    app.config.update(overrides)


def _instance_secret(instance: Path) -> str:
    """A random secret kept in the instance folder, so sessions survive restarts."""
    path = instance / "secret_key"
    try:  # O_EXCL: of several workers starting at once, exactly one writes the key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    for _ in range(50):  # another worker may still be writing it
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty: delete it or set CAPEXIT_SECRET_KEY")
