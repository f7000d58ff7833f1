"""The value of one point: what a point of NPS (or of a driver) is worth in retained revenue.

From the respondents of :mod:`earnright.customers.loyalty` (first responses with 180 days of
follow-up), per question:

- **per customer** — the adjusted difference in 180-day spend between the reference group
  (promoters; a driver's or CSAT's top box) and the low group (detractors; the bottom box),
  ÷ 100: one point of NPS is one customer in a hundred moving from detractor to promoter (a
  driver's point, one in a hundred from its bottom box to its top box). The chain's value is the
  least-squares coefficient of :func:`~earnright.customers.loyalty.adjusted_differences`.
- **per unit and moment** — within each cell (a unit, or a unit and the answer's journey
  moment) the difference of the two groups' mean covariate-adjusted spend (spend − the pooled
  covariate fit), with its sampling variance; thin cells are pooled toward the chain (toward
  their moment, then the chain, for moment cells) by the empirical Bayes normal model of
  :mod:`earnright.listening.shrinkage` (REML variance, exact posterior).
- **value** — the per-customer value × the unit's active customers (home unit, a purchase in
  the 180 days before the data's end): the retained revenue over 180 days of one more point.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from earnright.config import Config
from earnright.customers.loyalty import (
    BOX_GROUPS,
    FOLLOW_UP_DAYS,
    NPS_GROUPS,
    Respondents,
    adjusted_differences,
    answer_groups,
    covariates,
)
from earnright.listening.shrinkage import fit_components, shrink_scores
from earnright.stats import Z95
from earnright.warehouse import Warehouse

__all__ = ["POINT_COLUMNS", "active_customers", "point_values"]

POINT_COLUMNS = [
    "question",
    "unit_id",
    "moment",
    "n",
    "raw",
    "per_customer",
    "per_customer_low",
    "per_customer_high",
    "customers",
    "value",
    "value_low",
    "value_high",
]
ALL = "all"


def active_customers(wh: Warehouse, respondents: Respondents, homes: pd.DataFrame) -> pd.Series:
    """Customers per unit (``homes``: home_unit_id → unit_id) with a purchase in the 180 days
    before the data's end. The count per home unit is read once per ``respondents`` (every
    level of a run sums the same counts)."""
    if respondents.as_of is None:
        return pd.Series(dtype=float)
    per_home = respondents.kept.get(("active customers",))
    if per_home is None:
        t = wh.table("transactions")
        since = respondents.as_of - timedelta(days=FOLLOW_UP_DAYS)
        buyers = t.filter(t.occurred_at > since).select("customer_id").distinct()
        c = wh.table("customers").select("customer_id", "home_unit_id")
        c = c.filter(c.home_unit_id.notnull()).mutate(home_unit_id=c.home_unit_id.cast("string"))
        rows = buyers.inner_join(c, "customer_id")
        per_home = rows.group_by("home_unit_id").aggregate(n=rows.count()).to_pandas()
        respondents.kept[("active customers",)] = per_home
    m = homes[["home_unit_id", "unit_id"]].astype(str)
    counts = per_home.merge(m, on="home_unit_id").groupby("unit_id").n.sum()
    return counts.astype(float)


def _pairs(kind: str) -> tuple[str, str]:
    names = NPS_GROUPS if kind == "nps" else BOX_GROUPS
    return names[0], names[-1]


def _chain(sub: pd.DataFrame, low: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Pooled per-respondent difference (reference − low), its SE, and the adjusted spend."""
    x, strata = covariates(sub), sub["home_unit_id"].astype(str).to_numpy()
    y = sub["spend"].to_numpy(dtype=float)
    beta, se = adjusted_differences(y, np.column_stack([low, x]), np.zeros((len(y), 0)), strata)
    adjusted = y - x @ beta[1:]
    return -float(beta[0]), float(se[0]), adjusted


def _cells(
    sub: pd.DataFrame, adjusted: np.ndarray, low: np.ndarray, keys: list[str]
) -> pd.DataFrame:
    """Per cell: respondents, the raw difference of mean adjusted spend and its variance."""
    frame = sub[keys].assign(a=adjusted, low=low)
    stats = frame.groupby([*keys, "low"]).a.agg(["count", "mean", "var"]).unstack("low")
    out = pd.DataFrame(index=stats.index)
    n_ref, n_low = stats[("count", 0.0)].fillna(0), stats[("count", 1.0)].fillna(0)
    out["n"] = (n_ref + n_low).astype(int)
    out["raw"] = stats[("mean", 0.0)] - stats[("mean", 1.0)]
    out["v"] = stats[("var", 0.0)] / n_ref + stats[("var", 1.0)] / n_low
    ok = (n_ref >= 2) & (n_low >= 2) & (out["v"] > 0)
    out.loc[~ok, ["raw", "v"]] = np.nan
    return out.reset_index()


