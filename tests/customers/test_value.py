"""Customer value and churn counts from transactions, against hand-counted small cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import ibis
import pytest

from earnright.customers import YEAR_SECONDS, churn_counts, customer_value, transaction_range
from tests.reliability.test_revenue import build_workspace

D = datetime.fromisoformat
CUSTOMERS = {"C1": ("S1", "ios"), "C2": ("S1", "ios"), "C3": ("S2", "android")}
VISITS = [  # customer, store, time, amount
    ("C1", "S1", "2026-01-01T10:00:00", 100.0),
    ("C1", "S1", "2026-03-01T10:00:00", 50.0),
    ("C2", "S1", "2026-02-01T10:00:00", 30.0),
    ("C3", "S2", "2026-06-15T10:00:00", 20.0),  # after the valuation date, and the follow-up
]


def test_value_is_spend_per_customer_year_observed(tmp_path: Path) -> None:
    ws = build_workspace(tmp_path, CUSTOMERS, VISITS)
    start, window = D("2026-04-01"), timedelta(days=365)
    with ws.warehouse() as wh:
        first, last = transaction_range(wh)
        assert (first, last) == (D("2026-01-01T10:00:00"), D("2026-06-15T10:00:00"))
        who = ibis.memtable({"customer_id": ["C1", "C2"]})
        n, value = customer_value(wh, who, start, window=window, first=first)
        nobody = customer_value(wh, who.filter(who.customer_id == "X"), start, window=window)
    # all joined in 2020 (before the window), so each is observed from the first transaction
    observed = 2 * (start - first).total_seconds()
    assert n == 2 and value == pytest.approx(180.0 / observed * YEAR_SECONDS)
    assert nobody == (0, 0.0)


def test_churned_means_no_transaction_in_the_window(tmp_path: Path) -> None:
    ws = build_workspace(tmp_path, CUSTOMERS, VISITS)
    with ws.warehouse() as wh:
        exposed = ibis.memtable({"customer_id": ["C1", "C2"]})
        control = ibis.memtable({"customer_id": ["C1", "C2", "C3"]})  # the exposed are left out
        [counts] = churn_counts(wh, [(exposed, control, (D("2026-02-15"), D("2026-07-01")))])
    # exposed: C1 bought (Mar 1), C2 did not; control: C3 bought (Jun 15)
    assert counts == {1: (2, 1), 0: (1, 0)}


def test_churn_counts_of_many_groups_in_one_query_are_each_group_alone(tmp_path: Path) -> None:
    """Groups with their own windows, overlapping customers and an empty exposed group, counted
    together, give what each gives alone (planted: who bought in which window is known)."""
    ws = build_workspace(tmp_path, CUSTOMERS, VISITS)
    ids = lambda *c: ibis.memtable({"customer_id": list(c)})  # noqa: E731
    nobody = ids("C1").filter(ibis._.customer_id == "X")
    groups = [
        (ids("C1", "C2"), ids("C1", "C2", "C3"), (D("2026-02-15"), D("2026-07-01"))),
        (ids("C3"), ids("C1", "C2"), (D("2026-06-01"), D("2026-07-01"))),  # only C3 bought
        (ids("C1", "C3"), ids("C2"), (D("2026-01-01"), D("2026-02-01"))),
        (nobody, ids("C1", "C2", "C3"), (D("2026-02-15"), D("2026-07-01"))),
    ]
    with ws.warehouse() as wh:
        together = churn_counts(wh, groups)
        alone = [churn_counts(wh, [g])[0] for g in groups]
        assert churn_counts(wh, []) == []
    assert together == alone
    assert together[:2] == [{1: (2, 1), 0: (1, 0)}, {1: (1, 0), 0: (2, 2)}]
    assert together[3] == {0: (3, 1)}  # C2 had no transaction from mid-February
