"""The demo company's survey design: driver questions, journey moments, metrics and channels.

Everything here is a constant: the CLI writes the matching workspace config from
``DEMO_JOURNEY``, ``DEMO_QUESTIONS`` and ``DEMO_METRICS``; the generator indexes the arrays below
by question and moment position.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "CHANNELS",
    "DAYPARTS",
    "DEMO_COMPANY_NAME",
    "DEMO_JOURNEY",
    "DEMO_METRICS",
    "DEMO_QUESTIONS",
    "DEMO_RELIABILITY",
    "MOMENTS",
    "PLATFORMS",
    "QUESTIONS",
    "SEGMENTS",
    "TIERS",
]

DEMO_COMPANY_NAME = "Northwind Pharmacy"

# Driver questions, in the column order of feedback.parquet.
DEMO_QUESTIONS: dict[str, str] = {
    "q_staff": "Friendliness and help from staff",
    "q_wait": "Time waiting at the checkout",
    "q_stock": "The products I wanted were in stock",
    "q_rx": "My prescription was ready when promised",
    "q_clean": "Cleanliness and tidiness of the store",
    "q_app": "Ordering ahead in the app worked smoothly",
}
QUESTIONS: tuple[str, ...] = tuple(DEMO_QUESTIONS)
STAFF, WAIT, STOCK, RX, CLEAN, APP = range(6)

DEMO_JOURNEY: list[dict[str, Any]] = [
    {
        "id": "find",
        "name": "I find what I need",
        "moments": [
            {
                "id": "find_product",
                "name": "Finding the product",
                "owner": "store-operations",
                "questions": ["q_stock", "q_staff", "q_clean"],
                "indicators": [
                    {
                        "id": "in_stock",
                        "name": "Days with at most 12% of the range out of stock",
                        "metric": "out_of_stock_rate",
                        "measure": "threshold",
                        "threshold": 0.12,
                        "target": 0.95,
                        "dimensions": ["region", "district", "store"],
                    }
                ],
            }
        ],
    },
    {
        "id": "pay",
        "name": "I pay and go quickly",
        "moments": [
            {
                "id": "checkout",
                "name": "Checkout",
                "owner": "store-operations",
                "questions": ["q_wait", "q_staff", "q_clean"],
                "indicators": [
                    {
                        "id": "short_queue",
                        "name": "Checkout queues within 10 minutes",
                        "metric": "queue_wait_minutes",
                        "measure": "threshold",
                        "threshold": 10.0,
                        "target": 0.95,
                        "dimensions": ["daypart", "region", "district", "store"],
                    }
                ],
            }
        ],
    },
    {
        "id": "prescription",
        "name": "I get my prescription on time",
        "moments": [
            {
                "id": "pickup_prescription",
                "name": "Prescription pickup",
                "owner": "pharmacy-operations",
                "questions": ["q_rx", "q_wait", "q_staff"],
                "indicators": [
                    {
                        "id": "rx_on_time",
                        "name": "Prescriptions filled within 40 minutes",
                        "metric": "rx_fill_minutes",
                        "measure": "threshold",
                        "threshold": 40.0,
                        "target": 0.95,
                        "dimensions": ["daypart", "region", "district", "store"],
                    }
                ],
            }
        ],
    },
    {
        "id": "order_ahead",
        "name": "I order ahead in the app",
        "moments": [
            {
                "id": "order_in_app",
                "name": "Ordering in the app",
                "owner": "digital",
                "questions": ["q_app", "q_stock", "q_rx"],
                "indicators": [
                    {
                        "id": "app_success",
                        "name": "App requests that succeed",
                        "metric": "app_errors",
                        "measure": "events",
                        "target": 0.99,
                        "dimensions": ["platform", "region", "district", "store"],
                    }
                ],
            }
        ],
    },
]
MOMENTS: tuple[str, ...] = tuple(m["id"] for s in DEMO_JOURNEY for m in s["moments"])

# MOMENT_ASKS[m, k]: moment m's survey asks driver k.
MOMENT_ASKS = np.array(
    [[q in m["questions"] for q in QUESTIONS] for s in DEMO_JOURNEY for m in s["moments"]]
)
# Planted shift of the ltr latent per moment (prescription pickups are harder to please).
MOMENT_OFFSETS = np.array([0.0, -0.1, -0.3, 0.2])
# Probability that a survey response is about each moment, by platform group (0: app user,
# 1: no app). Customers without the app are never asked about ordering in it.
MOMENT_PROBS = np.array([[0.30, 0.30, 0.20, 0.20], [0.375, 0.375, 0.25, 0.0]])
# The moment a non-survey comment is filed under, by the theme (driver) it is about.
THEME_MOMENT = np.array([1, 1, 0, 2, 0, 3])

SEGMENTS: tuple[str, ...] = ("family", "senior", "young_adult", "chronic_care")
TIERS: tuple[str, ...] = ("standard", "plus")
PLATFORMS: tuple[str, ...] = ("ios", "android", "web", "none")
APP_PLATFORMS: tuple[str, ...] = PLATFORMS[:3]
DAYPARTS: tuple[str, ...] = ("morning", "afternoon", "evening")
# Opening hours of each daypart, [from, to) in hours of the day (UTC).
DAYPART_HOURS = np.array([[8, 12], [12, 17], [17, 21]])
CHANNELS: tuple[str, ...] = ("survey", "complaint", "review", "social", "call")

# Reliability settings of the demo workspace: metrics arrive once a day, so the series are daily
# and the burn-rate windows are days (the SRE workbook's defaults assume minute-level data).
DEMO_RELIABILITY: dict[str, Any] = {
    "step": "1d",
    "min_events": 10,
    "anomaly_threshold": 0.6,
    "burn_alerts": [
        {"name": "fast", "long": "2d", "short": "1d", "factor": 4.0, "severity": "page"},
        {"name": "slow", "long": "7d", "short": "1d", "factor": 3.0, "severity": "ticket"},
    ],
    "hours": {"daypart": {"morning": (8, 12), "afternoon": (12, 17), "evening": (17, 21)}},
}

DEMO_METRICS: dict[str, dict[str, Any]] = {
    "queue_wait_minutes": {
        "name": "Queue wait at the checkout",
        "unit": "minutes",
        "kind": "value",
        "better": "lower",
        "moment": "checkout",
        "dimensions": ["daypart"],
    },
    "out_of_stock_rate": {
        "name": "Share of the range out of stock",
        "unit": "share",
        "kind": "value",
        "better": "lower",
        "moment": "find_product",
        "dimensions": [],
    },
    "rx_fill_minutes": {
        "name": "Time to fill a prescription",
        "unit": "minutes",
        "kind": "value",
        "better": "lower",
        "moment": "pickup_prescription",
        "dimensions": ["daypart"],
    },
    "app_errors": {
        "name": "App requests that succeeded",
        "unit": "requests",
        "kind": "ratio",
        "better": "higher",
        "moment": "order_in_app",
        "dimensions": ["platform"],
    },
}
