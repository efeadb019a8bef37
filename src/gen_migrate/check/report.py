"""The result of ``check``: one case per table per store, as a table, JSON or JUnit XML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

from gen_migrate.errors import EXIT_FAILED, EXIT_OK, EXIT_REFUSED

KINDS = ("integrity", "capture", "parity")


@dataclass
class CheckCase:
    """One thing checked in one store (a table, or the integrity of the files); empty
    ``problems`` means it agrees."""

    store: str
    name: str
    kind: str
    """``capture`` (generic files vs Postgres), ``parity`` (a store vs its reference) or
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
    """Every case, what could not be checked and why, and the queries each store answered."""

    cases: list[CheckCase] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    reference: str = "Postgres"
    """What the stores were compared with: ``Postgres`` or ``the generic migrations``."""
    queries: dict[str, int | None] = field(default_factory=dict)
    """Introspection queries per store (``postgres`` = the source); None when not countable."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall seconds per part: ``files``, ``postgres`` and each store (open and introspect)."""
    bad_input: bool = False
    """A generic file could not be read (invalid JSON or schema): the check is incomplete."""

    @property
    def ok(self) -> bool:
        """True when every case agrees and the input was readable."""
        return not self.bad_input and all(c.ok for c in self.cases)

    @property
    def failures(self) -> list[CheckCase]:
        """The cases that do not agree."""
        return [c for c in self.cases if not c.ok]

    @property
    def exit_code(self) -> int:
        """0 when everything agrees, 2 when a generic file is unreadable, else 1 (drift)."""
        if self.bad_input:
            return EXIT_REFUSED
        return EXIT_OK if self.ok else EXIT_FAILED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "reference": self.reference,
            "cases": [c.to_dict() for c in self.cases],
            "skipped": list(self.skipped),
            "failures": len(self.failures),
            "queries": dict(self.queries),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def summary(report: CheckReport) -> str:
    """The last line of the human report."""
    failed = len(report.failures)
    line = f"{len(report.cases)} checked, {failed} failing"
    if report.bad_input:
        return line + ": a generic migration could not be read (exit 2)"
    return line + ("" if failed else ": every store agrees")


def render_table(report: CheckReport) -> str:
    """A plain text table: store, check, table, result; one line per problem."""
    rows = [("STORE", "CHECK", "TABLE", "RESULT")]
    for c in report.cases:
        rows.append((c.store, c.kind, c.name, "ok" if c.ok else c.problems[0]))
        rows += [("", "", "", p) for p in c.problems[1:]]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
    lines += [f"skipped: {s}" for s in report.skipped]
    lines.append(summary(report))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def print_table(
    report: CheckReport, file: IO[str] | None = None, *, all_cases: bool = False
) -> None:
    """The human report with rich: failing cases with every problem (every case with
    ``all_cases``), a count of agreeing cases per store, skipped checks and a summary line."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file, soft_wrap=False, width=None if file is None else 200)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    table = Table(title="gen-migrate check", show_lines=False)
    for header in ("store", "check", "table", "result"):
        table.add_column(header, overflow="fold", no_wrap=header != "result")
    shown = report.cases if all_cases else report.failures
    for c in shown:
        result = "[green]ok[/]" if c.ok else "\n".join(f"[red]{_escape(p)}[/]" for p in c.problems)
        table.add_row(c.store, c.kind, _escape(c.name), result)
    agreeing: dict[str, int] = {}
    for c in report.cases:
        if c.ok and not all_cases:
            agreeing[c.store] = agreeing.get(c.store, 0) + 1
    for store, n in agreeing.items():
        table.add_row(store, "", "", f"[green]{n} case(s) agree[/]")
    console.print(table)
    for line in report.skipped:
        console.print(f"[yellow]skipped:[/] {_escape(line)}")
    counted = ", ".join(
        f"{store} {'not counted' if n is None else n}" for store, n in report.queries.items()
    )
    if counted:
        console.print(f"introspection queries: {counted}")
    colour = "green" if report.ok else "red"
    console.print(f"[{colour}]{_escape(summary(report))}[/]")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def to_junit(report: CheckReport) -> str:
    """JUnit XML: one test suite per store, one test case per table (or integrity check);
    a failing case carries every difference in its ``failure`` element."""
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
        suite.set("skipped", "0")
    root.set("tests", str(len(report.cases)))
    root.set("failures", str(len(report.failures)))
    root.set("errors", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
