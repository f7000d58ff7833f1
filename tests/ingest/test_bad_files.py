"""The bad-file corpus (tests/ingest/corpus/manifest.toml), each file with its expected outcome,
and the probes too large to commit: generated here."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from earnright.config import Config
from earnright.errors import IngestError
from earnright.ingest import KINDS, ingest_file
from earnright.ingest.rejects import EARLY_ROWS, RAW_PER_REASON
from earnright.warehouse import Warehouse

CORPUS = Path(__file__).parent / "corpus"
MANIFEST: list[dict[str, Any]] = tomllib.loads((CORPUS / "manifest.toml").read_text())["file"]
FEEDBACK_HEADER = "response_id,unit_id,responded_at,channel,comment,ltr\n"


def _configured(config: Config, overrides: dict[str, dict[str, Any]]) -> Config:
    update = {
        key: getattr(config, key).model_copy(update=value) for key, value in overrides.items()
    }
    return config.model_copy(update=update)


def _shown(value: Any) -> str:
    return "<missing>" if pd.isna(value) else str(value)


def test_every_corpus_file_is_in_the_manifest() -> None:
    on_disk = {p.name for p in CORPUS.iterdir() if p.name != "manifest.toml"}
    assert on_disk == {entry["name"] for entry in MANIFEST}


@pytest.mark.parametrize(
    "entry",
    MANIFEST,
    ids=[f"{e['name']}-{e.get('values', {}).get('column', '')}" for e in MANIFEST],
)
def test_corpus_file_has_its_expected_outcome(
    wh: Warehouse, config: Config, entry: dict[str, Any]
) -> None:
    path = CORPUS / entry["name"]
    cfg = _configured(config, entry.get("config", {}))
    before = wh.count("batches")
    if "error" in entry:
        with pytest.raises(IngestError) as err:
            ingest_file(wh, cfg, entry["kind"], path)
        assert entry["error"] in str(err.value)
        assert str(path) in str(err.value)
        assert wh.count("batches") == before  # nothing was written
        return
    result = ingest_file(wh, cfg, entry["kind"], path)
    expected = sorted((q["line"], q["reason"]) for q in entry["quarantined"])
    assert (result.accepted, result.quarantined) == (entry["accepted"], len(expected))
    assert sum(result.quarantine_reasons.values()) == len(expected)  # one reason per row
    q = wh.table("quarantine").execute().sort_values("line")
    assert list(q.line) == [line for line, _ in expected]
    for reason, (_, part) in zip(q.reason, expected, strict=True):
        assert part in reason
    assert q.raw.notna().all() and (q.raw != "").all()
    if "values" in entry:
        spec = KINDS[entry["kind"]]
        t = wh.table(spec.table)
        got = t.filter(t.batch_id == result.batch_id).order_by(list(spec.key)).execute()
        column = entry["values"]["column"]
        assert [_shown(v) for v in got[column]] == entry["values"]["values"]


def _feedback_rows(n: int, unit: str = "S1", comment: str = "fine") -> list[str]:
    return [
        f'r{i},{unit},2026-09-{1 + i % 28:02d}T10:00:00,survey,"{comment}",{i % 11}'
        for i in range(n)
    ]


@pytest.mark.slow
def test_a_large_file_of_multi_line_comments_is_read_whole(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    """80,000 rows with two-line comments, over 8 MiB: it was refused whole."""
    path = tmp_path / "survey.csv"
    comment = "first line of a comment, padded to make the file larger\nsecond line"
    rows = _feedback_rows(80_000, comment=comment)
    rows[50_000] = rows[50_000].replace(",survey,", ",survey,extra,")  # one bad row far in
    path.write_text(FEEDBACK_HEADER + "\n".join(rows) + "\n")
    assert path.stat().st_size > 8 << 20
    result = ingest_file(wh, config, "feedback", path)
    assert (result.accepted, result.quarantined) == (79_999, 1)
    assert wh.table("quarantine").line.execute().tolist() == [2 + 2 * 50_000]
    comments = wh.table("feedback").comment.execute()
    assert (comments == comment).all()


def test_a_file_whose_first_rows_nearly_all_fail_stops_with_one_message(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    path = tmp_path / "feedback.csv"
    rows = _feedback_rows(3 * EARLY_ROWS, unit="X9")  # units that were never loaded
    rows[10] = rows[10].replace("X9", "S1")
    path.write_text(FEEDBACK_HEADER + "\n".join(rows) + "\n")
    before = (wh.count("batches"), wh.count("quarantine"), wh.count("feedback"))
    with pytest.raises(IngestError) as err:
        ingest_file(wh, config, "feedback", path)
    message = str(err.value)
    assert message.startswith(f"{path}: stopped after the first {EARLY_ROWS:,} rows")
    rejected = f"{EARLY_ROWS - 1:,}"
    assert f"{rejected} of them were rejected (unit_id unknown unit: {rejected})" in message
    assert "Ingest them first: `earnright ingest units FILE`" in message
    assert (wh.count("batches"), wh.count("quarantine"), wh.count("feedback")) == before


def test_a_file_with_many_but_not_nearly_all_bad_rows_is_ingested(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    """Half the rows fail: no early stop; every bad row is counted, raw text kept for the
    first RAW_PER_REASON of each reason."""
    path = tmp_path / "feedback.csv"
    n = 2 * EARLY_ROWS
    rows = [r.replace("S1", "X9") if i % 2 else r for i, r in enumerate(_feedback_rows(n))]
    rows[4] = rows[4].removesuffix(",4") + ",44"  # out of scale
    path.write_text(FEEDBACK_HEADER + "\n".join(rows) + "\n")
    result = ingest_file(wh, config, "feedback", path)
    assert (result.accepted, result.quarantined) == (n // 2 - 1, n // 2 + 1)
    assert result.quarantine_reasons == {"unit_id unknown unit": n // 2, "ltr out of scale": 1}
    q = wh.table("quarantine").execute().sort_values("line")
    assert len(q) == n // 2 + 1  # every rejected row keeps its line and reason
    unknown = q[q.reason.str.startswith("unit_id")]
    assert unknown.raw.notna().sum() == RAW_PER_REASON
    assert unknown.raw.iloc[:RAW_PER_REASON].notna().all()  # the first ones, in line order
    assert json.loads(unknown.raw.iloc[0])["unit_id"] == "X9"
    assert q[q.reason.str.startswith("ltr")].raw.notna().all()


def test_a_large_units_file_may_name_parents_after_their_children(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    """Unit files are read whole: the first rows are not judged on their own."""
    path = tmp_path / "units.csv"
    stores = [f"S{i},Store {i},store,D9" for i in range(10, 10 + EARLY_ROWS + 100)]
    path.write_text("unit_id,name,level,parent_id\n" + "\n".join([*stores, "D9,Nine,district,R1"]))
    result = ingest_file(wh, config, "units", path)
    assert (result.accepted, result.quarantined) == (len(stores) + 1, 0)
