"""Behavioural loyalty: what respondents do in the 180 days after they answered.

Each respondent counts once, at their **first** survey response in the data (an answer's effect
cannot then leak into a later comparison: a promoter today may have been a detractor last
month). One engine pass joins every first response with its customer's transactions and returns
one row per respondent (:func:`respondent_summaries`):

- outcomes over the follow-up window ``(answered, answered + 180 days]``: ``spend`` (the sum of
  their transactions) and ``retained`` (a transaction in the window's last 90 days: still buying
  at its end);
- prior behaviour over the 180 days before the answer: ``prior_visits``, ``prior_spend`` and
  ``recency`` (days from their latest purchase more than a day before the answer; 181 if none).

Only responses answered at least 180 days before the end of the day of the data's last
transaction count; the rest are counted in ``left_out``. numpy finishes (:func:`group_table`):
per question and answer group the retention (Wilson 95% interval) and mean spend (Student-t 95%
interval), and the difference from the reference group (promoters; the top box of CSAT and
drivers) adjusted for prior behaviour by least squares with the home store's fixed effect
(within-store demeaning) and heteroskedasticity-robust (HC1) standard errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from earnright.config import Config
from earnright.stats import Z95, mean_interval, wilson_interval
from earnright.warehouse import Warehouse

__all__ = [
    "BOX_GROUPS",
    "COVARIATES",
    "FOLLOW_UP_DAYS",
    "GROUP_COLUMNS",
    "NPS_GROUPS",
    "RETAINED_DAYS",
    "Respondents",
    "adjusted_differences",
    "answer_groups",
    "covariates",
    "finish_respondents",
    "group_table",
    "left_out_note",
    "respondent_summaries",
]

FOLLOW_UP_DAYS = 180
RETAINED_DAYS = 90
PRIOR_DAYS = 180
COVARIATES = ("prior_visits", "prior_spend", "recency")
NPS_GROUPS = ("promoter", "passive", "detractor")
BOX_GROUPS = ("top", "middle", "bottom")
GROUP_COLUMNS = [
    "question",
    "group",
    "n",
    "retained",
    "retained_low",
    "retained_high",
    "spend",
    "spend_low",
    "spend_high",
    "retained_diff",
    "retained_diff_low",
    "retained_diff_high",
    "spend_diff",
    "spend_diff_low",
    "spend_diff_high",
]


@dataclass(frozen=True)
class Respondents:
    """One row per respondent with full follow-up; how many were left out; the data's end."""

    frame: pd.DataFrame
    left_out: int
    as_of: datetime | None
    questions: dict[str, str]  # question id -> kind (nps, csat, driver)
    # what is worked out once from these respondents and reused by every later ask (the point
    # values of each level: :mod:`earnright.customers.pointvalue`)
    kept: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)


def _first_responses(wh: Warehouse, answers: list[str]) -> ir.Table:
    """Every customer's first survey response (by time, then id)."""
    f = wh.table("feedback")
    f = f.filter(f.customer_id.notnull(), f.channel == "survey")
    order = [f.responded_at, f.response_id]
    f = f.mutate(_k=ibis.row_number().over(group_by="customer_id", order_by=order))
    cols = ["response_id", "customer_id", "responded_at", *answers]
    return f.filter(f._k == 0).select(*cols)


def _windowed(first: ir.Table, t: ir.Table) -> ir.Table:
    """Per response: follow-up spend and late visits, prior visits, spend and last purchase."""
    j = first.inner_join(t, "customer_id").select(
        "response_id", "responded_at", "occurred_at", "amount"
    )
    at = j.responded_at
    end = at + ibis.interval(days=FOLLOW_UP_DAYS)
    after = (j.occurred_at > at) & (j.occurred_at <= end)
    late = after & (j.occurred_at > end - ibis.interval(days=RETAINED_DAYS))
    prior = (j.occurred_at < at) & (j.occurred_at >= at - ibis.interval(days=PRIOR_DAYS))
    before = prior & (j.occurred_at < at - ibis.interval(days=1))
    return j.group_by("response_id").aggregate(
        spend=after.ifelse(j.amount, 0.0).sum(),
        late=late.ifelse(1, 0).sum(),
        prior_visits=prior.ifelse(1, 0).sum(),
        prior_spend=prior.ifelse(j.amount, 0.0).sum(),
        last_before=before.ifelse(j.occurred_at, ibis.null("timestamp")).max(),
    )


