"""The config: defaults, round trip through TOML, and errors that name the key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from earnright.config import Config, load_config, render_config
from earnright.errors import ConfigError, WorkspaceError
from earnright.workspace import ENV_VAR, find_workspace, init_workspace


def test_default_config_round_trips_through_toml(tmp_path: Path) -> None:
    path = tmp_path / "earnright.toml"
    path.write_text(render_config(Config()))
    assert load_config(path) == Config()


def test_questions_and_driver_defaults() -> None:
    config = Config()
    assert config.question("ltr") is not None and config.question("ltr").kind == "nps"
    wait = config.question("q_wait")
    assert wait is not None and (wait.kind, wait.min, wait.max) == ("driver", 1, 5)
    assert config.question("comment") is None and config.question("store") is None


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[units]\nlevels = ["a", "a"]', "units.levels: Value error, levels must be distinct"),
        ('[[questions]]\nid = "ltr"\nkind = "nps"\nmin = 1\nmax = 5', "0–10 scale"),
        ('[warehouse]\nurl = "mysql://x"', "warehouse.url"),
        ('[warehouse]\nmemory_limit = "lots"', "'lots' is not a size"),
        ("[company]\nnam = 'x'", "company.nam: Extra inputs are not permitted (got 'x')"),
        ("[company\n", "not valid TOML"),
        ('[reliability]\nstep = "soon"', "'soon' is not a duration"),
        (
            '[[reliability.burn_alerts]]\nname = "x"\nlong = "1h"\nshort = "2h"\nfactor = 2',
            "short window is longer",
        ),
        ('[owners.ops]\nwebhooks = ["ftp://x"]', "must be http(s) URLs"),
        (
            '[[journey.stages]]\nid = "s"\nname = "S"\n[[journey.stages.moments]]\nid = "m"\n'
            'name = "M"\n[[journey.stages.moments.indicators]]\nid = "i"\nmetric = "x"\n'
            'measure = "threshold"',
            'measure "threshold" needs a threshold',
        ),
    ],
)
def test_config_errors_name_key_value_and_expectation(
    tmp_path: Path, toml: str, expected: str
) -> None:
    path = tmp_path / "earnright.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_workspace_is_found_from_flag_then_env_then_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = init_workspace(tmp_path / "a")
    with pytest.raises(WorkspaceError, match="already exists"):
        init_workspace(tmp_path / "a")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkspaceError, match="from the current directory"):
        find_workspace()
    monkeypatch.setenv(ENV_VAR, str(ws.root))
    assert find_workspace().root == ws.root
    with pytest.raises(WorkspaceError, match="from --workspace"):
        find_workspace(tmp_path / "b")


def test_demo_config_with_indicators_round_trips_and_durations_read_back(tmp_path: Path) -> None:
    from datetime import timedelta

    from earnright.config import format_duration, parse_duration
    from earnright.pipeline import demo_config

    path = tmp_path / "earnright.toml"
    path.write_text(render_config(demo_config()))
    config = load_config(path)
    assert config == demo_config() and len(config.journey.indicators()) == 4
    assert config.reliability.step == timedelta(days=1)
    assert config.reliability.hours["daypart"]["evening"] == (17, 21)
    moment, indicator = config.indicator("rx_on_time")
    assert config.owner_of(moment, indicator) == "pharmacy-operations"
    assert (
        parse_duration("90s") == timedelta(seconds=90)
        and format_duration(timedelta(days=28)) == "28d"
    )
    assert len(Config().reliability.burn_alerts) == 4  # the SRE workbook's defaults
