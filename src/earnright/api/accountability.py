"""Accountability in the public API: the issue register, the weekly review, decisions under
decision rights, commitments and measured outcomes (docs/accountability.md).

:class:`AccountabilityMethods` is a base of :class:`~earnright.api.Workspace`; the results are
typed like every other (``to_dict()`` is the command line's ``--format json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from earnright.api.operations import Operations
from earnright.api.records import jsonable
from earnright.api.results import Result, TableResult
from earnright.errors import QueryError
from earnright.periods import Grain, parse_period

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

    from earnright.config import Config
    from earnright.warehouse import Warehouse

__all__ = [
    "AccountabilityMethods",
    "AgendaResult",
    "DecisionResult",
    "IssuesResult",
    "OutcomesResult",
    "SyncResult",
]

ISSUE_STATUSES = ("open", "decided", "all")
COMMITMENT_OUTCOME = ["verdict", "effect", "effect_low", "effect_high", "estimator", "value",
                      "value_low", "value_high"]  # fmt: skip


class IssuesResult(TableResult):
    """The issue register: per issue its unit, title, owner, moment, metric, evidence, what is
    at stake, where it came from (``origin``), when raised and its ``status``."""

    status: str = "open"

    def _what(self) -> str:
        return f"{self.status} issues"


class SyncResult(Result):
    """Issues added to the register from focus items (``focus``), incidents (``incidents``),
    the loss review (``losses``: incident reasons with a material excess, and the complaints
    and loss-call reasons lost customers gave) and comment themes (``themes``: customers
    complaining more on a theme, or more negatively, beyond noise)."""

    focus: int = 0
    incidents: int = 0
    losses: int = 0
    themes: int = 0

    def to_dict(self) -> Any:
        return {"focus": self.focus, "incidents": self.incidents, "losses": self.losses,
                "themes": self.themes}  # fmt: skip

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([self.to_dict()])

    def _summary(self) -> str:
        return (f"{self.focus} from focus, {self.incidents} from incidents, {self.losses} from "
                f"losses, {self.themes} from comment themes")  # fmt: skip


class AgendaResult(TableResult):
    """An owner's review agenda: their open issues, the evidence, a recommended action and
    whether it is theirs to decide (``theirs``; else ``decided_by`` names who can)."""

    owner: str = ""
    week: str | None = None

    def _what(self) -> str:
        return f"agenda of {self.owner}" + (f", {self.week}" if self.week else "")


class DecisionResult(Result):
    """A decision stored: who decided, under which authority, the action and its metric, and
    the date by which its effect should show. ``decision_id`` is also the action's id."""

    decision: dict[str, Any]

    def to_dict(self) -> Any:
        return jsonable(self.decision)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([self.decision])

    def _summary(self) -> str:
        d = self.decision
        return f"{d['decision_id']} on {d['issue_id']} by {d['decided_by']}"


class OutcomesResult(TableResult):
    """Per action, its effect on its metric against matched units that did not act, the
    interval, the verdict and the naive before/after; ``pooled`` per kind and metric."""

    pooled: list[dict[str, Any]] = Field(default_factory=list)
    since: str | None = None

    def _what(self) -> str:
        return "outcomes of actions" + (f" since {self.since}" if self.since else "")


def _week_end(week: str | None) -> datetime | None:
    if week is None:
        return None
    try:
        return parse_period(week, Grain.week)[1]
    except QueryError as exc:
        raise QueryError(
            f"'{week}' is not a week; expected e.g. 2026-W37", argument="week"
        ) from exc


