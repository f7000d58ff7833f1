"""Customers as assets: what each is worth and whether they stay (the asset ledger grows here).

- ``value``: annual customer value and churn counts from the transactions.
"""

from earnright.customers.value import (
    YEAR_SECONDS,
    churn_counts,
    customer_value,
    transaction_range,
)

__all__ = ["YEAR_SECONDS", "churn_counts", "customer_value", "transaction_range"]
