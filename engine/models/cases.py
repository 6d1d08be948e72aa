"""Enterprises and their cases (one case per finding)."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


class CaseStatus(enum.StrEnum):
    """Where a case stands: running, or ended one of two ways."""

    OPEN = "open"
    COMPLIANT = "compliant"
    EXITED = "exited"


class Enterprise(Base):
    """A regulated enterprise, keyed by its unified social credit code."""

    __tablename__ = "enterprises"

    credit_code: Mapped[str] = mapped_column(sa.String(18), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    county: Mapped[str] = mapped_column(sa.String(100), default="")
    industry: Mapped[str] = mapped_column(sa.String(32))
    address: Mapped[str] = mapped_column(sa.String(300), default="")


class Case(Base):
    """A running or ended statutory procedure; ``state`` is the workflow instance without its spec."""

    __tablename__ = "cases"
    __table_args__ = (sa.Index("ix_cases_status_overdue", "status", "overdue"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("definitions.id"), index=True)
    called_definitions: Mapped[str] = mapped_column(sa.Text, default="[]")
    dimension: Mapped[str] = mapped_column(sa.String(32), index=True)
    # None for a run of the annual report (dimension "annual_report"), which concerns no enterprise
    enterprise_code: Mapped[str | None] = mapped_column(sa.ForeignKey("enterprises.credit_code"), index=True)
    lead_department: Mapped[str] = mapped_column(sa.ForeignKey("departments.code"), index=True)
    status: Mapped[CaseStatus] = mapped_column(
        sa.Enum(CaseStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        index=True,
    )
    notice_date: Mapped[date]
    deadline: Mapped[date | None]
    deadline_rule: Mapped[str | None] = mapped_column(sa.Text)
    deadline_rule_en: Mapped[str | None] = mapped_column(sa.Text)
    overdue: Mapped[bool] = mapped_column(default=False)
    finding: Mapped[str] = mapped_column(sa.Text, default="{}")
    state: Mapped[str] = mapped_column(sa.Text)
    serializer_version: Mapped[str] = mapped_column(sa.String(16))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __mapper_args__ = {"version_id_col": version}

    @hybrid_method
    def period_ran_out(self, today: date) -> bool:
        """Open, with the last day of its running period before ``today``: overdue, as the board, the inboxes and the
        statistics count it, while the step that holds the period (an extension review, a stop order in preparation)
        is not yet done and no timer has fired (``overdue``)."""
        return self.status == CaseStatus.OPEN and self.deadline is not None and self.deadline < today

    @period_ran_out.inplace.expression
    @classmethod
    def _period_ran_out(cls, today: date) -> sa.ColumnElement[bool]:
        return sa.and_(cls.status == CaseStatus.OPEN, cls.deadline < today)
