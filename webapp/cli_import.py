"""``capexit import FILE.xlsx``: bulk intake from the import template on the command line.

Every row is checked first and its problems printed; then each valid row becomes a case
(its own transaction) behind a progress bar. Exit status 0 when every row was created,
1 when some rows were refused, 2 when the file itself cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.context import SYSTEM
from engine.errors import CapexitError
from engine.services import bulk_import, intake


def _where(field: str | None) -> str:
    labels = {path: zh for _key, (zh, _en, path, _n) in intake.FIELDS.items()}
    return f"{labels[field]}：" if field in labels else ""


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Open one case per valid row of FILE.xlsx (the import template); print each refused row's problems."""
    from webapp.cli import _app, _ctx, _fail

    ctx = _ctx(_app())
    try:
        rows = bulk_import.read_workbook(file.read_bytes())
        checks = bulk_import.check_rows(ctx, SYSTEM, rows)
    except CapexitError as exc:
        _fail(exc)
    refused = 0
    for check in checks:
        if not check.valid:
            refused += 1
            click.echo(f"第 {check.line} 行 / row {check.line}: {check.values.get('name') or '—'}", err=True)
            for p in check.problems:
                click.echo(f"  - {_where(p.field)}{p.message_zh} / {p.message_en}", err=True)
    valid = [c for c in checks if c.valid]
    created: list[tuple[int, int]] = []
    with click.progressbar(valid, label="创建案件 / creating cases", show_pos=True) as bar:
        for check in bar:
            result = bulk_import.create_row(ctx, SYSTEM, check.values)
            if "case_id" in result:
                created.append((check.line, result["case_id"]))
                continue
            refused += 1
            click.echo(f"\n第 {check.line} 行 / row {check.line}:", err=True)
            for zh, en, field in result["errors"]:
                click.echo(f"  - {_where(field)}{zh} / {en}", err=True)
    click.echo(f"已创建 {len(created)} 件案件，{refused} 行未创建 / created {len(created)} cases, "
               f"{refused} rows refused")
    for line, case_id in created:
        click.echo(f"  第 {line} 行 / row {line} -> #{case_id}")
    sys.exit(1 if refused else 0)
