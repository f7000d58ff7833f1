"""The config tables other than the journey: company, units, sources, listening, reliability,
owners, delivery and the warehouse."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator

from earnright.config.values import CURRENCY, DataKind, Duration, _Model

__all__ = [
    "ENV_REF",
    "QUALTRICS_COLUMNS",
    "Assets",
    "BurnAlert",
    "Company",
    "Decisions",
    "Delivery",
    "Listening",
    "Outcomes",
    "Owner",
    "Reliability",
    "Right",
    "Source",
    "Survey",
    "Theme",
    "Units",
    "Warehouse",
]


class Company(_Model):
    name: str = "My company"
    """The company's name, shown on reports."""
    currency: str = "$"
    """Printed before every amount of money (alerts, the page, tables): a symbol such as "€" or
    "R$", or an ISO 4217 code such as "EUR", shown "EUR 12,300"."""

    @field_validator("currency")
    @classmethod
    def _currency_is_short_text(cls, value: str) -> str:
        if not CURRENCY.fullmatch(value):
            raise ValueError(
                f"currency {value!r} must be a symbol or code of 1 to 5 characters without "
                'digits, spaces or control characters, e.g. "€" or "EUR"'
            )
        return value


class Units(_Model):
    levels: list[str] = Field(default_factory=lambda: ["company", "region", "district", "store"])
    """Levels of the unit hierarchy, top first; rows of units files name one of them, and --level
    picks one."""

    @field_validator("levels")
    @classmethod
    def _levels_distinct(cls, levels: list[str]) -> list[str]:
        if not levels:
            raise ValueError("declare at least one level, e.g. ['company', 'store']")
        if len(set(levels)) != len(levels):
            raise ValueError(f"levels must be distinct, got {levels}")
        return levels


QUALTRICS_COLUMNS = {"ResponseId": "response_id", "RecordedDate": "responded_at"}


class Source(_Model):
    """How one kind of file maps onto the canonical import format.

    ``columns`` maps a column name in the file to the canonical name; ``ignore`` lists file
    columns to drop; ``only_mapped`` drops every column not named in ``columns``. ``layout =
    "qualtrics"`` reads a Qualtrics CSV export: its two extra header rows are skipped, ResponseId
    and RecordedDate map to response_id and responded_at, and only mapped columns are kept
    (exports carry dozens of metadata columns).
    """

    kind: DataKind
    """The kind of data the files of this source hold: units, customers, feedback, invitations,
    transactions, metrics, loss_calls, issues or actions."""
    layout: Literal["canonical", "qualtrics"] = "canonical"
    """canonical, or qualtrics: a Qualtrics CSV export (two extra header rows skipped, ResponseId
    and RecordedDate mapped, only mapped columns kept)."""
    columns: dict[str, str] = Field(default_factory=dict)
    """File column name → canonical column name."""
    ignore: list[str] = Field(default_factory=list)
    """File columns to drop."""
    only_mapped: bool = False
    """Drop every file column not named in columns."""

    @property
    def extra_header_rows(self) -> int:
        return 2 if self.layout == "qualtrics" else 0

    def mapping(self) -> dict[str, str]:
        """File column -> canonical column, with the layout's defaults under the user's."""
        defaults = QUALTRICS_COLUMNS if self.layout == "qualtrics" else {}
        return {**defaults, **self.columns}

    @property
    def keeps_only_mapped(self) -> bool:
        return self.only_mapped or self.layout == "qualtrics"


class Listening(_Model):
    """Credibility rules of the listening results."""

    min_n: int = Field(default=5, ge=1, le=1_000_000)
    """Fewest answers for a unit's score to be shown; below it the score is suppressed, never shown
    as zero."""


