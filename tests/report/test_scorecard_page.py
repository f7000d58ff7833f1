"""The scorecard page is self-contained: it renders in headless Chromium with the network cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from earnright.config import Config
from earnright.ingest import ingest_file
from earnright.listening.scorecard import compute_scorecard
from earnright.report import render_scorecard_page
from earnright.warehouse import Warehouse
from tests.report.conftest import OfflinePage


@pytest.fixture
def page_path(wh: Warehouse, config: Config, tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    n = 300
    pd.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(n)],
            "unit_id": rng.choice(["S1", "S2", "S3"], n),
            "responded_at": pd.Timestamp("2026-07-01")
            + pd.to_timedelta(rng.integers(0, 92 * 86400, n), "s"),
            "ltr": rng.integers(0, 11, n).astype(float),
            "osat": rng.integers(1, 6, n).astype(float),
        }
    ).to_parquet(tmp_path / "fb.parquet")
    ingest_file(wh, config, "feedback", tmp_path / "fb.parquet")
    card = pd.concat(
        [compute_scorecard(wh, config, level=lvl) for lvl in config.units.levels],
        ignore_index=True,
    )
    path = tmp_path / "scorecard.html"
    path.write_text(render_scorecard_page(card, "Acme"))
    return path


def test_page_references_nothing_outside_itself(page_path: Path) -> None:
    html = page_path.read_text()
    assert "<script" not in html and "<link" not in html
    assert html.count("http") == html.count('xmlns="http://www.w3.org/2000/svg"')


def test_page_renders_offline_in_chromium(page_path: Path, offline_page: OfflinePage) -> None:
    requests: list[str] = []
    with offline_page(page_path, requests) as page:
        assert page.title() == "Acme scorecard 2026-09"
        assert page.locator("svg").count() == 2
        # one dot per store with answers in the latest month, each with its interval line
        assert page.locator("svg circle").count() == 3
        assert page.locator("table tr").count() == 1 + 3
        assert page.locator("svg polygon").count() == 1  # the interval band of the trend
    assert requests == [page_path.as_uri()]


def test_many_stores_plot_the_best_and_worst_and_table_them_all() -> None:
    stores = pd.DataFrame(
        {
            "unit_id": [f"S{i:03d}" for i in range(100)],
            "name": "store",
            "level": "store",
            "period": "2026-09",
            "n": 40,
            "nps": np.linspace(-50, 80, 100),
            "responses": 40,
            "invitations": 100,
            "response_rate": 0.4,
            "n_csat": 40,
            "csat": 0.8,
            "csat_low": 0.7,
            "csat_high": 0.9,
        }
    ).assign(nps_low=lambda f: f.nps - 20, nps_high=lambda f: f.nps + 20)
    company = stores.iloc[:1].assign(unit_id="C", level="company", n=4000)
    html = render_scorecard_page(pd.concat([company, stores]), "Acme")
    assert html.count("<circle") == 60
    assert "The 30 best and worst of 100 scored stores" in html
    assert "S000" in html and "S050" in html  # S050 is tabled, though not plotted


def test_the_page_shows_the_month_it_is_given_and_why(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    """A month of 5 answers that has just begun is not the page's month when told otherwise."""
    rows = [(f"s{i}", "S1", f"2026-09-{1 + i % 28:02d}", float(i % 11)) for i in range(60)]
    rows += [(f"o{i}", "S2", "2026-10-01", 10.0) for i in range(5)]
    frame = pd.DataFrame(rows, columns=["response_id", "unit_id", "responded_at", "ltr"])
    frame["responded_at"] = pd.to_datetime(frame.responded_at)
    frame.to_parquet(tmp_path / "fb.parquet")
    ingest_file(wh, config, "feedback", tmp_path / "fb.parquet")
    card = pd.concat(
        [compute_scorecard(wh, config, level=lvl) for lvl in config.units.levels],
        ignore_index=True,
    )
    reason = "latest complete month; 2026-10 has begun but is not complete"
    html = render_scorecard_page(card, "Acme", period="2026-09", period_reason=reason)
    assert "<title>Acme scorecard 2026-09</title>" in html
    assert f"Month 2026-09 ({reason})" in html
    assert "NPS 2026-09" in html and "n=60" in html and "n=5" not in html
    assert "NPS 2026-10" in render_scorecard_page(card, "Acme")  # the latest, when not told


def test_a_score_below_min_n_is_not_shown(wh: Warehouse, config: Config, tmp_path: Path) -> None:
    """Issue 9: a store with n = 1 was shown as "100 (−48 to 98)"."""
    scores = [("S1", 10)] + [("S2", x) for x in (10, 9, 6, 8, 10, 3)]
    pd.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(len(scores))],
            "unit_id": [u for u, _ in scores],
            "responded_at": pd.Timestamp("2026-09-10"),
            "ltr": [float(x) for _, x in scores],
        }
    ).to_parquet(tmp_path / "fb.parquet")
    ingest_file(wh, config, "feedback", tmp_path / "fb.parquet")
    card = pd.concat([compute_scorecard(wh, config, level=lvl) for lvl in config.units.levels])
    html = render_scorecard_page(card, "Acme", min_n=config.listening.min_n)
    row = html[html.index("<td class=l>S1</td>") :]
    row = row[: row.index("</tr>")]
    assert "<td>1</td><td>–</td>" in row and "100" not in row  # n shown, score hidden
    s2 = html[html.index("<td class=l>S2</td>") :]
    assert "<td>6</td><td>17 <span class=iv>" in s2[: s2.index("</tr>")]
    assert html.count("<circle") == 1  # only S2 is plotted
