"""The database tables, one small family per module."""

from .announcements import Announcement
from .annual import AnnualReport, ReportStatus
from .attachments import Attachment
from .audit import AuditEvent
from .base import Base, UTCDateTime
from .cases import Case, CaseStatus, Enterprise
from .definitions import Definition
from .drafts import DefinitionDraft, FormVersion
from .people import ApiToken, Department, User
from .runtime import OpenTask, WaitingTimer
from .settings import ClockState, EnteredArrangement, RestDayOverride

__all__ = [
    "Announcement", "AnnualReport", "ReportStatus", "ApiToken", "Attachment", "AuditEvent", "Base", "Case", "CaseStatus", "ClockState", "Definition", "DefinitionDraft", "Department", "FormVersion",
    "Enterprise", "EnteredArrangement", "OpenTask", "RestDayOverride", "User", "UTCDateTime", "WaitingTimer",
]
