"""An indicator's leaves per bucket, read from the engine once per detection pass.

Judging a pass's alerts (:mod:`earnright.reliability.judge`) asks the same data many times: each
candidate is localised over every leaf (unit × metric dimensions) in its window and the 28 days
before (:func:`earnright.reliability.segment.leaf_sums`), and each cause's failure span is its
segment's sum per bucket (:func:`earnright.reliability.episode.segment_buckets`). At thousands of
stores a candidate forms on nearly every day, and one engine scan per question made judging grow
with the square of the number of stores. :class:`LeafCube` reads the leaves' ``good``, ``total``
and value sum ``vsum`` per bucket in ONE grouped scan (the same aggregates those functions ask
the engine for) into leaves × buckets arrays, and answers each question with array sums over
them. Windows not aligned to the step, or reaching before the scanned span, are not covered
(``None``): the caller asks the engine as before.

Counts are whole numbers, so their sums are exact in any order; a threshold indicator's value
sums may differ from the engine's in the last bits (the engine's own order is not fixed either).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from earnright.config import Config, Indicator
from earnright.reliability.episode import in_segments
from earnright.reliability.indicators import indicator_events
from earnright.reliability.localize import MISSING, dimension_codes
from earnright.warehouse import Warehouse

__all__ = ["Coding", "LeafCube", "Prefix"]

NOT_APPLICABLE = "all"  # a metric dimension value that does not apply (left out of leaves)
SUMS = ("good", "total", "vsum")


@dataclass
class Coding:
    """Leaves coded for localisation: their row numbers, and per dimension each one's code
    into that dimension's sorted labels."""

    rows: np.ndarray
    codes: list[np.ndarray]
    labels: list[list[str]]

    def subset(self, keep: np.ndarray) -> tuple[list[np.ndarray], list[list[str]]]:
        """The codes and labels of the leaves ``keep`` (positions in ``rows``) as
        :func:`earnright.reliability.localize.dimension_codes` would give them for those leaves
        alone: only the labels they use, sorted, numbered from 0."""
        codes, labels = [], []
        for code, names in zip(self.codes, self.labels, strict=True):
            part = code[keep]
            used = np.unique(part)
            small = len(used) < 1 << 8
            dtype = np.uint8 if small else np.uint16 if len(used) < 1 << 16 else np.intp
            codes.append(np.searchsorted(used, part).astype(dtype))
            labels.append([names[u] for u in used.tolist()])
        return codes, labels


