"""Benchmark: ingesting a demo's files, each timed in CPU seconds, and the tables' digests.

    python bench/ingest_files.py DATA WORKSPACE            # DATA: a demo's data/ folder
    python bench/ingest_files.py DATA WORKSPACE --stores 300 --months 24   # generate it first
    python bench/ingest_files.py --digest WORKSPACE        # per table: rows and a digest
    python bench/ingest_files.py --smoke                   # CI: a tiny demo, in a temporary folder

Ingests the files in the order ``earnright demo`` does (``services.demo.FILES``) into a new
workspace with the demo's config, as ``earnright demo`` does, and prints per file the CPU
seconds (user + system, every thread, the engine's too) and at the end the process's peak RSS.
With ``--stores`` the demo's files are generated into DATA first (its CPU seconds printed too).
On a shared machine the CPU seconds, not the wall time, say what the code costs.

``--digest`` prints, per table of a workspace, its row count and the sum of a hash of every
row (columns of times the run sets itself, and the file's path, left out): two workspaces made
from the same files, one with the code before a change and one after, must print the same.

Check (``--smoke``: 3 stores, 2 months): the files ingested twice, into two workspaces, give
the same digests, and every comment has its labels; exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from pathlib import Path

SET_BY_RUN = frozenset(
    {"labelled_at", "started_at", "finished_at", "created_at", "applied_at", "updated_at"}
)
SET_BY_RUN |= {"source"}  # the file's path


def cpu() -> float:
    times = os.times()
    return times.user + times.system


def ingest(data: Path, workspace: Path) -> None:
    from earnright.ingest import ingest_file
    from earnright.services.demo import FILES, demo_config
    from earnright.workspace import init_workspace

    ws = init_workspace(workspace, demo_config())
    started = cpu()
    with ws.warehouse() as wh:
        for kind, name in FILES:
            t = cpu()
            result = ingest_file(wh, ws.config, kind, data / name)
            print(
                f"{name}: {cpu() - t:.1f} CPU s ({result.accepted:,} accepted, "
                f"{result.quarantined:,} quarantined)",
                flush=True,
            )
        t = cpu()
    print(f"closing the warehouse: {cpu() - t:.1f} CPU s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"all files: {cpu() - started:.1f} CPU s; peak RSS {peak:.2f} GB")


def digest(workspace: Path) -> dict[str, tuple[int, int]]:
    """Per table: its row count and the sum of a hash of every row."""
    import duckdb

    con = duckdb.connect(str(workspace / "earnright.duckdb"), read_only=True)
    tables = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"
    ).fetchall()
    out = {}
    for (table,) in tables:
        columns = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
        keep = [f'"{c}"' for (c,) in columns if c not in SET_BY_RUN]
        row = f"hash({', '.join(keep)})::HUGEINT" if keep else "0"
        n, total = con.execute(f'SELECT count(*), sum({row}) FROM "{table}"').fetchone() or (0, 0)
        out[str(table)] = (int(n), int(total or 0))
    con.close()
    return out


def smoke() -> int:
    """Ingest a tiny demo twice; the tables must be the same and every comment labelled."""
    import tempfile

    import duckdb

    from earnright.demo import generate_company

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        generate_company(data, stores=3, months=2, seed=7)
        digests = []
        for name in ("first", "second"):
            ingest(data, Path(tmp) / name)
            digests.append(digest(Path(tmp) / name))
        con = duckdb.connect(str(Path(tmp) / "first" / "earnright.duckdb"), read_only=True)
        unlabelled = con.execute(
            "SELECT count(*) FROM feedback f WHERE comment IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM comment_labels l WHERE l.response_id = f.response_id)"
        ).fetchone()
        con.close()
    same = digests[0] == digests[1]
    missing = int(unlabelled[0]) if unlabelled else -1
    print(
        f"check: the same files ingested twice give the same tables: {same}; "
        f"comments without labels: {missing}",
        file=sys.stderr,
    )
    return 0 if same and missing == 0 and digests[0]["comment_labels"][0] > 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="DATA WORKSPACE, or WORKSPACE")
    parser.add_argument("--digest", action="store_true", help="print the tables' digests")
    parser.add_argument("--smoke", action="store_true", help="CI: a tiny demo, checked")
    parser.add_argument("--stores", type=int, help="generate the demo's files into DATA first")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.smoke:
        return smoke()
    if args.digest and len(args.paths) == 1:
        for table, (n, total) in digest(args.paths[0]).items():
            print(f"{table}\t{n}\t{total}")
        return 0
    if len(args.paths) != 2:
        parser.error("give DATA and WORKSPACE")
    data, workspace = args.paths
    if workspace.exists():
        parser.error(f"{workspace} exists; give a new folder")
    if args.stores:
        from earnright.demo import generate_company

        t = cpu()
        generate_company(data, stores=args.stores, months=args.months, seed=args.seed)
        print(f"generation ({args.stores} stores): {cpu() - t:.1f} CPU s", flush=True)
    ingest(data, workspace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
