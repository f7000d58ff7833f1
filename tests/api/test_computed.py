"""One run computes each result once: the site and the pack share a ``Computed``, and what
``build_report`` computed is adopted unchanged (the same numbers as asking the workspace)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import earnright
from earnright.api.computed import Computed
from earnright.api.site import gather_site
from earnright.api.workspace import Workspace
from earnright.services.pack import gather_pack
from earnright.services.report import build_report

pytestmark = pytest.mark.slow

# the workspace methods behind every result of the site and the pack
COUNTED = ("scorecard", "rank", "focus", "reliability", "warnings", "assets", "losses",
           "outcomes", "_respondents")  # fmt: skip


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """How often each of ``COUNTED`` is called on any workspace during the test."""
    counted: Counter[str] = Counter()
    for name in COUNTED:
        method = getattr(Workspace, name)

        def spy(self: Any, *args: Any, _m: Any = method, _n: str = name, **kw: Any) -> Any:
            counted[_n] += 1
            return _m(self, *args, **kw)

        monkeypatch.setattr(Workspace, name, spy)
    yield counted


def _plain(data: Any) -> Any:
    """Results as JSON, each number to 12 significant digits: DuckDB's parallel aggregates (the
    drivers' variances and covariances) merge partial sums in no fixed order, so a recomputation
    can differ from the first in the last bits of a float."""
    return _rounded(json.loads(json.dumps(data, default=str)))


def _rounded(data: Any) -> Any:
    if isinstance(data, float):
        return float(f"{data:.12g}")
    if isinstance(data, list):
        return [_rounded(item) for item in data]
    if isinstance(data, dict):
        return {key: _rounded(value) for key, value in data.items()}
    return data


def test_the_site_and_the_pack_compute_each_result_once(
    copy: Path, tmp_path: Path, calls: Counter[str]
) -> None:
    ws = earnright.open_workspace(copy)
    computed = Computed(ws)
    ws.report_site(tmp_path / "site", computed=computed)
    site_calls = Counter(calls)
    ws.pack(tmp_path / "pack.json", computed=computed)
    assert calls["reliability"] == 1  # the site's pass serves the pack
    assert calls["warnings"] == 1
    assert calls["_respondents"] == 1  # focus priced at three levels with one pass
    levels = ws.config.units.levels
    assert calls["scorecard"] == len(levels)  # one per level, every month: the pack cuts its own
    assert calls["rank"] == site_calls["rank"] == len(levels) - 1
    assert len(computed.computed) == len(set(computed.computed))


def test_a_shared_run_draws_the_same_numbers(copy: Path) -> None:
    ws = earnright.open_workspace(copy)
    alone = _plain(gather_pack(ws))
    computed = Computed(ws)
    gather_site(computed, None, None)
    shared = _plain(gather_pack(computed))
    for part in ("maturity",):  # the trend compares with the pack kept before: none is kept
        alone.pop(part), shared.pop(part)
    assert shared == alone


def test_adopting_build_report_gives_what_the_workspace_computes(
    copy: Path, calls: Counter[str]
) -> None:
    ws = earnright.open_workspace(copy)
    with ws.warehouse() as wh:
        report = build_report(wh, ws.config)
    adopted = Computed(ws)
    adopted.adopt(report)
    levels, period = ws.config.units.levels, report.month.label
    asked = [
        ("scorecard", lambda c: [c.scorecard(level) for level in levels]),
        ("ranking", lambda c: c.ranking(levels[-1], period)),
        ("focus", lambda c: c.focus(levels[-1], period)),
        ("assets", lambda c: c.assets(levels[0], period)),
        ("losses", lambda c: [c.losses(level, period) for level in levels]),  # the spells kept
    ]
    for name, ask in asked:
        before = Counter(calls)
        got = _plain(ask(adopted))
        assert calls == before, f"{name} was computed again"
        assert got == _plain(ask(Computed(ws))), name
    assert [r["period"] for r in adopted.assets(levels[0], period)] == [period]
    assert report.spells is not None and report.spells.values is not None  # handed over


def test_an_error_is_kept_and_raised_again(ws: earnright.Workspace) -> None:
    computed = Computed(ws)
    with pytest.raises(earnright.errors.EarnrightError) as first:
        computed.ranking("nope", "2026-01")
    with pytest.raises(earnright.errors.EarnrightError) as again:
        computed.ranking("nope", "2026-01")
    assert again.value is first.value
    assert computed.computed == [("ranking", "nope", "2026-01")]


def test_every_recipients_pack_draws_one_set_of_results(copy: Path, calls: Counter[str]) -> None:
    from earnright.delivery.packs import queue_packs

    with (copy / "earnright.toml").open("a") as config:
        config.write(
            '\n[[pack.recipients]]\nname = "CCO"\nemail = "cco@example.com"\n'
            '\n[[pack.recipients]]\nname = "Store manager"\nemail = "s1@example.com"\n'
            'unit = "S0001"\n'
        )
    ws = earnright.open_workspace(copy)
    queued = queue_packs(ws, None)
    assert len(queued.queued) == 2
    assert calls["reliability"] == calls["warnings"] == 1 and calls["outcomes"] <= 1


def test_the_pack_alone_computes_the_scorecard_of_its_month_only(copy: Path) -> None:
    ws = earnright.open_workspace(copy)
    alone = Computed(ws)
    data = gather_pack(alone)
    cards = [key for key in alone.computed if key[0] == "scorecard"]
    assert cards and all(key[2:] == (data["period"],) for key in cards)
    levels = ws.config.units.levels
    assert data["listening"]["score"]["n"] == next(
        r["n"] for r in ws.scorecard(level=levels[0], grain="month", period=data["period"]).rows
    )
