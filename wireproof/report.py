"""The contract report: JSON for machines, an implementation x case matrix for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SYMBOLS = {"pass": "pass", "fail": "**FAIL**", "expected-fail": "xfail",
           "not-applicable": "-", "skipped": "skip"}


class Results:
    """Verdicts as the tests finish: ``results[implementation][case]``."""

    def __init__(self, implementations: list[str], cases: list[dict[str, str]]) -> None:
        self.implementations = implementations
        self.cases = cases
        self.results: dict[str, dict[str, dict[str, Any]]] = {
            impl: {c["id"]: {"verdict": "not-applicable", "reason": None, "transcript": []}
                   for c in cases} for impl in implementations}

    def record(self, implementation: str, case: str, verdict: str,
               reason: str | None = None, transcript: list[str] | None = None) -> None:
        if implementation not in self.results:
            return
        entry = self.results[implementation][case]
        # A client case runs once per server: the worst verdict stands.
        order = ["not-applicable", "skipped", "pass", "expected-fail", "fail"]
        if order.index(verdict) >= order.index(entry["verdict"]):
            entry["verdict"] = verdict
            entry["reason"] = reason
        entry["transcript"] = entry["transcript"] + (transcript or [])

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        document = {"implementations": self.implementations, "cases": self.cases,
                    "results": self.results}
        (directory / "report.json").write_text(json.dumps(document, indent=1) + "\n")
        (directory / "report.md").write_text(self.markdown())

    def markdown(self) -> str:
        ids = [c["id"] for c in self.cases]
        lines = ["# Contract report", "",
                 "Each row an implementation, each column a case; `xfail` is a known "
                 "deviation of a legacy original, asserted to still fail that way.", "",
                 "| implementation | " + " | ".join(f"`{i}`" for i in ids) + " |",
                 "|---|" + "---|" * len(ids)]
        for impl in self.implementations:
            cells = [SYMBOLS[self.results[impl][i]["verdict"]] for i in ids]
            lines.append(f"| `{impl}` | " + " | ".join(cells) + " |")
        lines += ["", "## Cases", ""]
        lines += [f"- `{c['id']}`: {c['description']}" for c in self.cases]
        deviations = [(impl, i, self.results[impl][i]["reason"])
                      for impl in self.implementations for i in ids
                      if self.results[impl][i]["verdict"] in ("expected-fail", "fail")]
        if deviations:
            lines += ["", "## Failures and known deviations", ""]
            lines += [f"- `{impl}` x `{i}`: {reason}" for impl, i, reason in deviations]
        counts: dict[str, int] = {}
        for impl in self.implementations:
            for i in ids:
                verdict = self.results[impl][i]["verdict"]
                counts[verdict] = counts.get(verdict, 0) + 1
        summary = ", ".join(f"{counts.get(v, 0)} {v}" for v in
                            ("pass", "expected-fail", "fail", "skipped", "not-applicable"))
        lines += ["", "## Summary", "", summary, ""]
        return "\n".join(lines)
