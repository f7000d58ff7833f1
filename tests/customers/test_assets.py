"""The customer asset ledger: the identity in every row, and the lapse rule exactly, against an
independent customer-by-customer computation (tests/customers/reference.py) on the demo company
and on small hand-made cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest

import earnright
from earnright.config import Assets, Config, validate_config
from earnright.customers.assets import LEDGER_COLUMNS, compute_ledger, customer_spells
from earnright.errors import ConfigError, QueryError
from earnright.ingest import ingest_file
from earnright.periods import Grain
from earnright.services.demo import DemoRun, run_demo
from earnright.workspace import Workspace, init_workspace
from tests.conftest import UNITS_CSV
from tests.customers.reference import COUNTS, ledger_reference

STORES = {"S1": "S1", "S2": "S2", "S3": "S3"}


def build(
    root: Path, customers: list[tuple[str, str, str, str]], visits: list[tuple[str, str, float]],
    **assets: Any,
) -> Workspace:  # fmt: skip
    """A workspace with the conftest units, ``customers`` (id, home, joined_at, segment; NEW:
    the day of their first visit) and ``visits`` (customer, ISO time, amount) at their home."""
    url = assets.pop("url", "duckdb:///earnright.duckdb")
    config = Config.model_validate({"assets": assets, "warehouse": {"url": url}})
    ws = init_workspace(root / "ws", config)
    (root / "units.csv").write_text(UNITS_CSV)
    frame = pd.DataFrame(customers, columns=["customer_id", "home_unit_id", "joined_at", "segment"])
    firsts = {c: min(v[1] for v in visits if v[0] == c) for c in {v[0] for v in visits}}
    new = frame.joined_at == NEW
    frame.loc[new, "joined_at"] = [firsts.get(c, "2026-01-01")[:10] for c in frame.customer_id[new]]
    frame.to_csv(root / "customers.csv", index=False)
    homes = dict(zip(frame.customer_id, frame.home_unit_id, strict=True))
    pd.DataFrame(
        {
            "transaction_id": [f"T{i:04d}" for i in range(len(visits))],
            "customer_id": [v[0] for v in visits],
            "unit_id": [homes.get(v[0], "S1") for v in visits],
            "occurred_at": [v[1] for v in visits],
            "amount": [v[2] for v in visits],
        }
    ).to_csv(root / "transactions.csv", index=False)
    with ws.warehouse() as wh:
        for kind in ("units", "customers", "transactions"):
            ingest_file(wh, ws.config, kind, root / f"{kind}.csv")
    return ws


def ledger(ws: Workspace, **kwargs: Any) -> pd.DataFrame:
    return earnright.open_workspace(ws.root).assets(**kwargs).to_frame()


def row(frame: pd.DataFrame, unit: str, period: str) -> dict[str, Any]:
    found = frame[(frame.unit_id == unit) & (frame.period == period)]
    assert len(found) == 1, (unit, period)
    return found.iloc[0].to_dict()


def flows(r: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(r[k]) for k in ("start", "gained", "reactivated", "lost", "end"))


def identity_holds(frame: pd.DataFrame) -> bool:
    return bool((frame.start + frame.gained + frame.reactivated - frame.lost == frame.end).all())


# -- small hand-made cases ---------------------------------------------------------------------
NEW = "new"  # joined on the day of their first purchase: it is a gain


def test_one_customer_one_period(tmp_path: Path) -> None:
    ws = build(tmp_path, [("C1", "S1", NEW, "a")], [("C1", "2026-06-03T10:00:00", 25.0)])
    frame = ledger(ws)
    assert list(frame.columns) == LEDGER_COLUMNS
    assert len(frame) == 3  # every store, the one month
    assert flows(row(frame, "S1", "2026-06")) == (0, 1, 0, 0, 1)
    assert row(frame, "S1", "2026-06")["gained_value"] == 25.0
    assert flows(row(frame, "S3", "2026-06")) == (0, 0, 0, 0, 0)  # an empty unit: zeros


def test_lost_on_the_day_the_last_purchase_is_lapse_days_old_and_reactivated(
    tmp_path: Path,
) -> None:
    visits = [
        ("C1", "2026-01-10T10:00:00", 40.0),
        ("C1", "2026-02-09T10:00:00", 60.0),  # lost 30 days later: 2026-03-11
        ("C1", "2026-04-20T10:00:00", 10.0),  # reactivated
        ("C2", "2026-01-05T10:00:00", 5.0),
        ("C2", "2026-02-04T09:00:00", 5.0),  # exactly 30 days later: kept
        ("C3", "2026-05-31T10:00:00", 1.0),  # ends the data; C1 lost 2026-05-20, C2 2026-03-06
    ]
    people = [("C1", "S1", NEW, "a"), ("C2", "S2", NEW, "a"), ("C3", "S3", NEW, "a")]
    frame = ledger(build(tmp_path, people, visits, lapse_after_days=30))
    assert flows(row(frame, "S1", "2026-01")) == (0, 1, 0, 0, 1)
    assert flows(row(frame, "S1", "2026-03")) == (1, 0, 0, 1, 0)
    assert flows(row(frame, "S1", "2026-04")) == (0, 0, 1, 0, 1)
    assert flows(row(frame, "S1", "2026-05")) == (1, 0, 0, 1, 0)
    assert row(frame, "S1", "2026-03")["lost_value"] == 100.0  # the year up to the last purchase
    assert row(frame, "S1", "2026-04")["reactivated_value"] == 10.0
    assert flows(row(frame, "S2", "2026-02")) == (1, 0, 0, 0, 1)  # a purchase on day 30 keeps
    assert flows(row(frame, "S2", "2026-03")) == (1, 0, 0, 1, 0)
    assert identity_holds(frame)


def test_every_backend_counts_the_same(tmp_path: Path, warehouse_url: str) -> None:
    people = [("C1", "S1", NEW, "a"), ("C2", "S2", "2020-01-01", "b")]
    visits = [
        ("C1", "2026-01-10T10:00:00", 40.0),
        ("C2", "2026-01-12T10:00:00", 5.0),  # carried in
        ("C1", "2026-02-09T10:00:00", 60.0),  # lost 2026-03-11
        ("C1", "2026-04-20T10:00:00", 10.0),  # reactivated
        ("C1", "2026-04-21T10:00:00", 90.0),
        ("C2", "2026-05-31T10:00:00", 1.0),
    ]
    ws = build(tmp_path, people, visits, lapse_after_days=30, url=warehouse_url)
    frame = ledger(ws, by="segment")
    s1 = frame[frame.segment == "a"]
    assert [flows(row(s1, "S1", p)) for p in ("2026-01", "2026-03", "2026-04", "2026-05")] == [
        (0, 1, 0, 0, 1), (1, 0, 0, 1, 0), (0, 0, 1, 0, 1), (1, 0, 0, 1, 0)
    ]  # fmt: skip
    assert row(s1, "S1", "2026-04")["reactivated_value"] == 100.0
    s2 = frame[frame.segment == "b"]
    assert [flows(row(s2, "S2", p)) for p in ("2026-01", "2026-02", "2026-05")] == [
        (1, 0, 0, 0, 1), (1, 0, 0, 1, 0), (0, 0, 1, 0, 1)
    ]  # fmt: skip
    assert identity_holds(frame)


def test_a_month_just_begun_counts_to_the_data_end(tmp_path: Path) -> None:
    visits = [("C1", "2026-03-02T10:00:00", 9.0), ("C2", "2026-10-01T10:00:00", 9.0)]
    people = [("C1", "S1", NEW, "a"), ("C2", "S1", NEW, "a")]
    result = earnright.open_workspace(build(tmp_path, people, visits).root).assets()
    frame = result.to_frame()
    # C1 is lost 2026-08-29 (180 days); October has begun: C2 gained, nobody lost yet
    assert flows(row(frame, "S1", "2026-08")) == (1, 0, 0, 1, 0)
    assert flows(row(frame, "S1", "2026-10")) == (0, 1, 0, 0, 1)
    assert result.as_of == "2026-10-01"
    assert "2026-10 has begun" in result.notes[0]


def test_customers_already_there_when_the_data_begin(tmp_path: Path) -> None:
    people = [("C1", "S1", "2020-01-01T00:00:00", "a"), ("C2", "S1", "2020-01-01T00:00:00", "a")]
    visits = [
        ("C1", "2026-01-01T10:00:00", 9.0),  # the data's first day
        ("C2", "2026-02-20T10:00:00", 9.0),  # within 30 days of it: carried in
        ("C1", "2026-04-15T10:00:00", 9.0),  # C1 lost 01-31, back 04-15
    ]
    people.append(("C3", "S1", "2020-01-01T00:00:00", "a"))
    visits.append(("C3", "2026-03-15T10:00:00", 9.0))  # joined long ago, bought late: back
    frame = ledger(build(tmp_path, people, visits, lapse_after_days=50))
    assert flows(row(frame, "S1", "2026-01")) == (2, 0, 0, 0, 2)
    assert flows(row(frame, "S1", "2026-02")) == (2, 0, 0, 1, 1)
    assert flows(row(frame, "S1", "2026-03")) == (1, 0, 1, 0, 2)


def test_a_segment_lapses_after_its_own_days(tmp_path: Path) -> None:
    people = [("C1", "S1", NEW, "business"), ("C2", "S1", NEW, "family")]
    visits = [("C1", "2026-06-01T10:00:00", 5.0), ("C2", "2026-06-01T10:00:00", 5.0)]
    visits.append(("C2", "2026-08-15T10:00:00", 5.0))  # ends the data
    ws = build(tmp_path, people, visits, lapse_by="segment", lapse_overrides={"business": 20})
    frame = ledger(ws)
    assert flows(row(frame, "S1", "2026-06")) == (0, 2, 0, 1, 1)  # business: lost 06-21
    by = ledger(ws, by="segment")
    assert flows(row(by[by.segment == "family"], "S1", "2026-06")) == (0, 1, 0, 0, 1)
    summed = by.groupby(["unit_id", "period"])[COUNTS].sum().reset_index()
    pd.testing.assert_frame_equal(summed, frame[["unit_id", "period", *COUNTS]], check_dtype=False)


def test_grew_and_declined_beyond_noise(tmp_path: Path) -> None:
    people = [("C1", "S1", NEW, "a"), ("C2", "S1", NEW, "a"), ("C3", "S1", NEW, "a")]
    visits = [(c, f"2026-06-{d:02d}T10:00:00", 10.0) for c in ("C1", "C2", "C3") for d in (2, 9)]
    visits += [("C1", f"2026-07-{d:02d}T10:00:00", 100.0) for d in (1, 5, 9, 13, 17, 21, 25, 29)]
    visits += [("C2", "2026-07-03T10:00:00", 12.0)]  # about the same: noise
    # z(C1) = (800 − 20) / √(8·100² + 2·10²) = 2.75: grew; C3 spent nothing in July: z = −1.41
    frame = ledger(build(tmp_path, people, visits))
    july = row(frame, "S1", "2026-07")
    assert (july["grew"], july["declined"]) == (1, 0)


def test_bad_requests_name_the_argument(tmp_path: Path) -> None:
    ws = build(tmp_path, [("C1", "S1", NEW, "a")], [("C1", "2026-06-03T10:00:00", 5.0)])
    api = earnright.open_workspace(ws.root)
    with pytest.raises(QueryError, match="'colour' is not a customer attribute") as caught:
        api.assets(by="colour")
    assert caught.value.argument == "by"
    with pytest.raises(QueryError, match=r"no transactions in 2025-01"):
        api.assets(period="2025-01")
    with pytest.raises(ConfigError, match="lapse_overrides"):
        validate_config({"assets": {"lapse_overrides": {"b": 3}}})
    with pytest.raises(ConfigError, match=r"assets\.lapse_after_days"):
        validate_config({"assets": {"lapse_after_days": 0}})
    assert Assets(lapse_by="segment", lapse_overrides={"b": 3}).days_for("b") == 3


def test_no_transactions_gives_no_rows(tmp_path: Path) -> None:
    ws = build(tmp_path, [("C1", "S1", NEW, "a")], [])
    with ws.warehouse() as wh:
        assert compute_ledger(wh, ws.config).frame.empty


# -- the demo company --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return run_demo(tmp_path_factory.mktemp("assets") / "ws", stores=3, months=8, seed=5)


@pytest.mark.parametrize(
    ("grain", "rule"),
    [
        (Grain.month, Assets()),
        (
            Grain.week,
            Assets(
                lapse_after_days=45,
                lapse_by="segment",
                lapse_overrides={"senior": 20, "family": 70},
            ),
        ),
    ],
)
def test_the_demo_ledger_is_the_lapse_rule_exactly(
    demo: DemoRun, grain: Grain, rule: Assets
) -> None:
    ws = earnright.open_workspace(demo.workspace)
    config = ws.config.model_copy(update={"assets": rule})
    with ws.warehouse() as wh:
        got = compute_ledger(wh, config, grain=grain).frame
        customers = wh.table("customers").to_pandas()
        transactions = wh.table("transactions").to_pandas()
    pairs = zip(customers.customer_id, customers.segment, strict=True)
    lapses = {c: rule.days_for(s) for c, s in pairs}
    stores = {u: u for u in customers.home_unit_id.unique()}
    expected = ledger_reference(customers, transactions, grain, lapses, stores)
    assert identity_holds(got)
    compared = got[["unit_id", "period", *COUNTS]].reset_index(drop=True)
    pd.testing.assert_frame_equal(compared, expected, check_dtype=False)
    assert got.lost.sum() > 20 and got.reactivated.sum() > 0 and got.grew.sum() > 0
    assert got.declined.sum() > 0 and got.gained.sum() > 0


def test_spells_carry_the_years_around_them_across_spells(tmp_path: Path) -> None:
    """A spell's year after its first day reaches into the next spell, the year before its last
    day back into the one before; the history up to its end counts every spell so far. The
    spells are found without a range window over every purchase day (those made the ledger a
    minute of CPU at 1,000 stores)."""
    visits = [
        ("C1", "2026-01-10T10:00:00", 40.0),
        ("C1", "2026-02-09T10:00:00", 60.0),  # lost 30 days later
        ("C1", "2026-04-20T09:00:00", 10.0),  # reactivated: spell 2
        ("C1", "2026-04-20T17:00:00", 5.0),  # the same day
    ]
    ws = build(tmp_path, [("C1", "S1", NEW, "a")], visits, lapse_after_days=30)
    with ws.warehouse() as wh:
        spells, _ = customer_spells(wh, ws.config.assets)
        sql = ibis.to_sql(spells, dialect="duckdb")
        got = spells.to_pandas().sort_values("spell").reset_index(drop=True)
    assert "RANGE BETWEEN" not in sql.upper()
    assert got.spell.tolist() == [1, 2]
    assert got.value_in.tolist() == [115.0, 15.0]
    assert got.value_out.tolist() == [100.0, 115.0]
    assert got.upto_days.tolist() == [2, 3]
    assert got.upto_spend.tolist() == [100.0, 115.0]
    assert got.first_spend.tolist() == [40.0, 40.0]
    assert [str(d.date()) for d in got.first_day] == ["2026-01-10", "2026-01-10"]
    assert [str(d.date()) for d in got["last"]] == ["2026-02-09", "2026-04-20"]
    assert got.lapse.tolist() == [30, 30]


def test_lifetime_summaries_from_the_spells_are_those_from_the_transactions(
    tmp_path: Path,
) -> None:
    """The ledger fits its lifetime values on summaries read from the spells: the same rows as
    from the transactions (several spells, purchases of a customer with no row in customers,
    whose home is no unit, a refund on the first day)."""
    from earnright.customers.flow_values import spell_summaries
    from earnright.customers.value import lifetime_summaries

    visits = [
        ("C1", "2026-01-10T10:00:00", 40.0),
        ("C1", "2026-02-09T10:00:00", 60.25),
        ("C1", "2026-04-20T09:00:00", 10.0),  # a new spell
        ("C1", "2026-04-20T17:00:00", 5.5),  # the same day
        ("C2", "2026-01-12T10:00:00", -3.0),  # a refund first
        ("C2", "2026-03-01T10:00:00", 7.0),
        ("C3", "2026-02-01T10:00:00", 9.99),  # one purchase
        ("C4", "2026-05-31T10:00:00", 1.0),  # ends the data
    ]
    people = [
        ("C1", "S1", NEW, "a"), ("C2", "S2", "2020-01-01", "b"), ("C3", "S9", NEW, "a"),
        ("C4", "S3", NEW, "b"),
    ]  # fmt: skip
    ws = build(tmp_path, people, visits, lapse_after_days=30)
    with ws.warehouse() as wh:
        as_of, expected = lifetime_summaries(wh)
        spells, _ = customer_spells(wh, ws.config.assets)
        got = spell_summaries(spells, as_of)
    assert expected.customer_id.tolist() == ["C1", "C2", "C4"]
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
