"""The product feeds the issue register: focus items and early-warning incidents, once."""

from __future__ import annotations

from pathlib import Path

import pytest

import earnright
from earnright.services.demo import run_demo


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> earnright.Workspace:
    run = run_demo(tmp_path_factory.mktemp("sync") / "ws", stores=6, months=7, seed=3)
    return earnright.open_workspace(run.workspace)


def test_focus_items_and_incidents_become_issues_once(demo_ws: earnright.Workspace) -> None:
    focus = demo_ws.focus(every=True)
    items = {(f.unit_id, i.driver) for f in focus.lists for i in f.items}
    incidents = demo_ws.warnings().to_frame()
    added = demo_ws.sync_issues()
    assert (added.focus, added.incidents) == (len(items), len(incidents))
    assert len(items) >= 1 and len(incidents) >= 1
    again = demo_ws.sync_issues()
    assert (again.focus, again.incidents) == (0, 0)
    register = demo_ws.issues().to_frame()
    from_focus = register[register.origin == "focus"]
    assert set(zip(from_focus.unit_id, from_focus.metric, strict=True)) == items
    from_incidents = register[register.origin == "incident"].set_index("issue_id")
    expected = incidents.set_index("incident:" + incidents["id"].astype(str))
    assert set(from_incidents.index) == set(expected.index)
    for column, source in [("owner", "owner"), ("revenue_at_stake", "revenue_at_risk"),
                           ("customers_at_stake", "customers_affected")]:  # fmt: skip
        got, want = from_incidents[column], expected.loc[from_incidents.index, source]
        assert ((got == want) | (got.isna() & want.isna())).all(), column


def test_an_owner_reviews_and_decides_a_synced_issue(demo_ws: earnright.Workspace) -> None:
    demo_ws.sync_issues()
    issue = demo_ws.issues().to_frame().iloc[0]
    agenda = demo_ws.review(issue.owner).to_frame()
    assert issue.issue_id in set(agenda.issue_id)
    row = agenda.set_index("issue_id").loc[issue.issue_id]
    assert row.theirs and row.recommended  # no rights declared: anyone may decide
    made = demo_ws.decide(issue.issue_id, row.recommended, issue.owner)
    assert made.decision["metric"] == issue.metric
    assert issue.issue_id not in set(demo_ws.review(issue.owner).to_frame().issue_id)
    outcome = demo_ws.outcomes(since="2026-01-01").to_frame()
    assert outcome.set_index("action_id").loc[made.decision["decision_id"], "verdict"] in {
        "too early", "not measurable"}  # fmt: skip


def test_loss_reasons_with_material_excess_become_issues_once(
    demo_ws: earnright.Workspace,
) -> None:
    """INC1 lost credibly more customers than unexposed ones (excess 12, 95% 5 to 19): its
    rows become issues with the unit's part of the excess at stake; INC2's interval holds 0 and
    complaints have no excess: neither does."""
    import pandas as pd

    from earnright.accountability.register import loss_issues, now, sync_issues

    summary = pd.DataFrame(
        {
            "unit_id": ["S1", "S2", "S1", "S1"],
            "period": ["2026-03"] * 4,
            "reason": ["incident", "incident", "incident", "complaint"],
            "detail": ["INC1 wait", "INC1 wait", "INC2 pay", ""],
            "moment": ["checkout", "checkout", "", "service"],
            "customers": [10, 5, 4, 7],
            "value": [2000.0, 500.0, 300.0, 900.0],
            "lost": [40, 30, 40, 40],
            "excess": [8.0, 4.0, 1.0, None],
        }
    )
    excess = pd.DataFrame(
        {
            "detail": ["INC1 wait", "INC2 pay"],
            "excess": [12.0, 1.0],
            "excess_low": [5.0, -3.0],
            "excess_high": [19.0, 5.0],
        }
    )
    found = loss_issues(summary, excess, {"INC1": "ops-lead"}, now()).set_index("issue_id")
    assert list(found.index) == ["loss:S1:INC1:2026-03", "loss:S2:INC1:2026-03"]
    s1 = found.loc["loss:S1:INC1:2026-03"]
    assert (s1.owner, s1.metric, s1.moment, s1.origin) == ("ops-lead", "retention", "checkout",
                                                           "loss")  # fmt: skip
    assert s1.customers_at_stake == 8.0 and s1.revenue_at_stake == pytest.approx(2000 * 8 / 10)
    assert "(95% 5 to 19)" in s1.evidence
    with demo_ws.warehouse(read_only=False) as wh:
        assert sync_issues(wh, found.reset_index()) == 2
        assert sync_issues(wh, found.reset_index()) == 0


