"""Customers as assets: what each is worth and whether they stay.

- ``value``: annual customer value and churn counts from the transactions;
- ``assets``: the customer asset ledger (gained, reactivated, lost, kept, grew, declined);
- ``histories``: per-customer purchase summaries (frequency, recency, age, mean spend);
- ``clv``: BG/NBD and Gamma-Gamma, fitted by maximum likelihood, and their predictions;
- ``lifetime``: both fitted to the summaries, every unit valued, the holdout compared.
"""

from earnright.customers.value import (
    YEAR_SECONDS,
    churn_counts,
    customer_value,
    transaction_range,
)

__all__ = ["YEAR_SECONDS", "churn_counts", "customer_value", "transaction_range"]