class Assets(_Model):
    """The customer asset ledger: when a customer counts as lost.

    A customer is lost on the day their last purchase becomes ``lapse_after_days`` old with no
    purchase since, and reactivated by their next purchase. Customers whose ``lapse_by``
    attribute (a customers column, e.g. segment) has a value in ``lapse_overrides`` lapse after
    that value's number of days instead.
    """

    lapse_after_days: int = Field(default=180, ge=1, le=3650)
    """Days after their last purchase, with no purchase since, on which a customer is lost."""
    lapse_rule: Literal["days", "p_alive"] = "days"
    """days: lost lapse_after_days after the last purchase; p_alive: lost on the day the
    lifetime-value model (BG/NBD) judges a repeat buyer more likely gone than not (one-time
    buyers keep lapse_after_days; docs/assets.md)."""
    lapse_by: str | None = None
    """A customer attribute (customers column, e.g. segment) whose values may lapse sooner or
    later: see lapse_overrides."""
    lapse_overrides: dict[str, int] = Field(default_factory=dict)
    """Days to lapse for customers whose lapse_by attribute has this value, e.g.
    {business = 90}; others lapse after lapse_after_days."""
    complaint_channels: list[str] = Field(default_factory=lambda: ["complaint"])
    """Feedback channels whose items count as complaints when explaining why customers left."""
    review_owner: str = ""
    """Who calls lost customers whose reasons name no moment with an owner (earnright
    loss-review); default: the manager of their home unit, named unit:UNIT_ID."""

    @model_validator(mode="after")
    def _overrides_need_an_attribute(self) -> Assets:
        if self.lapse_overrides and not self.lapse_by:
            raise ValueError("lapse_overrides needs lapse_by: the customer attribute they key on")
        for value, days in self.lapse_overrides.items():
            if not 1 <= days <= 3650:
                raise ValueError(f"lapse_overrides.{value} = {days}: days are in [1, 3650]")
        return self

    def days_for(self, value: str | None) -> int:
        """The lapse of a customer whose lapse_by attribute is ``value``."""
        if value is None:
            return self.lapse_after_days
        return self.lapse_overrides.get(value, self.lapse_after_days)


class BurnAlert(_Model):
    """A multi-window burn-rate alert: it fires when the error budget burns at ``factor`` times
    the sustainable rate over both the ``long`` and the ``short`` window (the short one makes it
    stop soon after the burning stops)."""

    name: str
    """The alert's name, e.g. fast."""
    long: Duration
    """The long window over which the budget must burn at factor times the sustainable rate."""
    short: Duration
    """The short window (at most long) that must burn too, so the alert stops soon after the
    burning stops."""
    factor: float = Field(gt=0.0, le=1_000.0)
    """The burn rate, as a multiple of the sustainable rate, in (0, 1000]."""
    severity: Literal["page", "ticket"] = "page"
    """page or ticket."""

    @model_validator(mode="after")
    def _short_within_long(self) -> BurnAlert:
        if self.short > self.long:
            raise ValueError(f"burn alert '{self.name}': short window is longer than long window")
        return self


def _workbook_alerts() -> list[BurnAlert]:
    """The Google SRE workbook's recommended multi-window, multi-burn-rate alerts."""
    rows = [
        ("fast", "1h", "5m", 14.4, "page"),
        ("medium", "6h", "30m", 6.0, "page"),
        ("slow", "1d", "2h", 3.0, "ticket"),
        ("slower", "3d", "6h", 1.0, "ticket"),
    ]
    keys = ("name", "long", "short", "factor", "severity")
    return [BurnAlert.model_validate(dict(zip(keys, row, strict=True))) for row in rows]


class Reliability(_Model):
    """How indicators are bucketed, alerted on and rated, and who is affected by a segment.

    ``step`` is the bucket of every indicator series (match it to how often metrics arrive).
    A segment alerts only with at least ``min_events`` events in the alert's long window.
    ``hours`` maps a metric dimension whose values are times of day (e.g. ``daypart``) to the
    hours ``[from, to)`` of each value, so the customers affected can be found in transactions.
    An incident is resolved after ``resolve_after`` without a new alert. Revenue at risk counts
    the extra churn within ``churn_window`` after exposure and values a customer by their spend
    over ``value_window`` before it. When a segment is a customer attribute (the app platform:
    the failure reaches customers wherever they are), customers who bought at the segment's
    units within ``active_window`` before the incident count as affected.
    """

    step: Duration = timedelta(hours=1)
    """The bucket of every indicator series; match it to how often metrics arrive."""
    burn_alerts: list[BurnAlert] = Field(default_factory=_workbook_alerts)
    """Multi-window burn-rate alerts; default: the Google SRE workbook's four."""
    min_events: int = Field(default=20, ge=1, le=1_000_000_000)
    """A segment alerts only with at least this many events in the alert's long window."""
    anomaly_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    """The anomaly score, in (0, 1), from which the streaming detector alerts."""
    resolve_after: Duration = timedelta(days=2)
    """An incident is resolved after this long without a new alert."""
    at_risk_budget: float = Field(default=0.25, ge=0.0, le=1.0)
    """The share of the error budget left, in [0, 1], below which an indicator is rated at risk."""
    churn_window: Duration = timedelta(days=28)
    """Revenue at risk counts the extra churn within this long after the exposure."""
    active_window: Duration = timedelta(days=90)
    """For a segment that is a customer attribute, customers who bought at its units within this
    long before the incident count as affected."""
    value_window: Duration = timedelta(days=365)
    """A customer is valued by their spend over this long before the exposure."""
    hours: dict[str, dict[str, tuple[int, int]]] = Field(default_factory=dict)
    """For metric dimensions whose values are times of day (e.g. daypart): each value's hours
    [from, to), from in 0–23, to in 0–24; to below from wraps past midnight."""

    @field_validator("hours")
    @classmethod
    def _hours_of_the_day(
        cls, hours: dict[str, dict[str, tuple[int, int]]]
    ) -> dict[str, dict[str, tuple[int, int]]]:
        for dim, spans in hours.items():
            for value, (start, end) in spans.items():
                if not (0 <= start <= 23 and 0 <= end <= 24 and start != end):
                    raise ValueError(
                        f"{dim}.{value} = [{start}, {end}]: hours are [from, to) with from in "
                        "0-23, to in 0-24 and from != to (to < from wraps past midnight)"
                    )
        return hours


