"""Which customers are hurt: the segments (dimension-value combinations) behind a deviation.

When an indicator or the revenue line departs from its forecast, ``localize`` names the few
segments — combinations of up to ``max_layer`` dimension values such as
``platform=android&region=west`` — whose leaves explain the departure. Input: one row per leaf
(or raw rows, summed per leaf first) with an observed value ``real`` and a forecast ``predict``.

Method (details, parameters and measured accuracy in docs/localize.md). A fault in a segment moves
every leaf under it by about the same *relative* amount (the generalised ripple effect of Squeeze,
Li et al. 2019). So each leaf gets its symmetric relative deviation 2(v − f)/(v + f), standardised
by a robust noise model fitted per forecast-size class; for every element of every cuboid (subset
of dimensions) the weighted mean of its leaves' standardised deviations gives a z score. The
element with the largest |z| is a cause when it passes a Bonferroni threshold at family-wise level
``alpha`` over all elements searched; its leaves are set aside, the noise is refitted, and the
search repeats. A parent of a cause dilutes the shift with normal leaves and a child sees only part
of it, so the cause itself scores highest; on a tie the lower layer wins (parsimony). The engine
sums the leaves (``group_by`` on an Ibis table) or numpy does (``bincount`` on integer codes of
a pandas frame); each cuboid's element sums are the sums of a finer cuboid's over one axis
(``cube.Lattice``) — no Python loop over leaves, and no index per leaf and cuboid, so cases of
tens of millions of leaves fit in memory.
"""

from __future__ import annotations

import warnings
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from earnright.errors import QueryError
from earnright.reliability.cube import Lattice, LeafSpace, code_leaves
from earnright.reliability.incremental import incremental, search_large
from earnright.reliability.search import ALPHA, MAX_CAUSES, Finding, search_causes

__all__ = [
    "ALPHA",
    "CAUSE_COLUMNS",
    "MAX_CAUSES",
    "MISSING",
    "NegativeLeavesWarning",
    "RootCause",
    "aggregate_leaves",
    "dimension_codes",
    "format_cause",
    "localize",
    "localize_codes",
    "parse_cause",
]

MISSING = "null"  # how a missing dimension value is named in a cause
_GAPS = "__earnright_missing_values"
CAUSE_COLUMNS = [
    "cause",
    "layer",
    "leaves",
    "real",
    "predict",
    "deviation",
    "relative",
    "share",
    "z",
]


