"""Analytics, services and the API speak in domain words: no command-line option (``--level``)
in the text of any of their messages, notes or summaries; the command line adds the options
(``QueryError.argument``, and arguments named in backticks: earnright.cli.output.cli_words).

A whole command line in backticks (```earnright quarantine clear --superseded```) is an
instruction to run a command, not an option of the request, and is allowed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "earnright"
OPTION = re.compile(r"(?<![\w`-])--[a-z][a-z-]*")
COMMAND_LINE = re.compile(r"`earnright [^`]*`")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are documentation: a string standing alone as a
    statement (the docstring of a module, class or function, or of a config field)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }


def options_in_strings(source: str) -> list[str]:
    """Every string literal of ``source`` (f-strings' literal parts too, docstrings not) that
    names a ``--option`` outside a backticked ``earnright …`` command line."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = COMMAND_LINE.sub("", node.value)
            if OPTION.search(text):
                found.append(node.value)
    return found


def test_no_option_of_the_command_line_outside_it() -> None:
    modules = [p for p in SRC.rglob("*.py") if "cli" not in p.relative_to(SRC).parts]
    assert len(modules) > 60
    found = {
        str(path.relative_to(SRC)): hits
        for path in modules
        if (hits := options_in_strings(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_check_can_fail() -> None:
    source = '''
"""Module doc naming --level is fine."""
def f(grain):
    """So is a function's doc (--grain)."""
    level: str
    """And a field's (--level)."""
    note = "see `earnright quarantine clear --superseded`"
    raise ValueError(f"no data; try --grain {grain}")
'''
    assert options_in_strings(source) == ["no data; try --grain "]
