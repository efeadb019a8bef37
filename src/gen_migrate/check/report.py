"""The result of ``check``: one case per table per store, as a table, JSON or JUnit XML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CheckCase:
    """One thing checked in one store (a table, or the integrity of the files); empty
    ``problems`` means it agrees."""

    store: str
    name: str
    kind: str
    """``capture`` (generic files vs Postgres), ``parity`` (a store vs Postgres) or
    ``integrity`` (sum file, applied checksums)."""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing differs."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "store": self.store,
            "name": self.name,
            "kind": self.kind,
            "ok": self.ok,
            "problems": list(self.problems),
        }


@dataclass
class CheckReport:
    """Every case, plus what could not be checked and why."""

    cases: list[CheckCase] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every case agrees."""
        return all(c.ok for c in self.cases)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        return {
            "ok": self.ok,
            "cases": [c.to_dict() for c in self.cases],
            "skipped": list(self.skipped),
            "failures": sum(not c.ok for c in self.cases),
        }


def render_table(report: CheckReport) -> str:
    """A plain text table: store, kind, name, result; one line per problem."""
    rows = [("STORE", "CHECK", "TABLE", "RESULT")]
    for c in report.cases:
        rows.append((c.store, c.kind, c.name, "ok" if c.ok else c.problems[0]))
        rows += [("", "", "", p) for p in c.problems[1:]]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
    lines += [f"skipped: {s}" for s in report.skipped]
    failed = sum(not c.ok for c in report.cases)
    lines.append(
        f"{len(report.cases)} checked, {failed} failing"
        + ("" if failed else ": every store agrees")
    )
    return "\n".join(line.rstrip() for line in lines) + "\n"


def to_junit(report: CheckReport) -> str:
    """JUnit XML: one test suite per store, one test case per table (or integrity check)."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="gen-migrate check")
    suites: dict[str, ET.Element] = {}
    for c in report.cases:
        suite = suites.get(c.store)
        if suite is None:
            suite = suites[c.store] = ET.SubElement(root, "testsuite", name=c.store)
        case = ET.SubElement(suite, "testcase", classname=f"{c.store}.{c.kind}", name=c.name)
        if c.problems:
            failure = ET.SubElement(case, "failure", message=c.problems[0], type=c.kind)
            failure.text = "\n".join(c.problems)
    for suite in suites.values():
        cases = list(suite)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for e in cases if e.find("failure") is not None)))
        suite.set("errors", "0")
    root.set("tests", str(len(report.cases)))
    root.set("failures", str(sum(not c.ok for c in report.cases)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
