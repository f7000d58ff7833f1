"""The scorecard as one self-contained HTML page (inline CSS and SVG; opens with no network)."""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from earnright.report.charts import interval_plot, trend_plot

__all__ = ["render_scorecard_page"]

PLOT_EACH_END = 30  # beyond 60 stores the plot shows the 30 highest and the 30 lowest

CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} .sub{color:#666;margin-top:0}
.kpis{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.kpi{border:1px solid #ddd;border-radius:8px;padding:.8rem 1rem;min-width:180px}
.kpi b{font-size:1.6rem;display:block} .kpi span{color:#666;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:1rem 0}
th,td{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:right}
th{background:#f6f6f6;position:sticky;top:0} td.l,th.l{text-align:left}
.iv{color:#777} .note{color:#666;font-size:.85rem}
"""


def _fmt(value: Any, digits: int = 0) -> str:
    return "–" if pd.isna(value) else f"{value:.{digits}f}"


def _interval(est: Any, low: Any, high: Any, digits: int = 0, scale: float = 1.0) -> str:
    if pd.isna(est):
        return "–"
    return (
        f"{est * scale:.{digits}f} <span class=iv>"
        f"({low * scale:.{digits}f} to {high * scale:.{digits}f})</span>"
    )


def _kpi(label: str, value: str, detail: str) -> str:
    return f'<div class="kpi"><span>{escape(label)}</span><b>{value}</b><span>{detail}</span></div>'


def _store_table(stores: pd.DataFrame) -> str:
    head = (
        "<tr><th class=l>Store</th><th class=l>Name</th><th>Responses</th><th>Invitations</th>"
        "<th>Response rate</th><th>n (NPS)</th><th>NPS (95% interval)</th>"
        "<th>CSAT % (95% interval)</th></tr>"
    )
    rows = [
        "<tr>"
        f"<td class=l>{escape(str(r['unit_id']))}</td><td class=l>{escape(str(r['name']))}</td>"
        f"<td>{r['responses']:,}</td><td>{r['invitations']:,}</td>"
        f"<td>{_fmt(r['response_rate'] * 100)}%</td><td>{r['n']:,}</td>"
        f"<td>{_interval(r['nps'], r['nps_low'], r['nps_high'])}</td>"
        f"<td>{_interval(r['csat'], r['csat_low'], r['csat_high'], 0, 100)}</td>"
        "</tr>"
        for r in stores.to_dict("records")
    ]
    return f"<table>{head}{''.join(rows)}</table>"


def render_scorecard_page(scorecard: pd.DataFrame, company: str, store_level: str = "store") -> str:
    """The page: company trend, the latest month's stores ranked with intervals, the table.

    ``scorecard`` holds every level at month grain (as ``compute_scorecard`` returns it, with the
    levels concatenated).
    """
    top = scorecard[scorecard.level == scorecard.level.iloc[0]]
    company_rows = scorecard[scorecard.unit_id == top.unit_id.iloc[0]].sort_values("period")
    latest = company_rows.period.iloc[-1]
    now = company_rows.iloc[-1]
    stores = scorecard[(scorecard.level == store_level) & (scorecard.period == latest)]
    stores = stores.sort_values("nps", ascending=False, na_position="last")
    trend = trend_plot(
        list(company_rows.period),
        list(company_rows.nps),
        list(company_rows.nps_low),
        list(company_rows.nps_high),
        title=f"{company}: NPS by month, with 95% interval",
    )
    shown, which = stores, "Stores"
    if len(stores) > 2 * PLOT_EACH_END:
        scored = stores[stores.n > 0]
        shown = pd.concat([scored.head(PLOT_EACH_END), scored.tail(PLOT_EACH_END)])
        which = f"The {PLOT_EACH_END} highest and lowest of {len(scored):,} scored stores"
    forest = interval_plot(
        list(shown.unit_id),
        list(shown.nps),
        list(shown.nps_low),
        list(shown.nps_high),
        [f"n={n:,}" for n in shown.n],
        title=f"{which} in {latest}: NPS with 95% interval (n = answers)",
    )
    kpis = "".join(
        [
            _kpi(
                f"NPS {latest}",
                _fmt(now.nps),
                f"95%: {_fmt(now.nps_low)} to {_fmt(now.nps_high)}, n={now.n:,}",
            ),
            _kpi(
                "CSAT (top-2-box)",
                f"{_fmt(now.csat * 100)}%",
                f"95%: {_fmt(now.csat_low * 100)}–{_fmt(now.csat_high * 100)}%, n={now.n_csat:,}",
            ),
            _kpi(
                "Response rate",
                f"{_fmt(now.response_rate * 100)}%",
                f"{now.responses:,} of {now.invitations:,} invitations",
            ),
            _kpi("Stores", f"{len(stores):,}", f"median n per store {stores.n.median():.0f}"),
        ]
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(company)} scorecard {latest}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(company)}: scorecard</h1>"
        f"<p class=sub>Latest month {latest}. Every score shows its n and 95% interval; "
        "overlapping intervals mean the difference may be noise.</p>"
        f"<div class=kpis>{kpis}</div>{trend}{forest}"
        f"<h2>Stores, {latest}</h2>{_store_table(stores)}"
        "<p class=note>NPS: adjusted-Wald interval (Rocks 2016). CSAT: Wilson interval. "
        "Made by earnright.</p></body></html>"
    )
