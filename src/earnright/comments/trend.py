"""Themes per unit and period: volume, share, sentiment and the change beyond noise.

For the period asked (default: the latest complete one) and the one before it, one grouped scan
of the labelled comments (``comment_themes`` × ``comment_labels`` × ``feedback``) per unit at
``level`` gives, per theme: ``comments`` (every comment of the unit in the period, of any
channel, of ``moment`` if given), ``mentions`` (comments with the theme), Σ and Σ² of their
sentiment scores. numpy finishes:

- ``share`` = mentions ÷ comments with its 95% Wilson interval;
- ``sentiment``: the mean sentiment score (−1..1) of the theme's comments, 95% t interval;
- ``change``: share now − share before, the Agresti–Caffo 95% interval and the two-proportion
  z-test (pooled variance), as ``changes`` does for CSAT; the false discovery rate is controlled
  over every (unit, theme) tested by Benjamini–Hochberg, and a change is ``flagged`` only when
  its q-value is at most ``fdr``. A side with fewer than ``min_n`` comments is not tested
  (``reason`` says so).
- the sentiment trend: ``negative`` = the share of the theme's mentions labelled negative, with
  its 95% Wilson interval, ``previous_negative`` the period before, and ``negative_change`` with
  the same interval and test as the share; its own Benjamini–Hochberg family over every (unit,
  theme) whose mentions reach ``min_n`` on both sides gives ``negative_q_value`` and
  ``negative_flagged``: the tone of what customers say on a theme turned beyond noise, even when
  how often they say it did not.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from scipy import special

from earnright.config import Config
from earnright.errors import ConfigError, QueryError
from earnright.listening.changes import previous_period
from earnright.periods import Grain, choose_period, parse_period
from earnright.stats import Z95, benjamini_hochberg, mean_interval, wilson_interval
from earnright.units import attach_ancestors, read_units, unit_ancestors, unit_placements
from earnright.warehouse import Warehouse

__all__ = ["THEME_COLUMNS", "theme_trends"]

THEME_COLUMNS = [
    "unit_id", "name", "level", "theme", "moment", "period", "comments", "mentions", "share",
    "share_low", "share_high", "sentiment", "sentiment_low", "sentiment_high", "previous",
    "previous_comments", "change", "change_low", "change_high", "p_value", "q_value",
    "flagged", "reason", "negative", "negative_low", "negative_high", "previous_negative",
    "negative_change", "negative_change_low", "negative_change_high", "negative_p_value",
    "negative_q_value", "negative_flagged",
]  # fmt: skip
COUNTS = ("mentions", "negatives", "s", "ss")


def _scan(
    wh: Warehouse,
    config: Config,
    level: str,
    window: tuple[datetime, datetime, datetime],
    moment: str | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per unit and side (current or not): comments; per unit, side and theme: the sums."""
    start, middle, end = window
    ancestors = unit_ancestors(unit_placements(wh), config.units.levels, level)
    fb = wh.table("feedback")
    keep = fb.comment.notnull() & (fb.responded_at >= start) & (fb.responded_at < end)
    if moment is not None:
        keep = keep & (fb.moment == moment)
    fb = fb.filter(keep).select("response_id", "unit_id", "responded_at")
    fb = attach_ancestors(fb, ancestors, "responded_at")
    fb = fb.mutate(current=(fb.responded_at >= middle).ifelse(1, 0))  # PostgreSQL: no bool->int8
    totals = fb.group_by(["ancestor_id", "current"]).aggregate(comments=fb.count())
    labels = wh.table("comment_labels").select("response_id", "sentiment", "sentiment_score")
    themes = wh.table("comment_themes").select("response_id", "theme")
    t = fb.inner_join(themes, "response_id").inner_join(labels, "response_id")
    per = t.group_by(["ancestor_id", "current", "theme"]).aggregate(
        mentions=t.count(),
        negatives=(t.sentiment == "negative").ifelse(1, 0).sum(),
        s=t.sentiment_score.sum(),
        ss=(t.sentiment_score * t.sentiment_score).sum(),
    )
    return totals.to_pyarrow().to_pandas(), per.to_pyarrow().to_pandas()


def theme_trends(
    wh: Warehouse,
    config: Config,
    *,
    level: str = "store",
    grain: Grain = Grain.month,
    period: str | None = None,
    moment: str | None = None,
    fdr: float = 0.05,
    min_n: int = 5,
) -> tuple[pd.DataFrame, str]:
    """One row per unit at ``level`` and theme of the config (module doc), and the period."""
    if not config.themes:
        raise ConfigError(
            "no [[themes]] in earnright.toml: declare the codeframe (name, description, "
            "examples, moment) first; `earnright comments --themes FILE` tries one on a file"
        )
    if moment is not None and moment not in config.journey.moment_ids():
        raise QueryError(
            f"no moment {moment!r} in the journey; declared: {config.journey.moment_ids()}",
            argument="moment",
        )
    label = choose_period(wh, grain, period).label
    before = previous_period(label, grain)
    window = (parse_period(before, grain)[0], *parse_period(label, grain))
    totals, per = _scan(wh, config, level, window, moment)
    frame = _grid(totals, per, config)
    units = read_units(wh)[["unit_id", "name", "level"]]
    frame = frame.merge(units, on="unit_id", how="left")
    frame["period"] = label
    return _finish(frame, fdr, min_n), label


