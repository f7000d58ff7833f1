"""Compare two ``results/`` folders of the demo: the same outputs, before and after a change.

    python bench/report_compare.py BEFORE AFTER [--rtol 1e-9]

Compares the scorecard (CSV and Parquet: every cell, numbers within ``rtol`` relative), the JSON
results (ranking, focus, assets, reliability, warnings: every value, numbers within ``rtol``),
every ``site/**/page.json`` the same way, every ``site/**/*.html`` and ``scorecard.html`` as text,
and the pack's text (``pdftotext -layout``) exactly. Prints one line per difference (at most 20
per file) and a summary; exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

JSON_FILES = ["ranking.json", "focus.json", "assets.json", "reliability.json", "warnings.json"]


def close(a: Any, b: Any, rtol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return a == b or abs(a - b) <= rtol * max(abs(a), abs(b))
    return bool(a == b)


def diff_values(a: Any, b: Any, rtol: float, where: str, out: list[str]) -> None:
    """Every place where ``a`` and ``b`` differ (JSON-like values)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                out.append(f"{where}.{key}: only in {'after' if key in b else 'before'}")
            else:
                diff_values(a[key], b[key], rtol, f"{where}.{key}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{where}: {len(a)} items before, {len(b)} after")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            diff_values(x, y, rtol, f"{where}[{i}]", out)
    elif not close(a, b, rtol):
        out.append(f"{where}: {a!r} before, {b!r} after")


def diff_frames(a: pd.DataFrame, b: pd.DataFrame, rtol: float, where: str) -> list[str]:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return [f"{where}: shape or columns differ ({a.shape} vs {b.shape})"]
    out: list[str] = []
    for col in a.columns:
        if str(a[col].dtype) != str(b[col].dtype):
            out.append(f"{where}.{col}: dtype {a[col].dtype} before, {b[col].dtype} after")
        x, y = a[col].tolist(), b[col].tolist()
        diff_values(x, y, rtol, f"{where}.{col}", out)
    return out


def pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode()


def compare(before: Path, after: Path, rtol: float) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}

    def note(name: str, diffs: list[str]) -> None:
        found[name] = diffs

    note("scorecard.parquet", diff_frames(
        pd.read_parquet(before / "scorecard.parquet"), pd.read_parquet(after / "scorecard.parquet"),
        rtol, "parquet",
    ))  # fmt: skip
    note("scorecard.csv", diff_frames(
        pd.read_csv(before / "scorecard.csv"), pd.read_csv(after / "scorecard.csv"), rtol, "csv"
    ))  # fmt: skip
    for name in JSON_FILES:
        if (before / name).exists() or (after / name).exists():
            diffs: list[str] = []
            diff_values(json.loads((before / name).read_text()),
                        json.loads((after / name).read_text()), rtol, name, diffs)  # fmt: skip
            note(name, diffs)
    pages = sorted(p.relative_to(before) for p in (before / "site").rglob("*") if p.is_file())
    pages_after = sorted(p.relative_to(after) for p in (after / "site").rglob("*") if p.is_file())
    if pages != pages_after:
        note("site files", [f"{len(pages)} files before, {len(pages_after)} after"])
    for rel in pages:
        if not (after / rel).exists():
            continue
        if rel.suffix == ".json":
            diffs = []
            diff_values(json.loads((before / rel).read_text()),
                        json.loads((after / rel).read_text()), rtol, str(rel), diffs)  # fmt: skip
            note(str(rel), diffs)
        else:
            same = (before / rel).read_bytes() == (after / rel).read_bytes()
            note(str(rel), [] if same else [f"{rel}: text differs"])
    same = (before / "scorecard.html").read_bytes() == (after / "scorecard.html").read_bytes()
    note("scorecard.html", [] if same else ["scorecard.html: text differs"])
    same = pdf_text(before / "pack.pdf") == pdf_text(after / "pack.pdf")
    note("pack.pdf", [] if same else ["pack.pdf: pdftotext differs"])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rtol", type=float, default=1e-9)
    args = parser.parse_args()
    found = compare(args.before, args.after, args.rtol)
    bad = {name: diffs for name, diffs in found.items() if diffs}
    for name, diffs in bad.items():
        for line in diffs[:20]:
            print(f"{name}: {line}")
        if len(diffs) > 20:
            print(f"{name}: … {len(diffs) - 20} more")
    pages = sum(1 for n in found if n.endswith("page.json"))
    print(f"compared {len(found)} outputs ({pages} page.json), rtol {args.rtol}: "
          f"{len(bad)} differ")  # fmt: skip
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
