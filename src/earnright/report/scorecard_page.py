"""The scorecard as one self-contained HTML page (inline CSS and SVG; opens with no network)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from html import escape
from typing import Any

import pandas as pd

from earnright.errors import QueryError
from earnright.listening.focus import FocusItem, FocusList
from earnright.listening.ranking import Ranking
from earnright.listening.scorecard import suppress_scores
from earnright.reliability.budget import ReliabilityReport
from earnright.report.assets_section import render_assets_section
from earnright.report.charts import interval_plot, trend_plot
from earnright.report.funnel import funnel_plot
from earnright.report.reliability_section import RELIABILITY_CSS, render_reliability_section

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
details{margin:.3rem 0} summary{cursor:pointer}
blockquote{margin:.2rem 0 .2rem 1rem;color:#555;font-style:italic}
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


def _ranked(stores: pd.DataFrame, ranking: Ranking | None) -> pd.DataFrame:
    """The latest month's stores with their ranking columns, best first."""
    if ranking is None:
        return stores.sort_values("nps", ascending=False, na_position="last")
    cols = ["unit_id", "estimate", "estimate_low", "estimate_high", "rank", "rank_low"]
    ranked = stores.merge(ranking.units[[*cols, "rank_high", "tier"]], on="unit_id", how="left")
    return ranked.sort_values("rank", na_position="last")


def _store_table(stores: pd.DataFrame) -> str:
    ranked = "rank" in stores.columns
    head = (
        "<tr><th class=l>Store</th><th class=l>Name</th><th>Responses</th><th>Invitations</th>"
        "<th>Response rate</th><th>n (NPS)</th><th>NPS (95% interval)</th>"
        + ("<th>Fair estimate (95%)</th><th>Rank (90%)</th><th class=l>Tier</th>" if ranked else "")
        + "<th>CSAT % (95% interval)</th></tr>"
    )
    rows = [
        "<tr>"
        f"<td class=l>{escape(str(r['unit_id']))}</td><td class=l>{escape(str(r['name']))}</td>"
        f"<td>{r['responses']:,}</td><td>{r['invitations']:,}</td>"
        f"<td>{_fmt(r['response_rate'] * 100)}%</td><td>{r['n']:,}</td>"
        f"<td>{_interval(r['nps'], r['nps_low'], r['nps_high'])}</td>"
        + (_rank_cells(r) if ranked else "")
        + f"<td>{_interval(r['csat'], r['csat_low'], r['csat_high'], 0, 100)}</td>"
        "</tr>"
        for r in stores.to_dict("records")
    ]
    return f"<table>{head}{''.join(rows)}</table>"


def _rank_cells(r: dict[Hashable, Any]) -> str:
    if pd.isna(r["rank"]):
        return "<td>–</td><td>–</td><td class=l>–</td>"
    return (
        f"<td>{_interval(r['estimate'], r['estimate_low'], r['estimate_high'])}</td>"
        f"<td>{int(r['rank'])} <span class=iv>({int(r['rank_low'])}–{int(r['rank_high'])})"
        f"</span></td><td class=l>{escape(str(r['tier']))}</td>"
    )


def _race_plots(stores: pd.DataFrame, ranking: Ranking | None, latest: str) -> str:
    """The leaderboard (fair estimates, or raw scores without a ranking) and the funnel plot."""
    scored = stores[stores.nps.notna()]  # answered, and not suppressed below min_n
    shown, which = scored, "Stores"
    if len(scored) > 2 * PLOT_EACH_END:
        shown = pd.concat([scored.head(PLOT_EACH_END), scored.tail(PLOT_EACH_END)])
        which = f"The {PLOT_EACH_END} best and worst of {len(scored):,} scored stores"
    if ranking is None:
        return interval_plot(
            list(shown.unit_id),
            list(shown.nps),
            list(shown.nps_low),
            list(shown.nps_high),
            [f"n={n:,}" for n in shown.n],
            title=f"{which} in {latest}: NPS with 95% interval (n = answers)",
        )
    shown = shown[shown["rank"].notna()]
    board = interval_plot(
        list(shown.unit_id),
        list(shown.estimate),
        list(shown.estimate_low),
        list(shown.estimate_high),
        [
            f"#{r:.0f} ({lo:.0f}–{hi:.0f}) {tier}, n={n:,}"
            for r, lo, hi, tier, n in zip(
                shown["rank"], shown.rank_low, shown.rank_high, shown.tier, shown.n, strict=True
            )
        ],
        title=f"{which} in {latest}, ranked on a fair NPS estimate with 95% interval",
        note_width=250,
    )
    funnel = funnel_plot(
        list(scored.unit_id),
        list(scored.nps),
        list(scored.n),
        target=ranking.chain_mean,
        sd=ranking.response_sd,
        title=f"Funnel plot, {latest}: raw NPS against n with 95% and 99.8% control limits",
    )
    return board + funnel