def test_complaints_and_call_reasons_of_lost_customers_become_issues() -> None:
    """A complaint moment or loss-call reason that is some lost customer's primary reason is an
    issue of the unit and month, owned by the moment's owner (else the fallback), with the
    latest words as evidence and those customers and their value at stake; a reason no loss
    has as primary (an incident outranked it) and detractor answers are not."""
    from datetime import datetime

    import pandas as pd

    from earnright.accountability.register import reason_issues

    summary = pd.DataFrame(
        {
            "unit_id": ["S1", "S1", "S2", "S2", "S1"],
            "period": ["2026-03"] * 5,
            "reason": ["complaint", "call", "complaint", "detractor", "complaint"],
            "detail": ["", "price", "", "", ""],
            "moment": ["checkout", "", "pickup", "checkout", "service"],
            "customers": [4, 2, 1, 6, 3],
            "primary": [3, 2, 0, 6, 1],
            "value": [800.0, 300.0, 50.0, 900.0, 90.0],
            "lost": [40, 40, 30, 30, 40],
        }
    )
    reasons = pd.DataFrame(
        {
            "unit_id": ["S1", "S1", "S1"],
            "period": ["2026-03"] * 3,
            "reason": ["complaint", "complaint", "call"],
            "detail": ["complaint", "complaint", "price (by ana)"],
            "moment": ["checkout", "checkout", None],
            "comment": ["Slow till.", "Queue far too long.", "Cheaper elsewhere"],
            "at": pd.to_datetime(["2026-01-03", "2026-02-01", "2026-03-20"]),
        }
    )
    at = datetime(2026, 4, 1)
    found = reason_issues(summary, reasons, {"checkout": "store-ops"}, "unit:{unit}", at)
    found = found.set_index("issue_id")
    assert sorted(found.index) == [
        "loss:S1:call:price:2026-03",
        "loss:S1:complaint:checkout:2026-03",
        "loss:S1:complaint:service:2026-03",
    ]
    checkout = found.loc["loss:S1:complaint:checkout:2026-03"]
    assert (checkout.owner, checkout.moment, checkout.metric) == ("store-ops", "checkout",
                                                                  "retention")  # fmt: skip
    assert checkout.customers_at_stake == 3.0
    assert checkout.revenue_at_stake == pytest.approx(800 * 3 / 4)
    assert checkout.evidence.startswith("3 of the 40 customers lost in 2026-03 complained")
    assert '"Queue far too long."' in checkout.evidence
    call = found.loc["loss:S1:call:price:2026-03"]
    assert call.owner == "unit:S1" and '"Cheaper elsewhere"' in call.evidence
    assert found.loc["loss:S1:complaint:service:2026-03"].owner == "unit:S1"


def _trend(unit: str, theme: str, **values: object) -> dict[str, object]:
    """A row of ``theme_trends`` with nothing flagged unless ``values`` say so."""
    row: dict[str, object] = {
        "unit_id": unit, "theme": theme, "moment": "checkout", "period": "2026-09",
        "comments": 80, "mentions": 20, "share": 0.25, "share_low": 0.17, "share_high": 0.35,
        "sentiment": -0.4, "previous": 0.1, "change": 0.15, "q_value": 0.01, "flagged": False,
        "negative": 0.6, "negative_low": 0.39, "negative_high": 0.78, "previous_negative": 0.2,
        "negative_change": 0.4, "negative_q_value": 0.02, "negative_flagged": False,
    }  # fmt: skip
    return row | values