class RootCause(BaseModel):
    """One segment that explains part of the deviation.

    ``elements`` maps each dimension of the segment to its value, in dimension-name order, and
    ``cause`` is the same as ``dim=value`` parts joined by ``&``. ``real``, ``predict`` and
    ``deviation`` (= real − predict) sum the segment's leaves that no earlier cause claimed;
    ``relative`` = real ÷ predict − 1 (null when predict is 0); ``share`` = deviation ÷ the
    deviation of the whole frame (null when that is 0; above 1 when other segments moved the
    other way). ``leaves`` counts its leaves with data; ``z`` is its signed score (negative: a
    drop), the larger |z| the stronger the evidence.
    """

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="null")

    cause: str
    elements: dict[str, str]
    layer: int
    leaves: int
    real: float
    predict: float
    deviation: float
    relative: float | None
    share: float | None
    z: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``RootCause.model_validate`` reads it back)."""
        return self.model_dump(mode="json")


class NegativeLeavesWarning(UserWarning):
    """Some leaves had a negative total and were left out of the search (the rest was not)."""


def format_cause(elements: dict[str, str]) -> str:
    """``{"b": "b2", "a": "a1"}`` -> ``"a=a1&b=b2"``: parts sorted by dimension name."""
    return "&".join(f"{dim}={elements[dim]}" for dim in sorted(elements))


def parse_cause(text: str) -> dict[str, str]:
    """``"a=a1&b=b2"`` -> ``{"a": "a1", "b": "b2"}`` (the inverse of ``format_cause``)."""
    parts = [part.partition("=") for part in text.split("&")]
    if not text or any(not dim or sep != "=" for dim, sep, _ in parts):
        raise QueryError(f"{text!r} is not a cause: write dim=value parts joined by '&'")
    return {dim.strip(): value.strip() for dim, _, value in parts}


def aggregate_leaves(
    frame: pd.DataFrame | ir.Table,
    dims: list[str],
    *,
    real: str = "real",
    predict: str = "predict",
) -> pd.DataFrame:
    """One row per combination of ``dims`` with the sums of ``real`` and ``predict``.

    An Ibis table is summed in its engine (``group_by(dims).aggregate``) and only the leaves come
    back; a pandas frame is grouped in pandas. Dimension values become strings (missing values
    ``"null"``); the result's columns are ``dims`` then ``real`` and ``predict`` (float).
    """
    _check_columns(list(frame.columns), dims, real, predict)
    if isinstance(frame, ir.Table):
        _check_numeric({c: frame[c].type().is_numeric() for c in (real, predict)})
        gaps = (frame[real].isnull() | frame[predict].isnull()).sum()
        sums = {real: frame[real].sum(), predict: frame[predict].sum(), _GAPS: gaps}
        leaves = frame.group_by(dims).aggregate(**sums).to_pandas()
        missing = int(leaves.pop(_GAPS).sum())
    else:
        _check_numeric({c: pd.api.types.is_numeric_dtype(frame[c]) for c in (real, predict)})
        missing = int(frame[[real, predict]].isna().any(axis=1).sum())
        leaves = frame.groupby(dims, sort=False, dropna=False, observed=True)[[real, predict]]
        leaves = leaves.sum().reset_index()
    if missing:
        raise QueryError(
            f"{missing} row(s) have no {real!r} or {predict!r} value: fill them (0 where "
            "nothing happened) or drop them"
        )
    for dim in dims:
        leaves[dim] = leaves[dim].astype("string").fillna(MISSING).astype(str)
    for col in (real, predict):
        leaves[col] = leaves[col].astype(float)
    _check_values(leaves, real, predict)
    # One order whatever the engine's: the search must not depend on the order rows come back in
    return leaves[[*dims, real, predict]].sort_values(dims, ignore_index=True)


def _check_numeric(numeric: dict[str, bool]) -> None:
    bad = [col for col, ok in numeric.items() if not ok]
    if bad:
        raise QueryError(f"column(s) {', '.join(bad)} must be numeric (observed and forecast)")


def _check_columns(columns: list[str], dims: list[str], real: str, predict: str) -> None:
    if not dims:
        raise QueryError("no dimension to search: give at least one dimension column")
    missing = [c for c in [*dims, real, predict] if c not in columns]
    if missing:
        raise QueryError(
            f"column(s) {', '.join(missing)} not found; the frame has {', '.join(columns)}"
        )
    if real in dims or predict in dims or real == predict or len(set(dims)) < len(dims):
        raise QueryError(
            f"the value columns {real!r} and {predict!r} and the dims must be distinct columns"
        )


def _check_values(leaves: pd.DataFrame, real: str, predict: str) -> None:
    for name in (real, predict):
        values = leaves[name].to_numpy()
        bad = int((~np.isfinite(values)).sum())
        if bad:
            raise QueryError(f"column {name!r}: {bad} leaf total(s) are infinite")


def localize(
    frame: pd.DataFrame | ir.Table,
    dims: list[str],
    *,
    real: str = "real",
    predict: str = "predict",
    max_layer: int | None = None,
    alpha: float = ALPHA,
    max_causes: int = MAX_CAUSES,
) -> list[RootCause]:
    """The segments that explain how ``real`` departs from ``predict``, strongest first.

    ``frame`` is a pandas frame or an Ibis table with the ``dims`` columns and the two value
    columns; rows sharing a combination of ``dims`` are summed first (in the engine for an Ibis
    table; by numpy on integer codes for a pandas frame, where a categorical column costs only its
    codes). Segments combine up to ``max_layer`` dimensions (default: as many as there are, every
    cuboid summed from a finer one); a segment is reported when its
    leaves' common shift is significant at family-wise level ``alpha`` (the chance, per call, of
    reporting a segment that only noise moved), at most ``max_causes`` of them. An empty list
    means no segment stands out: the deviation is noise, or spread evenly over every leaf.

    Leaves whose ``real`` or ``predict`` total is negative (refunds, corrections, a noisy
    estimate) have no relative deviation: they are left out of the search, never claimed by a
    cause, and a ``NegativeLeavesWarning`` names how many and the first of them; the other
    leaves are localised as usual.
    """
    if max_layer is not None and max_layer < 1:
        raise QueryError(f"max_layer must be at least 1, not {max_layer}")
    if not 0 < alpha < 1:
        raise QueryError(f"alpha must lie between 0 and 1, not {alpha}")
    if isinstance(frame, ir.Table):
        frame = aggregate_leaves(frame, dims, real=real, predict=predict)
    codes, labels, v, f = _code_frame(frame, dims, real, predict)
    return localize_codes(
        (codes, labels),
        (v, f),
        dims,
        names=(real, predict),
        max_layer=max_layer,
        alpha=alpha,
        max_causes=max_causes,
    )


def localize_codes(
    coded: tuple[list[NDArray[np.integer]], list[list[str]]],
    values: tuple[NDArray[np.float64], NDArray[np.float64]],
    dims: list[str],
    *,
    names: tuple[str, str] = ("real", "predict"),
    max_layer: int | None = None,
    alpha: float = ALPHA,
    max_causes: int = MAX_CAUSES,
) -> list[RootCause]:
    """:func:`localize` of rows already coded: ``coded`` holds each dimension's codes per row
    (into its sorted ``labels``, as :func:`dimension_codes` gives them) and the labels; ``values``
    the rows' ``real`` and ``predict`` (no NaN); ``names`` name them in messages. Detection
    localises thousands of windows over the same leaves: it codes them once, not per window."""
    real, predict = names
    codes, labels = coded
    space = code_leaves(codes, [len(lab) for lab in labels], *values)
    for name, summed in ((real, space.real), (predict, space.predict)):
        bad = int((~np.isfinite(summed)).sum())
        if bad:
            raise QueryError(f"column {name!r}: {bad} leaf total(s) are infinite")
    if not space.present.any():
        return []
    v, f = space.real, space.predict
    negative = (v < 0) | (f < 0)
    if negative.any():
        _warn_negative(space, labels, dims, negative, real, predict)
    lattice = Lattice(space, max_layer)
    search = (
        search_large
        if incremental(lattice, int(np.count_nonzero((v + f > 0) & ~negative)))
        else search_causes
    )
    findings = search(lattice, alpha=alpha, max_causes=max_causes, exclude=negative)
    total = float(v.sum() - f.sum())
    return [_root_cause(finding, lattice, labels, dims, total) for finding in findings]


def _code_frame(
    frame: pd.DataFrame, dims: list[str], real: str, predict: str
) -> tuple[list[NDArray[np.integer]], list[list[str]], NDArray[np.float64], NDArray[np.float64]]:
    """The rows of a pandas frame coded per dimension (:func:`dimension_codes`), each
    dimension's value labels (codes follow the labels' sorted order), and the two values.

    Only the distinct values of a dimension become strings (missing ones ``"null"``), so a
    categorical column of millions of rows costs its codes, not millions of strings.
    """
    _check_columns(list(frame.columns), dims, real, predict)
    _check_numeric({c: pd.api.types.is_numeric_dtype(frame[c]) for c in (real, predict)})
    v = frame[real].to_numpy(dtype=float)
    f = frame[predict].to_numpy(dtype=float)
    missing = int((np.isnan(v) | np.isnan(f)).sum())
    if missing:
        raise QueryError(
            f"{missing} row(s) have no {real!r} or {predict!r} value: fill them (0 where "
            "nothing happened) or drop them"
        )
    coded = [dimension_codes(frame[dim]) for dim in dims]
    return [c for c, _ in coded], [labels for _, labels in coded], v, f


def dimension_codes(column: pd.Series) -> tuple[NDArray[np.integer], list[str]]:
    """Each row's code in the sorted distinct labels of ``column`` (missing: ``"null"``), or,
    for a categorical column without missing values, in its categories' order."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        raw, uniques = column.cat.codes.to_numpy(), pd.Index(column.cat.categories)
    else:
        raw, uniques = pd.factorize(column, use_na_sentinel=True)
        uniques = pd.Index(uniques)
    names = pd.Series(uniques, dtype=object).astype("string").fillna(MISSING).astype(str)
    labels = [*names.tolist(), MISSING]  # code -1 (missing) is the last
    gaps = bool((raw < 0).any())
    distinct = sorted(set(labels if gaps else labels[:-1]))
    position = {label: k for k, label in enumerate(distinct)}
    dtype = np.uint8 if len(labels) <= 1 << 8 else np.uint16 if len(labels) <= 1 << 16 else np.intp
    remap = np.array([position.get(label, 0) for label in labels], dtype=dtype)
    if isinstance(column.dtype, pd.CategoricalDtype) and not gaps and len(distinct) == len(names):
        # the categories' own order (their names distinct): the codes as they are, a cast and
        # no look-up per row, and a grid written in category order stays in grid order
        return raw.astype(dtype, copy=False), labels[:-1]
    codes: NDArray[np.integer] = remap[raw].astype(dtype, copy=False)
    return codes, distinct  # small integers: 24 million rows cost 24 MB, not 192


