"""A step's name in both languages: the BPMN element's name (Chinese) and its ``nameEn`` property (English)."""

from __future__ import annotations

import functools
from typing import Any


class StepName(str):
    """A step's Chinese name (the string itself, so it joins and compares as before) with its English name, if any."""

    name_en: str | None

    def __new__(cls, name: str, name_en: str | None = None) -> StepName:
        """The name ``name`` carrying ``name_en``."""
        self = super().__new__(cls, name)
        self.name_en = name_en or None
        return self


@functools.lru_cache(maxsize=4096)
def named(name: str, name_en: str | None = None) -> StepName:
    """The one ``StepName`` of (name, English name): a board lists the same few steps thousands of times, and
    building each anew (a string with its own attribute dictionary) was a tenth of the board's time."""
    return StepName(name, name_en)


def english_name(task_spec: Any) -> str | None:
    """The ``nameEn`` property of a BPMN element's task spec, or None when it has none."""
    return getattr(task_spec, "extensions", {}).get("properties", {}).get("nameEn") or None


def step_name(task_spec: Any) -> StepName:
    """A task spec's name (its id when unnamed) with its English name."""
    return StepName(task_spec.bpmn_name or task_spec.bpmn_id, english_name(task_spec))


def in_language(name: str, name_en: str | None, lang: str) -> str:
    """The name to show in ``lang``: the English name in English when there is one, else the Chinese name."""
    return name_en if lang == "en" and name_en else name
