"""The config: defaults, round trip through TOML, and errors that name the key and value."""

from __future__ import annotations

import copy
import math
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from earnright.config import Config, load_config, render_config, validate_config
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
    with pytest.raises(WorkspaceError, match="from the folder given") as err:
        find_workspace(tmp_path / "b")
    assert err.value.argument == "workspace"


def test_demo_config_with_indicators_round_trips_and_durations_read_back(tmp_path: Path) -> None:
    from datetime import timedelta

    from earnright.config import format_duration, parse_duration
    from earnright.services.demo import demo_config

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


# -- the config is input too: every number finite and in range, with the key named ------------

Path_ = tuple[str | int, ...]


def _full_document() -> dict[str, Any]:
    """A config with one of every table (indicators with thresholds, hours, burn alerts)."""
    from earnright.services.demo import demo_config

    data: dict[str, Any] = demo_config().model_dump(mode="json")
    data["owners"] = {"ops": {"webhooks": ["https://hooks.example.com/x"]}}
    data["sources"] = {"medallia": {"kind": "feedback"}}
    return data


def _numeric_paths(tp: Any, path: Path_, doc: Any) -> Iterator[Path_]:
    """Every path under ``doc`` to an int or float field of the model (or type) ``tp``."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is bool:
        return
    if tp in (int, float):
        yield path
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, field in tp.model_fields.items():
            yield from _numeric_paths(field.annotation, (*path, name), doc.get(name))
    elif origin is Annotated:
        yield from _numeric_paths(args[0], path, doc)
    elif origin in (Union, types.UnionType):
        for arg in args:
            yield from _numeric_paths(arg, path, doc)
    elif origin is list and doc:
        yield from _numeric_paths(args[0], (*path, 0), doc[0])
    elif origin is dict and doc:
        key = next(iter(doc))
        yield from _numeric_paths(args[1], (*path, key), doc[key])
    elif origin is tuple:
        for i, arg in enumerate(args):
            yield from _numeric_paths(arg, (*path, i), doc[i] if doc else None)


def _with(doc: dict[str, Any], path: Path_, value: object) -> dict[str, Any]:
    changed = copy.deepcopy(doc)
    node: Any = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


NUMERIC_PATHS = sorted(
    set(_numeric_paths(Config, (), _full_document())), key=lambda p: ".".join(map(str, p))
)


def test_the_walk_reaches_every_kind_of_numeric_field() -> None:
    dotted = {".".join(map(str, p)) for p in NUMERIC_PATHS}
    expected = {
        "delivery.timeout_seconds",
        "delivery.backoff_seconds",
        "delivery.smtp_port",
        "drivers.min",
        "listening.min_n",
        "questions.0.max",
        "reliability.burn_alerts.0.factor",
        "reliability.hours.daypart.morning.1",
        "journey.stages.0.moments.0.indicators.0.target",
        "journey.stages.0.moments.0.indicators.0.threshold",
    }
    assert expected <= dotted and len(dotted) >= 15


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_every_numeric_field_refuses_inf_and_nan_naming_the_key(bad: float) -> None:
    doc = _full_document()
    validate_config(doc)  # the document itself is valid
    missed = []
    for path in NUMERIC_PATHS:
        key = ".".join(map(str, path))
        try:
            validate_config(_with(doc, path, bad))
        except ConfigError as exc:
            if f"  {key}: " not in str(exc):
                missed.append(f"{key}: {exc}")
        else:
            missed.append(f"{key}: accepted {bad}")
    assert missed == []


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[delivery]\ntimeout_seconds = inf", "delivery.timeout_seconds: Input should be a finite"),
        ("[delivery]\nbackoff_seconds = 1e308", "delivery.backoff_seconds: Input should be less"),
        ("[delivery]\nsmtp_port = 99999", "delivery.smtp_port: Input should be less"),
        ("[delivery]\nmax_attempts = 0", "delivery.max_attempts: Input should be greater"),
        ('[warehouse]\nmemory_limit = "0KB"', "warehouse.memory_limit: Value error, '0KB' is too"),
        ('[reliability]\nresolve_after = "99999999999d"', "reliability.resolve_after: Value err"),
        ('[reliability]\nstep = "0.0000001s"', "reliability.step: Value error"),
        ("[reliability]\nhours.daypart = { night = [25, -3] }", "daypart.night = [25, -3]"),
        ("[reliability]\nhours.daypart = { night = [22, 6] }", None),  # wraps past midnight
        ("[drivers]\nmin = 5\nmax = 1", "drivers: Value error, drivers: min 5 must be below max 1"),
        (
            '[[journey.stages]]\nid = "s"\nname = "S"\n[[journey.stages.moments]]\nid = "m"\n'
            'name = "M"\n[[journey.stages.moments.indicators]]\nid = "i"\nmetric = "x"\n'
            'measure = "threshold"\nthreshold = nan\nwindow = "99999999999d"',
            "journey.stages.0.moments.0.indicators.0.threshold: Input should be a finite number",
        ),
        ("x = " + "[" * 5000 + "]" * 5000, "nested too deeply"),
        ("[company]\nname = " + "[" * 100 + "]" * 100, "company.name: Input should be a valid"),
    ],
)
def test_bad_numbers_and_shapes_are_config_errors(
    tmp_path: Path, toml: str, expected: str | None
) -> None:
    path = tmp_path / "earnright.toml"
    path.write_text(toml)
    if expected is None:
        load_config(path)
        return
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert expected in str(err.value) and str(path) in str(err.value)
    assert len(str(err.value)) < 2_000
