"""docs/api.md is true: its example runs on a demo workspace and every method is documented."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import earnright
from earnright.services.demo import DemoRun

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_the_notebook_example_runs(demo: DemoRun) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) >= 6
    code = "\n".join(blocks).replace('"demo-workspace"', repr(str(demo.workspace)))
    ns: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), ns)  # our own documentation, as a notebook runs it
    assert repr(ns["card"]).startswith("<ScorecardResult by region, 2026-Q3: ")
    assert ns["rank"].notes[0].startswith("period 2026-09 (latest complete month")
    assert [d.driver for d in ns["of_table"].results[0].drivers] == ["speed", "price"]


def test_every_method_is_in_the_table() -> None:
    text = DOC.read_text()
    public = [
        name
        for name, member in inspect.getmembers(earnright.Workspace, inspect.isfunction)
        if not name.startswith("_") and name != "warehouse"
    ]
    missing = [name for name in public if f"`{name}(" not in text]
    assert not missing, missing
    readme = (DOC.parents[1] / "README.md").read_text()
    assert "(docs/api.md)" in readme