# ``${NAME}``: a value read from the environment variable NAME when it is used
ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class Owner(_Model):
    """Where a team's alerts go: webhook URLs (JSON, Slack-compatible) and email addresses."""

    webhooks: list[str] = Field(default_factory=list)
    """http(s) URLs that get the team's alerts as JSON (Slack-compatible); or ${NAME}, read from
    the environment variable NAME when a message is sent, so the URL (a secret) is kept out of
    the config file, the warehouse's copy of the config and the outbox."""
    email: list[str] = Field(default_factory=list)
    """Addresses that get the team's alerts by email."""

    @field_validator("webhooks")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        bad = [u for u in urls if not (re.match(r"^https?://[^/\s]+", u) or ENV_REF.match(u))]
        if bad:
            raise ValueError(f"webhooks must be http(s) URLs or ${{NAME}}, got {bad}")
        return urls


class Delivery(_Model):
    """Alert delivery: retries with exponential backoff, SMTP, and the address policy.

    Webhook targets that resolve to private, loopback or link-local addresses are refused
    unless ``allow_private`` is true; redirects are never followed.
    """

    allow_private: bool = False
    """Allow webhooks to private, loopback or link-local addresses (refused by default)."""
    max_attempts: int = Field(default=8, ge=1, le=100)
    """Attempts before a message is failed, 1 to 100."""
    backoff_seconds: float = Field(default=30.0, gt=0.0, le=86_400.0)  # waits are capped at 1 day
    """The wait before the first retry, doubled each attempt (with jitter, at most one day), in (0,
    86400]."""
    timeout_seconds: float = Field(default=10.0, gt=0.0, le=3_600.0)
    """The timeout of one webhook or SMTP attempt, in (0, 3600]."""
    smtp_host: str = ""
    """The SMTP relay alerts are emailed through; empty: no email."""
    smtp_port: int = Field(default=25, ge=1, le=65_535)
    """The SMTP relay's port."""
    email_from: str = "earnright@localhost"
    """The sender address of alert emails."""


class Recipient(_Model):
    """One person who gets the monthly pack by email (earnright pack --email)."""

    name: str = Field(min_length=1)
    """The recipient's name, as the pack's email greets them."""
    email: str = Field(min_length=3)
    """The address the pack is emailed to."""
    unit: str | None = None
    """The unit whose subtree their pack covers (a store manager: their store); empty: the
    whole company."""


class Pack(_Model):
    """The monthly leadership pack: who gets it by email."""

    recipients: list[Recipient] = Field(default_factory=list)
    """The people who get the pack, one [[pack.recipients]] table each."""


class Warehouse(_Model):
    url: str = "duckdb:///earnright.duckdb"
    """Where the warehouse lives: duckdb:///FILE (relative to the workspace), duckdb:////ABS/PATH,
    postgresql://user@host:5432/db, or Spark: spark:///DIR?master=local[2] (docs/spark.md)."""
    memory_limit: str = "4GB"
    """DuckDB's memory cap, at least "64MB"; beyond it DuckDB spills to disk. An ingest peaks at
    about this plus 1 GB."""

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value)
        if not match:
            raise ValueError(f'\'{value}\' is not a size; expected e.g. "2GB" or "512MB"')
        if float(match.group(1)) * 1024 ** "KMGT".index(match.group(2)[0]) < 64 * 1024:
            raise ValueError(f"'{value}' is too small; give DuckDB at least 64MB")
        return value

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        from earnright.warehouse.dialect import DIALECTS  # the backends, in one place

        if not url.startswith(tuple(f"{s}://" for d in DIALECTS for s in d.schemes)):
            raise ValueError(
                f"'{url}' is not a supported URL; use duckdb:///FILE, postgresql:// or spark:///DIR"
            )
        return url


