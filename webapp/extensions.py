"""Integrations, each set up by ``init_app``: the database, the engine context, the scheduler."""

from __future__ import annotations

from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy

from engine.clock import clock_from_config
from engine.context import EngineContext
from engine.db import configure_engine, engine_options, make_session_factory
from engine.models import Base

db = SQLAlchemy(model_class=Base)


def init_app(app: Flask) -> None:
    """Attach the database and an engine context to the app."""
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    db.init_app(app)
    with app.app_context():
        db_engine = configure_engine(db.engine)
        clock = clock_from_config(app.config["CAPEXIT_CLOCK"], db_engine, app.config["CAPEXIT_CLOCK_START"])
        app.extensions["capexit"] = EngineContext(make_session_factory(db_engine), clock)
    if app.config.get("CAPEXIT_SCHEDULER"):
        from webapp import scheduler

        scheduler.init_app(app)


def engine_context() -> EngineContext:
    """The engine context of the current app."""
    return current_app.extensions["capexit"]
