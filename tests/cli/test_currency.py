"""Money is shown in the config's `[company] currency`, in alerts, on the page and in tables."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from earnright.config import Config, render_config
from earnright.delivery import enqueue_messages, format_money
from earnright.report.reliability_section import render_reliability_section
from earnright.workspace import init_workspace

INCIDENT: dict[str, Any] = {
    "id": "inc-1",
    "moment": "pickup",
    "indicator": "on_time",
    "metric": "minutes",
    "segment": "district=D007",
    "status": "open",
    "severity": "page",
    "owner": "ops",
    "started_at": "2026-08-06T00:00:00",
    "detected_at": "2026-08-07T00:00:00",
    "customers_affected": 41,
    "revenue_at_risk": 12_310.0,
    "revenue_at_risk_low": 8_140.0,
    "revenue_at_risk_high": 16_880.0,
}


def test_format_money_joins_a_symbol_and_spaces_a_code() -> None:
    assert format_money(12_310.0, "€") == "€12,300"
    assert format_money(12_310.0, "EUR") == "EUR 12,300"
    assert format_money(12_310.0) == "$12,300"


@pytest.mark.parametrize("bad", ["", "euros!", "1€", "E U", "\x1b[31m"])
def test_a_currency_must_be_a_short_symbol_or_code(bad: str) -> None:
    with pytest.raises(ValidationError, match="currency"):
        Config.model_validate({"company": {"currency": bad}})


def test_the_currency_round_trips_through_the_written_config() -> None:
    config = Config.model_validate({"company": {"name": "Acme", "currency": "€"}})
    assert 'currency = "€"' in render_config(config)


def test_alerts_use_the_config_currency(tmp_path: Path) -> None:
    config = Config.model_validate(
        {
            "company": {"currency": "€"},
            "owners": {"ops": {"webhooks": ["https://hooks.example.com/x"]}},
        }
    )
    ws = init_workspace(tmp_path / "ws", config)
    with ws.warehouse() as wh, wh.transaction():
        assert enqueue_messages(wh, ws.config, INCIDENT, "opened", now=datetime(2026, 8, 8)) == 1
        payload = json.loads(wh.table("outbox").execute().payload.iloc[0])
    assert "€12,300 at risk" in payload["text"] and "$" not in payload["text"]
    assert payload["incident"]["currency"] == "€"


def test_the_page_uses_the_currency_of_the_incidents() -> None:
    html = render_reliability_section(None, [INCIDENT | {"currency": "EUR"}])
    assert "EUR 12,300" in html and "EUR 8,140" in html and "$" not in html