def _warn_negative(
    space: LeafSpace,
    labels: list[list[str]],
    dims: list[str],
    negative: np.ndarray,
    real: str,
    predict: str,
) -> None:
    first = int(np.flatnonzero(negative)[0])
    codes = space.leaf_codes(tuple(range(len(dims))), np.array([first]))
    name = format_cause({dim: labels[j][int(codes[j][0])] for j, dim in enumerate(dims)})
    count = int(negative.sum())
    warnings.warn(
        f"{count} of {int(space.present.sum())} leaves have a negative {real!r} or {predict!r} "
        f"total (first: {name}, {real}={space.real[first]:g}, {predict}={space.predict[first]:g}"
        "); they were left out of the search and no cause claims them",
        NegativeLeavesWarning,
        stacklevel=3,
    )


def _root_cause(
    finding: Finding,
    lattice: Lattice,
    labels: list[list[str]],
    dims: list[str],
    total: float,
) -> RootCause:
    values = lattice.values(finding.cuboid, finding.element)
    pairs = zip(finding.cuboid.dims, values, strict=True)
    elements = dict(sorted((dims[j], labels[j][code]) for j, code in pairs))
    leaves = np.flatnonzero(finding.leaves)  # (a look-up of its leaves, not a masked copy)
    real_sum = float(lattice.space.real[leaves].sum())
    predict_sum = float(lattice.space.predict[leaves].sum())
    deviation = real_sum - predict_sum
    return RootCause(
        cause=format_cause(elements),
        elements=elements,
        layer=len(elements),
        leaves=int(finding.leaves.sum()),
        real=real_sum,
        predict=predict_sum,
        deviation=deviation,
        relative=real_sum / predict_sum - 1 if predict_sum > 0 else None,
        share=deviation / total if total != 0 else None,
        z=finding.z,
    )
