"""The guides cannot drift from the code: excerpts, commands, translations, links.

Every fenced block in the guides and in ``README.zh-CN.md`` has a marker on
the line before it (Mermaid diagrams excepted):

- ``<!-- excerpt: PATH -->``: the block's lines occur in PATH verbatim and
  contiguous, tabs included.
- ``<!-- run -->``: each line is a command, run from the repository root with
  ``python`` meaning this interpreter; it must exit 0.  ``<!-- run: OPTIONS
  -->`` adds any of ``python2`` (needs a Python 2.7: skipped without one, a
  failure under CI=true), ``collect`` (a pytest command, only collected: it
  must select at least one test) and ``serve`` (the first line starts a
  server with ``--port 0``; ``$PORT`` in the next lines is the port it prints).
- ``<!-- not run: REASON -->``: shown only, such as a server that runs until
  Ctrl-C.
- ``<!-- bench: PART -->``: a part of the benchmark's report (a scenario's
  table, ``models``, ``targets``, ``machine``) exactly as ``python -m sockbench
  --from docs/perf/bench.json`` prints it: measured figures come from the
  committed run, not from hand.

A Chinese page is in step with its English one when both have the same
sections, tables (row for row), excerpts, commands and diagrams, and each
links to the other.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import shlex
import sys
from dataclasses import dataclass

import pytest

from compat.run import find_python2
from sockbench import report
from tests.conftest import require
from tests.procs import REPO
from wireproof.procs import Proc, run

GUIDES = {"docs/migration.md": "docs/zh-CN/migration.md",
          "docs/io-models.md": "docs/zh-CN/io-models.md"}
TRANSLATIONS = {"README.md": "README.zh-CN.md", **GUIDES,
                "docs/performance.md": "docs/zh-CN/performance.md",
                "docs/reliability.md": "docs/zh-CN/reliability.md",
                "legacy/README.md": "legacy/README.zh-CN.md",
                "docs/compat.md": "docs/zh-CN/compat.md"}
PAGES = [page for pair in TRANSLATIONS.items() for page in pair]
# README.md is maintained with the code and shows its commands unmarked; every
# other page marks every block.
MARKED = [page for page in PAGES if page != "README.md"]
# The benchmark run whose figures the pages show.
MEASURED = REPO / "docs" / "perf" / "bench.json"


# A contract command runs a handful of cases; the slowest waits out a few
# five-second grace periods.
COMMAND_TIMEOUT = 120.0

MARKER = re.compile(r"<!-- (excerpt|run|not run|bench)(?:: (.*?))? -->")
FENCE = re.compile(r"( *)(`{3,})(\S*)")  # a block in a list item is indented
HEADING = re.compile(r"(#{2,3}) ")
LINK = re.compile(r"\]\(([^)\s]+)\)")
# A Mermaid sequence diagram: blocks that need an ``end``, and message lines.
DIAGRAM_BLOCK = re.compile(r"\s*(loop|alt|opt|par|critical|break|rect)\b")
MESSAGE = re.compile(r"\s*([\w ]+?)\s*(?:-->>|->>|--\)|-\)|--x|-x)\s*([\w ]+?)\s*:")
PARTICIPANT = re.compile(r"\s*(?:participant|actor) (\w+)")


@dataclass(frozen=True)
class Block:
    page: str
    line: int           # of the opening fence, 1-based
    lang: str
    text: str           # between the fences
    kind: str | None    # "excerpt", "run", "not run", "bench", or None without a marker
    arg: str            # the excerpt's path, the run options, the reason, the part

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    def commands(self) -> list[list[str]]:
        """Each command line as words, comments dropped."""
        return [words for line in self.text.splitlines()
                if (words := shlex.split(line, comments=True))]


@functools.cache
def text_of(page: str) -> str:
    return (REPO / page).read_text(encoding="utf-8")


@functools.cache
def blocks(page: str) -> tuple[Block, ...]:
    lines = text_of(page).split("\n")
    found: list[Block] = []
    i = 0
    while i < len(lines):
        fence = FENCE.fullmatch(lines[i])
        if not fence:
            i += 1
            continue
        indent, close = fence[1], fence[1] + fence[2]
        end = next((j for j in range(i + 1, len(lines)) if lines[j] == close), None)
        assert end is not None, f"{page}:{i + 1}: the fenced block is never closed"
        marker = MARKER.fullmatch(lines[i - 1].strip()) if i else None
        body = [line.removeprefix(indent) for line in lines[i + 1:end]]
        found.append(Block(page, i + 1, fence[3], "\n".join(body),
                           marker[1] if marker else None,
                           (marker[2] or "") if marker else ""))
        i = end + 1
    return tuple(found)


def prose(page: str) -> list[str]:
    """The page's lines outside fenced blocks."""
    lines: list[str] = []
    inside: str | None = None
    for line in text_of(page).split("\n"):
        fence = FENCE.fullmatch(line)
        if inside is None and fence:
            inside = fence[1] + fence[2]
        elif inside is not None and line == inside:
            inside = None
        elif inside is None:
            lines.append(line)
    return lines


