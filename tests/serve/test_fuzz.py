"""schemathesis against /openapi.json with a signed-in token: no 5xx, and every response
matches its documented status, content type and schema (every operation, 8 cases each:
hypothesis draws them from the schema).

Left out: schemathesis's ``positive_data_acceptance``. The schema says a level is a string,
and a string naming no level of the workspace's config answers 400 with the reason; the levels
are the config's, not the schema's."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.serve.conftest import Planted

pytestmark = pytest.mark.slow


def test_the_api_keeps_its_schema(app: Any, planted: Planted) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {planted.tokens['district_manager']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            case.call_and_validate(
                headers=headers, excluded_checks=[positive_data_acceptance], timeout=300
            )

        check()
