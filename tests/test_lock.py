"""The lock file holds the whole dependency tree: every requirement of pyproject.toml (with the dev
extra) and of requirements/build.in is pinned there, with hashes, at a version it allows. A
dependency added or changed without `make lock` fails here, before a fresh machine resolves
something nobody tested."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;([^\\]+))?")


def _pins() -> dict[str, str]:
    """Package -> the version pinned for this Python and platform (a universal lock may pin one
    package twice, under exclusive markers)."""
    text, env = (ROOT / "requirements.lock").read_text(), default_environment()
    found = [m for m in map(PIN.match, text.splitlines()) if m]
    return {
        canonicalize_name(m[1]): m[2]
        for m in found
        if m[3] is None or Marker(m[3].strip()).evaluate(env)
    }


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    build = (ROOT / "requirements" / "build.in").read_text().splitlines()
    lines += [x for x in build if x.strip() and not x.startswith("#")]
    return [Requirement(x) for x in lines]


def test_every_requirement_is_pinned_at_a_version_it_allows() -> None:
    pins, env = _pins(), default_environment()
    for req in _requirements():
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={pins[name]}, outside '{req}': run `make lock`"
        )


def test_every_pin_carries_hashes() -> None:
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9_.\-]+==)", text)
    pinned = [b for b in blocks if PIN.match(b)]
    assert len(pinned) >= len(_pins()) > 40
    assert all("--hash=sha256:" in b for b in pinned)
