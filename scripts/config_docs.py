"""Rewrite the settings section of docs/config.md from the config models.

    PYTHONPATH=src .venv/bin/python scripts/config_docs.py [docs/config.md]

tests/test_config_docs.py fails until the section matches the models.
"""

from __future__ import annotations

import sys
from pathlib import Path

from earnright.config.registry import update_reference

docs = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parents[1] / "docs" / "config.md")
docs.write_text(update_reference(docs.read_text(encoding="utf-8")), encoding="utf-8")
