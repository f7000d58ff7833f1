"""JSON-ready data from result frames: what ``--format json`` prints and ``to_dict`` returns.

Light on purpose (pandas is imported only when a frame is converted): the command line imports
it at start-up.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["jsonable", "records"]


def jsonable(data: Any) -> Any:
    """``data`` as plain JSON values, exactly as the command line writes them (``str`` for
    anything JSON has no type for: dates, timestamps)."""
    return json.loads(json.dumps(data, default=str))


def _clean(value: Any) -> Any:
    import pandas as pd

    if (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN and NaT become null, timestamps ISO 8601."""
    return [{str(k): _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]
