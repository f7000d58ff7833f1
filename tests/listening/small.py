"""Hand-made small companies for the ranking and scorecard tests: a few stores, a few answers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from earnright.ingest import ingest_file
from earnright.workspace import Workspace, init_workspace

Answer = tuple[str, str, int]  # (unit_id, day, likelihood to recommend 0-10)


def units_csv(stores_per_district: Sequence[int]) -> str:
    """One company, one region, a district per entry with that many stores (S1, S2, … in order)."""
    lines = ["unit_id,name,level,parent_id", "C,Acme,company,", "R1,North,region,C"]
    store = 0
    for d, count in enumerate(stores_per_district, start=1):
        lines.append(f"D{d},District {d},district,R1")
        for _ in range(count):
            store += 1
            lines.append(f"S{store},Store {store},store,D{d}")
    return "\n".join(lines) + "\n"


def make_company(
    root: Path, stores_per_district: Sequence[int], answers: list[Answer]
) -> Workspace:
    """A workspace holding these units and these NPS answers (survey responses)."""
    root.mkdir(parents=True, exist_ok=True)
    ws = init_workspace(root / "ws")
    (root / "units.csv").write_text(units_csv(stores_per_district))
    rows = [f"r{i},{unit},{day},{score}" for i, (unit, day, score) in enumerate(answers)]
    (root / "feedback.csv").write_text("\n".join(["response_id,unit_id,responded_at,ltr", *rows]))
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", root / "units.csv")
        ingest_file(wh, ws.config, "feedback", root / "feedback.csv")
    return ws


def month_answers(month: str, scores: dict[str, Sequence[int]]) -> list[Answer]:
    """The answers of one month: per store its scores, on days 10, 11, 12 …"""
    return [
        (unit, f"{month}-{10 + k:02d}", score)
        for unit, values in scores.items()
        for k, score in enumerate(values)
    ]
