"""Key-driver analysis: how much each driver question explains of an outcome, per unit.

The engine makes one grouped scan of the feedback table (or of any table) and returns, per
cluster, the sufficient statistics of the outcome and the drivers over complete cases: n, the
means and the centred cross-products (``covar_pop``, the numerically stable form of n, Σx, Σxy).
A cluster is (model, unit, block): the model is the journey moment whose drivers a response was
asked (or one model over all drivers), the unit the feedback unit (store), the block a hash of
the response id. numpy (:mod:`earnright.listening.shapley`) pools clusters into correlation
matrices, decomposes R² by LMG and Johnson's weights, bootstraps by re-weighting clusters and
shrinks each unit toward its parent. docs/drivers.md explains the method and its choices.

The package's modules: ``scan`` (the engine's one scan), ``results`` (the typed results and
their table) and ``compute`` (``compute_drivers``, ``compute_table_drivers``).
"""

from earnright.listening.drivers.compute import (
    DEFAULT_BOOTSTRAP,
    compute_drivers,
    compute_table_drivers,
)
from earnright.listening.drivers.results import (
    DriverImportance,
    DriverResult,
    ModelFit,
    drivers_frame,
)

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "DriverImportance",
    "DriverResult",
    "ModelFit",
    "compute_drivers",
    "compute_table_drivers",
    "drivers_frame",
]