class Right(_Model):
    """One decision right: what ``owner`` may decide alone, and who decides above it."""

    owner: str = Field(min_length=1)
    """Who holds the right: the name given to earnright decide --by (a person or a team)."""
    actions: list[str] = Field(default_factory=list)
    """The kinds of action (e.g. staffing, training, refund) the right covers; empty: every kind."""
    units: list[str] = Field(default_factory=list)
    """The units (with every unit under them) the right covers; empty: every unit."""
    up_to: float | None = Field(default=None, ge=0.0, le=1e15)
    """The largest amount the owner may commit alone; empty: no limit."""
    escalate_to: str | None = None
    """Who decides what is beyond this right (the name of another right's owner)."""


class Decisions(_Model):
    """Decision rights: what each owner may decide alone, and who decides above that.

    A decision by NAME is within their rights when one of NAME's rights covers the action's
    kind, the issue's unit and the amount; otherwise it is refused, naming whoever can decide
    (the escalate_to of NAME's rights, or the owners of rights that cover it).
    """

    rights: list[Right] = Field(default_factory=list)
    """The decision rights, one [[decisions.rights]] table each."""


class Outcomes(_Model):
    """How an action's outcome is measured: difference-in-differences against matched units.

    The ``pre_weeks`` before an action are compared with the ``post_weeks`` from its start, at
    the acting unit and at the ``comparisons`` most similar units (same parent, similar level
    and pre-period trend) that took no action on the same metric.
    """

    pre_weeks: int = Field(default=12, ge=2, le=520)
    """Weeks before the action's start that form the pre-period."""
    post_weeks: int = Field(default=8, ge=1, le=520)
    """Weeks from the action's start that form the post-period; before they have passed, the
    verdict is too early."""
    comparisons: int = Field(default=5, ge=1, le=1_000)
    """How many matched units that did not act each action is compared with."""
    level: float = Field(default=0.95, gt=0.5, lt=1.0)
    """The confidence level of the effect's interval."""
    retention_days: int = Field(default=28, ge=1, le=730)
    """For the metric retention: a customer who bought at the unit in a week is retained when
    they buy there again within this many days after that week."""


class Survey(_Model):
    """The survey customers answer from a personal link (docs/survey.md).

    A link is ``base_url``/s/TOKEN; the token is signed with a secret kept in the warehouse,
    names its invitation and expires ``link_valid`` after the invitation was sent. Invitations
    unanswered ``remind_after`` their sending get one reminder through the outbox, to the
    targets of the ``[owners]`` team ``reminders_to`` (the company's email or SMS gateway). A
    detractor's answer opens a case to be answered within ``answer_by``, alerting the store's
    manager: the ``[owners]`` team ``unit:STORE`` (else that of the nearest unit above it),
    else ``case_owner``.
    """

    base_url: str = "http://127.0.0.1:8765"
    """Where customers reach earnright serve: links are BASE_URL/s/TOKEN."""
    language: Literal["en", "fr", "de", "es", "nl"] = "en"
    """The language of the survey form: en, fr, de, es or nl."""
    link_valid: Duration = timedelta(days=30)
    """How long after the invitation was sent its link can be answered, e.g. "30d"."""
    remind_after: Duration = timedelta(days=3)
    """An invitation still unanswered this long after it was sent gets a reminder, e.g. "3d"."""
    reminders_to: str = ""
    """The [owners] team whose webhooks and email get the reminders (your email or SMS gateway);
    empty: no reminders are sent."""
    answer_by: Duration = timedelta(hours=48)
    """A detractor's case is to be answered within this long of the answer, e.g. "48h"."""
    case_owner: str = ""
    """The [owners] team alerted of a detractor's case when no unit:STORE team (nor one of a unit
    above the store) is declared."""

    @field_validator("base_url")
    @classmethod
    def _http_base(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", url):
            raise ValueError(f"base_url must be an http(s) URL without query, got {url!r}")
        return url.rstrip("/")


class Theme(_Model):
    """One theme of the comment codeframe: what customers talk about, in a line and examples.

    A comment gets every theme whose description and examples it is close enough to in meaning
    (docs/comments.md, "Themes"); ``moment`` ties the theme to a journey moment.
    """

    name: str = Field(min_length=1, max_length=80)
    """The theme's name, as reports and the comments command print it (unique)."""
    description: str = Field(min_length=1, max_length=500)
    """One line in customers' words saying what the theme is about, e.g. "long queues and waiting
    to pay at the till"."""
    examples: list[str] = Field(default_factory=list, max_length=50)
    """Example phrases customers use for it (optional; they sharpen the match)."""
    moment: str = ""
    """The journey moment the theme belongs to (a moment id of [journey]; empty: any moment)."""
    question: str = ""
    """The driver question the theme speaks to, e.g. "q_wait" (optional): focus shows the
    theme's comments as the evidence behind that driver."""

    @field_validator("name", "description")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()
