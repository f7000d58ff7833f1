"""A workspace with a journey, three stores' invitations, and the store manager's targets."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from earnright.config import Config, validate_config
from earnright.ingest import ingest_file
from earnright.warehouse import Warehouse
from earnright.workspace import Workspace, find_workspace, init_workspace, store_config
from tests.conftest import SPARK_URL, UNITS_CSV, with_url

SENT = datetime(2026, 9, 1, 9, 0)
NOW = SENT + timedelta(days=1)

CONFIG = {
    "company": {"name": "Acme Pharmacy"},
    "journey": {
        "stages": [
            {
                "id": "visit",
                "name": "I get my medicine",
                "moments": [
                    {"id": "pickup", "name": "Pick-up", "questions": ["q_wait", "q_staff"]},
                    {"id": "checkout", "name": "Checkout", "questions": ["q_pay"]},
                ],
            }
        ]
    },
    "owners": {
        "unit:D1": {"email": ["d1-manager@example.com"]},
        "gateway": {"webhooks": ["https://sms.example.com/send"]},
    },
    "survey": {"base_url": "https://survey.example.com", "reminders_to": "gateway"},
}


def survey_config(**survey: object) -> Config:
    data = {**CONFIG, "survey": {**CONFIG["survey"], **survey}}  # type: ignore[dict-item]
    return validate_config(data)


def write_invitations(path: Path, rows: list[tuple[str, str, str, datetime, str]]) -> Path:
    lines = ["invitation_id,unit_id,customer_id,sent_at,moment"]
    lines += [f"{i},{u},{c},{s.isoformat()},{m}" for i, u, c, s, m in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


INVITATIONS = [
    ("inv-1", "S1", "c1", SENT, "pickup"),
    ("inv-2", "S1", "c2", SENT, "pickup"),
    ("inv-3", "S2", "c3", SENT, "checkout"),
    ("inv-4", "S3", "c4", SENT - timedelta(days=5), "pickup"),
    ("inv-5", "S3", "c5", SENT - timedelta(days=60), "pickup"),
]


def make_survey_workspace(tmp_path: Path, config: Config | None = None) -> Workspace:
    """The workspace: three stores' invitations (inv-5 sent long enough ago to be expired)."""
    ws = init_workspace(tmp_path / "ws", config or survey_config())
    (tmp_path / "units.csv").write_text(UNITS_CSV)
    with ws.warehouse() as wh:
        store_config(wh, ws.config)
        ingest_file(wh, ws.config, "units", tmp_path / "units.csv")
        ingest_file(
            wh, ws.config, "invitations", write_invitations(tmp_path / "inv.csv", INVITATIONS)
        )
    return ws


@pytest.fixture
def survey_ws(tmp_path: Path, request: pytest.FixtureRequest) -> Workspace:
    config = survey_config()
    backend = request.getfixturevalue("backend") if "backend" in request.fixturenames else None
    if backend == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        config = with_url(
            config, cluster.create_database(template=request.getfixturevalue("pg_migrated"))
        )
    if backend == "spark":  # a copy of the workspace made once (a Spark ingest is slow)
        shutil.copytree(request.getfixturevalue("spark_survey"), tmp_path, dirs_exist_ok=True)
        return find_workspace(tmp_path / "ws")
    return make_survey_workspace(tmp_path, config)


@pytest.fixture(scope="session")
def spark_survey(tmp_path_factory: pytest.TempPathFactory, spark_migrated: Path) -> Path:
    """The survey workspace on Spark, made once per session from the migrated directory (its
    ingests cost 30-40 s of Spark jobs on a loaded machine); each test takes a copy."""
    base = tmp_path_factory.mktemp("spark-survey")
    shutil.copytree(spark_migrated, base / "ws" / "spark-warehouse")
    make_survey_workspace(base, with_url(survey_config(), SPARK_URL))
    return base


@pytest.fixture
def swh(survey_ws: Workspace) -> Iterator[Warehouse]:
    with survey_ws.warehouse() as wh:
        yield wh
