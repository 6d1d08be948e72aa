"""APScheduler inside ``capexit serve``: sweeps due timers every few seconds."""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from engine.clock import SHANGHAI
from engine.services.timers import sweep

log = logging.getLogger(__name__)


def init_app(app: Flask) -> BackgroundScheduler:
    """Start a background scheduler running the timer sweep (one job, never overlapping itself)."""
    ctx = app.extensions["capexit"]

    def run_sweep() -> None:
        result = sweep(ctx)
        if result.fired:
            log.info("timer sweep fired %d timers in %d cases", result.fired, result.cases)

    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    scheduler.add_job(run_sweep, "interval", seconds=app.config["CAPEXIT_SWEEP_SECONDS"], id="timer_sweep",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(SHANGHAI))
    scheduler.start()
    app.extensions["capexit_scheduler"] = scheduler
    return scheduler

