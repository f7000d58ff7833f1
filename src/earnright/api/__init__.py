"""The public Python API: ``open_workspace(path) -> Workspace``, one method per capability.

Every method takes the arguments the command line's options name (``level``, ``grain``,
``period``, ``unit`` …) and returns a typed result (:mod:`earnright.api.results`) with
``to_frame()``, ``to_dict()`` (equal to the command line's ``--format json``) and a short
``repr``. See docs/api.md.

Names are loaded on first use, so that ``import earnright`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from earnright.api.accountability import (
        AgendaResult,
        DecisionResult,
        IssuesResult,
        OutcomesResult,
        SyncResult,
    )
    from earnright.api.comments import (
        CommentsResult,
        ThemeProposalsResult,
        ThemesResult,
        comments_of_file,
    )
    from earnright.api.customers import AssetsResult, ClvResult
    from earnright.api.losses import LossCallResult, LossesResult, LossReviewResult
    from earnright.api.loyalty import LoyaltyResult, PointValuesResult
    from earnright.api.pack import PackEmailResult, PackResult
    from earnright.api.privacy import ForgetResult, ForgottenResult
    from earnright.api.results import (
        ChangesResult,
        CredibilityResult,
        DetectResult,
        DriversResult,
        FocusResult,
        HygieneResult,
        IngestResults,
        LocalizeResult,
        NeededResult,
        QuarantineResult,
        RankResult,
        ReliabilityResult,
        Result,
        ScorecardResult,
        StatusResult,
        TableResult,
        WarningsResult,
        WatchResult,
    )
    from earnright.api.survey import FollowupResult
    from earnright.api.workspace import (
        Workspace,
        create_demo,
        create_workspace,
        open_workspace,
    )
    from earnright.periods import Grain, Period

__all__ = [
    "AgendaResult",
    "AssetsResult",
    "ChangesResult",
    "ClvResult",
    "CommentsResult",
    "CredibilityResult",
    "DecisionResult",
    "DetectResult",
    "DriversResult",
    "FocusResult",
    "FollowupResult",
    "ForgetResult",
    "ForgottenResult",
    "Grain",
    "HygieneResult",
    "IngestResults",
    "IssuesResult",
    "LocalizeResult",
    "LossCallResult",
    "LossReviewResult",
    "LossesResult",
    "LoyaltyResult",
    "NeededResult",
    "OutcomesResult",
    "PackEmailResult",
    "PackResult",
    "Period",
    "PointValuesResult",
    "QuarantineResult",
    "RankResult",
    "ReliabilityResult",
    "Result",
    "ScorecardResult",
    "StatusResult",
    "SyncResult",
    "TableResult",
    "ThemeProposalsResult",
    "ThemesResult",
    "WarningsResult",
    "WatchResult",
    "Workspace",
    "comments_of_file",
    "create_demo",
    "create_workspace",
    "open_workspace",
]

_HOMES = dict.fromkeys(
    ["Workspace", "create_demo", "create_workspace", "open_workspace"], "earnright.api.workspace"
)
_HOMES |= {"Grain": "earnright.periods", "Period": "earnright.periods"}
_HOMES |= dict.fromkeys(["AssetsResult", "ClvResult"], "earnright.api.customers")
_HOMES |= dict.fromkeys(
    ["LossCallResult", "LossReviewResult", "LossesResult"], "earnright.api.losses"
)
_HOMES |= dict.fromkeys(
    ["AgendaResult", "DecisionResult", "IssuesResult", "OutcomesResult", "SyncResult"],
    "earnright.api.accountability",
)
_HOMES |= dict.fromkeys(
    ["CommentsResult", "ThemeProposalsResult", "ThemesResult", "comments_of_file"],
    "earnright.api.comments",
)
_HOMES |= dict.fromkeys(["LoyaltyResult", "PointValuesResult"], "earnright.api.loyalty")
_HOMES |= {"FollowupResult": "earnright.api.survey"}
_HOMES |= dict.fromkeys(["PackEmailResult", "PackResult"], "earnright.api.pack")
_HOMES |= dict.fromkeys(["ForgetResult", "ForgottenResult"], "earnright.api.privacy")


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(_HOMES.get(name, "earnright.api.results"))
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted(__all__)
