"""The noise model of a large dense case, fitted once and applied to every leaf in few passes.

``search.score_leaves`` fits and applies the noise model for one variant of the deviation at a
time, with a fresh array for every step: on RiskLoc's H setting (24 million leaves) its two
calls (s and the compressed deviation) and the arrays built from them took about 4 CPU seconds
of 9. Here, for ``incremental.search_large``, the same model (the level and the scales per
size class and side fitted on the same random sample of ``search.FIT_LEAVES`` leaves, then each
class re-centred on all its leaves) is applied with:

- one class code per leaf (``search.size_classes``; inactive leaves get a class of their own,
  whose factors are 0, so nothing multiplies by the active mask), and one side code shared by
  both variants (the compression is monotone: a leaf above the level in s is above it in d);
- per-leaf factors read from small tables indexed by those codes (scale ÷ side's scale, the
  re-centring shift, the weight), so a residual is two look-ups and a multiply-add;
- leaf arrays in 32-bit floats (half the memory traffic), every sum over leaves accumulated in
  64 bits (``bincount`` per class, and ``cube.Lattice`` sums 32-bit arrays in 64).

What comes out is the four leaf arrays of ``incremental.KeptCube`` — the weight w, w × residual,
the active mask and the single-leaf score — and the clip band's two sums (Σw and Σw·r of the
leaves within ``CLIP`` of the level; those of the re-centring itself, so Σw·r is 0 and no pass
over the leaves is spent on them). The residuals are those of ``score_leaves`` (to 32-bit
rounding).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from earnright.reliability import search
from earnright.reliability.search import CLIP, MIN_CLASS_LEAVES, fit_location, fit_scales

__all__ = ["LeafScores", "score_large"]

Floats = NDArray[np.float64]
Small = NDArray[np.float32]


class LeafScores:
    """The four leaf arrays of the kept cube (``arrays``: w, w·r, active, single-leaf score,
    32-bit floats and a mask) and the clip band's sums (``band``: Σw, Σw·r within ``CLIP``)."""

    def __init__(self, arrays: list[NDArray[Any]], band: list[float]) -> None:
        self.arrays = arrays
        self.band = band

    def residual(self) -> Floats:
        """Each leaf's residual r = (w·r) ÷ w (0 where inactive), in 64 bits."""
        w, wr = self.arrays[0], self.arrays[1]
        out = np.zeros(len(w))
        np.divide(wr, w, out=out, where=w > 0)
        return out


def score_large(real: Floats, predict: Floats, active: NDArray[np.bool_]) -> LeafScores:
    """The kept cube's leaf arrays of a case of more than ``FIT_LEAVES`` active leaves."""
    index = np.flatnonzero(active)
    sample = index[np.random.default_rng(0).integers(0, len(index), search.FIT_LEAVES)]
    classes = search.size_classes(predict, active)
    inactive = int(classes.max()) + 1
    classes[~active] = inactive
    del index
    sampled = search.leaf_deviation(real[sample], predict[sample])  # fitted in 64 bits
    centre = fit_location(sampled)
    s = _deviation(real, predict, active)
    side = np.add(classes * np.uint8(2), s > np.float32(centre), dtype=np.uint8)
    key = classes.astype(np.intp)  # bincount's own key type, built once for every class sum
    members = classes[sample]
    # the compressed deviation d = s / (1 + |s|/2), before s is overwritten by its residuals
    compressed = np.abs(s)
    compressed *= 0.5
    compressed += 1
    np.divide(s, compressed, out=compressed)
    # s: weight and w·r; the clip band is that of the re-centring (the leaves within CLIP before
    # their class's shift of a thousandth of σ or so), where each class's Σr is 0 after it
    fits = _fits(sampled, members, centre, inactive)
    weight = np.zeros(inactive + 1, dtype=np.float32)
    weight[:inactive] = 1.0 / fits[:, 0] ** 2
    residual, inside = _residual(s, centre, fits, side, key, inactive)
    band = [float((inside[:inactive] * weight[:inactive]).sum()), 0.0]
    w = weight[classes]
    residual *= w
    del s
    # the single-leaf score: the compressed deviation's residual ÷ its scale
    level = float(search._compress(np.array([centre]))[0])
    fits = _fits(search._compress(sampled), members, level, inactive)
    single, _ = _residual(compressed, level, fits, side, key, inactive)
    scale = np.zeros(inactive + 1, dtype=np.float32)
    scale[:inactive] = 1.0 / fits[:, 0]
    single *= scale[classes]
    return LeafScores([w, residual, active.copy(), single], band)


def _deviation(real: Floats, predict: Floats, active: NDArray[np.bool_]) -> Small:
    """``search.leaf_deviation`` in 32 bits (the active leaves'; the others are not read)."""
    s = np.subtract(real, predict, dtype=np.float32)
    s *= 2
    np.divide(s, np.add(real, predict, dtype=np.float32), out=s, where=active)
    return s


def _fits(
    sampled: Floats, members: NDArray[np.uint8], centre: float, classes: int
) -> NDArray[np.float64]:
    """Scales (overall, lower, upper) per size class, fitted on the sample (as
    ``search._score_many`` does: a class of too few sampled leaves takes the overall fit)."""
    overall = fit_scales(sampled, centre)
    return np.array(
        [
            fit_scales(sampled[members == k], centre)
            if np.count_nonzero(members == k) >= MIN_CLASS_LEAVES
            else overall
            for k in range(classes)
        ]
    )


def _factors(fits: NDArray[np.float64], inactive: int) -> NDArray[np.float64]:
    """Per side code (class × 2 + above the level): scale ÷ that side's scale; 0 if inactive."""
    factor = np.zeros(2 * inactive + 2)
    factor[: 2 * inactive] = np.stack([fits[:, 0] / fits[:, 1], fits[:, 0] / fits[:, 2]], 1).ravel()
    return factor


def _residual(
    values: Small,
    centre: float,
    fits: NDArray[np.float64],
    side: NDArray[np.uint8],
    key: NDArray[np.intp],
    inactive: int,
) -> tuple[Small, NDArray[Any]]:
    """(values − centre) × scale ÷ side's scale, re-centred per class on all its leaves within
    ``CLIP`` (their mean set to 0); 0 on inactive leaves. Overwrites ``values``. Also each
    class's count of leaves within ``CLIP``."""
    values -= np.float32(centre)
    values *= _factors(fits, inactive).astype(np.float32)[side]
    inside = np.abs(values) < CLIP
    total = np.bincount(key, weights=np.multiply(values, inside), minlength=inactive + 1)
    count = np.bincount(key, weights=inside, minlength=inactive + 1)
    shift = np.zeros(inactive + 1, dtype=np.float32)
    shift[:inactive] = total[:inactive] / np.maximum(count[:inactive], 1)
    values -= shift[key]
    return values, count
