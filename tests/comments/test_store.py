"""Comments are labelled on ingest, relabelled when the themes change, and trended per unit:
a planted rise in one theme's share is flagged, a steady theme is not; a planted turn in a
theme's tone (its share of negative mentions) is flagged, a steady tone is not."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from earnright.accountability.register import theme_issues
from earnright.comments import store as comment_store
from earnright.comments.labels import label_comments
from earnright.comments.sentiment import score
from earnright.comments.store import current_version, label_feedback
from earnright.comments.themes import Codeframe
from earnright.comments.trend import theme_trends
from earnright.config import Config, Theme
from earnright.demo.comments import DEMO_THEMES, NEGATIVE, POSITIVE, planted_themes
from earnright.errors import ConfigError, QueryError
from earnright.ingest import ingest_file
from earnright.listening.drivers import compute_drivers
from earnright.warehouse import Warehouse

pytestmark = pytest.mark.usefixtures("backend")

THEMES = [Theme.model_validate(t | {"moment": ""}) for t in DEMO_THEMES]
# store, month, comments, planted share of "wait" (the rest: "stock")
PLAN = [("S1", "2026-08", 80, 0.1), ("S1", "2026-09", 120, 0.5), ("S2", "2026-08", 90, 0.3),
        ("S2", "2026-09", 90, 0.3)]  # fmt: skip


@pytest.fixture
def themed(config: Config) -> Config:
    return config.model_copy(update={"themes": THEMES})


@pytest.fixture
def planted(wh: Warehouse, themed: Config, tmp_path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    parts = []
    for store, month, n, share in PLAN:
        wait = rng.uniform(size=n) < share
        pick = [rng.choice(NEGATIVE["wait" if w else "stock"]) for w in wait]
        parts.append(pd.DataFrame({
            "unit_id": store, "comment": pick, "channel": "survey",
            "ltr": np.clip(np.where(wait, 4, 8) + rng.integers(-2, 3, n), 0, 10).astype(float),
            "responded_at": pd.Timestamp(f"{month}-03") + pd.to_timedelta(np.arange(n), "h"),
        }))  # fmt: skip
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "response_id", [f"r{i}" for i in range(len(frame))])
    frame.loc[::25, "comment"] = None  # no comment: nothing to label
    frame.to_parquet(tmp_path / "fb.parquet")
    assert ingest_file(wh, themed, "feedback", tmp_path / "fb.parquet").accepted == len(frame)
    return frame


def test_ingest_labels_every_comment_with_sentiment_and_its_planted_theme(
    wh: Warehouse, themed: Config, planted: pd.DataFrame
) -> None:
    labels = wh.table("comment_labels").to_pyarrow().to_pandas()
    commented = planted[planted.comment.notna()]
    assert sorted(labels.response_id) == sorted(commented.response_id)
    assert set(labels.version) == {current_version(themed)}
    assert labels.sentiment.isin(["negative", "neutral", "positive"]).all()
    assert labels.sentiment_score.between(-1, 1).all()
    top = wh.table("comment_themes").to_pyarrow().to_pandas().query("rank == 1")
    truth = dict(zip(commented.response_id, planted_themes(list(commented.comment)), strict=True))
    right = (top.theme == top.response_id.map(truth)).mean()
    assert len(top) >= 0.8 * len(commented) and right >= 0.95
    assert label_feedback(wh, themed) == 0  # nothing new: nothing relabelled


def test_each_comment_gets_the_labels_of_its_text_labelled_alone(
    wh: Warehouse, themed: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Distinct texts are labelled once and their labels copied to each comment saying them:
    every comment's sentiment, score and themes (rank, confidence) are what labelling its text
    on its own gives, also across the batches of comments and of distinct texts."""
    monkeypatch.setattr(comment_store, "BATCH", 7)
    rng = np.random.default_rng(11)
    bank = [*NEGATIVE["wait"][:4], *POSITIVE["staff"][:3], "ok", "not good, not bad at all!"]
    said = [str(rng.choice(bank)) for _ in range(60)]
    frame = pd.DataFrame({"response_id": [f"r{i}" for i in range(60)], "unit_id": "S1",
                          "comment": said, "channel": "survey", "ltr": 5.0,
                          "responded_at": pd.Timestamp("2026-09-01")})  # fmt: skip
    frame.to_parquet(tmp_path / "fb.parquet")
    assert ingest_file(wh, themed, "feedback", tmp_path / "fb.parquet").accepted == 60
    labels = wh.table("comment_labels").to_pyarrow().to_pandas().set_index("response_id")
    themes = wh.table("comment_themes").to_pyarrow().to_pandas()
    assert len(labels) == 60 and len(set(said)) < 60
    frame_of = Codeframe.of(THEMES)
    for rid, text in zip(frame.response_id, said, strict=True):
        alone = label_comments([text], frame_of)
        assert labels.loc[rid, "sentiment"] == alone.sentiment[0]
        assert labels.loc[rid, "sentiment_score"] == alone.sentiment_score[0]
        mine = themes[themes.response_id == rid].sort_values("rank")
        want = [(m.name, m.confidence) for m in alone.themes[0]]
        assert list(zip(mine.theme, mine.confidence, strict=True)) == want
        assert list(mine["rank"]) == list(range(1, len(want) + 1))
    assert len(themes) > 0


