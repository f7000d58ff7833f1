"""Normal quantiles, computed once: ``Z95`` is the two-sided 95% quantile, 1.959963984540054."""

from __future__ import annotations

from scipy import special

__all__ = ["Z95", "z_quantile"]


def z_quantile(level: float) -> float:
    """The two-sided standard-normal quantile for a central ``level`` (0.95 → 1.96)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    return float(special.ndtri(0.5 + level / 2))


Z95 = z_quantile(0.95)