def _shrink(cells: pd.DataFrame, groups: str | None) -> pd.DataFrame:
    """Posterior mean and sd of each cell's difference; cells without data get the prior."""
    has = cells["raw"].notna().to_numpy()
    if has.sum() < 2:  # nothing to pool from: only the chain's value is known
        return cells.iloc[:0].assign(per_customer=[], sd=[])
    g = cells[groups].astype(str).to_numpy() if groups else None
    comp = fit_components(cells["raw"][has], cells["v"][has], g[has] if g is not None else None)
    y = cells["raw"].fillna(comp.mu).to_numpy()
    v = cells["v"].fillna(np.inf).to_numpy()
    v = np.where(np.isfinite(v), v, 1e12 * max(comp.tau2 + comp.omega2, 1.0))
    mean, sd = shrink_scores(y, v, comp, g).moments()
    return cells.assign(per_customer=mean / 100.0, sd=sd / 100.0)


def _chain_of(
    respondents: Respondents,
    frame: pd.DataFrame,
    rows: np.ndarray,
    question: str,
    kind: str,
    scale: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray] | None:
    """(the respondents in the two groups, low-group indicator, the chain's difference, its
    SE, the adjusted spend) of ``question`` among ``frame`` (the ``rows`` of the respondents
    with a unit at the level); None with fewer than two in a group. The same for every level
    whose units hold the same respondents: worked out once per ``respondents``."""
    key = ("point chain", question, kind, scale)
    found = respondents.kept.get(key)
    if found is not None and np.array_equal(found[0], rows):
        return found[1]
    groups = answer_groups(frame[question], kind, scale)
    ref, low_name = _pairs(kind)
    keep = groups.isin([ref, low_name]).to_numpy()
    low = (groups[keep] == low_name).to_numpy(dtype=float)
    chain = None
    if not (low.sum() < 2 or (1 - low).sum() < 2):
        diff, se, adjusted = _chain(frame[keep], low)
        chain = (keep, low, diff, se, adjusted)
    respondents.kept[key] = (rows, chain)
    return chain


def _question_rows(
    frame: pd.DataFrame,
    question: str,
    chain: tuple[np.ndarray, np.ndarray, float, float, np.ndarray] | None,
) -> list[pd.DataFrame]:
    if chain is None:
        return []
    keep, low, diff, se, adjusted = chain
    sub = frame[keep]
    chain_row = pd.DataFrame(
        {"unit_id": [ALL], "moment": [ALL], "n": [len(sub)], "raw": [diff / 100]}
    ).assign(per_customer=diff / 100, sd=se / 100)
    stores = _shrink(_cells(sub, adjusted, low, ["unit_id"]), None).assign(moment=ALL)
    out = [chain_row, stores.assign(raw=stores.raw / 100)]
    if "moment" in sub.columns and sub["moment"].notna().any():
        cells = _cells(sub.assign(moment=sub["moment"].fillna("(none)")), adjusted, low,
                       ["unit_id", "moment"])  # fmt: skip
        moments = _shrink(cells, "moment")
        out.append(moments.assign(raw=moments.raw / 100))
    return [o.assign(question=question) for o in out]


def point_values(
    respondents: Respondents, config: Config, homes: pd.DataFrame, customers: pd.Series
) -> pd.DataFrame:
    """The value of one point per question, unit (``homes`` maps home_unit_id to unit_id) and
    moment, with 95% intervals (module doc); ``customers`` the active customers per unit."""
    frame = respondents.frame
    if frame.empty:
        return pd.DataFrame(columns=POINT_COLUMNS)
    mapping = homes.astype(str).drop_duplicates("home_unit_id").set_index("home_unit_id")
    frame = frame.assign(unit_id=frame["home_unit_id"].astype(str).map(mapping["unit_id"]))
    placed = frame["unit_id"].notna().to_numpy()
    frame = frame[placed]
    scales = {q.id: (float(q.min), float(q.max)) for q in config.questions}
    parts = []
    for question, kind in respondents.questions.items():
        if kind != "csat":
            scale = scales.get(question, (1.0, 5.0))
            chain = _chain_of(respondents, frame, placed, question, kind, scale)
            parts += _question_rows(frame, question, chain)
    if not parts:
        return pd.DataFrame(columns=POINT_COLUMNS)
    rows = pd.concat(parts, ignore_index=True)
    total = float(customers.sum())
    rows["customers"] = rows["unit_id"].map(customers).where(rows["unit_id"] != ALL, total)
    rows["customers"] = rows["customers"].fillna(0).astype(int)
    rows["per_customer_low"] = rows.per_customer - Z95 * rows.sd
    rows["per_customer_high"] = rows.per_customer + Z95 * rows.sd
    for col in ("", "_low", "_high"):
        rows[f"value{col}"] = rows[f"per_customer{col}"] * rows["customers"]
    return rows[POINT_COLUMNS]
