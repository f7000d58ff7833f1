"""Every table of the pack in one Excel workbook: a sheet per table, numbers as numbers.

Text from data (unit names, comments) that a spreadsheet would run as a formula is written
neutralised (:mod:`earnright.export`); the workbook is written whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["pack_tables", "write_xlsx"]


def _room_rows(pack: dict[str, Any]) -> tuple[list[dict], list[dict], list[dict]]:
    survey, questions, comments = [], [], []
    for stage in pack["room"]["stages"]:
        for m in stage["moments"]:
            where = {"stage": stage["name"], "moment": m["moment"], "moment_name": m["name"]}
            s = m["survey"] or {}
            survey.append(where | {k: s.get(k) for k in ("answers", "n", "nps", "nps_low",
                                                           "nps_high")}
                          | {"comments": m["comments"]["total"]})  # fmt: skip
            questions += [where | q for q in s.get("questions", [])]
            comments += [where | c for c in m["comments"]["latest"]]
    return survey, questions, comments


def pack_tables(pack: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every table the pack shows, by sheet name, as rows."""
    ledger = pack["ledger"]["row"]
    reliability = [{"stage": s["name"]} | r for s in pack["reliability"]["stages"]
                   for r in s["indicators"]]  # fmt: skip
    score = pack["listening"]["score"]
    survey, questions, comments = _room_rows(pack)
    return {
        "ledger": [{"unit_id": pack["unit"]["unit_id"], "period": pack["period"]} | ledger]
        if ledger else [],
        "why they left": pack["ledger"]["reasons"],
        "incidents": pack["risk"]["incidents"],
        "reliability": reliability,
        "scorecard": [{"unit_id": pack["unit"]["unit_id"]} | score] if score else [],
        "horse race": pack["listening"]["race"],
        "decisions": pack["decisions"]["rows"],
        "room survey": survey,
        "room questions": questions,
        "room comments": comments,
        "maturity": [{k: v for k, v in s.items()} for s in pack["maturity"]["signs"]],
    }  # fmt: skip


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(rows)
    return frame if len(frame.columns) else pd.DataFrame({"note": ["nothing to show"]})


def write_xlsx(pack: dict[str, Any], out: Path) -> None:
    """The workbook of :func:`pack_tables` at ``out``."""
    from earnright.export import write_sheets

    write_sheets({name: _frame(rows) for name, rows in pack_tables(pack).items()}, out, "out")
