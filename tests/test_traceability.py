"""docs/TRACEABILITY.md names only BPMN elements and tests that exist, and covers every clause of DOMAIN.md."""

import re
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "docs" / "TRACEABILITY.md").read_text(encoding="utf-8")


def test_every_named_element_exists():
    named = re.findall(r"`([a-z_]+)#([A-Za-z0-9_]+)`", TEXT)
    assert len(named) > 40
    for process, element in named:
        tree = etree.parse(str(ROOT / "processes" / f"{process}.bpmn"))
        assert tree.xpath("//*[@id=$i]", i=element), f"{process}#{element} is not in processes/{process}.bpmn"


def test_every_named_test_exists():
    named = re.findall(r"`(test_[a-z_]+\.py)::(test_[A-Za-z0-9_]+)`", TEXT)
    assert len(named) > 20
    for filename, test in named:
        source = (ROOT / "tests" / filename).read_text(encoding="utf-8")
        assert re.search(rf"^def {test}\(", source, re.M), f"{filename}::{test} does not exist"


def test_every_clause_of_the_domain_has_a_row():
    clauses = ["C-2.1", "C-2.2", "C-2.2b", "C-2.3", "C-2.4", "C-2.5", "C-2.6",
               *[f"C-3.{i}" for i in range(1, 9)], "C-4.1", "C-4.2", "C-4.3"]
    rows = {line.split("|")[1].strip() for line in TEXT.splitlines() if line.startswith("| C-")}
    assert set(clauses) <= rows