def test_themes_customers_complain_about_more_become_issues() -> None:
    """A theme whose share rose beyond noise with a negative tone, or whose mentions turned
    negative beyond noise, is an issue of its unit with the numbers and the latest negative
    comment as evidence, owned by its moment's owner (else the fallback); a theme praised more
    often, a fall in share and an unflagged change are not."""
    from datetime import datetime

    import pandas as pd

    from earnright.accountability.register import theme_issues

    trends = pd.DataFrame([
        _trend("S1", "wait", flagged=True),  # more complaints about waiting
        _trend("S2", "stock", negative_flagged=True, moment=None),  # turned negative
        _trend("S3", "staff", flagged=True, sentiment=0.5),  # praised more often
        _trend("S4", "wait", flagged=True, change=-0.15),  # fewer mentions
        _trend("S5", "wait", negative_flagged=True, negative_change=-0.3),  # turned positive
        _trend("S6", "wait"),  # nothing beyond noise
    ])  # fmt: skip
    said = {("S1", "wait"): "Twenty minutes in the queue again."}
    at = datetime(2026, 10, 2)
    found = theme_issues(trends, {"checkout": "ops-lead"}, "unit:{unit}", at, said)
    found = found.set_index("issue_id")
    assert list(found.index) == ["theme:S1:wait:2026-09", "theme:S2:stock:2026-09"]
    wait, stock = found.loc["theme:S1:wait:2026-09"], found.loc["theme:S2:stock:2026-09"]
    assert (wait.unit_id, wait.owner, wait.moment, wait.origin) == ("S1", "ops-lead", "checkout",
                                                                    "theme")  # fmt: skip
    assert wait.title == "More customers complain about wait"
    assert "25% of the 80 comments" in wait.evidence and "against 10%" in wait.evidence
    assert wait.evidence.endswith('"Twenty minutes in the queue again."')
    assert wait.customers_at_stake == 20.0 and pd.isna(wait.metric)
    assert stock.title == "Comments on stock turned negative" and stock.owner == "unit:S2"
    assert "60% of the 20 comments on stock" in stock.evidence and pd.isna(stock.moment)
    assert "against 20%" in stock.evidence and not stock.evidence.endswith('"')


def test_sync_adds_the_flagged_themes_of_the_lowest_level(
    demo_ws: earnright.Workspace, tmp_path: Path
) -> None:
    """40 planted complaints about waiting at one store in the month make the theme rise there
    beyond noise: sync adds exactly the flagged complaining themes, once."""
    import pandas as pd

    from earnright.demo.comments import NEGATIVE

    level = demo_ws.config.units.levels[-1]
    period = str(demo_ws.themes(level=level).to_frame().period.iloc[0])
    moment = next(t.moment for t in demo_ws.config.themes if t.name == "wait")
    waits = [NEGATIVE["wait"][i % len(NEGATIVE["wait"])] for i in range(40)]
    pd.DataFrame({
        "response_id": [f"planted-wait-{i}" for i in range(40)], "unit_id": "S0001",
        "responded_at": pd.Timestamp(f"{period}-10") + pd.to_timedelta(range(40), "h"),
        "channel": "survey", "moment": moment, "comment": waits, "ltr": 3.0,
    }).to_parquet(tmp_path / "waits.parquet")  # fmt: skip
    demo_ws.ingest("feedback", tmp_path / "waits.parquet")
    added = demo_ws.sync_issues()
    t = demo_ws.themes(level=level).to_frame()
    complained = (t.flagged & (t.change > 0) & (t.sentiment < 0)) | (
        t.negative_flagged & (t.negative_change > 0)
    )
    want = {f"theme:{r.unit_id}:{r.theme}:{r.period}" for r in t[complained].itertuples()}
    assert f"theme:S0001:wait:{period}" in want and added.themes == len(want)
    register = demo_ws.issues(status="all").to_frame()
    quoted = register.set_index("issue_id").loc[f"theme:S0001:wait:{period}", "evidence"]
    with demo_ws.warehouse() as wh:  # the store's latest comment on waiting read negative
        fb = wh.table("feedback").to_pandas()
        neg = wh.table("comment_labels").to_pandas().query("sentiment == 'negative'")
        wait = wh.table("comment_themes").to_pandas().query("theme == 'wait'")
    mine = fb[(fb.unit_id == "S0001") & fb.response_id.isin(neg.response_id)
              & fb.response_id.isin(wait.response_id)
              & (fb.responded_at.astype(str).str[:7] == period)]  # fmt: skip
    assert quoted.endswith(f'"{mine.sort_values("responded_at").comment.iloc[-1]}"')
    assert set(register.issue_id[register.origin == "theme"]) == want
    assert demo_ws.sync_issues().themes == 0
