"""The page's opening section: the customer asset ledger of the company (whole numbers first).

"Gained 22,000, lost 27,000": the month's flows of customers with what they spend, then the last
months' ledger rows, so a reader sees whether the company is growing its customers before any
score (docs/assets.md says what each number counts).
"""

from __future__ import annotations

from html import escape

import pandas as pd

from earnright.delivery import CURRENCY, format_money

__all__ = ["render_assets_section"]

MONTHS_SHOWN = 6  # the ledger rows under the headline: the month shown and the ones before it


def _kpi(label: str, value: str, detail: str) -> str:
    return f'<div class="kpi"><span>{escape(label)}</span><b>{value}</b><span>{detail}</span></div>'


COUNTS = ("start", "gained", "reactivated", "lost", "end", "grew", "declined")


def _kpis(now: pd.Series, month: str, currency: str) -> str:
    """The month's headline: customers at its end, and each flow."""
    net = int(now.end) - int(now.start)

    def money(value: float) -> str:
        return escape(format_money(float(value), currency))

    return "".join(
        [
            _kpi(
                f"Customers, end of {month}",
                f"{int(now.end):,}",
                f"{'+' if net >= 0 else '−'}{abs(net):,} on the {int(now.start):,} at its start",
            ),
            _kpi(
                "Gained",
                f"{int(now.gained):,}",
                f"first purchase; {money(now.gained_value)} spent since",
            ),
            _kpi("Reactivated", f"{int(now.reactivated):,}", "bought again after being lost"),
            _kpi(
                "Lost", f"{int(now.lost):,}", f"lapsed; {money(now.lost_value)} in their last year"
            ),
            _kpi(
                "Grew / declined",
                f"{int(now.grew):,} / {int(now.declined):,}",
                "spend beyond noise",
            ),
        ]
    )


def _table(rows: pd.DataFrame) -> str:
    """The ledger rows, a month a row."""
    head = "".join(f"<th>{c.capitalize()}</th>" for c in COUNTS)
    body = "".join(
        f"<tr><td class=l>{escape(str(r.period))}</td>"
        + "".join(f"<td>{int(getattr(r, c)):,}</td>" for c in COUNTS)
        + "</tr>"
        for r in rows.itertuples()
    )
    return f"<table><tr><th class=l>Month</th>{head}</tr>{body}</table>"


def render_assets_section(ledger: pd.DataFrame, month: str, currency: str = CURRENCY) -> str:
    """The section for ``month`` from the company's monthly ledger rows (``compute_ledger`` at
    the top level, month grain); empty when the ledger has no row for that month."""
    rows = ledger.assign(period=ledger.period.astype(str)).sort_values("period")
    rows = rows[rows.period <= month].tail(MONTHS_SHOWN)
    if rows.empty or rows.period.iloc[-1] != month:
        return ""
    return (
        f"<h2>Customers as assets, {escape(month)}</h2>"
        "<p class=note>Whole customers, by their home unit: start + gained + reactivated − lost "
        "= end. A customer is lost when their last purchase becomes the lapse age with none since"
        " ([assets] lapse_after_days).</p>"
        f"<div class=kpis>{_kpis(rows.iloc[-1], month, currency)}</div>{_table(rows)}"
    )
