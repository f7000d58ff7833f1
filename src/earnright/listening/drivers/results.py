"""Key-driver results: the typed results, built from the fitted models, and their table.

Per driver, the response-weighted mean over the models (journey moments) that hold it; the
method in words and the notes (Monte Carlo orderings, no fit, sign disagreements).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from earnright.listening.clusters import ImportanceFit, percentile_interval
from earnright.listening.drivers.scan import ALL
from earnright.listening.shapley import DEFAULT_PERMUTATIONS, MAX_EXACT

__all__ = [
    "DriverImportance",
    "DriverResult",
    "FitContext",
    "ModelFit",
    "build_result",
    "drivers_frame",
]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, ser_json_inf_nan="null")


class DriverImportance(_Result):
    """One driver's importance for the outcome at one unit.

    ``lmg`` and ``relative_weight`` are parts of R² (0..1) with 95% bootstrap percentile
    intervals; ``share`` = lmg ÷ the sum of every driver's lmg (= lmg ÷ R² when all drivers are in
    one model). ``beta`` is the standardized coefficient of the full model, ``correlation`` the
    zero-order correlation with the outcome, ``direction`` the sign of ``beta``. ``n`` counts the
    responses of the models holding the driver, ``coverage`` their share of all responses used.
    """

    driver: str
    label: str
    rank: int
    lmg: float | None
    lmg_low: float | None
    lmg_high: float | None
    share: float | None
    relative_weight: float | None
    rw_low: float | None
    rw_high: float | None
    beta: float | None
    correlation: float | None
    direction: str
    n: int
    coverage: float


class ModelFit(_Result):
    """One regression: the responses about one journey moment (or all), over its drivers.

    Its ``lmg`` values sum to its ``r2`` (Shapley efficiency), and so do its relative weights.
    """

    moment: str | None
    drivers: list[str]
    n: int
    r2: float | None
    r2_low: float | None
    r2_high: float | None
    shrinkage: float
    lmg: dict[str, float | None]
    relative_weight: dict[str, float | None]


class DriverResult(_Result):
    """Key drivers of ``outcome`` at one unit (or in one table)."""

    outcome: str
    unit_id: str | None
    name: str | None
    level: str | None
    period: str | None
    parent_id: str | None
    n: int
    r2: float | None
    r2_low: float | None
    r2_high: float | None
    shrinkage: float
    bootstrap: int
    resampled: str
    seed: int
    method: str
    drivers: list[DriverImportance]
    models: list[ModelFit]
    notes: list[str]


def _num(value: float) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def _total(parts: Sequence[np.ndarray]) -> np.ndarray:
    return np.sum(np.stack(parts), axis=0)


def _mean_over(fits: list[ImportanceFit], driver: str, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Responses ``(1 + B,)`` and the response-weighted mean of ``field`` over the models
    holding ``driver`` (per replicate for lmg and rw, the point estimate for the others)."""
    holding = [(f, f.columns.index(driver) - 1) for f in fits if driver in f.columns]
    n = _total([f.n for f, _ in holding])
    with np.errstate(invalid="ignore", divide="ignore"):
        if field in ("lmg", "rw"):
            return n, _total([f.n * getattr(f, field)[:, i] for f, i in holding]) / n
        return n, _total([f.n[:1] * getattr(f, field)[i] for f, i in holding]) / n[:1]


def _importances(fits: list[ImportanceFit], labels: dict[str, str]) -> list[DriverImportance]:
    """Per driver, the response-weighted mean over the models (moments) that hold it."""
    total = sum(f.n[0] for f in fits)
    found = list(dict.fromkeys(d for f in fits for d in f.columns[1:]))
    stats = {
        d: {k: _mean_over(fits, d, k) for k in ("lmg", "rw", "beta", "correlation")} for d in found
    }
    grand = sum(stats[d]["lmg"][1][0] for d in found)
    out = []
    for rank, d in enumerate(sorted(found, key=lambda d: -stats[d]["lmg"][1][0]), start=1):
        (n, value), (_, rw) = stats[d]["lmg"], stats[d]["rw"]
        beta, corr = float(stats[d]["beta"][1][0]), float(stats[d]["correlation"][1][0])
        (low, high), (rw_low, rw_high) = percentile_interval(value[1:]), percentile_interval(rw[1:])
        out.append(
            DriverImportance(
                driver=d,
                label=labels.get(d) or d,
                rank=rank,
                lmg=_num(value[0]),
                lmg_low=low,
                lmg_high=high,
                share=_num(value[0] / grand) if grand > 0 else None,
                relative_weight=_num(rw[0]),
                rw_low=rw_low,
                rw_high=rw_high,
                beta=_num(beta),
                correlation=_num(corr),
                direction="positive" if beta > 0 else "negative" if beta < 0 else "none",
                n=int(n[0]),
                coverage=float(n[0] / total),
            )
        )
    return out