def _questions(wh: Warehouse, config: Config) -> dict[str, str]:
    present = set(wh.open_columns("feedback"))
    return {q.id: q.kind for q in config.questions if q.id in present}


def respondent_summaries(wh: Warehouse, config: Config) -> Respondents:
    """The engine pass of the module doc: one row per first response with full follow-up."""
    questions = _questions(wh, config)
    t = wh.table("transactions")
    last = t.aggregate(last=t.occurred_at.max()).to_pandas()["last"].iloc[0]
    first = _first_responses(wh, [*questions, "moment"])
    empty = pd.DataFrame(columns=["response_id", "customer_id", "home_unit_id", *COVARIATES])
    if pd.isna(last):
        return Respondents(empty, 0, None, questions)
    as_of = pd.Timestamp(last).to_pydatetime()  # the data run to the end of this day
    cutoff = pd.Timestamp(last).normalize().to_pydatetime() + timedelta(days=1 - FOLLOW_UP_DAYS)
    counts = first.aggregate(
        n=first.count(), late=(first.responded_at > cutoff).ifelse(1, 0).sum()
    ).to_pandas()
    left_out = int(counts["late"].fillna(0).iloc[0])
    kept = first.filter(first.responded_at <= cutoff)
    sums = _windowed(kept, t)
    c = wh.table("customers").select("customer_id", "home_unit_id")
    rows = (
        kept.left_join(sums, "response_id")
        .drop("response_id_right")
        .left_join(c, "customer_id")
        .drop("customer_id_right")
    )
    frame = rows.to_pandas()
    return Respondents(finish_respondents(frame), left_out, as_of, questions)


