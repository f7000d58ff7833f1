"""docs/config.md documents every setting under its own heading, as the config models say it.

The settings registry reads keys, defaults, ranges and descriptions from the models; these tests
fail when a setting has no description, no heading of its own in docs/config.md, or when the
generated section is stale (run scripts/config_docs.py).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from earnright.config import Config, render_config, validate_config
from earnright.config.registry import (
    REFERENCE_END,
    REFERENCE_START,
    config_reference,
    settings,
    tables,
    update_reference,
)

DOCS = (Path(__file__).resolve().parents[1] / "docs" / "config.md").read_text(encoding="utf-8")
HEADINGS = set(re.findall(r"^#### `([^`]+)`$", DOCS, re.MULTILINE))


def test_every_setting_is_described_in_the_models() -> None:
    missing = [s.path for s in settings() if not s.description]
    missing += [path for path, info in tables() if not info.description]
    assert missing == []


def test_every_setting_has_its_own_heading_in_the_docs() -> None:
    paths = [s.path for s in settings()]
    assert len(paths) == len(set(paths)) and len(paths) >= 55
    assert sorted(set(paths) - HEADINGS) == []  # undocumented settings
    assert sorted(HEADINGS - set(paths)) == []  # documented settings that do not exist


def test_the_settings_section_is_the_one_the_models_write() -> None:
    assert DOCS.count(REFERENCE_START) == 1 and DOCS.count(REFERENCE_END) == 1
    assert update_reference(DOCS) == DOCS, "stale: run scripts/config_docs.py"


def test_a_new_setting_without_a_heading_is_caught() -> None:
    """The check can fail: dropping one key's section leaves it undocumented."""
    reference = config_reference()
    cut = re.sub(r"#### `listening\.min_n`\n\n[^#]*", "", reference)
    headings = set(re.findall(r"^#### `([^`]+)`$", cut, re.MULTILINE))
    assert {s.path for s in settings()} - headings == {"listening.min_n"}


def test_defaults_and_ranges_come_from_the_models() -> None:
    by_path = {s.path: s for s in settings()}
    assert by_path["listening.min_n"].default == "5"
    assert by_path["listening.min_n"].allowed == "in [1, 1,000,000]"
    assert by_path["journey.stages[].moments[].indicators[].target"].allowed == "in (0.0, 1.0)"
    assert by_path["reliability.step"].default == '"1h"'
    assert by_path["questions[].kind"].allowed == "one of `nps`, `csat`, `driver`"
    assert by_path["questions[].id"].default == ""  # required


def test_the_written_config_comments_every_key_once_and_reads_back() -> None:
    text = render_config(Config())
    assert validate_config(tomllib.loads(text)) == Config()
    for s in settings():
        if s.path.startswith(("company.", "listening.", "delivery.", "warehouse.")):
            first_line = s.description.split(";")[0][:40]
            assert first_line in " ".join(text.replace("# ", " ").split()), s.path
