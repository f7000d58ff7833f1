"""The survey in the public API: links, reminders, response rates and detractors' cases
(docs/survey.md). :class:`SurveyMethods` is a base of :class:`~earnright.api.Workspace`; each
result's ``to_dict()`` is what ``earnright survey … --format json`` prints.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from earnright.api.operations import Operations
from earnright.api.records import jsonable
from earnright.api.results import Result, TableResult
from earnright.errors import QueryError

__all__ = ["CASE_STATUSES", "FollowupResult", "SurveyMethods"]

CASE_STATUSES = ("open", "followed up", "closed", "all")


class FollowupResult(Result):
    """A follow-up recorded on a case: the case, the note, who and when, whether it closes it."""

    followup: dict[str, Any]

    def to_dict(self) -> Any:
        return jsonable(self.followup)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([self.followup])

    def _summary(self) -> str:
        return f"{self.followup['case_id']} by {self.followup['noted_by']}"


def _now(now: datetime | str | None) -> datetime:
    from earnright.api.reliability import parse_since

    if now is None:
        return datetime.now(UTC).replace(tzinfo=None)
    parsed = parse_since(now)
    assert parsed is not None
    return parsed


class SurveyMethods(Operations):
    """The survey capabilities of a workspace."""

    def survey_links(
        self, since: datetime | str | None = None, now: datetime | str | None = None
    ) -> TableResult:
        """``invitation_id`` and ``url`` of every invitation not yet answered whose link has
        not expired at ``now`` (default: the current time), sent ``since`` a date if given."""
        from earnright.api.reliability import parse_since
        from earnright.survey import survey_links

        start = parse_since(since)
        with self.warehouse(read_only=False) as wh:  # the link secret is made on first use
            frame = survey_links(wh, self.config, now=_now(now), since=start)
        return TableResult.of(frame)

    def survey_remind(self, now: datetime | str | None = None) -> TableResult:
        """Enqueue in the outbox one reminder per invitation unanswered ``[survey]
        remind_after`` its sending; a reminder already sent is never sent again."""
        from earnright.survey import send_reminders

        with self.warehouse(read_only=False) as wh:
            frame = send_reminders(wh, self.config, now=_now(now))
        return TableResult.of(frame)

    def survey_rates(self, since: datetime | str | None = None) -> TableResult:
        """Per store and moment: invitations (sent ``since`` a date if given), answered
        through the survey, and the response rate."""
        from earnright.api.reliability import parse_since
        from earnright.survey import response_rates

        with self.warehouse() as wh:
            frame = response_rates(wh, since=parse_since(since))
        return TableResult.of(frame)

    def survey_cases(self, status: str = "all", now: datetime | str | None = None) -> TableResult:
        """Detractors' cases: ``status`` open, followed up, closed or all; ``overdue`` at
        ``now`` when unanswered past their answer-by time."""
        from earnright.survey import list_cases

        if status not in CASE_STATUSES:
            raise QueryError(
                f"'{status}' is not a case status: one of {', '.join(CASE_STATUSES)}",
                argument="status",
            )
        with self.warehouse() as wh:
            frame = list_cases(wh, now=_now(now), status=status)
        return TableResult.of(frame)

    def survey_followup(
        self, case: str, note: str, by: str, close: bool = False,
        now: datetime | str | None = None,
    ) -> FollowupResult:  # fmt: skip
        """Record ``by``'s follow-up ``note`` on ``case`` (``close``: the case is done)."""
        from earnright.survey import record_followup

        with self.warehouse(read_only=False) as wh:
            row = record_followup(wh, case, note, by, now=_now(now), close=close)
        return FollowupResult(followup=row)