def finish_respondents(frame: pd.DataFrame) -> pd.DataFrame:
    """The engine's respondent rows finished: outcomes and covariates as numbers (no
    transactions: zeros), spend to a millionth, sorted by response."""
    frame = frame.sort_values("response_id", ignore_index=True)  # the same sums every run
    for col in ("spend", "late", "prior_visits", "prior_spend"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").fillna(0.0).astype(float)
    # the engine sums in no fixed order: spend rounded to a millionth (money has cents) is the
    # same in every run, so the point values and the worth they price are too (unrounded, the
    # last bits moved the shrinkage fit and a focus item's worth by ~2e-7 between runs)
    for col in ("spend", "prior_spend"):
        frame[col] = frame[col].round(6)
    frame["retained"] = (frame["late"] > 0).astype(float)
    gap = pd.to_datetime(frame["responded_at"]) - pd.to_datetime(frame["last_before"])
    days = gap.dt.total_seconds() / 86_400
    frame["recency"] = days.fillna(PRIOR_DAYS + 1).clip(upper=PRIOR_DAYS + 1)
    frame["home_unit_id"] = frame["home_unit_id"].astype(object).fillna("(none)")
    return frame.drop(columns=["late", "last_before"])


def answer_groups(values: pd.Series, kind: str, scale: tuple[float, float]) -> pd.Series:
    """Each answer's group: promoter/passive/detractor (nps) or top/middle/bottom box (two top
    and two bottom points of a 1-5 scale, in proportion on others); NaN stays NaN."""
    x = pd.to_numeric(values, errors="coerce")
    if kind == "nps":
        names = np.where(x >= 9, "promoter", np.where(x >= 7, "passive", "detractor"))
    else:
        lo, hi = scale
        width = (hi - lo + 1) * 0.4
        names = np.where(x > hi - width, "top", np.where(x < lo + width, "bottom", "middle"))
    labels = pd.Series(names, index=values.index).astype(object)
    return labels.where(x.notna().to_numpy(), None)


def _demean(values: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """Columns of ``values`` minus their mean within each stratum (fixed effects absorbed)."""
    codes, uniques = pd.factorize(strata)
    counts = np.bincount(codes, minlength=len(uniques)).astype(float)
    out = np.empty_like(values, dtype=float)
    for j in range(values.shape[1]):
        means = np.bincount(codes, weights=values[:, j], minlength=len(uniques)) / counts
        out[:, j] = values[:, j] - means[codes]
    return out


def adjusted_differences(
    y: np.ndarray, dummies: np.ndarray, covariates: np.ndarray, strata: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coefficients of ``dummies`` (n × g) and their HC1 standard errors, with
    ``covariates`` and a fixed effect per stratum; NaN where not estimable."""
    x = _demean(np.column_stack([dummies, covariates]), strata)
    yy = _demean(np.asarray(y, dtype=float)[:, None], strata)[:, 0]
    g = dummies.shape[1]
    n, k = x.shape
    dof = n - k - len(pd.unique(strata))
    xtx = x.T @ x
    if dof <= 0 or np.linalg.matrix_rank(xtx) < k:
        return np.full(g, np.nan), np.full(g, np.nan)
    inv = np.linalg.inv(xtx)
    beta = inv @ (x.T @ yy)
    resid = yy - x @ beta
    meat = (x * resid[:, None] ** 2).T @ x
    cov = inv @ meat @ inv * (n / dof)
    return beta[:g], np.sqrt(np.diag(cov)[:g])


def covariates(frame: pd.DataFrame) -> np.ndarray:
    """Prior visits, spend, recency and log(1 + prior spend) as columns."""
    x = frame[list(COVARIATES)].to_numpy(dtype=float)
    return np.column_stack([x, np.log1p(x[:, 1])])


def _summary_rows(groups: pd.Series, frame: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    """Per group: n, retention (Wilson interval) and mean spend (Student-t interval)."""
    kept, spend = frame["retained"].to_numpy(), frame["spend"].to_numpy()
    masks = [(groups == name).to_numpy() for name in names]
    n = np.array([m.sum() for m in masks], dtype=float)
    share, lo, hi = wilson_interval([kept[m].sum() for m in masks], n)
    sums = [(spend[m].sum(), (spend[m] ** 2).sum()) for m in masks]
    mean, s_lo, s_hi = mean_interval([a for a, _ in sums], [b for _, b in sums], n)
    return pd.DataFrame(
        {"group": list(names), "n": n.astype(int), "retained": share, "retained_low": lo}
    ).assign(retained_high=hi, spend=mean, spend_low=s_lo, spend_high=s_hi)


def _difference_rows(groups: pd.Series, frame: pd.DataFrame, names: tuple[str, ...]) -> dict:
    """Adjusted differences of every group from the first (reference) group."""
    sel = groups.notna().to_numpy()
    sub, g = frame[sel], groups[sel].to_numpy()
    dummies = np.column_stack([(g == name).astype(float) for name in names[1:]])
    x, strata = covariates(sub), sub["home_unit_id"].astype(str).to_numpy()
    diffs: dict[str, dict[str, float]] = {names[0]: {}}
    for outcome in ("retained", "spend"):
        beta, se = adjusted_differences(sub[outcome].to_numpy(), dummies, x, strata)
        diffs[names[0]].update({f"{outcome}_diff": 0.0})
        for i, name in enumerate(names[1:]):
            row = diffs.setdefault(name, {})
            row[f"{outcome}_diff"] = float(beta[i])
            row[f"{outcome}_diff_low"] = float(beta[i] - Z95 * se[i])
            row[f"{outcome}_diff_high"] = float(beta[i] + Z95 * se[i])
    return diffs


def group_table(respondents: Respondents, config: Config) -> pd.DataFrame:
    """Per question and answer group: n, retention and spend with 95% intervals, and the
    adjusted difference from the reference group (module doc)."""
    frames = []
    scales = {q.id: (float(q.min), float(q.max)) for q in config.questions}
    frame = respondents.frame
    for question, kind in respondents.questions.items():
        names = NPS_GROUPS if kind == "nps" else BOX_GROUPS
        if frame.empty:
            continue
        groups = answer_groups(frame[question], kind, scales.get(question, (1.0, 5.0)))
        rows = _summary_rows(groups, frame, names)
        diffs = _difference_rows(groups, frame, names) if (rows["n"] > 0).all() else {}
        rows = rows.assign(**{c: np.nan for c in GROUP_COLUMNS[9:]})
        for i, name in enumerate(names):
            for key, value in diffs.get(name, {}).items():
                rows.loc[i, key] = value
        frames.append(rows.assign(question=question))
    if not frames:
        return pd.DataFrame(columns=GROUP_COLUMNS)
    return pd.concat(frames, ignore_index=True)[GROUP_COLUMNS]


def left_out_note(respondents: Respondents) -> str | None:
    """The note saying how many first responses lacked 180 days of follow-up."""
    if not respondents.left_out:
        return None
    return (
        f"{respondents.left_out:,} respondents answered less than {FOLLOW_UP_DAYS} days "
        "before the data's end and are left out"
    )
