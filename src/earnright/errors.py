"""The one exception tree of earnright.

Every error a user can cause says what is wrong, where (file, line, field or config key) and how
to fix it. Programming errors are not wrapped: they surface as ordinary Python exceptions.

::

    EarnrightError                 base of everything earnright raises on purpose
    ├── ConfigError                earnright.toml is unreadable or a key has a bad value
    ├── WorkspaceError             no workspace where one was expected, or it is not initialised
    ├── WarehouseError             cannot open the warehouse, or its schema is newer than the code
    ├── IngestError                a whole file cannot be ingested (unreadable, missing columns)
    ├── QueryError                 a request names an unknown level, grain, period or unit
    ├── SurveyLinkError            a survey link is not one earnright signed, or it has expired
    ├── AlreadyAnswered            the survey of this invitation was answered already
    └── DeliveryError              an alert message could not be delivered
        ├── DeliveryFailed         one attempt failed (network, timeout, non-2xx, SMTP): retried
        └── TargetRefused          the target is refused by the address policy: never retried
"""

from __future__ import annotations

__all__ = [
    "AlreadyAnswered",
    "ConfigError",
    "DeliveryError",
    "DeliveryFailed",
    "EarnrightError",
    "IngestError",
    "QueryError",
    "SurveyLinkError",
    "TargetRefused",
    "WarehouseError",
    "WorkspaceError",
]


class EarnrightError(Exception):
    """Base class of every error earnright raises on purpose.

    The message is in domain words; ``argument`` names the argument of the Python API it
    concerns (``level``, ``period``, ``out`` …), which the command line spells as its option
    (``--level`` …) before the message. Within a message, an argument named in backticks
    (```force```) is one the command line shows as its option (``--force``).
    """

    def __init__(self, message: str = "", *, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class ConfigError(EarnrightError):
    """The workspace config is unreadable, or a key holds a value that is not allowed."""


class WorkspaceError(EarnrightError):
    """No workspace was found where one was expected, or it was never initialised."""


class WarehouseError(EarnrightError):
    """The warehouse cannot be opened, or its schema is newer than this version of earnright."""


class IngestError(EarnrightError):
    """A whole file cannot be ingested: unreadable, wrong format, or required columns missing.

    Problems with single rows never raise; those rows go to quarantine with their reason.
    """


class QueryError(EarnrightError):
    """A request names something that does not exist: a level, grain, period or unit.

    The message is in domain words ("no unit 'S99' in the units table"); ``argument`` names the
    argument it concerns (``level``, ``period``, ``unit`` …: the keyword of the Python API, which
    the command line spells ``--level``, ``--period`` …), so that each surface can say it its own
    way. ``argument`` is None when the error concerns no single argument.
    """


class SurveyLinkError(EarnrightError):
    """A survey link's token was not signed by this workspace (tampered, truncated, from
    another workspace), names no invitation, or has expired (``expired`` is then True)."""

    def __init__(self, message: str = "", *, expired: bool = False) -> None:
        super().__init__(message, argument="token")
        self.expired = expired


class AlreadyAnswered(EarnrightError):
    """The survey of this invitation was answered already: a second answer changes nothing."""


class DeliveryError(EarnrightError):
    """An alert message could not be delivered; the outbox records the attempt and its reason."""


class DeliveryFailed(DeliveryError):
    """One delivery attempt failed in a way worth retrying (network, timeout, non-2xx, SMTP)."""


class TargetRefused(DeliveryError):
    """The target is refused by the address policy; the message is never retried."""
