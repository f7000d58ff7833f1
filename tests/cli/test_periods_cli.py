"""Which period every command uses: the latest complete one by default, said on standard error;
a period without data is one clear error naming the range the data cover (exit 2)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from earnright.cli import main
from earnright.ingest import ingest_file
from earnright.workspace import init_workspace
from tests.conftest import UNITS_CSV
from tests.reliability.test_indicators import indicator, make_config, wait_rows

STORES = ("S1", "S2", "S3")


def _answers(rng: np.random.Generator, days: pd.DatetimeIndex, per_day: int) -> pd.DataFrame:
    rows = []
    for day in days:
        for store in STORES:
            for k in range(per_day):
                at = day + timedelta(hours=9 + k, minutes=int(rng.integers(60)))
                ltr = int(rng.integers(0, 11))
                rows.append((f"{store}-{at:%Y%m%d%H%M}-{k}", store, at, ltr, 3 + ltr // 4))
    frame = pd.DataFrame(rows, columns=["response_id", "unit_id", "responded_at", "ltr", "osat"])
    return frame.assign(q_staff=np.clip(frame.osat, 1, 5))


@pytest.fixture(scope="module")
def begun(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three stores answering every day of July to September 2026, then 3 answers per store on
    1 October: October has begun but is not complete. Metrics on 1-4 September."""
    root = tmp_path_factory.mktemp("begun")
    ws = init_workspace(root / "ws", make_config(indicator()))
    rng = np.random.default_rng(3)
    months = _answers(rng, pd.date_range("2026-07-01", "2026-09-30", freq="D"), 2)
    october = _answers(rng, pd.DatetimeIndex([datetime(2026, 10, 1)]), 1)
    pd.concat([months, october]).to_csv(root / "feedback.csv", index=False)
    invited = months.assign(sent_at=months.responded_at - timedelta(hours=1))
    invited = invited.rename(columns={"response_id": "invitation_id"})
    invited["customer_id"] = "C" + invited.invitation_id
    columns = ["invitation_id", "customer_id", "unit_id", "sent_at"]
    invited[columns].to_csv(root / "invitations.csv", index=False)
    (root / "units.csv").write_text(UNITS_CSV)
    (root / "metrics.csv").write_text("\n".join(wait_rows()) + "\n")
    with ws.warehouse() as wh:
        for kind in ("units", "feedback", "invitations", "metrics"):
            result = ingest_file(wh, ws.config, kind, root / f"{kind}.csv")
            assert result.quarantined == 0, result
    return ws.root


def earnright(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run the real entry point in-process: exit status, standard output, standard error."""
    monkeypatch.setattr(sys, "argv", ["earnright", *args])
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


PERIOD_COMMANDS = [
    ["scorecard"],
    ["credibility"],
    ["needed"],
    ["changes"],
    ["rank"],
    ["drivers"],
    ["focus", "--all"],
    ["focus", "--unit", "S1"],
    ["hygiene"],
]


@pytest.mark.parametrize("command", [*PERIOD_COMMANDS, ["reliability"]], ids=" ".join)
@pytest.mark.parametrize("period", ["2030-01", "2026-05"])
def test_a_period_without_data_is_a_user_error_naming_the_range(
    begun: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    period: str,
) -> None:
    """After the data (2030-01) and before them (2026-05, a month before the first answer)."""
    args = [*command, "-w", str(begun), "--period", period]
    status, out, err = earnright(monkeypatch, capsys, *args)
    assert status == 2, err
    assert "Traceback" not in err and out == ""
    if command == ["reliability"]:
        assert f"no metrics in {period}: the data cover 2026-09 " in err
    else:
        assert f"no feedback or invitations in {period}: the data cover 2026-07 to 2026-10" in err


def test_other_grains_name_the_range_in_their_own_periods(
    begun: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["-w", str(begun), "--grain", "quarter", "--period", "2026-Q1"]
    status, _, err = earnright(monkeypatch, capsys, "scorecard", *args)
    assert status == 2 and "the data cover 2026-Q3 to 2026-Q4" in err
    args = ["-w", str(begun), "--grain", "week", "--period", "2026-W20"]
    status, _, err = earnright(monkeypatch, capsys, "rank", *args)
    assert status == 2 and "the data cover 2026-W27 to 2026-W40" in err


BEGUN = "period 2026-09 (latest complete month; 2026-10 has begun but is not complete"


@pytest.mark.parametrize(
    "command",
    [["changes", "--all"], ["rank"], ["focus", "--all"], ["hygiene", "--all"]],
    ids=" ".join,
)
def test_one_period_commands_default_to_the_latest_complete_period_and_say_why(
    begun: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    status, out, err = earnright(monkeypatch, capsys, *command, "-w", str(begun), "-f", "json")
    assert status == 0, err
    assert BEGUN + ": the data end 2026-10-01)" in err
    rows = json.loads(out)
    assert rows and {row["period"] for row in rows} == {"2026-09"}  # the JSON says it too


def test_needed_leaves_out_the_period_that_has_only_begun(
    begun: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """3 answers in October would pull the answers per month from 60 down to 45."""
    status, out, err = earnright(monkeypatch, capsys, "needed", "-w", str(begun), "-f", "json")
    assert status == 0, err
    assert "periods 2026-07 to 2026-09 (every complete month; 2026-10 has begun" in err
    rows = {r["unit_id"]: r for r in json.loads(out)}
    assert rows["S1"]["periods"] == 3
    assert rows["S1"]["responses_per_period"] == pytest.approx((31 + 31 + 30) * 2 / 3)


def test_every_period_commands_say_the_latest_is_not_complete(
    begun: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = earnright(monkeypatch, capsys, "scorecard", "-w", str(begun), "-f", "csv")
    assert status == 0, err
    assert "periods 2026-07 to 2026-10 (every month with data; 2026-10 has begun but is not" in err
    status, _, err = earnright(monkeypatch, capsys, "reliability", "-w", str(begun), "-f", "json")
    assert status == 0 and "windows ending 2026-09-05 00:00 UTC" in err
