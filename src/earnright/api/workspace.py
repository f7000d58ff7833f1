"""A workspace for Python code: one method per capability, each returning a typed result.

>>> ws = open_workspace("demo-workspace")              # doctest: +SKIP
>>> ws.scorecard(level="region", period="2026-Q3")     # doctest: +SKIP
<ScorecardResult by region, 2026-Q3: 3 rows>

Arguments are named like the command line's options (``level``, ``grain``, ``period``, ``unit``
…) and mean the same; ``period`` is a :class:`~earnright.periods.Period` or its label
(``2026-09``, ``2026-W37``, ``2026-Q3``), and without ``grain`` the grain is the label's own.
Each call opens the warehouse for its own duration (read-only unless it writes), so a notebook
never holds a lock between cells. Errors are :mod:`earnright.errors` exceptions in domain words;
a :class:`~earnright.errors.QueryError` names the ``argument`` it concerns.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earnright.api.accountability import AccountabilityMethods
from earnright.api.comments import CommentMethods
from earnright.api.customers import CustomerMethods
from earnright.api.loyalty import LoyaltyMethods
from earnright.api.pack import PackMethods
from earnright.api.privacy import PrivacyMethods
from earnright.api.results import (
    ChangesResult,
    CredibilityResult,
    DriversResult,
    FocusResult,
    HygieneResult,
    NeededResult,
    RankResult,
    ReliabilityResult,
    ScorecardResult,
    WarningsResult,
)
from earnright.api.survey import SurveyMethods
from earnright.errors import QueryError
from earnright.periods import Grain, Period, choose_period, choose_periods, parse_period
from earnright.progress import Progress
from earnright.workspace import find_workspace

if TYPE_CHECKING:
    pass

__all__ = [
    "PeriodArg",
    "Workspace",
    "create_demo",
    "create_workspace",
    "open_workspace",
    "resolve_period",
]

PeriodArg = Period | str | None
INCIDENT_STATUSES = ("open", "resolved", "all")


def open_workspace(path_or_url: str | Path | None = None) -> Workspace:
    """The workspace at ``path_or_url``: a directory holding ``earnright.toml``, whose
    warehouse is its config's ``[warehouse] url``; or a warehouse URL
    (``postgresql://user@host/db``, ``duckdb:///file.duckdb`` relative to the current
    directory, ``duckdb:////abs/file.duckdb``) opened with the config stored in it
    (``earnright init`` stores it; :meth:`Workspace.save_config` updates it), else the
    defaults. Default: ``$EARNRIGHT_WORKSPACE`` (a folder or a URL), else the current
    directory. WorkspaceError when none is there or the URL names no database."""
    import os

    from earnright.workspace import ENV_VAR, is_url, open_url

    if path_or_url is None and is_url(os.environ.get(ENV_VAR, "")):
        path_or_url = os.environ[ENV_VAR]
    if path_or_url is not None and is_url(str(path_or_url)):
        return Workspace(open_url(str(path_or_url)))
    return Workspace(find_workspace(Path(path_or_url) if path_or_url is not None else None))


def create_workspace(path: str | Path, *, warehouse: str = "duckdb") -> Workspace:
    """A new workspace at ``path``: a commented ``earnright.toml`` and an empty warehouse
    (``earnright init``); ``warehouse="spark"`` for a local Spark one (docs/spark.md).
    WorkspaceError when one is already there."""
    from earnright.config import Config
    from earnright.config.sections import Warehouse as WarehouseSection
    from earnright.workspace import init_workspace

    urls = {"duckdb": WarehouseSection().url, "spark": "spark:///spark-warehouse"}
    if warehouse not in urls:
        raise QueryError(
            f"warehouse: one of {sorted(urls)}, not {warehouse!r}", argument="warehouse"
        )
    config = Config(warehouse=WarehouseSection(url=urls[warehouse]))
    return Workspace(init_workspace(Path(path), config))


def create_demo(
    out: str | Path,
    *,
    stores: int = 60,
    months: int = 12,
    seed: int = 7,
    replace: bool = False,
    progress: Progress | None = None,
) -> Workspace:
    """The demo company (with planted truth) generated into a new workspace at ``out`` and run
    end to end, as ``earnright demo`` does (:func:`earnright.services.demo.run_demo`)."""
    from earnright.services.demo import run_demo

    run = run_demo(
        Path(out), stores=stores, months=months, seed=seed, progress=progress, replace=replace,
        documents=True,
    )  # fmt: skip
    return open_workspace(run.workspace)


def resolve_period(grain: Grain | str | None, period: PeriodArg) -> tuple[Grain, str | None]:
    """``(grain, label)`` of a request: the grain given, else the period's own, else month."""
    if period is None:
        return Grain(grain or Grain.month), None
    chosen = Period.of(period, grain)
    return chosen.grain, chosen.label


class Workspace(
    CustomerMethods,
    LoyaltyMethods,
    AccountabilityMethods,
    SurveyMethods,
    PackMethods,
    PrivacyMethods,
    CommentMethods,
):
    """Every capability of earnright on one workspace (module doc). Listening: ``scorecard``,
    ``credibility``, ``needed``, ``changes``, ``rank``, ``drivers``, ``focus``, ``hygiene``;
    reliability: ``reliability``, ``warnings``, ``watch``, ``localize``, ``detect``; customers:
    ``assets``, ``clv``, ``losses``, ``loss_review``, ``record_loss_call``, ``loyalty``,
    ``point_values``; accountability: ``issues``, ``add_issue``, ``sync_issues``, ``review``,
    ``decide``, ``commit``, ``commitments``, ``outcomes``; the survey: ``survey_links``,
    ``survey_remind``, ``survey_rates``, ``survey_cases``, ``survey_followup``; privacy:
    ``forget``, ``forgotten``; comments: ``comments``, ``themes``, ``discover_themes``,
    ``label_comments``; data:
    ``ingest``, ``status``, ``quarantine``, ``clear_quarantine``; ``report`` writes the page,
    ``report_site`` the site of a page per unit, ``pack`` the monthly pack and ``email_packs``
    sends it."""

    def __repr__(self) -> str:
        return f"<Workspace {self.location.where} ({self.config.company.name})>"

    # -- listening ---------------------------------------------------------------------------
    def scorecard(
        self, level: str = "store", grain: Grain | str | None = None, period: PeriodArg = None
    ) -> ScorecardResult:
        """Per unit and period: responses, response rate, NPS and CSAT with 95% intervals and
        the driver means; every period with data unless ``period``. A score with fewer than
        ``[listening] min_n`` answers is hidden (its n is kept)."""
        from earnright.listening.scorecard import compute_scorecard, suppress_scores

        grain, label = resolve_period(grain, period)
        with self.warehouse() as wh:
            _, note = choose_periods(wh, grain, label)
            frame = compute_scorecard(wh, self.config, level=level, grain=grain, period=label)
        frame = suppress_scores(frame, self.config.listening.min_n)
        meta = {"level": level, "grain": str(grain), "period": label}
        return ScorecardResult.of(frame, notes=[note] if note else [], **meta)

    def credibility(
        self, level: str = "store", grain: Grain | str | None = None, period: PeriodArg = None
    ) -> CredibilityResult:
        """Per unit, period and metric: estimate, 95% interval, n, and whether it can be
        trusted; below ``[listening] min_n`` answers a number is suppressed with the reason."""
        from earnright.api.listening import credibility_frame

        grain, label = resolve_period(grain, period)
        with self.warehouse() as wh:
            _, note = choose_periods(wh, grain, label)
            frame = credibility_frame(wh, self.config, level, grain, label)
        meta = {"level": level, "grain": str(grain), "period": label}
        return CredibilityResult.of(frame, notes=[note] if note else [], **meta)

    def needed(
        self,
        level: str = "store",
        grain: Grain | str | None = None,
        period: PeriodArg = None,
        change: float = 10.0,
        power: float = 0.8,
    ) -> NeededResult:
        """Responses each unit needs per period to detect a ``change`` in NPS (points) with
        ``power``, averaged over every complete period (or ``period``), and what is credible
        with today's invitations."""
        from earnright.api.listening import needed_frame

        grain, label = resolve_period(grain, period)
        with self.warehouse() as wh:
            last, note = choose_periods(wh, grain, label, complete_only=True)
            before = parse_period(last, grain)[1] if last is not None else None
            frame = needed_frame(wh, self.config, (level, grain, label), before, (change, power))
        meta = {"level": level, "grain": str(grain), "period": label}
        return NeededResult.of(
            frame, notes=[note] if note else [], change=change, power=power, **meta
        )

    def changes(
        self,
        level: str = "store",
        grain: Grain | str | None = None,
        period: PeriodArg = None,
        against: str = "previous",
        metric: str = "nps",
        fdr: float = 0.05,
        min_n: int = 5,
        show_all: bool = False,
    ) -> ChangesResult:
        """Units whose ``metric`` changed by more than sampling noise in ``period`` (default:
        the latest complete one) against their ``previous`` period or their ``peers``, at a
        false discovery rate ``fdr``; only the flagged units unless ``show_all``."""
        from earnright.listening.changes import Against, find_changes

        grain, label = resolve_period(grain, period)
        with self.warehouse() as wh:
            choice = choose_period(wh, grain, label)
            frame = find_changes(
                wh, self.config, level=level, period=choice.label, grain=grain,
                against=Against(against), metric=metric, fdr=fdr, min_n=min_n,
            )  # fmt: skip
        tested, flagged = int(frame.p_value.notna().sum()), int(frame.flagged.sum())
        if not show_all:
            frame = frame[frame.flagged].reset_index(drop=True)
        return ChangesResult.of(
            frame, notes=[] if choice.given else [choice.note], level=level, grain=str(grain),
            period=choice.label, against=str(against), metric=metric, fdr=fdr, tested=tested,
            flagged=flagged,
        )  # fmt: skip

    def rank(
        self,
        level: str = "store",
        grain: Grain | str | None = None,
        period: PeriodArg = None,
        metric: str = "nps",
        peer: str | None = None,
        history: int | None = None,
        draws: int = 2000,
        seed: int = 0,
    ) -> RankResult:
        """Rank the units of ``level`` fairly in ``period`` (default: the latest complete one):
        scores shrunk toward their ``peer`` group by how far their n can be trusted, with
        rank intervals and tiers."""
        from earnright.api.listening import rank_result

        grain, label = resolve_period(grain, period)
        with self.warehouse() as wh:
            choice = choose_period(wh, grain, label)
            options = {"metric": metric, "peer": peer, "draws": draws, "seed": seed}
            if history is not None:
                options["history"] = history
            return rank_result(wh, self.config, (level, grain, choice), options)

    def drivers(
        self,
        outcome: str | None = None,
        drivers: Sequence[str] | str | None = None,
        level: str | None = None,
        unit: str | None = None,
        grain: Grain | str | None = None,
        period: PeriodArg = None,
        by_moment: bool | None = None,
        bootstrap: int | None = None,
        seed: int = 0,
        shrink: bool = True,
        source: str | Path | Any = None,
        cluster: str | None = None,
        themes: bool = False,
    ) -> DriversResult:
        """Key drivers: how much of ``outcome`` each driver explains (LMG and relative weight
        with 95% intervals), per unit of ``level`` (or only ``unit``) over ``period`` (default:
        every period). With ``source`` (a CSV, Parquet or JSON Lines path, a pandas DataFrame or
        an Ibis table) the whole table is one sample and the workspace is not read. With
        ``themes`` the drivers are the config's themes: whether a comment mentions each."""
        from earnright.api.listening import drivers_result, table_drivers

        options: dict[str, Any] = {
            "outcome": outcome,
            "drivers": drivers,
            "bootstrap": bootstrap,
            "seed": seed,
        }
        if source is not None:
            if level or unit or period or by_moment is not None or themes:
                raise QueryError(
                    "level, unit, period, by_moment and themes choose from the workspace's "
                    "feedback; "
                    "with a source the whole table is one sample",
                    argument="source",
                )
            return table_drivers(source, cluster=cluster, **options)
        if cluster is not None:
            raise QueryError(
                "the cluster goes with a source table; a workspace resamples its stores",
                argument="cluster",
            )
        grain, label = resolve_period(grain, period)
        options |= {"level": level, "unit": unit, "grain": grain, "period": label}
        options |= {"by_moment": by_moment, "shrink": shrink, "themes": themes}
        with self.warehouse() as wh:
            _, note = choose_periods(wh, grain, label)
            found = drivers_result(wh, self.config, options)
        found.notes[:0] = [note] if note else []
        return found

    def focus(
        self,
        unit: str | None = None,
        every: bool = False,
        level: str | None = None,
        grain: Grain | str | None = None,
        period: PeriodArg = None,
        window: int | None = None,
        importance_window: int | None = None,
        top: int = 3,
        margin: float | None = None,
        fdr: bool = True,
        comments: int = 3,
        sort: str = "gap",
    ) -> FocusResult:
        """The few things ``unit`` (or, ``every``, each unit at ``level``) should fix: drivers
        it is credibly behind its peers on over the ``window`` ending with ``period`` (default:
        the latest complete one), with the evidence. ``sort="worth"`` prices every item in
        retained revenue (``worth``) and orders items and units by it."""
        from earnright.customers.returns import SORTS
        from earnright.listening.focus import compute_focus

        if (unit is None) == (not every):
            raise QueryError("name one unit, or ask for every unit at the level", argument="unit")
        if sort not in SORTS:
            raise QueryError(f"'{sort}' is not a sort: one of {', '.join(SORTS)}", argument="sort")
        grain, label = resolve_period(grain, period)
        with self.warehouse() as wh:
            choice = choose_period(wh, grain, label)
            lists = compute_focus(
                wh, self.config, unit=unit, level=level, grain=grain, period=choice.label,
                window=window, importance_window=importance_window, top=top, margin=margin,
                fdr=fdr, comments=comments,
            )  # fmt: skip
            if sort == "worth":
                lists = self._price_focus(wh, lists)
        return FocusResult(lists=lists, notes=[] if choice.given else [choice.note])

    def hygiene(
        self,
        level: str = "store",
        grain: Grain | str | None = None,
        period: PeriodArg = None,
        history: int = 6,
        fdr: float = 0.05,
        quick_minutes: float = 10.0,
        min_ratio: float = 2.0,
        min_n: int | None = None,
        show_all: bool = False,
    ) -> HygieneResult:
        """Units whose answers look solicited or manipulated in ``period`` (default: the latest
        complete one), against their ``history`` and their peers: the evidence, never an
        accusation. Only the flags unless ``show_all``."""
        from earnright.api.listening import hygiene_result

        grain, label = resolve_period(grain, period)
        with self.warehouse() as wh:
            choice = choose_period(wh, grain, label)
            options: dict[str, Any] = {
                "history": history,
                "fdr": fdr,
                "quick_minutes": quick_minutes,
            }
            options |= {"min_ratio": min_ratio, "min_n": min_n}
            return hygiene_result(wh, self.config, (level, grain, choice), options, show_all)

    # -- reliability -------------------------------------------------------------------------
    def reliability(
        self,
        period: PeriodArg = None,
        grain: Grain | str | None = None,
        at: Any = None,
        indicator: str | None = None,
        segments: bool = True,
    ) -> ReliabilityResult:
        """Rate every journey moment's indicators against their objectives, overall and per
        segment: over ``period``, else each indicator's rolling window ending at ``at`` (a
        datetime or ISO 8601 text; default: the end of the step holding the latest metrics
        observation)."""
        from earnright.api.reliability import reliability_result

        if period is not None and at is not None:
            raise QueryError(
                "give a period or an end time (at), not both: a period is a fixed window",
                argument="at",
            )
        chosen = Period.of(period, grain) if period is not None else None
        with self.warehouse() as wh:
            return reliability_result(wh, self.config, chosen, at, (indicator, segments))

    def warnings(
        self, since: Any = None, status: str = "all", sort: str = "newest"
    ) -> WarningsResult:
        """Incidents found by early warning, newest first (``status`` open, resolved or all;
        only those open or alerting ``since`` a date); ``sort="worth"`` prices each in
        retained revenue (``worth``, customers/returns.py) and orders them by it."""
        from earnright.api.reliability import warnings_result

        if sort not in ("newest", "worth"):
            raise QueryError(f"'{sort}' is not a sort: newest or worth", argument="sort")

        if status not in INCIDENT_STATUSES:
            raise QueryError(
                f"'{status}' is not an incident status: one of {', '.join(INCIDENT_STATUSES)}",
                argument="status",
            )
        with self.warehouse() as wh:
            result = warnings_result(wh, self.config, since, status)
            if sort == "worth":
                result = self._price_warnings(wh, result, since, status)
            return result
