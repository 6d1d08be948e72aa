"""The Flask application: a thin layer over the engine's services."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from webapp import extensions


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides the environment (tests pass their own)."""
    app = Flask(__name__, instance_relative_config=True)
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
    app.config.update(overrides)


def _instance_secret(instance: Path) -> str:
    """A random secret kept in the instance folder, so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