def all_blocks(kind: str) -> list[Block]:
    return [b for page in PAGES for b in blocks(page) if b.kind == kind]


def unique_commands() -> list[Block]:
    """Each run block once: the Chinese pages repeat the English commands."""
    seen: dict[tuple[str, str], Block] = {}
    for block in all_blocks("run"):
        seen.setdefault((block.arg, repr(block.commands())), block)
    return list(seen.values())


@pytest.mark.parametrize("page", MARKED)
def test_every_block_is_an_excerpt_a_command_or_a_diagram(page: str) -> None:
    unmarked = [b.where for b in blocks(page) if b.kind is None and b.lang != "mermaid"]
    assert not unmarked, f"blocks without an excerpt/run/not run marker: {unmarked}"
    orphans = [f"{page}:{n}" for n, line in enumerate(text_of(page).split("\n"), 1)
               if MARKER.fullmatch(line.strip()) and not any(b.line == n + 1 for b in blocks(page))]
    assert not orphans, f"markers not followed by a fenced block: {orphans}"


@functools.cache
def measured() -> dict[str, list[str]]:
    result = json.loads(MEASURED.read_text())
    result["targets"] = report.targets(result)
    return report.sections(result)


@pytest.mark.parametrize("block", all_blocks("bench"), ids=lambda b: b.where)
def test_measured_figures_are_those_of_the_committed_run(block: Block) -> None:
    assert block.arg in measured(), f"{block.where}: the report has no part {block.arg!r}"
    assert block.text == "\n".join(measured()[block.arg]), (
        f"{block.where}: not what `python -m sockbench --from {MEASURED.relative_to(REPO)}` "
        f"prints for {block.arg!r} (`--embed {block.page}` writes it there)")


def test_every_chart_of_the_committed_run_is_there() -> None:
    charts = {"syscalls.png", "idle-latency.png", "idle-memory.png",
              *(f"{s}.png" for s in ("greet", "chat", "stream"))}
    present = {p.name for p in MEASURED.parent.glob("*.png")}
    assert charts <= present, f"missing from docs/perf: {sorted(charts - present)}"
    shown = {target.rsplit("/", 1)[-1] for target in links("docs/performance.md")
             if target.endswith(".png")}
    assert shown == charts, f"docs/performance.md shows {sorted(shown)}"


@pytest.mark.parametrize("block", all_blocks("excerpt"), ids=lambda b: b.where)
def test_excerpt_matches_its_source(block: Block) -> None:
    source = (REPO / block.arg).read_text(encoding="utf-8").split("\n")
    excerpt = block.text.split("\n")
    assert excerpt != [""], f"{block.where}: empty excerpt"
    starts = [i for i in range(len(source) - len(excerpt) + 1)
              if source[i:i + len(excerpt)] == excerpt]
    assert starts, (f"{block.where}: the excerpt no longer occurs in {block.arg} "
                    f"(first line: {excerpt[0]!r})")


def argv(words: list[str]) -> list[str]:
    return [sys.executable, *words[1:]] if words[0] == "python" else words


@functools.cache
def python2_missing() -> str | None:
    return None if find_python2() else "no Python 2.7 found (set LEGACY_PYTHON)"


def check(words: list[str], block: Block) -> None:
    command = argv(words)
    if "collect" in block.arg.split():
        command += ["--collect-only", "-q"]
    # The suite's own cache stays out of the working tree.
    result = run(command, COMMAND_TIMEOUT, env={"PYTEST_ADDOPTS": "-p no:cacheprovider"})
    output = (result.stdout + result.stderr).decode("utf-8", "backslashreplace")
    assert result.returncode == 0, (
        f"{block.where}: {shlex.join(words)} exited {result.returncode}\n{output[-3000:]}")


