"""The main demo company's planted actions (earnright.demo.company_actions): written as the
actions kind, recorded in the truth, and recovered by ``Workspace.outcomes``."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from earnright.api import open_workspace
from earnright.demo import generate_company
from earnright.ingest import ingest_file
from earnright.services.demo import FILES, demo_config
from earnright.workspace import init_workspace


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo (default size) ingested without detection or report: outcomes and truth."""
    root = tmp_path_factory.mktemp("demo_actions")
    generate_company(root / "data", stores=60, months=12, seed=7)
    ws = init_workspace(root, demo_config())
    with ws.warehouse() as wh:
        for kind, name in FILES:
            ingest_file(wh, ws.config, kind, root / "data" / name)
    truth: list[dict[str, Any]] = json.loads((root / "data" / "truth.json").read_text())["actions"]
    out = open_workspace(root).outcomes().to_frame()
    return out, pd.DataFrame(truth)


def test_the_demo_plants_every_kind_of_action(planted: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    out, truth = planted
    assert set(truth.metric) == {"nps", "spend", "retention", "short_queue"}
    assert set(out.action_id) == set(truth.action_id)  # every action arrived as the actions kind
    complete = truth[truth.complete]
    assert (complete.effect.abs() < 1e-9).sum() >= 3  # zero effects
    assert (complete.effect < -5).sum() >= 2  # harmful ones
    assert (complete.effect_date > complete.started_at).sum() >= 2  # delayed ones
    assert (~truth.complete).sum() >= 1  # too recent


def test_intervals_cover_the_planted_effects(planted: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    out, truth = planted
    both = out.merge(truth[["action_id", "effect", "complete"]], on="action_id",
                     suffixes=("", "_true"))  # fmt: skip
    measured = both[both.complete]
    assert measured.effect_low.notna().all()
    covered = (measured.effect_low <= measured.effect_true) & (
        measured.effect_true <= measured.effect_high
    )
    assert covered.sum() >= len(measured) - 1, measured[~covered]


def test_verdicts_follow_the_planted_effects(planted: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Zero effects are never called worked (nor worse); effects at least the window's
    minimum detectable one are found with their sign; the recent action is too early."""
    out, truth = planted
    both = out.merge(truth[["action_id", "effect", "complete"]], on="action_id",
                     suffixes=("", "_true"))  # fmt: skip
    done = both[both.complete]
    zero = done[done.effect_true.abs() < 1e-9]
    assert (zero.verdict == "no detectable effect").all()
    large = done[done.effect_true.abs() >= done.mde]
    assert len(large) >= 3
    expected = large.effect_true.map(lambda e: "worked" if e > 0 else "made it worse")
    assert (large.verdict == expected).all(), large
    assert (both[~both.complete].verdict == "too early").all()


def test_spend_and_retention_effects_carry_their_value_in_revenue(
    planted: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """Spend: the value over the measurement window (the horizon's share of it) holds the
    planted extra revenue; retention: the value holds the planted effect × the same base
    (the customers' lifetime value); both are signed like the effect."""
    from earnright.accountability.value import HORIZON_DAYS

    out, truth = planted
    both = out.merge(truth[["action_id", "effect", "revenue", "complete"]], on="action_id",
                     suffixes=("", "_true"))  # fmt: skip
    spend = both[(both.metric == "spend") & both.complete]
    share = 7 * 8 / HORIZON_DAYS  # the window's share of the horizon
    assert spend.value.notna().all() and len(spend) >= 2
    assert (
        (spend.value_low * share <= spend.revenue) & (spend.revenue <= spend.value_high * share)
    ).all()
    kept = both[(both.metric == "retention") & both.complete]
    assert kept.value.notna().all() and len(kept) >= 2
    base = kept.value / (kept.effect / 100)
    assert (base > 0).all()
    planted_value = kept.effect_true / 100 * base
    assert ((kept.value_low <= planted_value) & (planted_value <= kept.value_high)).all()
    assert (kept.value_low < kept.value).all() and (kept.value < kept.value_high).all()
    for frame in (spend, kept):
        assert (frame.value * frame.effect >= 0).all()
