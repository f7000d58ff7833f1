"""The reliability section: numbers first, ratings as words, incidents open first, nulls unknown."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from earnright.reliability.budget import (
    IndicatorReliability,
    MomentReliability,
    Rating,
    ReliabilityReport,
    SegmentReliability,
    WorstSegment,
)
from earnright.report import render_scorecard_page
from earnright.report.reliability_section import (
    MAX_INCIDENTS,
    order_incidents,
    render_reliability_section,
)
from tests.report.conftest import OfflinePage

AT = datetime(2026, 10, 1)


def _segment(segment: str, good: float, total: float, rating: Rating) -> SegmentReliability:
    share = good / total
    left = 1 - (1 - share) / 0.05
    return SegmentReliability(
        segment=segment,
        good=good,
        total=total,
        attainment=share,
        attainment_low=share - 0.02,
        attainment_high=min(share + 0.01, 1.0),
        budget_consumed=1 - left,
        budget_left=left,
        burn_rate=2.5,
        alerts_firing=["fast"] if rating == "broken" else [],
        rating=rating,
    )


def _report(name: str = "Checkout", owner: str = "store-operations") -> ReliabilityReport:
    weak = _segment("platform=android&region=R03", 80, 100, "broken")
    ok = _segment("region=R01", 995, 1000, "reliable")
    indicator = IndicatorReliability(
        indicator="short_queue",
        name="Checkout queues within 10 minutes",
        metric="queue_wait_minutes",
        measure="threshold",
        owner=owner,
        target=0.95,
        error_budget=0.05,
        window_start=datetime(2026, 9, 3),
        window_end=AT,
        overall=_segment("", 1075, 1100, "at risk"),
        segments=[weak, ok],
    )
    moment = MomentReliability(
        moment="checkout",
        name=name,
        owner=owner,
        rating="broken",  # a broken segment makes the moment broken …
        overall_rating="at risk",  # … whatever the overall series says
        broken_segments=1,
        at_risk_segments=0,
        worst_segments=[
            WorstSegment(
                indicator="short_queue",
                segment=weak.segment,
                rating="broken",
                budget_left=weak.budget_left,
                burn_rate=weak.burn_rate,
            )
        ],
        indicators=[indicator],
    )
    return ReliabilityReport(
        at=AT,
        burn_window="2d",
        period_start=None,
        period_end=None,
        step="1d",
        min_events=10,
        moments=[moment],
    )


def _incident(i: int, status: str = "resolved", **values: Any) -> dict[str, Any]:
    record = {
        "id": f"inc{i:02d}",
        "moment": "checkout",
        "indicator": "short_queue",
        "metric": "queue_wait_minutes",
        "segment": "daypart=evening&district=D007",
        "started_at": f"2026-03-{1 + i:02d}T00:00:00",
        "detected_at": f"2026-03-{2 + i:02d}T06:30:00",
        "resolved_at": None if status == "open" else f"2026-03-{3 + i:02d}T00:00:00",
        "status": status,
        "severity": "page",
        "owner": "store-operations",
        "customers_affected": 563,
        "customer_value": 585.3,
        "extra_churn": 0.12,
        "extra_churn_low": 0.07,
        "extra_churn_high": 0.18,
        "churn_basis": "observed",
        "revenue_at_risk": 41700.67,
        "revenue_at_risk_low": 23922.5,
        "revenue_at_risk_high": 58444.7,
    }
    return record | values


def _rows(html: str) -> list[str]:
    """The incident ids in the order the table lists them."""
    return re.findall(r'data-incident="([^"]*)"', html)


def _row(html: str, incident_id: str) -> str:
    match = re.search(rf'<tr[^>]*data-incident="{incident_id}">.*?</tr>', html)
    assert match is not None
    return match.group(0)


def test_moment_shows_numbers_and_rating_as_word_and_symbol() -> None:
    html = render_reliability_section(_report(), [])
    assert "Reliability at the moments that matter" in html
    assert "as of 2026-10-01" in html and "over the 28 days" in html
    # the overall attainment 1075/1100 with its interval, the target and the events
    assert "97.7%" in html and "95.7% to 98.7%" in html and "95.0%" in html
    assert "1,075 of 1,100" in html
    assert "55%" in html  # budget left = 1 - (1 - 0.977)/0.05
    assert "×2.5" in html
    # a rating is a word and a symbol, not only a colour
    assert re.search(r'r-at-risk"><span aria-hidden=true>▲</span> at risk', html)
    # the broken segment is listed with its attainment (80.0%, 78.0% to 81.0%)
    assert "<code>platform=android&amp;region=R03</code> on short_queue: 80.0%" in html
    assert "1 segment broken:" in html
    assert "region=R01" not in html  # a reliable segment is not listed
    # the moment is broken for the android users of R03, though the average is only at risk
    heading = re.search(r"<h3>Checkout.*?</h3>", html)
    assert heading is not None
    assert "r-broken" in heading.group(0)
    assert "(all customers together: at risk)" in heading.group(0)
    assert "a broken segment makes the moment broken" in html
    assert "how fast it is being spent over the last 2d" in html


def test_text_from_the_data_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    html = render_reliability_section(
        _report(name=evil, owner="ops & <b>co</b>"),
        [_incident(1, segment='platform="x"<u>', owner=evil, metric="<m>")],
    )
    assert "<script" not in html and "<u>" not in html and "<m>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "ops &amp; &lt;b&gt;co&lt;/b&gt;" in html
    assert "<code>platform=&quot;x&quot;&lt;u&gt;</code>" in html


def test_null_revenue_and_customers_are_not_yet_known() -> None:
    unknown = _incident(
        1,
        status="open",
        customers_affected=None,
        churn_basis="none",
        revenue_at_risk=None,
        revenue_at_risk_low=None,
        revenue_at_risk_high=None,
    )
    html = render_reliability_section(_report(), [unknown, _incident(2)])
    row = _row(html, "inc01")
    assert row.count("not yet known") == 2
    assert "$" not in row and "None" not in row and "nan" not in row
    measured = _row(html, "inc02")
    assert "$41,700" in measured and "95%: $23,900 to $58,400" in measured
    assert "measured" in measured and "563" in measured


def test_basis_is_named_in_words() -> None:
    html = render_reliability_section(None, [_incident(1, churn_basis="history")])
    assert "from past incidents" in _row(html, "inc01")
    assert "Reliability at the moments that matter" in html
    assert "0 open, 1 resolved" in html


def test_open_incidents_come_first_then_the_newest() -> None:
    incidents = [
        _incident(1),
        _incident(5, status="open"),
        _incident(3),
        _incident(2, status="open"),
        _incident(4),
    ]
    html = render_reliability_section(_report(), incidents)
    assert _rows(html) == ["inc05", "inc02", "inc04", "inc03", "inc01"]
    assert "2 open, 3 resolved" in html
    assert "not shown" not in html


def test_at_most_ten_listed_with_a_count_of_the_rest_but_every_open_one() -> None:
    resolved = [_incident(i) for i in range(15)]
    html = render_reliability_section(_report(), resolved)
    assert len(_rows(html)) == MAX_INCIDENTS == 10
    assert _rows(html)[0] == "inc14"
    assert "5 older resolved incident(s) not shown" in html

    many_open = [_incident(i, status="open") for i in range(12)] + resolved[:3]
    shown, hidden = order_incidents(many_open)
    assert [i["status"] for i in shown] == ["open"] * 12 and hidden == 3


def test_the_page_places_the_section_after_the_store_table_only_when_given() -> None:
    card = pd.DataFrame(
        {
            "unit_id": ["C", "S1"],
            "name": ["Acme", "One"],
            "level": ["company", "store"],
            "period": "2026-09",
            "n": 40,
            "nps": 30.0,
            "nps_low": 10.0,
            "nps_high": 50.0,
            "responses": 40,
            "invitations": 100,
            "response_rate": 0.4,
            "n_csat": 40,
            "csat": 0.8,
            "csat_low": 0.7,
            "csat_high": 0.9,
        }
    )
    plain = render_scorecard_page(card, "Acme")
    assert "id=reliability" not in plain and ".rel-moment" not in plain
    page = render_scorecard_page(card, "Acme", reliability=_report(), incidents=[_incident(1)])
    assert ".rel-moment" in page  # its style sits in the head
    assert page.index("<h2>Stores, 2026-09") < page.index("id=reliability") < page.index("Made by")


# -- the demo, in headless Chromium -----------------------------------------------------------


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    from earnright.listening.scorecard import compute_scorecard
    from earnright.reliability.incidents import list_incidents, run_detection
    from earnright.reliability.indicators import compute_reliability
    from earnright.services.demo import run_demo
    from earnright.workspace import find_workspace

    run = run_demo(tmp_path_factory.mktemp("demo") / "ws", stores=60, months=12, seed=7)
    ws = find_workspace(run.workspace)
    with ws.warehouse() as wh:
        report = compute_reliability(wh, ws.config)
        run_detection(wh, ws.config)
        incidents = [i.record() for i in list_incidents(wh)]
        card = pd.concat(
            [compute_scorecard(wh, ws.config, level=lvl) for lvl in ws.config.units.levels],
            ignore_index=True,
        )
    html = render_scorecard_page(
        card, ws.config.company.name, reliability=report, incidents=incidents
    )
    path = run.workspace / "results" / "reliability.html"
    path.write_text(html, encoding="utf-8")
    return path, incidents


@pytest.mark.slow
def test_demo_section_shows_the_planted_app_incident_in_chromium(
    demo_page: tuple[Path, list[dict[str, Any]]], offline_page: OfflinePage
) -> None:
    path, incidents = demo_page
    app = [i for i in incidents if i["indicator"] == "app_success"]
    assert [i["segment"] for i in app] == ["platform=android&region=R03"]
    requests: list[str] = []
    with offline_page(path, requests) as page:
        section = page.locator("section#reliability")
        assert section.is_visible()
        assert section.locator("h2").inner_text() == "Reliability at the moments that matter"
        # one card per demo moment with an indicator, each with its rating as a word
        cards = section.locator(".rel-moment")
        assert cards.count() == 4
        assert all(
            cards.nth(k).locator("h3 .rating").inner_text().split(" ", 1)[1]
            in ("reliable", "at risk", "broken", "no data")
            for k in range(4)
        )
        row = section.locator(f'tr[data-incident="{app[0]["id"]}"]')
        assert row.is_visible()
        text = row.inner_text()
        assert "platform=android&region=R03" in text and "Ordering in the app" in text
        assert f"{app[0]['customers_affected']:,}" in text
        assert section.locator(".rel-incidents tr").count() == 1 + len(incidents)
    assert requests == [path.as_uri()]
    assert np.isfinite(app[0]["revenue_at_risk"])
