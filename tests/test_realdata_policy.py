"""The ``realdata`` policy of tests/conftest.py: a skip for absent data fails where required."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["pytester"]

CASE = """
import pytest

@pytest.mark.realdata
def test_needs_data():
    pytest.skip("/nowhere is absent: the data are not on this machine")

@pytest.fixture(scope="module")
def data():
    pytest.skip("/nowhere is absent")

@pytest.mark.realdata
def test_needs_data_through_a_fixture(data):
    pass

def test_skips_for_another_reason():
    pytest.skip("openssl is absent")
"""


@pytest.fixture
def case(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), path])))
    pytester.makeconftest("from tests.conftest import pytest_runtest_makereport  # noqa: F401")
    pytester.makeini("[pytest]\nmarkers =\n    realdata: reads ../shared/data\n")
    pytester.makepyfile(CASE)
    return pytester


def test_absent_data_skips_by_default(
    case: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EARNRIGHT_REQUIRE_DATA", raising=False)
    case.runpytest_subprocess().assert_outcomes(skipped=3)


def test_absent_data_fails_where_the_data_must_be_there(
    case: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARNRIGHT_REQUIRE_DATA", "1")
    result = case.runpytest_subprocess()
    result.assert_outcomes(failed=1, errors=1, skipped=1)
    result.stdout.fnmatch_lines(["*EARNRIGHT_REQUIRE_DATA=1 and this test needs ../shared/data*"])
