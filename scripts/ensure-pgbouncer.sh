#!/usr/bin/env bash
# Installs Debian's PgBouncer for the reliability tests' transaction-pooling race, if it is missing
# (idempotent; Debian's packages only). The package's own service is not started: the tests start
# PgBouncer themselves on a free loopback port. Without root it only says what is missing; the
# PgBouncer tests then report that they were skipped.
set -euo pipefail
bin="${PGBOUNCER_BIN:-/usr/sbin/pgbouncer}"
if [ -x "$bin" ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-pgbouncer: $bin is not installed and this is not root; the PgBouncer tests will be skipped" >&2
  exit 0
fi
echo "ensure-pgbouncer: installing Debian's pgbouncer…"
apt-get update -qq
# A policy-rc.d that says "no" keeps the package from starting its own service on port 6432.
own_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  own_policy=1
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
"$bin" --version | head -1