def _grid(totals: pd.DataFrame, per: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Every unit with comments now × every theme, with both sides' counts and sums."""
    totals = totals.pivot_table(
        index="ancestor_id", columns="current", values="comments", aggfunc="sum"
    ).reindex(columns=[0, 1], fill_value=0)
    units = totals.index[totals[1].fillna(0) > 0]
    names = [t.name for t in config.themes]
    grid = pd.MultiIndex.from_product([units, names], names=["ancestor_id", "theme"])
    out = pd.DataFrame(index=grid).reset_index()
    out["comments"] = totals.loc[out.ancestor_id, 1].fillna(0).to_numpy()
    out["previous_comments"] = totals.loc[out.ancestor_id, 0].fillna(0).to_numpy()
    for side, suffix in ((1, ""), (0, "_before")):
        part = per[per.current == side].drop(columns="current")
        part = part.rename(columns={c: c + suffix for c in COUNTS})
        out = out.merge(part, on=["ancestor_id", "theme"], how="left")
    moments = {t.name: t.moment for t in config.themes}
    out["moment"] = out.theme.map(moments)
    zero = [*COUNTS, *(c + "_before" for c in COUNTS), "comments", "previous_comments"]
    return out.rename(columns={"ancestor_id": "unit_id"}).fillna(dict.fromkeys(zero, 0))


def _two_proportions(
    k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray, min_n: int, fdr: float
) -> dict[str, np.ndarray]:
    """k2/n2 − k1/n1 with its Agresti–Caffo 95% interval, the pooled two-proportion z-test and
    Benjamini–Hochberg over the pairs with at least ``min_n`` on both sides (NaN elsewhere)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        previous = np.where(n1 > 0, k1 / n1, np.nan)
        change = k2 / n2 - k1 / n1
        pooled = (k1 + k2) / (n1 + n2)
        se0 = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        p = np.where(se0 > 0, 2 * special.ndtr(-np.abs(change / se0)), np.where(change == 0, 1, 0))
        a1, a2 = (k1 + 1) / (n1 + 2), (k2 + 1) / (n2 + 2)
        half = Z95 * np.sqrt(a1 * (1 - a1) / (n1 + 2) + a2 * (1 - a2) / (n2 + 2))
    tested = (n1 >= min_n) & (n2 >= min_n)
    q = np.full(len(k1), np.nan)
    if tested.any():
        q[tested] = benjamini_hochberg(p[tested])
    return {
        "previous": previous,
        "change": np.where(tested, change, np.nan),
        "change_low": np.where(tested, np.clip(a2 - a1 - half, -1, 1), np.nan),
        "change_high": np.where(tested, np.clip(a2 - a1 + half, -1, 1), np.nan),
        "p_value": np.where(tested, p, np.nan),
        "q_value": q,
        "flagged": tested & (q <= fdr),
        "tested": tested,
    }


def _finish(frame: pd.DataFrame, fdr: float, min_n: int) -> pd.DataFrame:
    n1, k1 = frame.previous_comments.to_numpy(float), frame.mentions_before.to_numpy(float)
    n2, k2 = frame.comments.to_numpy(float), frame.mentions.to_numpy(float)
    frame["share"], frame["share_low"], frame["share_high"] = wilson_interval(k2, n2)
    mean, low, high = mean_interval(frame.s, frame.ss, frame.mentions)
    frame["sentiment"] = np.clip(mean, -1, 1)
    frame["sentiment_low"], frame["sentiment_high"] = np.clip(low, -1, 1), np.clip(high, -1, 1)
    share = _two_proportions(k1, n1, k2, n2, min_n, fdr)
    for col in ("previous", "change", "change_low", "change_high", "p_value", "q_value", "flagged"):
        frame[col] = share[col]
    frame["reason"] = np.where(share["tested"], "", f"fewer than {min_n} comments on a side")
    neg1, neg2 = frame.negatives_before.to_numpy(float), frame.negatives.to_numpy(float)
    frame["negative"], frame["negative_low"], frame["negative_high"] = wilson_interval(neg2, k2)
    tone = _two_proportions(neg1, k1, neg2, k2, min_n, fdr)
    frame["previous_negative"] = tone["previous"]
    for col in ("change", "change_low", "change_high", "p_value", "q_value", "flagged"):
        frame[f"negative_{col}"] = tone[col]
    for col in ("comments", "mentions", "previous_comments"):
        frame[col] = frame[col].astype("int64")
    frame = frame.sort_values(["unit_id", "mentions", "theme"], ascending=[True, False, True])
    return frame[THEME_COLUMNS].reset_index(drop=True)
