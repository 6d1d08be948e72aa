"""The WSGI entry point for gunicorn: ``gunicorn webapp.wsgi:app`` (``capexit serve --workers N`` runs it).

Each worker process imports this module after gunicorn forks it (never ``--preload``: the
scheduler's thread and the database connections must belong to the worker), so every worker
has its own app, connection pool, workflow cache and timer scheduler. The scheduler runs in
every worker on purpose: sweeps running at once are safe (a case saved by another sweeper
fails the version check, so each timer fires once), and no worker depends on another staying
alive. ``CAPEXIT_SCHEDULER=0`` leaves it out (e.g. when a separate ``capexit serve`` sweeps).

The schema must be current before the workers start: ``capexit serve`` runs ``capexit init``
once in the master; when gunicorn is started directly, run ``capexit init`` first. Set
``CAPEXIT_SECRET_KEY`` too (otherwise the key kept in ``instance/secret_key`` is shared, and
``capexit init`` creates it before any worker starts).
"""

from __future__ import annotations

import os

from webapp import create_app


def scheduler_wanted() -> bool:
    """Whether this worker runs the timer scheduler (default yes)."""
    return os.environ.get("CAPEXIT_SCHEDULER", "1").strip().lower() not in ("0", "false", "no", "off")


app = create_app({"CAPEXIT_SCHEDULER": scheduler_wanted()})
