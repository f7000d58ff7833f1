#!/bin/sh
# Install PostgreSQL's server binaries (Debian package `postgresql`) when they are missing.
#
# The PostgreSQL tests (tests/warehouse/test_postgres.py) start their own throwaway cluster with
# initdb and pg_ctl from /usr/lib/postgresql/<version>/bin; nothing else is configured or started
# here. Idempotent: does nothing when initdb is already there. Needs root (apt-get).
set -eu

have_initdb() {
  for f in /usr/lib/postgresql/*/bin/initdb; do
    [ -x "$f" ] && return 0
  done
  return 1
}

if have_initdb; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/postgres.sh: PostgreSQL is not installed and installing it needs root;" \
    "run: sudo apt-get install -y postgresql" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
if ! have_initdb; then
  echo "scripts/postgres.sh: installed the postgresql package but found no" \
    "/usr/lib/postgresql/*/bin/initdb" >&2
  exit 1
fi
echo "scripts/postgres.sh: installed $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
