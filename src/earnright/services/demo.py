"""The demo service: generate the demo company into a workspace and run everything built so far.

``run_demo`` is what ``earnright demo`` and ``make demo`` run: generate the company with planted
truth, create the workspace with the matching config, ingest every file through the normal
ingestion path, compute the scorecard at every level, rank the stores and draw up their focus
lists, rate the reliability of every journey moment, replay early warning over the whole history
(incidents with the segment hurt and the revenue at risk), and write it all as CSV, Parquet, JSON
and a self-contained HTML page (the report service, :mod:`earnright.services.report`), the
report site of a page per unit (``results/site``) and the monthly pack (``results/pack.pdf``).

The demo never deletes what it did not write. It fills an empty (or new) directory; a non-empty
one is refused unless ``replace`` is given and the directory holds the demo's marker, and then
only the demo's own files (``DEMO_FILES``: the generated data, the config, the warehouse and the
results) are removed: anything else a user put there is kept.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from earnright.config import Config, Journey, Question
from earnright.errors import WorkspaceError
from earnright.ingest import IngestResult, ingest_file
from earnright.progress import Progress, StepProgress
from earnright.reliability.incidents import run_detection
from earnright.services.report import REPORT_FILES, Report, build_report
from earnright.workspace import init_workspace

__all__ = [
    "DEMO_FILES",
    "FILES",
    "MARKER",
    "DemoRun",
    "demo_config",
    "remove_demo_files",
    "run_demo",
]

MARKER = ".earnright-demo"
PACK_FILE = "results/pack.pdf"  # the monthly pack of the latest complete month (earnright pack)
# Ingest order matters only for units, which every other kind refers to.
FILES = [
    ("units", "units.csv"),
    ("customers", "customers.parquet"),
    ("transactions", "transactions.parquet"),
    ("invitations", "invitations.parquet"),
    ("feedback", "feedback.parquet"),
    ("metrics", "metrics.parquet"),
    ("actions", "actions.csv"),
]
# Every file the demo writes, relative to --out; only these are removed by a replacing run. A
# fixed list, never read from the marker (a marker could be copied or written by anyone).
DEMO_FILES = (
    *(f"data/{name}" for _, name in FILES),
    "data/truth.json",
    "earnright.toml",
    "earnright.duckdb",
    "earnright.duckdb.wal",
    *(f"results/{name}" for name in REPORT_FILES.values()),
    PACK_FILE,
    MARKER,
)
DEMO_DIRS = ("data", "results")  # removed only when the demo's files were all they held
# the report site (earnright report): only its own files are removed, as a pattern under it
SITE_DIR = "results/site"
SITE_FILE = re.compile(r"index\.html|units/[A-Za-z0-9_.-]+/page\.(html|json)")


@dataclass
class DemoRun:
    workspace: Path
    truth: Path
    outputs: dict[str, Path]
    ingests: list[IngestResult] = field(default_factory=list)
    detection: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def demo_config() -> Config:
    """The config of the demo company: its journey, owners, driver questions and themes."""
    from earnright.demo import DEMO_COMPANY_NAME, DEMO_JOURNEY, DEMO_QUESTIONS, DEMO_RELIABILITY
    from earnright.demo.comments import DEMO_THEMES

    questions = [
        Question(id="ltr", label="Likelihood to recommend", kind="nps", min=0, max=10),
        Question(id="osat", label="Overall satisfaction", kind="csat", min=1, max=5),
    ] + [Question(id=q, label=label, kind="driver") for q, label in DEMO_QUESTIONS.items()]
    return Config.model_validate(
        {
            "company": {"name": DEMO_COMPANY_NAME},
            "questions": [q.model_dump() for q in questions],
            "journey": Journey.model_validate({"stages": DEMO_JOURNEY}).model_dump(),
            "reliability": DEMO_RELIABILITY,
            "themes": DEMO_THEMES,
        }
    )


def _prepare(out: Path, replace: bool) -> None:
    """Make ``out`` ready for a demo: new or empty, or a previous demo when ``replace``."""
    if out.exists() and not out.is_dir():
        raise WorkspaceError(
            f"{out} is a file, not a directory; choose another folder", argument="out"
        )
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise WorkspaceError(
                f"{out} is not empty and is not a demo workspace; choose another folder "
                "(nothing was deleted)",
                argument="out",
            )
        if not replace:
            raise WorkspaceError(
                f"{out} already holds a demo; pass `replace` to replace it (only the demo's own "
                "files are removed; anything else in the directory is kept)",
                argument="out",
            )
        remove_demo_files(out)
    out.mkdir(parents=True, exist_ok=True)
    listing = "\n".join(DEMO_FILES)
    (out / MARKER).write_text(
        "made by `earnright demo`; `earnright demo --replace` removes only these files:\n"
        f"{listing}\n"
    )


def remove_demo_files(out: Path) -> None:
    """Remove the files of a previous demo (``DEMO_FILES``) and nothing else."""
    for name in DEMO_DIRS:
        if (out / name).is_symlink():
            raise WorkspaceError(f"{out / name} is a symbolic link; the demo will not write there")
    for name in DEMO_FILES:
        path = out / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            raise WorkspaceError(f"{path} is not a file the demo wrote; move it and run again")
    _remove_site(out / SITE_DIR)
    for name in DEMO_DIRS:
        path = out / name
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _remove_site(site: Path) -> None:
    """Remove the report site's own files (``SITE_FILE``) and the folders they leave empty."""
    if site.is_symlink():
        raise WorkspaceError(f"{site} is a symbolic link; the demo will not write there")
    if not site.is_dir():
        return
    for path in site.rglob("*"):
        if path.is_file() and SITE_FILE.fullmatch(path.relative_to(site).as_posix()):
            path.unlink()
    for folder in sorted((p for p in site.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    if not any(site.iterdir()):
        shutil.rmtree(site)


def run_demo(
    out: Path,
    *,
    stores: int = 60,
    months: int = 12,
    seed: int = 7,
    progress: Progress | None = None,
    replace: bool = False,
    loyalty_lapse: bool = True,
    documents: bool = False,
) -> DemoRun:
    """Generate, ingest, score and report; return where everything was written.

    ``out`` must be new or empty, or (with ``replace``) hold a previous demo, whose own files
    are removed first; WorkspaceError otherwise. Nothing the demo did not write is deleted.
    ``loyalty_lapse=False`` leaves out the planted faster lapse of detractors (tests of an
    incident's extra churn: docs/revenue-at-risk.md says why). ``documents`` also writes the
    report site and the monthly pack (``earnright demo`` does; most tests need neither), from
    the results already computed for ``results/`` and one set shared by both
    (:mod:`earnright.api.computed`).
    """
    from earnright.demo import generate_company

    started = time.monotonic()
    out = out.expanduser().resolve()
    _prepare(out, replace)
    data = out / "data"
    generate_company(
        data, stores=stores, months=months, seed=seed, progress=progress,
        loyalty_lapse=loyalty_lapse,
    )  # fmt: skip
    ws = init_workspace(out, demo_config())
    run = DemoRun(workspace=out, truth=data / "truth.json", outputs={})
    with ws.warehouse() as wh:
        for kind, name in FILES:
            report: StepProgress | None = None
            if progress is not None:
                report = _stage(progress, f"ingest {name}")
            run.ingests.append(ingest_file(wh, ws.config, kind, data / name, progress=report))
            if progress:  # a file's rows are read before its batch is written: this is the end
                progress("ingestion", len(run.ingests), len(FILES))
        run.detection = run_detection(wh, ws.config, progress=progress).to_dict()
        built = build_report(wh, ws.config, progress=progress)
    if progress:
        progress("results", 0, 1)
    run.outputs = built.write(out / "results")
    if progress:
        progress("results", 1, 1)
    if documents:
        run.outputs |= _site_and_pack(out, progress, built)
    run.seconds = time.monotonic() - started
    return run


def _site_and_pack(out: Path, progress: Progress | None, built: Report) -> dict[str, Path]:
    """The report site (every unit's page) and the monthly pack of the latest complete month,
    as ``earnright report`` and ``earnright pack`` write them, from one set of results: what
    ``build_report`` computed is adopted, and the site and the pack share the rest (one
    reliability pass, one ranking per level …; :mod:`earnright.api.computed`)."""
    from earnright.api import open_workspace
    from earnright.api.computed import Computed

    ws = open_workspace(out)
    computed = Computed(ws)
    computed.adopt(built)
    site = ws.report_site(out / SITE_DIR, progress=progress, computed=computed)
    ws.pack(out / PACK_FILE, progress=progress, computed=computed)
    return {"site": site.index, "pack": out / PACK_FILE}


def _stage(progress: Progress, stage: str) -> StepProgress:
    def update(done: int, total: int) -> None:
        progress(stage, done, total)

    return update
