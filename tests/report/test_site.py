"""The report site: a page and its JSON twin per unit, links that resolve, --unit isolation."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from earnright.api import Workspace, create_workspace, open_workspace
from earnright.errors import QueryError
from earnright.report.site import Site, page_path
from earnright.report.site_page import number
from earnright.services.demo import run_demo
from tests.report.conftest import OfflinePage

pytestmark = pytest.mark.slow


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v for k, v in attrs if k == "href" and v is not None]


def hrefs(page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.hrefs


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    run = run_demo(tmp_path_factory.mktemp("site") / "ws", stores=6, months=4, seed=3)
    return open_workspace(run.workspace)


@pytest.fixture(scope="module")
def site(demo: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Site:
    stages: list[str] = []
    built = demo.report_site(
        tmp_path_factory.mktemp("out"), progress=lambda s, d, t: stages.append(s)
    )
    assert "site pages" in stages and "site: scorecard, ranking, focus" in stages  # progress lines
    assert all(s.startswith("site") for s in stages)  # one pass in the logs (bench/scale.py)
    return built


def units_of(ws: Workspace) -> list[dict[str, str]]:
    from earnright.units import read_units

    with ws.warehouse() as wh:
        return read_units(wh).to_dict(orient="records")  # type: ignore[no-any-return]


def test_every_unit_has_a_page_and_its_json_twin(demo: Workspace, site: Site) -> None:
    ids = {str(u["unit_id"]) for u in units_of(demo)}
    assert set(site.pages) == ids
    for unit_id in ids:
        page = site.folder / page_path(unit_id)
        assert page.is_file() and page.with_name("page.json").is_file()
        assert json.loads(page.with_name("page.json").read_text())["unit_id"] == unit_id


def test_every_link_resolves_and_drills_down_and_back_up(site: Site) -> None:
    pages = [site.index, *site.pages.values()]
    for page in pages:
        for href in hrefs(page):
            assert not re.match(r"[a-z]+:", href), f"{page}: absolute link {href}"
            if href.startswith("#"):  # a filter of the comment feed: a section of this page
                assert f'id="{href[1:]}"' in page.read_text(), f"{page}: no {href} in the page"
                continue
            assert (page.parent / href).resolve().is_file(), f"{page}: {href} does not resolve"
    store = json.loads(site.pages["S0001"].with_name("page.json").read_text())
    assert [a["level"] for a in store["ancestors"]] == ["company", "region", "district"]
    district = store["ancestors"][-1]
    down = hrefs(site.folder / page_path(district["unit_id"]))
    assert "../S0001/page.html" in down


def test_the_json_twin_holds_the_numbers_the_page_shows(site: Site) -> None:
    for unit_id in ("C", "S0002"):
        page = site.pages[unit_id].read_text(encoding="utf-8")
        data = json.loads(site.pages[unit_id].with_name("page.json").read_text())
        latest = next(r for r in data["trend"] if r["period"] == data["period"])
        shown = f"NPS {number(latest['nps'])} ({number(latest['nps_low'])} to "
        assert shown in page and f"from {number(latest['n'])} answers" in page
        for row in data["trend"]:
            assert f"<td>{row['period']}</td><td>{number(row['n'])}</td>" in page
    twins = {u: json.loads(p.with_name("page.json").read_text()) for u, p in site.pages.items()}
    racing = [u for u, data in twins.items() if data["race"]]
    assert racing, "some page races its children"
    for unit_id in racing:
        page = site.pages[unit_id].read_text(encoding="utf-8")
        for row in twins[unit_id]["race"]:
            assert f"{number(row['estimate'])} ({number(row['estimate_low'])} to" in page
            assert f">{row['name']}</a>" in page


def test_charts_are_svg_with_titles_axes_and_alt_text(site: Site) -> None:
    racing = next(
        p for p in site.pages.values() if json.loads(p.with_name("page.json").read_text())["race"]
    )
    page = racing.read_text(encoding="utf-8")
    assert page.count("<svg") == 2  # the trend and the horse race
    assert '<figure role="img" aria-label="NPS of ' in page
    for words in ("NPS by month", "Month", "NPS (points, 95% interval)", "Horse race", "Tier"):
        assert words in page
    assert "<script" not in page


def test_unit_builds_only_its_subtree_and_nothing_of_another_store(
    demo: Workspace, site: Site, tmp_path: Path
) -> None:
    own = demo.report_site(tmp_path / "mine", unit="S0002")
    assert set(own.pages) == {"S0002"}
    text = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file())
    stores = [u for u in units_of(demo) if u["level"] == "store" and u["unit_id"] != "S0002"]
    for store in stores:
        assert store["unit_id"] not in text and store["name"] not in text
        other = json.loads(site.pages[store["unit_id"]].with_name("page.json").read_text())
        for row in other["trend"]:  # its scores, as its own page prints them
            if row["nps"] is not None:
                assert f"{number(row['nps'])} ({number(row['nps_low'])} to" not in text


def test_period_ends_the_trend_and_sets_the_race(demo: Workspace, tmp_path: Path) -> None:
    built = demo.report_site(tmp_path, period="2026-08", unit="D001")
    data = json.loads(built.pages["D001"].with_name("page.json").read_text())
    assert data["period"] == "2026-08" and data["trend"][-1]["period"] == "2026-08"
    ranked = demo.rank(level="store", period="2026-08").rows
    expected = {r["unit_id"]: r["rank"] for r in ranked if r["peer_id"] == "D001"}
    assert {r["unit_id"]: r["rank"] for r in data["race"]} == expected


def test_unknown_unit_is_a_query_error(demo: Workspace, tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="no unit 'nope'"):
        demo.report_site(tmp_path, unit="nope")


def test_one_store_one_month(tmp_path: Path) -> None:
    ws = create_workspace(tmp_path / "ws")
    (tmp_path / "units.csv").write_text(
        "unit_id,name,level,parent_id\nC,Solo,company,\nR1,All,region,C\n"
        "D1,One,district,R1\nS1,Only Store,store,D1\n"
    )
    rows = "".join(f"r{i},S1,2026-09-{i + 1:02d},{i % 11},4\n" for i in range(12))
    (tmp_path / "fb.csv").write_text("response_id,unit_id,responded_at,ltr,q_staff\n" + rows)
    ws.ingest("units", tmp_path / "units.csv")
    ws.ingest("feedback", tmp_path / "fb.csv")
    site = ws.report_site(tmp_path / "out", period="2026-09")
    assert set(site.pages) == {"C", "R1", "D1", "S1"}
    store = json.loads(site.pages["S1"].with_name("page.json").read_text())
    assert [r["n"] for r in store["trend"]] == [12]
    assert store["trend"][0]["nps"] == pytest.approx(
        100 * (2 - 8) / 12
    )  # 9, 10 against 0..6 and 0 again
    company = site.pages["C"].read_text(encoding="utf-8")
    assert "no store ranking" in company  # one store cannot be ranked: said, not hidden


def test_pages_load_offline_in_chromium_and_drill_down(
    site: Site, offline_page: OfflinePage
) -> None:
    company, store = site.pages["C"], site.pages["S0001"]
    for page_file in (company, store):
        requests: list[str] = []
        errors: list[str] = []
        with offline_page(page_file, requests) as page:
            page.on("console", lambda m, seen=errors: seen.append(m.type))
            page.reload()  # loaded again with the console watched
            assert page.locator("h1").count() == 1 and page.locator("figure svg").count() >= 1
            if page_file == company:
                page.locator("ul.children a").first.click()
                assert "/units/" in page.url and page.locator("nav a").count() == 1
        assert requests[0] == page_file.as_uri() and "error" not in errors
        assert all(r.startswith("file://") for r in requests)


def test_hostile_unit_names_are_text(tmp_path: Path) -> None:
    ws = create_workspace(tmp_path / "ws")
    hostile = '<script>alert(1)</script> & "Co"'
    quoted = '"' + hostile.replace('"', '""') + '"'
    (tmp_path / "units.csv").write_text(
        "unit_id,name,level,parent_id\nC,Solo,company,\nR1,All,region,C\n"
        f"D1,One,district,R1\nS1,{quoted},store,D1\nS2,Two,store,D1\n"
    )
    rows = "".join(
        f"r{i},S{1 + i % 2},2026-09-{i % 28 + 1:02d},{i % 11},4,<img src=x onerror=alert(1)>\n"
        for i in range(40)
    )
    (tmp_path / "fb.csv").write_text(
        "response_id,unit_id,responded_at,ltr,q_staff,comment\n" + rows
    )
    ws.ingest("units", tmp_path / "units.csv")
    ws.ingest("feedback", tmp_path / "fb.csv")
    site = ws.report_site(tmp_path / "out", period="2026-09")
    for page in site.pages.values():
        assert "<script" not in page.read_text(encoding="utf-8")
        assert "<img" not in page.read_text(encoding="utf-8")  # the comments are text too
    assert "&lt;img src=x onerror=alert(1)&gt;" in site.pages["S1"].read_text(encoding="utf-8")
    district = json.loads(site.pages["D1"].with_name("page.json").read_text())
    assert hostile in [c["name"] for c in district["children"]]  # the twin keeps the real name


def test_unit_computes_only_what_its_subtrees_pages_show(
    demo: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store's site needs its district's scorecard (its peers' means) and its own, and no
    ranking (a store has no children to race): nothing else is computed or kept."""
    from earnright.api.site import gather_site

    calls: list[tuple[str, str]] = []
    for name in ("scorecard", "rank", "focus"):
        method = getattr(demo, name)

        def spy(*args: object, _m: object = method, _n: str = name, **kw: object) -> object:
            calls.append((_n, str(kw.get("level"))))
            return _m(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(demo, name, spy)
    inputs = gather_site(demo, None, None, unit="S0002")
    assert sorted(set(calls)) == [("focus", "store"), ("scorecard", "district"),
                                  ("scorecard", "store")]  # fmt: skip
    district = next(str(u["parent_id"]) for u in units_of(demo) if u["unit_id"] == "S0002")
    assert {r["unit_id"] for r in inputs.scorecard} == {"S0002", district}
    assert set(inputs.focus) <= {"S0002"} and inputs.rankings == {}
    assert "S0001" not in {str(u["unit_id"]) for u in inputs.units}


def test_each_page_feeds_the_months_comments_of_its_subtree_with_their_labels(
    demo: Workspace, site: Site
) -> None:
    """A page's feed counts the stored labels of the comments given at the unit and below in
    the month (recounted from the tables), a district's is its stores' together, and the page
    shows each theme and the latest comments as text."""
    with demo.warehouse() as wh:
        fb = wh.table("feedback").select("response_id", "unit_id", "comment", "responded_at")
        labels = wh.table("comment_labels").select("response_id", "sentiment").to_pandas()
        themes = wh.table("comment_themes").select("response_id", "theme").to_pandas()
        fb = fb.to_pandas()
    twins = {u: json.loads(p.with_name("page.json").read_text()) for u, p in site.pages.items()}
    period = twins["C"]["period"]
    month = fb[fb.responded_at.dt.strftime("%Y-%m") == period]
    month = month[month.comment.fillna("") != ""].merge(labels, on="response_id", how="left")
    store = twins["S0001"]["comments"]
    own = month[month.unit_id == "S0001"]
    assert store["total"] == len(own) > 0
    assert store["sentiment"] == own.sentiment.value_counts().to_dict()
    mentions = own.merge(themes, on="response_id").theme.value_counts().to_dict()
    assert {t["theme"]: t["mentions"] for t in store["themes"]} == mentions
    district = twins[twins["S0001"]["ancestors"][-1]["unit_id"]]
    stores = [c["unit_id"] for c in district["children"]]
    assert district["comments"]["total"] == sum(twins[s]["comments"]["total"] for s in stores)
    assert twins["C"]["comments"]["total"] == len(month)
    page = site.pages["S0001"].read_text(encoding="utf-8")
    assert "What customers said" in page and store["themes"][0]["theme"] in page
    from html import escape

    assert escape(store["latest"][0]["comment"]) in page


def test_the_comment_feed_filters_by_sentiment_and_theme_without_a_server(
    site: Site, offline_page: OfflinePage
) -> None:
    """Every sentiment and every theme has a link to a section of its latest comments (in the
    JSON twin too); following it shows that section alone, with no script."""
    from earnright.comments.feed import FEED_LENGTH
    from earnright.report.said import anchor, quote, theme_table

    company = site.pages["C"]
    feed = json.loads(company.with_name("page.json").read_text())["comments"]
    for tone, rows in feed["by_sentiment"].items():
        assert len(rows) == min(feed["sentiment"][tone], FEED_LENGTH)
        assert all((c["sentiment"] or "not labelled") == tone for c in rows)
    for theme in feed["themes"]:
        rows = feed["by_theme"][theme["theme"]]
        assert len(rows) == min(theme["mentions"], FEED_LENGTH)
        assert all(theme["theme"] in c["themes"] for c in rows)
        assert sum(theme["by_sentiment"].values()) == theme["mentions"]
        dates = [c["responded_at"] for c in rows]
        assert dates == sorted(dates, reverse=True)
    html = company.read_text(encoding="utf-8")
    assert theme_table(feed["themes"]) in html  # the Customer Room's renderer, the same
    assert all(quote(c) in html for c in feed["latest"])
    theme, tone = feed["themes"][0]["theme"], "negative"
    assert feed["by_sentiment"][tone]  # the demo has negative comments this month
    with offline_page(company, []) as page:
        page.context.set_offline(True)
        assert page.is_visible("#said-all") and not page.is_visible(f"#{anchor('theme', theme)}")
        for ident, rows in ((anchor("theme", theme), feed["by_theme"][theme]),
                            (anchor("sentiment", tone), feed["by_sentiment"][tone])):  # fmt: skip
            page.click(f'a[href="#{ident}"]')
            assert page.is_visible(f"#{ident}") and not page.is_visible("#said-all")
            assert page.locator(f"#{ident} blockquote").count() == len(rows)
            visible = page.locator(".said-filter:visible")
            assert visible.count() == 1