def _model_fit(fit: ImportanceFit) -> ModelFit:
    r2, drivers = fit.lmg.sum(axis=1), list(fit.columns[1:])
    low, high = percentile_interval(r2[1:])
    return ModelFit(
        moment=None if fit.key == ALL else fit.key,
        drivers=drivers,
        n=int(fit.n[0]),
        r2=_num(r2[0]),
        r2_low=low,
        r2_high=high,
        shrinkage=fit.shrinkage,
        lmg={d: _num(v) for d, v in zip(drivers, fit.lmg[0], strict=True)},
        relative_weight={d: _num(v) for d, v in zip(drivers, fit.rw[0], strict=True)},
    )


@dataclass(frozen=True)
class FitContext:
    """What every result of one call shares."""

    outcome: str
    labels: dict[str, str]
    level: str | None
    period: str | None
    bootstrap: int
    seed: int
    shrink_note: str = ""
    hint: str = "name fewer `drivers`"  # what to try when no model could be fitted


def _method(ctx: FitContext, fits: list[ImportanceFit], resampled: str, replicates: int) -> str:
    if not fits:
        return "no model fitted"
    widest = max(len(f.columns) - 1 for f in fits)
    how = f"exact over all 2^{widest} subsets" if all(f.exact for f in fits) else "sampled"
    by = " per journey moment" if any(f.key != ALL for f in fits) else ""
    boot = (
        f"95% percentile intervals from {replicates} bootstrap replicates resampling "
        f"{resampled} (seed {ctx.seed})"
        if replicates
        else "no intervals (no bootstrap asked, or fewer than two units to resample)"
    )
    shrunk = f"; {ctx.shrink_note}" if ctx.shrink_note else ""
    return (
        f"LMG (Shapley decomposition of R², {how}) and Johnson's relative weights on complete "
        f"cases{by}; {boot}{shrunk}"
    )


def _moment(fit: ImportanceFit) -> str:
    return "" if fit.key == ALL else f" of moment {fit.key}"


def _notes(
    fits: list[ImportanceFit], drivers: list[DriverImportance], notes: list[str], hint: str
) -> list[str]:
    notes = list(notes)
    for f in fits:
        if not f.exact:
            notes.append(
                f"{len(f.columns) - 1} drivers are more than {MAX_EXACT}: LMG{_moment(f)} is the "
                f"mean over {DEFAULT_PERMUTATIONS} random orderings, Monte Carlo standard error "
                f"at most {f.mc_se:.2g}"
            )
    if not fits:
        notes.append(
            "too few complete responses (the outcome and every driver of a model answered) to "
            f"fit any model; {hint}"
        )
    for d in drivers:
        beta, corr = d.beta or 0.0, d.correlation or 0.0
        if beta * corr < 0 and min(abs(beta), abs(corr)) >= 0.05:
            notes.append(
                f"{d.driver}: its coefficient and its correlation disagree in sign "
                "(suppression or collinearity); read its direction with care"
            )
    return notes


def build_result(
    ctx: FitContext,
    fits: list[ImportanceFit],
    unit: tuple[str | None, str | None, str | None],
    resampled: str,
    notes: list[str],
) -> DriverResult:
    """One unit's (or table's) result from its fitted models: response-weighted across them."""
    n = _total([f.n for f in fits]) if fits else np.zeros(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = _total([f.n * f.lmg.sum(axis=1) for f in fits]) / n if fits else np.full(1, np.nan)
    drivers = _importances(fits, ctx.labels) if fits else []
    low, high = percentile_interval(r2[1:])
    return DriverResult(
        outcome=ctx.outcome,
        unit_id=unit[0],
        name=unit[1],
        level=ctx.level,
        period=ctx.period,
        parent_id=unit[2],
        n=int(n[0]),
        r2=_num(r2[0]),
        r2_low=low,
        r2_high=high,
        shrinkage=float(sum(f.n[0] * f.shrinkage for f in fits) / n[0]) if fits else 0.0,
        bootstrap=len(n) - 1,
        resampled=resampled,
        seed=ctx.seed,
        method=_method(ctx, fits, resampled, len(n) - 1),
        drivers=drivers,
        models=[_model_fit(f) for f in fits],
        notes=_notes(fits, drivers, notes, ctx.hint),
    )


def drivers_frame(results: Sequence[DriverResult]) -> pd.DataFrame:
    """One row per unit and driver (for tables and CSV); ``n_unit`` and ``r2`` are the unit's."""
    head = ["unit_id", "name", "n_unit", "r2", *DriverImportance.model_fields, "shrinkage"]
    rows = [
        {"unit_id": r.unit_id, "name": r.name, "n_unit": r.n, "r2": r.r2}
        | d.model_dump()
        | {"shrinkage": r.shrinkage}
        for r in results
        for d in r.drivers
    ]
    return pd.DataFrame(rows, columns=head)
