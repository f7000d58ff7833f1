"""The return of a fix: focus items and incidents priced by the value of a point."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from earnright.customers.returns import incident_worth, price_focus, sort_by_worth
from earnright.listening.focus import FocusItem, FocusList


def _item(driver: str, gain: float | None) -> FocusItem:
    return FocusItem(
        driver=driver, label=driver, moments=[], owner="ops", gap=-1.0, gap_low=-1.5,
        gap_high=-0.5, store_mean=3.0, peer_mean=4.0, n=50, peer_n=500, p_value=0.01,
        importance=0.2, slope=1.0, expected_nps_gain=gain, comments=[], sentence="",
    )  # fmt: skip


def _list(unit: str, items: list[FocusItem]) -> FocusList:
    return FocusList(
        unit_id=unit, name=unit, level="store", period="2026-09", window_start="2026-07",
        window_end="2026-09", peer_id=None, peer_name=None, n=100, nps=30.0, items=items,
        message="", method="",
    )  # fmt: skip


POINTS = pd.DataFrame(
    {
        "question": ["ltr", "ltr", "ltr", "q_wait"],
        "unit_id": ["all", "S1", "S2", "S1"],
        "moment": ["all", "all", "all", "all"],
        "value": [900.0, 100.0, 400.0, 50.0],
        "value_low": [500.0, 20.0, 300.0, 10.0],
        "value_high": [1300.0, 180.0, 500.0, 90.0],
    }
)


def test_focus_items_are_priced_by_their_units_value_of_a_point() -> None:
    lists = [_list("S1", [_item("q_wait", 2.0), _item("q_rx", None)]), _list("S3", [_item("a", 1)])]
    priced = price_focus(lists, POINTS, "ltr")
    wait, rx = priced[0].items
    assert (wait.worth, wait.worth_low, wait.worth_high) == (200.0, 40.0, 360.0)
    assert rx.worth is None  # no NPS gain
    assert priced[1].items[0].worth is None  # a unit without a value
    assert lists[0].items[0].worth is None  # the input is left as it was


def test_sort_by_worth_orders_items_and_units() -> None:
    lists = [
        _list("S1", [_item("a", 1.0), _item("b", 3.0)]),
        _list("S2", [_item("c", 1.5), _item("d", None)]),
    ]
    ordered = sort_by_worth(price_focus(lists, POINTS, "ltr"))
    assert [f.unit_id for f in ordered] == ["S2", "S1"]  # 400 x 1.5 > 100 x (1 + 3)
    assert [i.driver for i in ordered[1].items] == ["b", "a"]
    assert [i.driver for i in ordered[0].items] == ["c", "d"]  # no worth last


def test_incident_worth_by_the_delta_method() -> None:
    worth, low, high = incident_worth((10.0, 4.0), 100, (2.0, 0.5))  # type: ignore[misc]
    assert worth == 2000.0
    sd = 100 * math.sqrt(2.0**2 * 4.0 + 10.0**2 * 0.5**2)
    assert (low, high) == pytest.approx((2000 - 1.959964 * sd, 2000 + 1.959964 * sd))
    assert incident_worth(None, 100, (2.0, 0.5)) is None
    assert incident_worth((10.0, 4.0), 0, (2.0, 0.5)) is None
