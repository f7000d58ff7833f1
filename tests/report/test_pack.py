"""The monthly pack: it opens with the ledger `earnright assets` prints, Excel numbers are
numbers, the Customer Room's figures are the answers', the maturity map's trend, --unit."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from earnright.api import Workspace, create_workspace, open_workspace
from earnright.errors import QueryError
from earnright.report.pack import render_pack, write_pack
from earnright.services.demo import run_demo
from earnright.services.pack import gather_pack
from tests.cli.test_commands import run
from tests.report.conftest import OfflinePage

pytestmark = pytest.mark.slow
PERIOD = "2026-09"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    run_ = run_demo(tmp_path_factory.mktemp("pack") / "ws", stores=6, months=9, seed=3)
    return open_workspace(run_.workspace)


@pytest.fixture(scope="module")
def pack(demo: Workspace) -> dict[str, Any]:
    return gather_pack(demo, PERIOD)


def pdf_text(path: Path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils: make test installs it (make poppler)"
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True)
    return done.stdout


LEDGER_LINES = {"Customers at the start": ("start", None), "Gained": ("gained", "gained_value"),
                "Reactivated": ("reactivated", "reactivated_value"),
                "Lost": ("lost", "lost_value"), "Customers at the end": ("end", None),
                "Grew their spend": ("grew", None),
                "Declined their spend": ("declined", None)}  # fmt: skip


def test_the_pack_reports_progress_up_to_the_written_file(demo: Workspace, tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    out = tmp_path / "pack.pdf"
    demo.pack(out, period=PERIOD, progress=lambda *step: seen.append(step))
    gathered = [s for s in seen if s[0] == "pack"]
    assert gathered[0][1] == 0 and gathered[-1][1] == gathered[-1][2] > 1
    assert seen[-2:] == [("pack: writing", 0, 1), ("pack: writing", 1, 1)]  # the PDF's layout
    assert out.stat().st_size > 0


def test_the_pdf_opens_with_the_ledger_earnright_assets_prints(
    demo: Workspace, tmp_path: Path
) -> None:
    out = tmp_path / "pack.pdf"
    done = run("pack", "--out", str(out), "--period", PERIOD, cwd=demo.root)
    assert done.returncode == 0, done.stderr
    assets = run("assets", "--level", "company", "--period", PERIOD, "--format", "json",
                 cwd=demo.root)  # fmt: skip
    (truth,) = json.loads(assets.stdout)
    lines = [line.strip() for line in pdf_text(out).splitlines() if line.strip()]
    assert lines[0].startswith("Northwind Pharmacy: customer pack 2026-09")
    assert lines[1] == "Customer asset ledger"  # nothing comes before it
    note = next(i for i, line in enumerate(lines) if line.startswith("Lifetime value gained"))
    ledger = lines[2:note]
    assert len(ledger) == 1 + len(LEDGER_LINES)  # the header and one line per flow
    for line in ledger[1:]:
        name, count, value = re.fullmatch(r"(.+?)\s+([\d,]+)\s+(\S+)", line).groups()  # type: ignore[union-attr]
        key, money = LEDGER_LINES[name]
        assert int(count.replace(",", "")) == truth[key], line
        if money is not None:
            assert int(value.lstrip("$").replace(",", "")) == round(truth[money]), line
    gained, lost = re.findall(r"\$([\d,]+)", lines[note])
    assert int(gained.replace(",", "")) == round(truth["gained_ltv"])
    assert int(lost.replace(",", "")) == round(truth["lost_ltv"])
    assert truth["lost"] > 0 and truth["gained"] > 0  # the check had numbers to check


def test_the_sections_come_in_the_order_a_cco_presents_them(pack: dict[str, Any]) -> None:
    html = render_pack(pack)
    order = ["Customer asset ledger", "Why they left", "Revenue at risk", "Reliability per",
             "Listening scorecard", "Decisions of the month", "Customer Room: ",
             "Where we stand on the five competencies"]  # fmt: skip
    places = [html.index(h) for h in order]
    assert places == sorted(places)
    assert "<script" not in html and "red" not in re.sub(r"<[^>]+>", "", html).lower().split()
    stages = [s["name"] for s in pack["room"]["stages"]]
    assert len(stages) == 4 and all(f"Customer Room: {s}" in html for s in stages)


def test_a_section_with_nothing_says_so_plainly(pack: dict[str, Any]) -> None:
    html = render_pack(pack)
    assert pack["decisions"]["rows"] == []  # the demo records no decision in the month
    assert "Not available: no decision was recorded in 2026-09" in html


def test_every_table_is_in_the_workbook_with_numbers_as_numbers(
    pack: dict[str, Any], tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from earnright.report.pack_xlsx import pack_tables

    out = write_pack(pack, tmp_path / "pack.xlsx")
    book = load_workbook(out)
    assert book.sheetnames == list(pack_tables(pack))
    ledger = {c.value: v.value for c, v in zip(book["ledger"][1], book["ledger"][2], strict=True)}
    assert ledger["lost"] == pack["ledger"]["row"]["lost"] and isinstance(ledger["lost"], int)
    sheet = book["reliability"]
    header = [c.value for c in sheet[1]]
    shares = [row[header.index("attainment")].value for row in sheet.iter_rows(min_row=2)]
    assert shares and all(isinstance(v, int | float) for v in shares)  # 1.0 is read back as 1
    goods = [row[header.index("good")].value for row in sheet.iter_rows(min_row=2)]
    assert all(isinstance(v, int) for v in goods)
    survey = book["room survey"]
    head = [c.value for c in survey[1]]
    assert any(isinstance(r[head.index("nps")].value, float) for r in survey.iter_rows(min_row=2))


def test_the_json_twin_holds_what_the_html_shows(pack: dict[str, Any], tmp_path: Path) -> None:
    twin = json.loads(write_pack(pack, tmp_path / "pack.json").read_text())
    html = write_pack(pack, tmp_path / "pack.html").read_text(encoding="utf-8")
    row = twin["ledger"]["row"]
    assert f"<td>Lost</td><td>{row['lost']:,}</td><td>${row['lost_value']:,}</td>" in html
    score = twin["listening"]["score"]
    assert f"NPS {score['nps']:.1f} ({score['nps_low']:.1f} to {score['nps_high']:.1f})" in html


def test_a_store_pack_shows_no_other_store(demo: Workspace) -> None:
    own = gather_pack(demo, PERIOD, unit="S0002")
    html = render_pack(own)
    with demo.warehouse() as wh:
        stores = wh.table("units").filter(lambda t: t.level == "store").to_pandas()
    others = stores[stores.unit_id != "S0002"]
    for unit_id, name in zip(others.unit_id, others.name, strict=True):
        assert unit_id not in html and name not in html
    assert own["listening"]["race"] == [] and "has no units below it" in html


def test_an_unknown_unit_or_format_is_a_clear_error(demo: Workspace, tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="no unit 'nope'"):
        gather_pack(demo, PERIOD, unit="nope")
    done = run("pack", "--out", str(tmp_path / "pack.docx"), cwd=demo.root)
    assert done.returncode == 2 and "is written as .pdf, .html, .xlsx, .json" in done.stderr
    done = run("pack", cwd=demo.root)
    assert done.returncode == 2 and "give --out" in done.stderr


def test_the_maturity_map_compares_with_the_last_pack(demo: Workspace, tmp_path: Path) -> None:
    first = demo.pack(tmp_path / "aug.json", period="2026-08").data["maturity"]
    assert first["previous_period"] is None and "first pack" in first["trend_missing"]
    data = demo.pack(tmp_path / "sep.json", period=PERIOD).data
    second = data["maturity"]
    assert second["previous_period"] == "2026-08"
    before = {s["sign"]: s["value"] for s in first["signs"]}
    for sign in second["signs"]:
        if sign["value"] is not None and before[sign["sign"]] is not None:
            assert sign["change"] == pytest.approx(sign["value"] - before[sign["sign"]])
    signs = {s["sign"]: s for s in second["signs"]}
    assert {s["competency"] for s in second["signs"]} == {
        "customers as assets",
        "alignment",
        "listening",
        "reliability",
        "leadership",
    }
    tied = signs["feedback tied to a journey moment"]
    with demo.warehouse() as wh:  # counted again, in SQL, straight from the rows
        counts = wh.con.raw_sql(
            "SELECT count(*), count(*) FILTER (WHERE moment IS NOT NULL AND moment <> '') "
            "FROM feedback WHERE responded_at >= '2026-09-01' AND responded_at < '2026-10-01'"
        ).fetchone()
    assert (tied["m"], tied["k"]) == counts and tied["low"] <= tied["value"] <= tied["high"] + 1e-12
    known = signs["lost customers whose reason is known"]
    unknown = sum(r["customers"] for r in data["ledger"]["reasons"] if r["reason"] == "no_signal")
    assert (known["m"], known["k"]) == (data["ledger"]["row"]["lost"], known["m"] - unknown)
    stores = signs["stores with a credible monthly score"]
    shown = [r for r in demo.scorecard(level="store", period=PERIOD).rows if r["nps"] is not None]
    assert (stores["m"], stores["k"]) == (6, len(shown))
    owners = sum(bool(m.owner) for s in demo.config.journey.stages for m in s.moments)
    assert signs["moments with a named owner"]["k"] == owners


def _tiny(tmp_path: Path) -> Workspace:
    create_workspace(tmp_path / "ws")
    with (tmp_path / "ws" / "earnright.toml").open("a") as config:
        config.write('\n[[journey.stages]]\nid = "pay"\nname = "I pay and go quickly"\n'
                     '[[journey.stages.moments]]\nid = "checkout"\nname = "Checkout"\n'
                     'owner = "ops"\nquestions = ["q_wait"]\n')  # fmt: skip
    ws = open_workspace(tmp_path / "ws")
    (tmp_path / "units.csv").write_text(
        "unit_id,name,level,parent_id\nC,Solo,company,\nR1,All,region,C\n"
        "D1,One,district,R1\nS1,Only,store,D1\n"
    )
    answers = [10, 9, 9, 8, 7, 7, 3, 0, 10, 8]  # 4 promoters, 2 detractors of 10: NPS 20
    waits = [5, 4, 4, 3, 3, 2, 1, 1, 5, 2]  # mean 3.0
    said = ["=1+1"] + ["<script>slow</script>"] * 9
    rows = "".join(
        f"r{i},S1,2026-09-{i + 2:02d},{a},{w},checkout,{said[i]}\n"
        for i, (a, w) in enumerate(zip(answers, waits, strict=True))
    )
    (tmp_path / "fb.csv").write_text("response_id,unit_id,responded_at,ltr,q_wait,moment,comment\n"
                                     + rows)  # fmt: skip
    ws.ingest("units", tmp_path / "units.csv")
    ws.ingest("feedback", tmp_path / "fb.csv")
    return ws


def test_the_customer_room_shows_the_moments_answers(tmp_path: Path) -> None:
    ws = _tiny(tmp_path)
    data = gather_pack(ws, PERIOD)
    (stage,) = data["room"]["stages"]
    (moment,) = stage["moments"]
    survey = moment["survey"]
    assert survey["n"] == 10 and survey["nps"] == pytest.approx(20.0)
    (wait,) = survey["questions"]
    assert wait["mean"] == pytest.approx(3.0) and wait["n"] == 10
    import statistics

    from scipy import stats

    half = stats.t.ppf(0.975, 9) * statistics.stdev([5, 4, 4, 3, 3, 2, 1, 1, 5, 2]) / 10**0.5
    assert wait["low"] == pytest.approx(3.0 - half) and wait["high"] == pytest.approx(3.0 + half)
    assert moment["comments"]["total"] == 10 and len(moment["comments"]["latest"]) == 6
    # no transactions, no metrics: said, not placeholders
    assert data["ledger"]["row"] is None and "no transactions" in data["ledger"]["missing"]
    assert "no reliability indicators" in data["reliability"]["missing"]
    html = render_pack(data)
    assert "Not available: no customer asset ledger" in html
    assert "<script" not in html and "&lt;script&gt;slow&lt;/script&gt;" in html


def test_a_formula_in_a_comment_is_text_in_the_workbook(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    ws = _tiny(tmp_path)
    data = gather_pack(ws, PERIOD)
    for c in data["room"]["stages"][0]["moments"][0]["comments"]["latest"]:
        c["comment"] = "=1+1"  # the latest six are shown; make sure one is a formula
    book = load_workbook(write_pack(data, tmp_path / "p.xlsx"))
    cells = [c for row in book["room comments"].iter_rows() for c in row if c.value]
    assert "'=1+1" in [c.value for c in cells] and all(c.data_type != "f" for c in cells)


def test_the_html_pack_loads_offline_with_no_console_errors(
    pack: dict[str, Any], tmp_path: Path, offline_page: OfflinePage
) -> None:
    out = write_pack(pack, tmp_path / "pack.html")
    requests: list[str] = []
    errors: list[str] = []
    with offline_page(out, requests) as page:
        page.on("console", lambda m: errors.append(m.type))
        page.reload()
        assert page.locator("h1").count() == 1 and page.locator("figure svg").count() >= 2
        assert page.locator("section.room").count() == 4
    assert "error" not in errors and all(r.startswith("file://") for r in requests)


def test_the_room_counts_the_labelled_sentiment_and_themes_of_the_month(
    demo: Workspace, pack: dict[str, Any]
) -> None:
    """Each moment's sentiment split and theme mentions are the stored labels of its comments
    of the month (recounted in SQL), and every comment shown carries its labels."""
    with demo.warehouse() as wh:
        fb = wh.table("feedback").select("response_id", "moment", "comment", "responded_at")
        labels = wh.table("comment_labels").select("response_id", "sentiment").to_pandas()
        themes = wh.table("comment_themes").select("response_id", "theme").to_pandas()
        fb = fb.to_pandas()
    month = fb[(fb.responded_at >= "2026-09-01") & (fb.responded_at < "2026-10-01")]
    month = month[month.comment.fillna("") != ""].merge(labels, on="response_id")
    recount = month.merge(themes, on="response_id", how="left")
    moments = [m for stage in pack["room"]["stages"] for m in stage["moments"]]
    checked = 0
    for m in moments:
        rows = recount[recount.moment == m["moment"]]
        said = m["comments"]
        tone = rows.drop_duplicates("response_id").sentiment.value_counts().to_dict()
        assert said["sentiment"] == tone and said["total"] == sum(tone.values())
        mentions = rows.dropna(subset=["theme"]).theme.value_counts()
        for t in said["themes"]:
            assert t["mentions"] == mentions[t["theme"]]
            assert t["share"] == pytest.approx(t["mentions"] / said["total"])
        assert all(c["sentiment"] in {"negative", "neutral", "positive"} for c in said["latest"])
        checked += len(said["themes"])
    assert checked > 0  # the demo's comments carry themes: the check had themes to check
    html = render_pack(pack)
    assert "Mean sentiment" in html and "not available yet" not in html


def test_the_room_draws_what_customers_said_as_a_site_page_does(pack: dict[str, Any]) -> None:
    """One renderer (report/said.py) for a comment with its labels and for a theme table: the
    Customer Room's HTML holds exactly what it draws (tests/report/test_site.py checks the
    site page the same way)."""
    from earnright.report.said import quote, split, theme_table

    html = render_pack(pack)
    moments = [m for stage in pack["room"]["stages"] for m in stage["moments"]]
    said = [m["comments"] for m in moments if m["comments"]["latest"] and m["comments"]["themes"]]
    assert said  # the demo's moments have comments with themes
    for block in said:
        assert theme_table(block["themes"]) in html
        assert f"comments: {split(block['sentiment'])}." in html
        assert all(quote(c) in html for c in block["latest"])
