"""The comment methods of the API return what the command line prints with --format json, and
the demo's planted themes come back from its warehouse."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import earnright
from earnright.demo.comments import planted_themes
from earnright.services.demo import DemoRun
from tests.api.conftest import cli, same


def test_comments_of_a_file_is_the_commands_json(ws: earnright.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text('text\n"The queue at the till was far too long."\n\nLovely clean store.\n')
    mine = ws.comments(path, "text")
    assert not same(mine.to_dict(), cli("comments", "--from", str(path), "--text-column",
                                        "text", "-w", str(ws.root)))  # fmt: skip
    assert [r["themes"][:1] for r in mine.rows] == [["wait"], [], ["cleanliness"]]
    assert earnright.comments_of_file(path, "text").rows[0]["themes"] == []  # no codeframe


def test_themes_is_the_commands_json_and_recovers_the_planted_themes(
    demo: DemoRun, ws: earnright.Workspace
) -> None:
    mine = ws.themes(level="store", period="2026-09")
    assert not same(mine.to_dict(), cli("themes", "-w", str(demo.workspace), "--period",
                                        "2026-09"))  # fmt: skip
    frame = mine.to_frame()
    assert set(frame.theme) == {"staff", "wait", "stock", "prescription", "cleanliness", "app"}
    assert (frame.share.between(0, 1)).all() and frame.sentiment.dropna().between(-1, 1).all()
    with ws.warehouse() as wh:
        fb = wh.table("feedback")
        top = wh.table("comment_themes")
        rows = (
            fb.filter(fb.comment.notnull())
            .left_join(top.filter(top["rank"] == 1), fb.response_id == top.response_id)
            .select("comment", "theme")
            .to_pyarrow()
            .to_pandas()
        )
    truth = np.array(planted_themes(list(rows.comment)), dtype=object)
    themed = rows.theme.notna().to_numpy()
    assert (rows.theme.to_numpy()[themed] == truth[themed]).mean() >= 0.95  # precision
    assert themed.mean() >= 0.8  # recall


def test_discovery_is_the_commands_json(demo: DemoRun, ws: earnright.Workspace) -> None:
    mine = ws.discover_themes()
    assert not same(mine.to_dict(), cli("themes", "-w", str(demo.workspace), "--discover"))
    assert mine.comments > mine.unthemed > 0
    for p in mine.proposals:
        assert p["size"] >= 10 and p["words"] and p["examples"]


def test_themes_as_drivers_is_the_commands_json(demo: DemoRun, ws: earnright.Workspace) -> None:
    mine = ws.drivers(themes=True, bootstrap=0)
    assert not same(mine.to_dict(), cli("drivers", "--themes", "--bootstrap", "0", "-w",
                                        str(demo.workspace)))  # fmt: skip
    (result,) = mine.results
    assert {d.driver for d in result.drivers} == {
        f"theme:{t}" for t in ("staff", "wait", "stock", "prescription", "cleanliness", "app")
    }


def test_an_unknown_moment_names_the_declared_ones(ws: earnright.Workspace) -> None:
    import pytest

    from earnright.errors import QueryError

    with pytest.raises(QueryError, match="checkout") as caught:
        ws.themes(moment="till")
    assert caught.value.argument == "moment"
