"""A synthetic retail pharmacy chain with planted ground truth, for the demo and the tests.

``generate_company`` writes the company's units, customers, transactions, survey invitations,
feedback and operational metrics in the canonical import formats, plus ``truth.json``: the exact
expectations the analytics should recover (store-month NPS and CSAT, driver weights and means,
weak drivers, response rates, incidents with their churn effect). ``DEMO_JOURNEY``,
``DEMO_QUESTIONS``, ``DEMO_RELIABILITY`` and ``DEMO_METRICS`` describe it for the workspace config.
"""

from earnright.demo.generate import GeneratedCompany, Progress, generate_company
from earnright.demo.questionnaire import (
    CHANNELS,
    DAYPARTS,
    DEMO_COMPANY_NAME,
    DEMO_JOURNEY,
    DEMO_METRICS,
    DEMO_QUESTIONS,
    DEMO_RELIABILITY,
    MOMENTS,
    PLATFORMS,
    QUESTIONS,
    SEGMENTS,
    TIERS,
)

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
    "GeneratedCompany",
    "Progress",
    "generate_company",
]