def _focus_section(focus: Sequence[FocusList]) -> str:
    """Per store, the few things to fix: each with its gap, worth and the customers' words."""
    blocks = []
    for fl in focus:
        title = f"{escape(fl.unit_id)} {escape(fl.name or '')}"
        if not fl.items:
            blocks.append(
                f"<details><summary>{title}: nothing credible to fix</summary>"
                f"<p class=note>{escape(fl.message)}</p></details>"
            )
            continue
        items = "".join(_focus_item(item) for item in fl.items)
        blocks.append(
            f"<details><summary>{title}: {len(fl.items)} thing(s) to focus on</summary>"
            f"<ol>{items}</ol></details>"
        )
    return "".join(blocks)


def _focus_item(item: FocusItem) -> str:
    gain = (
        "" if item.expected_nps_gain is None else f"; worth about {item.expected_nps_gain:+.1f} NPS"
    )
    quotes = "".join(f"<blockquote>{escape(c.text)}</blockquote>" for c in item.comments)
    return (
        f"<li><b>{escape(item.label)}</b>: {escape(item.sentence)} "
        f"<span class=iv>(gap {item.gap:+.2f}, 95% {item.gap_low:+.2f} to {item.gap_high:+.2f}, "
        f"n={item.n:,}{gain})</span>{quotes}</li>"
    )


def _kpis(now: pd.Series, latest: str, stores: pd.DataFrame) -> str:
    """The month's headline figures: NPS, CSAT, response rate and stores."""
    return "".join(
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


def render_scorecard_page(
    scorecard: pd.DataFrame,
    company: str,
    store_level: str = "store",
    ranking: Ranking | None = None,
    focus: Sequence[FocusList] = (),
    reliability: ReliabilityReport | None = None,
    incidents: Sequence[dict[str, Any]] = (),
    period: str | None = None,
    period_reason: str = "",
    min_n: int = 5,
    ledger: pd.DataFrame | None = None,
    currency: str = "$",
) -> str:
    """The page: company trend, one month's horse race and funnel plot, the store table.

    ``period`` is the month shown (default: the ranking's, else the latest in ``scorecard``)
    and ``period_reason`` why it was chosen (``earnright.periods.PeriodChoice.reason``).

    ``scorecard`` holds every level at month grain (as ``compute_scorecard`` returns it, with the
    levels concatenated); ``ranking`` is the latest month's ``rank_units`` result, if any;
    ``focus`` the stores' focus lists (``compute_focus``); ``reliability`` the report of
    ``compute_reliability`` and ``incidents`` their ``Incident.record()`` dicts: with either,
    the reliability section follows the store table. A score with fewer than ``min_n`` answers
    (``[listening] min_n``) is not shown: "–" beside its n. ``ledger``, the company's monthly
    customer asset ledger (``compute_ledger``), opens the page when it has the month.
    """
    scorecard = suppress_scores(scorecard, min_n)
    top = scorecard[scorecard.level == scorecard.level.iloc[0]]
    company_rows = scorecard[scorecard.unit_id == top.unit_id.iloc[0]].sort_values("period")
    latest = period or (ranking.period if ranking is not None else company_rows.period.iloc[-1])
    if latest not in set(company_rows.period):
        raise QueryError(f"the scorecard has no month {latest} to show")
    now = company_rows[company_rows.period == latest].iloc[-1]
    why = f" ({period_reason})" if period_reason else ""
    stores = scorecard[(scorecard.level == store_level) & (scorecard.period == latest)]
    stores = _ranked(stores, ranking)
    trend = trend_plot(
        list(company_rows.period),
        list(company_rows.nps),
        list(company_rows.nps_low),
        list(company_rows.nps_high),
        title=f"{company}: NPS by month, with 95% interval",
    )
    kpis = _kpis(now, latest, stores)
    fair = (
        "Ranks use a fair estimate: each store's score shrunk toward its district by how far its "
        "n can be trusted; a tier is given only where the 90% rank interval lies in one third. "
        if ranking is not None
        else ""
    )
    with_reliability = reliability is not None or bool(incidents)
    section = render_reliability_section(reliability, incidents) if with_reliability else ""
    css = CSS + (RELIABILITY_CSS if with_reliability else "")
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(company)} scorecard {latest}</title><style>{css}</style></head><body>"
        f"<h1>{escape(company)}: scorecard</h1>"
        f"<p class=sub>Month {latest}{escape(why)}. Every score shows its n and 95% interval; "
        "overlapping intervals mean the difference may be noise.</p>"
        + (render_assets_section(ledger, latest, currency) if ledger is not None else "")
        + f"<h2>Scores, {latest}</h2><div class=kpis>{kpis}</div>{trend}"
        f"<h2>The horse race, {latest}</h2><p class=note>{fair}</p>"
        f"{_race_plots(stores, ranking, latest)}"
        f"<h2>Stores, {latest}</h2>{_store_table(stores)}{section}"
        + (f"<h2>What each store should focus on</h2>{_focus_section(focus)}" if focus else "")
        + f"<p class=note>A score from fewer than {min_n} answers is not shown (–). "
        "NPS: adjusted-Wald interval (Rocks 2016). CSAT: Wilson interval. "
        "Made by earnright.</p></body></html>"
    )
