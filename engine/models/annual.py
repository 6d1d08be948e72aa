"""The annual exit report (C-4.2, C-4.3): one row per year, its primary key making the start happen once."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


class ReportStatus(enum.StrEnum):
    """Where a year's report stands."""

    COLLECTING = "collecting"    # departments confirm their closures
    AGGREGATING = "aggregating"  # industry compiles the report
    APPROVING = "approving"      # the government decides
    PUBLISHED = "published"      # approved and public


class AnnualReport(Base):
    """A year's report: the case running ``annual_report``, its state, and the approved figures as JSON text.

    ``confirmations``: per department, what it confirmed (who, when, rows, corrections);
    ``rows``: the compiled list; ``totals``: the figures of ``rows`` (by industry, county, dimension).
    """

    __tablename__ = "annual_reports"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), unique=True)
    status: Mapped[ReportStatus] = mapped_column(
        sa.Enum(ReportStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmations: Mapped[str] = mapped_column(sa.Text, default="{}")
    rows: Mapped[str] = mapped_column(sa.Text, default="[]")
    totals: Mapped[str] = mapped_column(sa.Text, default="{}")