class AccountabilityMethods(Operations):
    """The accountability capabilities of a workspace."""

    def issues(self, status: str = "open") -> IssuesResult:
        """The issue register: ``status`` open (no decision yet), decided or all."""
        from earnright.accountability.register import read_issues

        if status not in ISSUE_STATUSES:
            raise QueryError(
                f"'{status}' is not an issue status: one of {', '.join(ISSUE_STATUSES)}",
                argument="status",
            )
        with self.warehouse() as wh:
            frame = read_issues(wh)
        if status != "all":
            frame = frame[frame.status == status].reset_index(drop=True)
        return IssuesResult.of(frame, status=status)

    def add_issue(self, unit: str, title: str, owner: str, **details: Any) -> str:
        """Add an issue raised by a person at ``unit``, owned by ``owner``; ``details``:
        moment, metric, evidence, customers_at_stake, revenue_at_stake. Returns its id."""
        from earnright.accountability.register import add_issue

        moments = self.config.journey.moment_ids()
        if details.get("moment") is not None and moments and details["moment"] not in moments:
            raise QueryError(
                f"'{details['moment']}' is not a journey moment: one of {', '.join(moments)}",
                argument="moment",
            )
        if details.get("metric") is not None and not self.config.measurable(details["metric"]):
            raise QueryError(
                f"'{details['metric']}' is not a metric outcomes can measure: nps, csat, a "
                "question id, an indicator id, retention or spend",
                argument="metric",
            )
        with self.warehouse(read_only=False) as wh:
            return add_issue(wh, unit, title, owner, **details)

    def sync_issues(
        self, period: str | None = None, grain: Grain | str = Grain.month
    ) -> SyncResult:
        """Add to the register every focus item of the lowest level's units in ``period``
        (default: the latest complete one), every early-warning incident, every incident
        reason of the loss review with a material excess and every comment theme customers
        complain about more (or more negatively) beyond noise at a lowest-level unit in
        ``period``; syncing again adds nothing new."""
        from earnright.accountability.register import (
            focus_issues,
            incident_issues,
            now,
            sync_issues,
        )
        from earnright.listening.focus import compute_focus
        from earnright.periods import choose_period

        grain = Grain(grain)
        indicators = {ind.metric: ind.id for _, ind in self.config.journey.indicators()}
        with self.warehouse(read_only=False) as wh:
            notes, lists, themes = [], [], 0
            if wh.count("feedback"):
                choice = choose_period(wh, grain, period)
                lists = compute_focus(wh, self.config, grain=grain, period=choice.label)
                notes = [] if choice.given else [choice.note]
                if self.config.themes:
                    themes = sync_issues(wh, _theme_issues(wh, self.config, grain, choice.label))
            focus = sync_issues(wh, focus_issues(lists, now()))
            incidents = sync_issues(wh, incident_issues(wh, indicators))
            losses = sync_issues(wh, _loss_issues(wh, self.config))
        return SyncResult(
            focus=focus, incidents=incidents, losses=losses, themes=themes, notes=notes
        )

    def review(self, owner: str, week: str | None = None) -> AgendaResult:
        """The weekly review agenda of ``owner``: their issues open at the end of ``week``
        (e.g. 2026-W37; default: now), the evidence, a recommended action, and whether it is
        theirs to decide."""
        from earnright.accountability.decisions import review

        with self.warehouse() as wh:
            frame = review(wh, self.config, owner, _week_end(week))
        return AgendaResult.of(frame, owner=owner, week=week)

    def decide(
        self, issue: str, action: str, by: str, kind: str | None = None,
        amount: float | None = None, metric: str | None = None, expected: str | None = None,
        expected_effect: float | None = None, commitment: str | None = None,
    ) -> DecisionResult:  # fmt: skip
        """Record ``by``'s decision to take ``action`` (of ``kind``, costing ``amount``) on
        ``issue``, to move ``metric`` (default: the issue's) by ``expected_effect``; it also
        starts the action whose outcome is measured. QueryError naming who can decide when it
        is beyond ``by``'s decision rights. Decisions are never edited: decide again instead."""
        from dataclasses import asdict

        from earnright.accountability.decisions import decide

        with self.warehouse(read_only=False) as wh:
            made = decide(
                wh, self.config, issue, action, by=by, kind=kind, amount=amount, metric=metric,
                expected=expected, expected_effect=expected_effect, commitment_id=commitment,
            )  # fmt: skip
        return DecisionResult(decision=asdict(made))

    def commit(self, text: str, by: str) -> str:
        """Record a leadership commitment ("we will / will not …") made ``by``; returns its
        id, which decisions name (``commitment``)."""
        from earnright.accountability.decisions import add_commitment

        with self.warehouse(read_only=False) as wh:
            return add_commitment(wh, text, by)

    def commitments(self) -> TableResult:
        """Every commitment with how many decisions put it into practice (``decisions``)."""
        with self.warehouse() as wh:
            c = wh.table("commitments").to_pandas()
            d = wh.table("decisions").select("commitment_id").to_pandas()
        counts = d.commitment_id.value_counts()
        c["decisions"] = c.commitment_id.map(counts).fillna(0).astype("int64")
        return TableResult.of(c.sort_values("made_at").reset_index(drop=True))

    def commitment_outcomes(self) -> TableResult:
        """Which commitments were put into practice, and did it work: per commitment, each
        decision (= action) pointing to it with its issue, unit, metric, who decided and
        when, and its measured outcome (``verdict``, ``effect`` with its interval,
        ``estimator``, ``value``); a commitment no decision points to has one row with
        ``verdict`` "no decision"."""
        import pandas as pd

        from earnright.accountability.outcomes import measure_outcomes

        with self.warehouse() as wh:
            c = wh.table("commitments").to_pandas()
            d = wh.table("decisions").to_pandas()
            d = d[d.commitment_id.notna()]
            ids = set(d.decision_id)
            measured = None
            if ids:
                frame = measure_outcomes(wh, self.config).frame
                measured = self._valued(wh, frame[frame.action_id.isin(ids)])
        keep = ["decision_id", "commitment_id", "issue_id", "unit_id", "metric", "action",
                "decided_by", "decided_at"]  # fmt: skip
        rows = c.merge(d[keep], on="commitment_id", how="left")
        if measured is not None:
            cols = ["action_id", *COMMITMENT_OUTCOME]
            rows = rows.merge(measured[cols], left_on="decision_id", right_on="action_id",
                              how="left").drop(columns="action_id")  # fmt: skip
        for col in COMMITMENT_OUTCOME:
            if col not in rows:
                rows[col] = pd.NA
        rows["verdict"] = rows.verdict.where(rows.decision_id.notna(), "no decision")
        rows = rows.sort_values(["made_at", "commitment_id", "decided_at"], na_position="last")
        return TableResult.of(rows.reset_index(drop=True))

    def outcomes(self, since: Any = None) -> OutcomesResult:
        """Every action's (started ``since`` a date) effect on its metric by
        difference-in-differences against matched units that did not act: the interval,
        the verdict (worked, no detectable effect, made it worse, too early), the naive
        before/after beside it, and the pooled effect per kind and metric."""
        from earnright.accountability.outcomes import measure_outcomes
        from earnright.api.records import records
        from earnright.api.reliability import parse_since

        start = parse_since(since)
        with self.warehouse() as wh:
            report = measure_outcomes(wh, self.config, start)
            frame = self._valued(wh, report.frame)
        return OutcomesResult.of(
            frame, pooled=records(report.pooled), since=None if since is None else str(since)
        )

    def _valued(self, wh: Warehouse, frame: pd.DataFrame) -> pd.DataFrame:
        """The outcomes with the value of each effect in revenue where the customer asset
        provides it (docs/accountability.md "Value"): NPS and driver effects × a point value
        at the unit's level, spend over the horizon, retention × the customers' lifetime
        value; else empty values."""
        from earnright.accountability.value import point_question, value_effects

        priced = frame.effect.notna() & frame.metric.map(
            lambda m: point_question(self.config, str(m)) is not None
        )
        points = _point_values(wh, self.config, frame[priced].unit_id) if priced.any() else None
        kept = frame.effect.notna() & (frame.metric == "retention")
        bases = _retention_bases(wh, self.config, frame[kept]) if kept.any() else None
        return value_effects(frame, points, self.config, self.config.outcomes.level, bases)


