"""APScheduler inside ``capexit serve``: sweeps due timers every few seconds, starts the annual report on 1 December.

The sweep also starts a due annual report (so a server started later in December catches
up, and the simulated clock works); the cron job is the calendar's own trigger.
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from engine.clock import SHANGHAI
from engine.services.annual import start_due_report
from engine.services.timers import sweep

log = logging.getLogger(__name__)


def init_app(app: Flask) -> BackgroundScheduler:
    """Start a background scheduler running the timer sweep (never overlapping itself) and the annual report."""
    ctx = app.extensions["capexit"]

    def run_sweep() -> None:
        result = sweep(ctx)
        if result.fired:
            log.info("timer sweep fired %d timers in %d cases", result.fired, result.cases)
        if result.failed:
            log.error("timer sweep: the timers of cases %s could not be fired; they stay due", result.failed)

    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    scheduler.add_job(run_sweep, "interval", seconds=app.config["CAPEXIT_SWEEP_SECONDS"], id="timer_sweep",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(SHANGHAI))
    scheduler.add_job(lambda: start_due_report(ctx), "cron", month=12, day=1, hour=0, minute=0,
                      id="annual_report", max_instances=1, coalesce=True, misfire_grace_time=None)  # C-4.2
    scheduler.start()
    app.extensions["capexit_scheduler"] = scheduler
    return scheduler

