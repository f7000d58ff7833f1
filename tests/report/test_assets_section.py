"""The ledger section: the month's flows as whole numbers, and nothing when the month is absent."""

from __future__ import annotations

import pandas as pd

from earnright.report.assets_section import MONTHS_SHOWN, render_assets_section


def _ledger(months: int) -> pd.DataFrame:
    rows, start = [], 1000
    for i in range(months):
        gained, lost = 30 + i, 45
        end = start + gained + 2 - lost
        rows.append(
            {
                "unit_id": "C",
                "period": f"2026-{i + 1:02d}",
                "start": start,
                "gained": gained,
                "reactivated": 2,
                "lost": lost,
                "end": end,
                "grew": 5,
                "declined": 7,
                "gained_value": 1234.5,
                "reactivated_value": 10.0,
                "lost_value": 98765.0,
            }
        )
        start = end
    return pd.DataFrame(rows)


def test_the_month_shows_its_flows_and_a_net_loss_with_its_sign() -> None:
    ledger = _ledger(9)
    html = render_assets_section(ledger, "2026-09", "EUR")
    now = ledger.iloc[-1]
    assert f">{now.end:,}<" in html and f">{now.gained}<" in html and ">45<" in html
    assert f"−5 on the {now.start:,} at its start" in html  # 38 gained + 2 back − 45 lost
    assert "EUR 98,800 in their last year" in html  # money to 3 significant figures
    assert html.count("<tr>") == 1 + MONTHS_SHOWN  # the header and the last months
    assert "2026-03" not in html and "2026-04" in html


def test_no_section_for_a_month_the_ledger_does_not_have() -> None:
    assert render_assets_section(_ledger(3), "2026-09") == ""
    assert render_assets_section(_ledger(1).iloc[:0], "2026-01") == ""