def _loss_issues(wh: Warehouse, config: Config) -> pd.DataFrame:
    """The loss review's incident reasons with a material excess, and the complaints and
    loss-call reasons lost customers gave, per lowest-level unit and month, as issues (empty
    without transactions)."""
    import pandas as pd

    from earnright.accountability.register import loss_issues, now, reason_issues
    from earnright.customers.losses import explain_losses, summarise_losses

    if not wh.count("transactions"):
        return pd.DataFrame(columns=["issue_id", "unit_id"])
    losses = explain_losses(wh, config, level=config.units.levels[-1], grain=Grain.month)
    owners = wh.table("incidents").select("incident_id", "owner").to_pandas()
    by_id = dict(zip(owners.incident_id.astype(str), owners.owner, strict=True))
    summary = summarise_losses(losses)
    at = now()
    by_moment = {m.id: m.owner for s in config.journey.stages for m in s.moments if m.owner}
    told = losses.reasons.merge(
        losses.lost[["customer_id", "lost_at", "unit_id", "period"]], on=["customer_id", "lost_at"]
    )
    fallback = config.assets.review_owner or "unit:{unit}"
    return pd.concat(
        [loss_issues(summary, losses.incidents, by_id, at),
         reason_issues(summary, told, by_moment, fallback, at)], ignore_index=True,
    )  # fmt: skip