def test_a_changed_codeframe_relabels_every_comment(
    wh: Warehouse, themed: Config, planted: pd.DataFrame
) -> None:
    fewer = themed.model_copy(update={"themes": [t for t in THEMES if t.name != "stock"]})
    assert label_feedback(wh, fewer) == planted.comment.notna().sum()
    themes = wh.table("comment_themes").to_pyarrow().to_pandas()
    assert "stock" not in set(themes.theme) and set(themes.version) == {current_version(fewer)}
    assert label_feedback(wh, fewer) == 0


def test_a_planted_rise_is_flagged_and_a_steady_share_is_not(
    wh: Warehouse, themed: Config, planted: pd.DataFrame
) -> None:
    frame, period = theme_trends(wh, themed, level="store", period="2026-09")
    assert period == "2026-09"
    row = frame.set_index(["unit_id", "theme"])
    rise, steady = row.loc[("S1", "wait")], row.loc[("S2", "wait")]
    assert rise.flagged and rise.change_low <= 0.4 <= rise.change_high and rise.change > 0.2
    assert not steady.flagged and abs(steady.change) < 0.15
    assert rise.share_low <= 0.5 <= rise.share_high
    assert rise.comments == planted.query("unit_id == 'S1' and responded_at >= '2026-09-01'"
                                          ).comment.notna().sum()  # fmt: skip
    assert -1 <= rise.sentiment <= 1 and set(frame.theme) == {t.name for t in THEMES}
    company, _ = theme_trends(wh, themed, level="company", period="2026-09")
    assert set(company.unit_id) == {"C"}
    assert (
        company.set_index("theme").loc["wait", "mentions"] == row.xs("wait", level=1).mentions.sum()
    )


# store, month, stock comments, planted share of them that are negative
TONE = [("S1", "2026-08", 100, 0.2), ("S1", "2026-09", 100, 0.6), ("S2", "2026-08", 100, 0.4),
        ("S2", "2026-09", 100, 0.4)]  # fmt: skip


def _read_as(tone: str, sentences: tuple[str, ...]) -> list[str]:
    """The sentences the model reads in their planted tone (the test plants labels, not text)."""
    return [s for s, label in zip(sentences, score(sentences).labels, strict=True) if label == tone]


def test_a_planted_turn_in_a_themes_tone_is_flagged_and_a_steady_tone_is_not(
    wh: Warehouse, themed: Config, tmp_path: Path
) -> None:
    rng = np.random.default_rng(11)
    bad, good = _read_as("negative", NEGATIVE["stock"]), _read_as("positive", POSITIVE["stock"])
    assert len(bad) >= 4 and len(good) >= 4
    parts = []
    for store, month, n, negative in TONE:
        pick = [rng.choice(bad if rng.uniform() < negative else good) for _ in range(n)]
        parts.append(pd.DataFrame({
            "unit_id": store, "comment": pick, "channel": "survey", "ltr": 7.0,
            "responded_at": pd.Timestamp(f"{month}-03") + pd.to_timedelta(np.arange(n), "h"),
        }))  # fmt: skip
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "response_id", [f"t{i}" for i in range(len(frame))])
    frame.to_parquet(tmp_path / "tone.parquet")
    ingest_file(wh, themed, "feedback", tmp_path / "tone.parquet")
    trends, _ = theme_trends(wh, themed, level="store", period="2026-09")
    row = trends.set_index(["unit_id", "theme"])
    turn, steady = row.loc[("S1", "stock")], row.loc[("S2", "stock")]
    stock = wh.table("comment_themes").to_pyarrow().to_pandas().query("theme == 'stock'")
    now = frame.query("unit_id == 'S1' and responded_at >= '2026-09-01'")
    now = now[now.response_id.isin(stock.response_id)]
    assert turn.mentions == len(now) and turn.negative == pytest.approx(
        now.comment.isin(bad).mean()
    )
    assert turn.negative_low <= 0.6 <= turn.negative_high
    assert turn.negative_flagged and turn.negative_change_low <= 0.4 <= turn.negative_change_high
    assert turn.previous_negative < 0.35 and turn.negative_q_value <= 0.05
    assert not steady.negative_flagged and abs(steady.negative_change) < 0.2
    assert not turn.flagged  # every comment is about stock in both months: the share is steady
    other = row.loc[("S1", "wait")]  # no mention: nothing to test
    assert np.isnan(other.negative_p_value) and not other.negative_flagged
    issues = theme_issues(trends, {}, "unit:{unit}", datetime(2026, 10, 2))  # the register's
    assert list(issues.issue_id) == ["theme:S1:stock:2026-09"]


def test_trends_need_a_codeframe_and_a_known_moment(wh: Warehouse, config: Config) -> None:
    with pytest.raises(ConfigError, match=r"no \[\[themes\]\]"):
        theme_trends(wh, config)


def test_themes_as_drivers_find_the_mention_that_lowers_the_score(
    wh: Warehouse, themed: Config, planted: pd.DataFrame
) -> None:
    """ltr is planted 4 points lower when the comment is about waiting."""
    (result,) = compute_drivers(wh, themed, themes=True, bootstrap=40)
    by = {d.driver: d for d in result.drivers}
    wait = by["theme:wait"]
    assert wait.rank == 1 and wait.direction == "negative" and wait.lmg_low > 0.3
    assert result.n == planted.comment.notna().sum()  # commented responses only
    assert by["theme:staff"].lmg < 0.01  # no comment is about staff
    with pytest.raises(QueryError, match="themes"):
        compute_drivers(wh, themed.model_copy(update={"themes": []}), themes=True)