@pytest.mark.parametrize("block", unique_commands(), ids=lambda b: b.where)
def test_shown_command_succeeds(block: Block) -> None:
    options = block.arg.split()
    assert set(options) <= {"python2", "collect", "serve"}, f"{block.where}: {options}"
    if "python2" in options:
        require(python2_missing())
    commands = block.commands()
    assert commands, f"{block.where}: no command"
    if "serve" not in options:
        for words in commands:
            check(words, block)
        return
    server = Proc(argv(commands[0]))
    try:
        _, port = server.listening()
        for line in block.text.splitlines()[1:]:
            if words := shlex.split(line.replace("$PORT", str(port)), comments=True):
                check(words, block)
    finally:
        server.stop()
        server.kill()


def headings(page: str) -> list[str]:
    return [m[1] for line in prose(page) if (m := HEADING.match(line))]


def links(page: str) -> list[str]:
    return [target for line in prose(page) for target in LINK.findall(line)]


def links_to(page: str, other: str) -> bool:
    here = (REPO / page).parent
    return any((here / target.split("#")[0]).resolve() == (REPO / other).resolve()
               for target in links(page) if "://" not in target)


def shape(page: str) -> dict[str, object]:
    """What a translation must keep: sections, tables, excerpts, commands, diagrams."""
    return {
        "headings": headings(page),
        "table rows": [sum(1 for _ in rows) for is_row, rows in
                       itertools.groupby(prose(page), lambda line: line.startswith("|"))
                       if is_row],
        "excerpts": [(b.arg, b.text) for b in blocks(page) if b.kind == "excerpt"],
        "commands": [b.commands() for b in blocks(page) if b.lang == "sh"],
        "run options": [b.arg for b in blocks(page) if b.kind == "run"],
        "diagram messages": [sum(bool(MESSAGE.match(line)) for line in b.text.splitlines())
                             for b in blocks(page) if b.lang == "mermaid"],
        "measured parts": [b.arg for b in blocks(page) if b.kind == "bench"],
    }


@pytest.mark.parametrize("english, chinese", TRANSLATIONS.items())
def test_translation_is_in_step(english: str, chinese: str) -> None:
    en, zh = shape(english), shape(chinese)
    for key in en:
        assert en[key] == zh[key], f"{chinese} differs from {english} in its {key}"
    assert links_to(chinese, english), f"{chinese} does not link to {english}"
    assert links_to(english, chinese), f"{english} does not link to {chinese}"


@pytest.mark.parametrize("readme, guides", [("README.md", list(GUIDES)),
                                            ("README.zh-CN.md", list(GUIDES.values()))])
def test_readme_links_the_guides(readme: str, guides: list[str]) -> None:
    missing = [guide for guide in guides if not links_to(readme, guide)]
    assert not missing, f"{readme} does not link to {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_resolve(page: str) -> None:
    here = (REPO / page).parent
    targets = {(here / target.split("#")[0]).resolve()
               for target in links(page) if "://" not in target and not target.startswith("#")}
    missing = sorted(str(t.relative_to(REPO)) for t in targets if not t.exists())
    assert not missing, f"{page} links to missing files: {missing}"


@pytest.mark.parametrize("block", [b for page in MARKED for b in blocks(page)
                                   if b.lang == "mermaid"], ids=lambda b: b.where)
def test_diagram_is_a_well_formed_sequence_diagram(block: Block) -> None:
    lines = [line for line in block.text.splitlines() if line.strip()]
    assert lines[0] == "sequenceDiagram", block.where
    # Mermaid reads ';' as a line break and '#' as the start of an entity code.
    assert not re.search(r"[;#]", block.text), f"{block.where}: ';' or '#' in a diagram"
    opened = sum(bool(DIAGRAM_BLOCK.match(line)) for line in lines)
    closed = sum(line.strip() == "end" for line in lines)
    assert opened == closed, f"{block.where}: {opened} blocks opened, {closed} ended"
    declared = {m[1] for line in lines if (m := PARTICIPANT.match(line))}
    used = {name.strip() for line in lines if (m := MESSAGE.match(line)) for name in m.groups()}
    assert used <= declared, f"{block.where}: undeclared participants {used - declared}"
    assert used, f"{block.where}: no messages"
