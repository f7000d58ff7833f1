"""earnright: a customer-driven growth engine.

The public API is :func:`open_workspace`, which returns a :class:`Workspace` with one method per
capability (``scorecard``, ``rank``, ``focus``, ``reliability``, ``warnings`` …), each returning
a typed result with ``to_frame()``, ``to_dict()`` and a short ``repr``::

    import earnright

    ws = earnright.open_workspace("demo-workspace")
    ws.rank(level="store", period="2026-09").to_frame()

See docs/api.md. The names load on first use, so ``import earnright`` (and the command line's
start) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from earnright.api import __all__  # the same names; earnright.api itself loads them lazily

if TYPE_CHECKING:
    from earnright.api import *  # noqa: F403


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import earnright.api

    return getattr(earnright.api, name)


def __dir__() -> list[str]:
    return sorted(__all__)
