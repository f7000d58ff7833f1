"""An independent reference for the customer asset ledger: the lapse rule applied customer by
customer in plain Python, from the raw transactions, with no spells and no engine.

The rule (docs/assets.md): purchase days per customer; lost on the day the last purchase becomes
L days old with no purchase since (a purchase on day d + L keeps them), if that day has come by
the data's end; reactivated by the next purchase. A customer who joined before the data's first
day F is carried in (active from the start) when their first purchase comes within L days of F,
else their first purchase reactivates them; any other first purchase is a gain.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pandas as pd

from earnright.periods import Grain, Period, label_of, period_label

COUNTS = ["start", "gained", "reactivated", "lost", "end", "grew", "declined"]
Spell = tuple[date, date | None]  # (first day active, loss day or None)


def _bounds(label: str, grain: Grain) -> tuple[date, date]:
    p = Period.parse(label, grain)
    return p.start.date(), p.end.date()


def _events(
    days: list[date], lapse: int, first: str, as_of: date
) -> tuple[list[date], list[date], list[date], list[Spell]]:
    """(gains, reactivations, losses, spells) of one customer; ``first`` says what their first
    purchase is: "gained", "reactivated" or "carried" (active before the data began)."""
    gains: list[date] = [days[0]] if first == "gained" else []
    reacts: list[date] = [days[0]] if first == "reactivated" else []
    losses: list[date] = []
    spells: list[Spell] = []
    start = date.min if first == "carried" else days[0]
    for here, there in zip(days, [*days[1:], None], strict=True):
        if there is not None and (there - here).days <= lapse:
            continue
        lost = here + timedelta(days=lapse)
        losses += [lost] if lost <= as_of else []
        spells.append((start, lost if lost <= as_of else None))
        if there is not None:
            reacts.append(there)
            start = there
    return gains, reacts, losses, spells


def _active(spells: list[Spell], at: date) -> int:
    """Active at the start of day ``at``: a spell began before it and its loss is not before."""
    return int(any(s < at and (e is None or e >= at) for s, e in spells))


def _change(sums: dict[str, tuple[float, float]], now: str, then: str) -> float:
    """z of the spend change between two periods (compound-Poisson variance) from each
    period's (spend, sum of squared amounts)."""
    (a, qa), (b, qb) = sums.get(now, (0.0, 0.0)), sums.get(then, (0.0, 0.0))
    return 0.0 if qa + qb <= 0 else (a - b) / math.sqrt(qa + qb)


def _period_sums(tx: pd.DataFrame, grain: Grain) -> dict[str, dict[str, tuple[float, float]]]:
    """customer -> period label -> (spend, sum of squared amounts), from the raw rows."""
    labels = period_label(pd.to_datetime(tx.day), grain).to_numpy()
    grouped = tx.assign(label=labels, square=tx.amount**2).groupby(["customer_id", "label"])
    found: dict[str, dict[str, tuple[float, float]]] = {}
    for (customer, label), part in grouped:
        found.setdefault(customer, {})[label] = (part.amount.sum(), part.square.sum())
    return found


def ledger_reference(
    customers: pd.DataFrame,
    transactions: pd.DataFrame,
    grain: Grain,
    lapses: dict[str, int],
    unit_of: dict[str, str],
) -> pd.DataFrame:
    """Rows unit_id, period and :data:`COUNTS` for the units customers belong to, every period
    from the first transaction to the last (``lapses`` per customer; ``unit_of``: home unit ->
    unit at the level)."""
    tx = transactions.assign(day=pd.to_datetime(transactions.occurred_at).dt.date)
    first_day, as_of = tx.day.min(), tx.day.max()
    joined = dict(zip(customers.customer_id, pd.to_datetime(customers.joined_at), strict=True))
    home = dict(zip(customers.customer_id, customers.home_unit_id, strict=True))
    first_label = label_of(datetime.combine(first_day, datetime.min.time()), grain)
    last_label = label_of(datetime.combine(as_of, datetime.min.time()), grain)
    labels, here = [], Period.parse(first_label, grain)
    while True:
        labels.append(here.label)
        if here.label == last_label:
            break
        here = Period.containing(here.end, grain)
    rows: dict[tuple[str, str], dict[str, int]] = {}
    sums = _period_sums(tx, grain)
    bounds = {label: _bounds(label, grain) for label in labels}
    for customer, own in tx[tx.customer_id.isin(list(home))].groupby("customer_id"):
        unit = unit_of.get(home[customer])
        if unit is None:
            continue
        days, lapse = sorted(set(own.day)), lapses[customer]
        before = not pd.isna(joined[customer]) and joined[customer].date() < first_day
        kind = "gained"
        if before:
            kind = "carried" if (days[0] - first_day).days <= lapse else "reactivated"
        gains, reacts, losses, spells = _events(days, lapse, kind, as_of)
        for label in labels:
            lo, hi = bounds[label]
            row = rows.setdefault((unit, label), dict.fromkeys(COUNTS, 0))
            row["gained"] += sum(lo <= d < hi for d in gains)
            row["reactivated"] += sum(lo <= d < hi for d in reacts)
            row["lost"] += sum(lo <= d < hi for d in losses)
            row["start"] += _active(spells, lo) if label != labels[0] else int(kind == "carried")
            row["end"] += _active(spells, min(hi, as_of + timedelta(days=1)))
            if label != labels[0] and any(s < lo and (e is None or e >= hi) for s, e in spells):
                z = _change(sums[customer], label, labels[labels.index(label) - 1])
                row["grew"] += int(z > 1.96)
                row["declined"] += int(z < -1.96)
    frame = pd.DataFrame([{"unit_id": u, "period": p, **v} for (u, p), v in rows.items()])
    return frame.sort_values(["unit_id", "period"]).reset_index(drop=True)
