"""Early warning as a process: one cycle ingests the inbox, detects, delivers; the loop repeats.

:func:`run_cycle` is one cycle on an open warehouse; :func:`watch` opens the workspace's
warehouse for each cycle and repeats every ``interval`` seconds until ``once`` or Ctrl-C. Both
report through callbacks: ``say`` for each sentence a person should read (a file rejected, a
file ingested, what the cycle did) and ``progress`` for ``(stage, done, total)``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earnright.delivery import deliver_pending
from earnright.errors import ConfigError, EarnrightError, QueryError
from earnright.ingest import ingest_file
from earnright.progress import Progress
from earnright.reliability.incidents import DetectionRun, run_detection

if TYPE_CHECKING:
    from earnright.config import Config
    from earnright.warehouse import Warehouse
    from earnright.workspace import Workspace

__all__ = ["Cycle", "check_watch", "ingest_inbox", "move_aside", "run_cycle", "watch"]

Say = Callable[[str], None]
NO_INDICATORS = (
    "no reliability indicators declared: add [[journey.stages.moments.indicators]] to "
    "earnright.toml (docs/reliability.md)"
)


def _quiet(_text: str) -> None:
    """The default ``say``: nothing."""


def move_aside(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` without overwriting an earlier file of the same name."""
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
        target = folder / f"{path.stem}.{stamp}{path.suffix}"
    shutil.move(str(path), target)
    return target


def _reject(path: Path, inbox: Path, reason: str, say: Say) -> dict[str, str]:
    """Move a file that failed to ``inbox/rejected`` with its reason next to it; report it."""
    moved = move_aside(path, inbox / "rejected")
    moved.with_name(moved.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    say(f"rejected {path.name}: {reason}")
    return {"file": path.name, "moved_to": str(moved), "reason": reason}


def ingest_inbox(
    wh: Warehouse,
    config: Config,
    inbox: Path,
    *,
    say: Say = _quiet,
    progress: Progress | None = None,
) -> dict[str, list[Any]]:
    """Ingest every metrics file waiting in ``inbox`` and move it to ``inbox/done``; a file that
    fails is moved to ``inbox/rejected`` with its reason, and the others still go in."""
    files = sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))
    done: dict[str, list[Any]] = {"ingested": [], "rejected": []}
    for path in files:
        stage = f"ingest {path.name}"
        report = None if progress is None else (lambda d, t, s=stage: progress(s, d, t))
        try:
            result = ingest_file(wh, config, "metrics", path, progress=report)
        except EarnrightError as exc:
            done["rejected"].append(_reject(path, inbox, str(exc), say))
            continue
        except Exception as exc:  # any file that fails is set aside; the cycle goes on
            done["rejected"].append(_reject(path, inbox, f"{type(exc).__name__}: {exc}", say))
            continue
        say(result.summary())
        move_aside(path, inbox / "done")
        done["ingested"].append(path.name)
    return done


class Cycle:
    """What one cycle did: ``inbox`` (None without one), ``detection`` and ``delivery``."""

    def __init__(
        self, run: DetectionRun, delivery: dict[str, int], inbox: dict[str, list[Any]] | None
    ) -> None:
        self.run, self.delivery, self.inbox = run, delivery, inbox

    def to_dict(self) -> dict[str, Any]:
        cycle: dict[str, Any] = {"detection": self.run.to_dict(), "delivery": self.delivery}
        if self.inbox is not None:
            cycle["inbox"] = self.inbox
        return cycle

    def sentences(self) -> list[str]:
        """What the cycle did, for a person: a line, the incidents opened, late rows."""
        run, delivered = self.run, self.delivery
        until = run.data_until.isoformat() if run.data_until else "no metrics yet"
        lines = [
            f"data until {until}: {run.alerts} new alert(s); opened {len(run.opened)}, "
            f"updated {len(run.updated)}, resolved {len(run.resolved)}; "
            f"messages queued {run.messages}, delivered {delivered.get('delivered', 0)}, "
            f"retrying {delivered.get('retrying', 0)}, failed {delivered.get('failed', 0)}, "
            f"refused {delivered.get('refused', 0)}"
        ]
        lines += [f"  opened {incident_id}" for incident_id in run.opened]
        lines += [
            f"  {indicator_id}: {count} metrics row(s) arrived late, for buckets already scored: "
            "they count in the reliability figures and later burn-rate windows; the anomaly "
            "detector had scored those buckets without them"
            for indicator_id, count in run.late_rows.items()
        ]
        return lines


def run_cycle(
    wh: Warehouse,
    config: Config,
    *,
    inbox: Path | None = None,
    deliver: bool = True,
    say: Say = _quiet,
    progress: Progress | None = None,
) -> Cycle:
    """One early-warning cycle: ingest ``inbox`` (if given), detect and group alerts into
    incidents, queue messages and (``deliver``) deliver them."""
    arrived = ingest_inbox(wh, config, inbox, say=say, progress=progress) if inbox else None
    detection = run_detection(
        wh,
        config,
        progress=None if progress is None else lambda _s, d, t: progress("detection", d, t),
    )
    delivered = deliver_pending(wh, config).to_dict() if deliver else {}
    return Cycle(detection, delivered, arrived)


def check_watch(config: Config, inbox: Path | None) -> None:
    """ConfigError without indicators; QueryError when ``inbox`` is not a directory."""
    if not config.journey.indicators():
        raise ConfigError(NO_INDICATORS)
    if inbox is not None and not inbox.is_dir():
        raise QueryError(f"the inbox {inbox} is not a directory", argument="inbox")


def watch(
    workspace: Workspace,
    *,
    once: bool = False,
    interval: float = 60.0,
    inbox: Path | None = None,
    deliver: bool = True,
    say: Say = _quiet,
    progress: Progress | None = None,
) -> Cycle:
    """Run cycles every ``interval`` seconds (the warehouse open only during a cycle) until
    ``once`` or Ctrl-C; each cycle's sentences go to ``say``. Returns the last cycle."""
    check_watch(workspace.config, inbox)
    while True:
        with workspace.warehouse() as wh:
            cycle = run_cycle(
                wh, workspace.config, inbox=inbox, deliver=deliver, say=say, progress=progress
            )
        for line in cycle.sentences():
            say(line)
        if once:
            return cycle
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return cycle
