"""Domain errors. Each carries a Chinese and an English message; the web layer picks one and a status."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Problem:
    """One thing wrong with an input: what, and where (field, line and column, element)."""

    message_zh: str
    message_en: str
    field: str | None = None
    line: int | None = None
    element_id: str | None = None
    column: int | None = None

    def as_dict(self, lang: str = "zh") -> dict:
        """Render for JSON in the given language, naming where it is."""
        out: dict = {"message": self.message_en if lang == "en" else self.message_zh}
        if self.field is not None:
            out["field"] = self.field
        if self.line is not None:
            out["line"] = self.line
        if self.column is not None:
            out["column"] = self.column
        if self.element_id is not None:
            out["element_id"] = self.element_id
        return out


@dataclass
class CapexitError(Exception):
    """Base of every refusal the engine gives; nothing was changed when it is raised."""

    message_zh: str
    message_en: str
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message_en

    def message(self, lang: str = "zh") -> str:
        """The headline in the given language."""
        return self.message_en if lang == "en" else self.message_zh


class InvalidInput(CapexitError):
    """The request's data is wrong (400)."""


class DefinitionInvalid(CapexitError):
    """A BPMN upload failed validation (400); ``problems`` name line and element."""


class PermissionDenied(CapexitError):
    """The actor may not do this (403)."""


class NotFound(CapexitError):
    """No such object, or not visible to the actor (404)."""


class Conflict(CapexitError):
    """The object changed or is no longer open (409): reload and try again."""


def invalid(field_name: str | None, zh: str, en: str) -> InvalidInput:
    """An InvalidInput with one problem on one field."""
    return InvalidInput(zh, en, [Problem(zh, en, field=field_name)])
