# The first two commands of the README: `make demo` and `make test`.
# Both create .venv in the repo root and install the project into it; nothing is installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-workspace

.PHONY: demo test lint typecheck unit bench bench-clv clean chromium poppler postgres java lock

# Exactly the locked tree (versions and hashes in requirements.lock), then earnright itself with
# no further resolution. `make lock` re-locks after a change to pyproject.toml (docs/dependencies.md).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/earnright demo --out $(DEMO_DIR) --replace

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Browser tests drive Debian's chromium (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null || { \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq chromium; }

# The pack's PDF tests read it with Debian's poppler-utils (pdftotext, pdftoppm).
poppler:
	@command -v pdftotext >/dev/null || { \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq poppler-utils; }

# The Spark tests (the spark extra, in the lock) need a Java runtime: Debian's OpenJDK 17.
java:
	@command -v java >/dev/null || { \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }

# PostgreSQL tests start their own throwaway server from Debian's binaries (installed if missing).
postgres:
	@sh scripts/postgres.sh

# EARNRIGHT_REQUIRE_DATA=1 (set by .ci/run): a test that needs ../shared/data fails, not skips.
# Two workers (pytest-xdist), each taking a whole test file at a time, so that a module's
# fixtures are built once; PYTEST_WORKERS=0 runs in one process. The 25 slowest are listed.
PYTEST_WORKERS ?= 2
unit: $(STAMP) chromium poppler postgres java
	EARNRIGHT_REQUIRE_DATA=$(EARNRIGHT_REQUIRE_DATA) $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=25

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python bench/scorecard.py

# Lifetime value against `lifetimes` (the lock's bench extra): CDNOW and 3.7M planted customers.
bench-clv: $(STAMP)
	$(BIN)/python bench/clv.py

lock:
	sh scripts/lock.sh

clean:
	rm -rf $(VENV) $(DEMO_DIR)
