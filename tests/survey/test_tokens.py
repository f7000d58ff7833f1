"""Survey tokens: only the workspace's own, unexpired tokens open a survey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from earnright.errors import SurveyLinkError
from earnright.survey import sign_token, verify_token

SECRET = bytes(range(32))
EXPIRES = datetime(2026, 10, 1, 12, 0)
BEFORE = EXPIRES - timedelta(seconds=1)


def test_a_genuine_token_names_its_invitation() -> None:
    token = sign_token(SECRET, "inv-1|ü.x", EXPIRES)
    assert verify_token(SECRET, token, now=BEFORE) == "inv-1|ü.x"
    assert SECRET.hex() not in token


def _swap(token: str, index: int, part: str) -> str:
    parts = token.split(".")
    parts[index] = part
    return ".".join(parts)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: _swap(
            t, 0, sign_token(SECRET, "inv-2", EXPIRES).split(".")[0]
        ),  # other invitation
        lambda t: _swap(t, 1, str(int(t.split(".")[1]) + 86400)),  # later expiry
        lambda t: _swap(t, 2, "A" * len(t.split(".")[2])),  # forged signature
        lambda t: t[:-1],  # truncated
        lambda t: t + ".x",  # an extra part
        lambda t: "",
        lambda t: "!!!.%%%.***",
        lambda t: sign_token(bytes(32), "inv-1", EXPIRES),  # another workspace's secret
    ],
)
def test_a_tampered_token_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    token = sign_token(SECRET, "inv-1", EXPIRES)
    with pytest.raises(SurveyLinkError) as caught:
        verify_token(SECRET, tamper(token), now=BEFORE)
    assert not caught.value.expired and "not valid" in str(caught.value)


def test_a_token_expires() -> None:
    token = sign_token(SECRET, "inv-1", EXPIRES)
    for now in (EXPIRES, EXPIRES.replace(tzinfo=UTC) + timedelta(days=1)):
        with pytest.raises(SurveyLinkError) as caught:
            verify_token(SECRET, token, now=now)
        assert caught.value.expired and "expired" in str(caught.value)