def _theme_issues(wh: Warehouse, config: Config, grain: Grain, period: str) -> pd.DataFrame:
    """The comment themes customers complain about more, or more negatively, beyond noise at
    each lowest-level unit in ``period``, as issues quoting the latest negative comment."""
    from earnright.accountability.register import now, theme_issues
    from earnright.comments.store import label_feedback, labels_current
    from earnright.comments.trend import theme_trends

    if not labels_current(wh, config):  # the codeframe or the model changed since ingest
        label_feedback(wh, config)

    level = config.units.levels[-1]
    trends, label = theme_trends(wh, config, level=level, grain=grain, period=period)
    owners = {m.id: m.owner for s in config.journey.stages for m in s.moments if m.owner}
    start, end = parse_period(label, grain)
    fb = wh.table("feedback")
    fb = fb.filter((fb.responded_at >= start) & (fb.responded_at < end) & fb.comment.notnull())
    labels = wh.table("comment_labels").filter(lambda t: t.sentiment == "negative")
    t = (
        fb.select("response_id", "unit_id", "responded_at", "comment")
        .inner_join(labels.select("response_id"), "response_id")
        .inner_join(wh.table("comment_themes").select("response_id", "theme"), "response_id")
    )
    said = (  # the engine keeps the latest negative comment per unit and theme
        t.group_by(["unit_id", "theme"])
        .aggregate(comment=t.comment.argmax(t.responded_at))
        .to_pyarrow().to_pandas()
    )  # fmt: skip
    quotes = {(str(u), str(th)): str(c)[:200]
              for u, th, c in zip(said.unit_id, said.theme, said.comment, strict=True)}  # fmt: skip
    fallback = config.assets.review_owner or "unit:{unit}"
    return theme_issues(trends, owners, fallback, now(), quotes)


def _retention_bases(wh: Warehouse, config: Config, rows: pd.DataFrame) -> pd.DataFrame | None:
    """Per retention action (``rows``: action_id, unit_id, started_at), its unit's customers'
    summed lifetime value over the value horizon as of the action's start
    (accountability/value.py); None without customers and transactions to value them."""
    import pandas as pd

    from earnright.accountability.value import HORIZON_DAYS, retention_bases
    from earnright.customers.value import customer_lifetime_values
    from earnright.errors import EarnrightError
    from earnright.units import read_units, unit_ancestors

    units = read_units(wh).set_index("unit_id")
    found = []
    for started, group in rows.groupby("started_at"):
        as_of = pd.Timestamp(str(started)).to_pydatetime()
        try:
            values = customer_lifetime_values(wh, as_of, months=round(HORIZON_DAYS / 30)).frame
        except EarnrightError:
            continue
        for action_id, unit_id in zip(group.action_id, group.unit_id.astype(str), strict=True):
            level = units.level.get(unit_id)
            anc = unit_ancestors(units.reset_index(), config.units.levels, str(level))
            homes = anc[anc.ancestor_id == unit_id][["unit_id", "ancestor_id"]].rename(
                columns={"unit_id": "home_unit_id", "ancestor_id": "unit_id"}
            )
            found.append(retention_bases(values, homes).assign(action_id=str(action_id)))
    return pd.concat(found, ignore_index=True) if found else None


def _point_values(wh: Warehouse, config: Config, unit_ids: pd.Series) -> pd.DataFrame | None:
    """The point values (customers/pointvalue.py) at every level of ``unit_ids``; None when the
    customer asset cannot provide them (no customers, transactions or respondents)."""
    import pandas as pd

    from earnright.customers.loyalty import respondent_summaries
    from earnright.customers.pointvalue import active_customers, point_values
    from earnright.errors import EarnrightError
    from earnright.units import read_units, unit_ancestors

    units = read_units(wh)
    levels = sorted(set(units.set_index("unit_id").level.reindex(unit_ids).dropna()))
    found = []
    try:
        respondents = respondent_summaries(wh, config)
        for level in levels:
            anc = unit_ancestors(units, config.units.levels, str(level))
            homes = anc[["unit_id", "ancestor_id"]].rename(
                columns={"unit_id": "home_unit_id", "ancestor_id": "unit_id"}
            )
            customers = active_customers(wh, respondents, homes)
            found.append(point_values(respondents, config, homes, customers))
    except EarnrightError:
        return None
    return pd.concat(found, ignore_index=True) if found else None
