"""The docs say what the tool prints: every example in README.md and docs/ that shows a command with its
output is run here, and the lines shown must be the lines printed.

An example is a code block (indented or fenced) whose first line is `$ breakeven ...` (a line ending with
`\\` continues on the next); the lines after it, up to the next `$ ` line or the end of the block, are its
output. In the output a line holding only `...` stands for any number of lines, and a line ending with
`...` matches a printed line that starts with what comes before it. Python examples written as `>>> `
sessions are run as doctests. The defaults table of docs/economics.md is the code's own table.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ELIDED = "..."


def blocks(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of each code block: fenced, or indented by four spaces."""
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                body.append(lines[i])
                i += 1
            found.append((start + 1, body))
        elif line.startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            start, body = i, []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            found.append((start + 1, body))
            continue
        i += 1
    return found


def examples() -> list[tuple[str, str, list[str]]]:
    """(where, command, expected lines) of every `$ breakeven` example in the docs."""
    out = []
    for path in DOCS:
        for number, body in blocks(path.read_text()):
            i = 0
            while i < len(body):
                if not body[i].startswith("$ breakeven"):
                    i += 1
                    continue
                command, at = body[i][2:], number + i
                while command.endswith("\\"):
                    i += 1
                    command = command[:-1] + " " + body[i].strip()
                i += 1
                expected = []
                while i < len(body) and not body[i].startswith("$ "):
                    expected.append(body[i].rstrip())
                    i += 1
                while expected and not expected[-1]:
                    expected.pop()
                out.append((f"{path.relative_to(ROOT)}:{at}", command, expected))
    return out


def matches(expected: list[str], printed: list[str]) -> bool:
    """Do the printed lines read as shown, `...` lines standing for any lines and `...` ends for the rest?"""
    if not expected:
        return True  # a command shown alone: it must run, which the caller checks
    head, rest = expected[0], expected[1:]
    if head.strip() == ELIDED:
        return any(matches(rest, printed[k:]) for k in range(len(printed) + 1))
    if not printed:
        return False
    line = printed[0].rstrip()
    same = line.startswith(head[: -len(ELIDED)].rstrip()) if head.endswith(ELIDED) else line == head
    return same and matches(rest, printed[1:])


EXAMPLES = examples()


def test_the_docs_have_examples_to_check():
    assert len(EXAMPLES) >= 5, EXAMPLES


@pytest.mark.parametrize("where, command, expected", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_example_prints_the_lines_it_shows(where, command, expected, tmp_path):
    args = shlex.split(command)
    env = {**os.environ, "COLUMNS": "120"}
    env.pop("BREAKEVEN_PRICE_SHEET", None)
    result = subprocess.run(
        [sys.executable, "-m", "breakeven", *args[1:]],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, f"{where}: `{command}` failed: {result.stderr[-500:]}"
    printed = result.stdout.splitlines()
    assert matches(expected, printed), (
        f"{where}: `{command}` no longer prints what the docs show.\n--- shown\n"
        + "\n".join(expected)
        + "\n--- printed\n"
        + "\n".join(printed[:80])
    )


def test_the_matcher_elides_and_takes_prefixes():
    printed = ["Rent: the API is cheaper by $5 a month", "a", "b", "Next step", "  Keep renting."]
    assert matches(["Rent: the API is cheaper...", "...", "Next step", "  Keep renting."], printed)
    assert not matches(["Rent: the API is cheaper...", "Next step"], printed)
    assert not matches(["Buy:..."], printed)
    assert matches(["...", "  Keep renting."], printed)


@pytest.mark.parametrize("path", [p for p in DOCS if ">>> " in p.read_text()], ids=lambda p: p.name)
def test_python_sessions_in_the_docs_print_what_they_show(path):
    text = "\n".join("\n".join(body) for _, body in blocks(path.read_text()) if any(">>> " in b for b in body))
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, path.name, str(path), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0, f"{path.name}: a Python example no longer prints what it shows"


def test_the_defaults_table_in_economics_md_is_the_codes_own():
    from costcore.defaults import defaults_table

    text = (ROOT / "docs" / "economics.md").read_text()
    table = re.search(r"<!-- defaults: start -->\n(.*?)<!-- defaults: end -->", text, re.S)
    assert table, "docs/economics.md has lost its defaults table markers"
    assert table[1].strip() == defaults_table().strip(), (
        "docs/economics.md's defaults differ from the code's; paste this between the markers:\n" + defaults_table()
    )