@dataclass
class LeafCube:
    """Per leaf (row of ``leaves``: ``unit_id``, the metric dimensions and the unit's ancestors)
    and bucket (column ``j`` is bucket index ``first + j``): the sums of ``SUMS`` and whether the
    leaf had a metrics row in the bucket (``present``; ``vsum`` is NaN where the engine's sum
    was NULL)."""

    step: timedelta
    first: int
    dims: list[str]
    leaves: pd.DataFrame
    sums: dict[str, np.ndarray]
    present: np.ndarray
    coded: dict[tuple[str, ...], Coding] = field(default_factory=dict, repr=False)
    prefix: dict[str, Prefix | None] = field(default_factory=dict, repr=False)

    @classmethod
    def scan(
        cls,
        wh: Warehouse,
        config: Config,
        indicator: Indicator,
        where: tuple[pd.DataFrame, list[str]],
        since: datetime | None,
    ) -> LeafCube:
        """One grouped engine scan of the indicator's metrics rows observed from ``since`` (a
        bucket start; None: all of them); ``where`` is (unit ancestors, metric dimensions)."""
        dims = where[1]
        step = config.reliability.step
        ev = indicator_events(wh, indicator, step, (since, None))
        frame = (
            ev.group_by(["_bidx", "unit_id", *dims])
            .aggregate(good=ev._good.sum(), total=ev._total.sum(), vsum=ev._vsum.sum())
            .execute()
        )
        return cls.from_frame(frame, where, step, since)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        where: tuple[pd.DataFrame, list[str]],
        step: timedelta,
        since: datetime | None,
    ) -> LeafCube:
        """The cube of the engine's rows ``frame`` (one per ``_bidx``, ``unit_id`` and metric
        dimension values, with ``good``, ``total`` and ``vsum``)."""
        ancestors, dims = where
        keys = ["unit_id", *dims]
        codes = frame.groupby(keys, dropna=False, sort=True).ngroup().to_numpy()
        leaves = frame[keys].assign(_leaf=codes).drop_duplicates("_leaf").sort_values("_leaf")
        leaves = leaves.drop(columns="_leaf").reset_index(drop=True)
        leaves = leaves.merge(ancestors, on="unit_id", how="left")
        bidx = frame["_bidx"].to_numpy(np.int64)
        first = _bidx(since, step) if since is not None else int(bidx.min(initial=0))
        width = int(bidx.max(initial=first - 1)) - first + 1
        shape = (len(leaves), max(width, 0))
        cols = bidx - first
        sums = {}
        for name in SUMS:
            sums[name] = np.zeros(shape)
            sums[name][codes, cols] = frame[name].to_numpy(float, na_value=np.nan)
        present = np.zeros(shape, dtype=bool)
        present[codes, cols] = True
        return cls(step, first, dims, leaves, sums, present)

    def _cols(self, start: datetime, end: datetime) -> tuple[int, int] | None:
        """The columns of ``[start, end)``, or None when the cube cannot answer for it."""
        if not (_aligned(start, self.step) and _aligned(end, self.step)):
            return None
        a, b = _bidx(start, self.step) - self.first, _bidx(end, self.step) - self.first
        return None if a < 0 else (a, max(a, b))

    def usable(self) -> np.ndarray:
        """Leaves whose metric dimensions apply (no value "all"; a missing value applies)."""
        keep = np.ones(len(self.leaves), dtype=bool)
        for dim in self.dims:
            keep &= (self.leaves[dim] != NOT_APPLICABLE).fillna(True).to_numpy(bool)
        return keep

    def leaf_sums(
        self, window: tuple[datetime, datetime], baseline: timedelta
    ) -> pd.DataFrame | None:
        """What :func:`earnright.reliability.segment.leaf_sums` returns for ``window``
        (without the ancestors), or None when not covered."""
        sums = self.window_sums(window, baseline)
        if sums is None:
            return None
        out = self.leaves[["unit_id", *self.dims]].copy()
        for name, values in sums.items():
            out[name] = values
        return out[out.total > 0]

    def window_sums(
        self, window: tuple[datetime, datetime], baseline: timedelta
    ) -> dict[str, np.ndarray] | None:
        """:meth:`leaf_sums` as arrays over every leaf (``value``, ``good``, ``total`` and
        their ``*_base``), or None when not covered."""
        now = self._cols(*window)
        base = self._cols(window[0] - baseline, window[0])
        if now is None or base is None:
            return None
        out = {}
        for name, col in (("value", "vsum"), ("good", "good"), ("total", "total")):
            if col not in self.prefix:
                self.prefix[col] = Prefix.of(self.sums[col], self.present)
            held = self.prefix[col]
            for part, cols, other in ((name, now, base), (f"{name}_base", base, now)):
                if held is not None:
                    out[part] = held.sum_cols(cols, other)
                else:
                    out[part] = _sum_cols(self.sums[col], self.present, cols, other)
        return out

    def coding(self, dims: list[str]) -> Coding:
        """The usable leaves (metric dimensions applying) coded on ``dims`` as
        :func:`earnright.reliability.localize.localize` codes a frame's rows (missing values
        named ``"null"``): computed once per pass, not once per localised window."""
        key = tuple(dims)
        if key not in self.coded:
            rows = np.flatnonzero(self.usable())
            picked = self.leaves.iloc[rows]
            coded = [dimension_codes(picked[d].fillna(MISSING)) for d in dims]
            self.coded[key] = Coding(rows, [c for c, _ in coded], [lab for _, lab in coded])
        return self.coded[key]

    def segment_buckets(
        self, segments: list[dict[str, str]], span: tuple[datetime, datetime]
    ) -> pd.DataFrame | None:
        """What :func:`earnright.reliability.episode.segment_buckets` returns for the segments
        in ``span``, or None when not covered."""
        cols = self._cols(*span)
        if cols is None:
            return None
        rows = np.flatnonzero(self.usable() & in_segments(self.leaves, segments).to_numpy())
        a, b = cols
        present = self.present[rows, a:b]
        out = {}
        for name in SUMS:
            part = self.sums[name][rows, a:b]
            out[name] = np.where(present, np.nan_to_num(part), 0.0).sum(axis=0)
        hit = present.any(axis=0)
        index = pd.Index(np.arange(a, b, dtype=np.int64)[hit] + self.first, name="_bidx")
        return pd.DataFrame({k: v[hit] for k, v in out.items()}, index=index)

    def leaf_buckets(self, span: tuple[datetime, datetime]) -> pd.DataFrame | None:
        """What :func:`earnright.reliability.episode.leaf_buckets` returns for every leaf in
        ``span``, or None when not covered."""
        cols = self._cols(*span)
        if cols is None:
            return None
        a, b = cols
        rows = np.flatnonzero(self.usable())
        col, row = np.nonzero(self.present[rows, a:b].T)  # bucket-major: sorted by bucket
        leaf = rows[row]
        out = pd.DataFrame({"_bidx": (col + a + self.first).astype(np.int64)})
        picked = self.leaves.iloc[leaf].reset_index(drop=True)
        for name in ["unit_id", *self.dims]:
            out[name] = picked[name]
        for name in SUMS:
            out[name] = self.sums[name][leaf, col + a]
        for name in self.leaves.columns[1 + len(self.dims) :]:
            out[name] = picked[name]
        return out


