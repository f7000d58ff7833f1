"""The workspace config, ``earnright.toml``, as pydantic models.

A workspace is a directory holding ``earnright.toml`` and, by default, the embedded warehouse
``earnright.duckdb``. The config declares the company, the levels of its unit hierarchy, the
customer journey (stages named in customers' words, their priority moments and owning teams), the
survey questions and their scales, per-source column mappings and the warehouse URL.

Errors name the key, the bad value and what was expected. The config is input like any data
file: every number must be finite (``inf`` and ``nan`` are refused everywhere, through the shared
base model) and within its range, and every duration between one second and ten years.
"""

from earnright.config.journey import DriverDefaults, Indicator, Journey, Moment, Question, Stage
from earnright.config.model import Config, load_config, validate_config
from earnright.config.privacy import Privacy
from earnright.config.render import render_config
from earnright.config.sections import (
    QUALTRICS_COLUMNS,
    Assets,
    BurnAlert,
    Company,
    Decisions,
    Delivery,
    Listening,
    Outcomes,
    Owner,
    Reliability,
    Right,
    Source,
    Survey,
    Theme,
    Units,
    Warehouse,
)
from earnright.config.values import (
    CONFIG_FILE,
    DATA_KINDS,
    IDENTIFIER,
    MAX_DURATION,
    MIN_DURATION,
    RESERVED_FEEDBACK_COLUMNS,
    DataKind,
    Duration,
    format_duration,
    parse_duration,
)

__all__ = [
    "CONFIG_FILE",
    "DATA_KINDS",
    "IDENTIFIER",
    "MAX_DURATION",
    "MIN_DURATION",
    "QUALTRICS_COLUMNS",
    "RESERVED_FEEDBACK_COLUMNS",
    "Assets",
    "BurnAlert",
    "Company",
    "Config",
    "DataKind",
    "Decisions",
    "Delivery",
    "DriverDefaults",
    "Duration",
    "Indicator",
    "Journey",
    "Listening",
    "Moment",
    "Outcomes",
    "Owner",
    "Privacy",
    "Question",
    "Reliability",
    "Right",
    "Source",
    "Stage",
    "Survey",
    "Theme",
    "Units",
    "Warehouse",
    "format_duration",
    "load_config",
    "parse_duration",
    "render_config",
    "validate_config",
]
