#!/usr/bin/env bash
# Installs the PostgreSQL server the runtime service tests and benchmarks run
# against (the Debian `postgresql` package), when it is not there yet. Quick
# and silent when it is. The tests start their own server on a loopback port
# with a temporary data directory (test/service/postgres.ts).
set -euo pipefail

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

if pg_bin >/dev/null; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/postgres/setup.sh: PostgreSQL is not installed and apt-get is not available;" \
    "install a PostgreSQL server (initdb, postgres, pg_ctl under /usr/lib/postgresql/VERSION/bin)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "scripts/postgres/setup.sh: installing PostgreSQL needs root (or sudo)" >&2
    exit 1
  fi
fi
echo "scripts/postgres/setup.sh: installing the postgresql package" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
if ! pg_bin >/dev/null; then
  echo "scripts/postgres/setup.sh: the postgresql package installed, but no initdb/postgres was found under /usr/lib/postgresql/*/bin" >&2
  exit 1
fi
echo "scripts/postgres/setup.sh: PostgreSQL installed in $(pg_bin)" >&2
