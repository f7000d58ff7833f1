#!/bin/sh
# Re-lock the whole dependency tree into requirements.lock (versions and hashes), from
# pyproject.toml (with the dev, bench and spark extras) and requirements/build.in. A maintainer runs it with
# `make lock` when a dependency changes or to take updates, then `make test` on the result
# before committing the new lock: CI installs exactly what the lock says.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TOOL=$(mktemp -d)
trap 'rm -rf "$TOOL"' EXIT
"$PYTHON" -m venv "$TOOL"
"$TOOL/bin/python" -m pip install --quiet "uv==0.13.9"
"$TOOL/bin/uv" pip compile pyproject.toml requirements/build.in --extra dev --extra bench --extra spark \
  --generate-hashes --universal --python-version 3.11 \
  --custom-compile-command "make lock" --output-file requirements.lock "$@"