@dataclass
class Prefix:
    """One of a cube's sums of whole numbers as running totals along the buckets (a leading
    0 per leaf): a window's sum per leaf is a difference of two columns, not a sum over the
    window's, and exactly the same (whole numbers below 2**53 add exactly in any order).
    ``counted`` and ``seen`` run over the buckets with a number and with a row."""

    total: np.ndarray
    counted: np.ndarray
    seen: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, present: np.ndarray) -> Prefix | None:
        """The running totals, or None when a value is not a whole number (or their sum
        could be inexact): such sums are added over the window (:func:`_sum_cols`)."""
        counted = present & ~np.isnan(values)
        filled = np.where(counted, values, 0.0)
        if not (np.array_equal(filled, np.round(filled)) and np.abs(filled).sum() < 2.0**52):
            return None
        return cls(_running(filled), _running(counted), _running(present))

    def sum_cols(self, cols: tuple[int, int], other: tuple[int, int]) -> np.ndarray:
        """:func:`_sum_cols` of the values these running totals were made of."""
        last = self.seen.shape[1] - 1  # a window may reach past the last bucket
        a, b, c, d = (min(k, last) for k in (*cols, *other))
        total = self.total[:, b] - self.total[:, a]
        numbers = self.counted[:, b] > self.counted[:, a]
        return np.where(numbers | (self.seen[:, d] > self.seen[:, c]), total, np.nan)


def _running(values: np.ndarray) -> np.ndarray:
    """Running totals of ``values`` along axis 1 with a leading column of zeros (whole
    numbers and flags: a count of flags in 32-bit integers), each column contiguous (a
    window reads two columns of every leaf: five times faster than across rows)."""
    dtype = np.float64 if values.dtype.kind == "f" else np.int32
    out = np.zeros((values.shape[0], values.shape[1] + 1), dtype=dtype, order="F")
    np.cumsum(values, axis=1, dtype=dtype, out=out[:, 1:])
    return out


def _sum_cols(
    values: np.ndarray, present: np.ndarray, cols: tuple[int, int], other: tuple[int, int]
) -> np.ndarray:
    """Per leaf: the engine's ``sum(if(in cols, value, 0.0))`` over its rows in ``cols`` and
    ``other``: NaN (NULL) only when no row adds a number (no row in ``other``, and every
    value in ``cols`` is NaN)."""
    part, seen = values[:, cols[0] : cols[1]], present[:, cols[0] : cols[1]]
    counted = seen & ~np.isnan(part)
    total = np.where(counted, part, 0.0).sum(axis=1)
    zeros = present[:, other[0] : other[1]].any(axis=1)
    return np.where(counted.any(axis=1) | zeros, total, np.nan)


def _bidx(when: datetime, step: timedelta) -> int:
    return int(pd.Timestamp(when).timestamp() // step.total_seconds())


def _aligned(when: datetime, step: timedelta) -> bool:
    return pd.Timestamp(when).timestamp() % step.total_seconds() == 0
