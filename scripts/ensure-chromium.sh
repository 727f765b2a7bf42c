#!/usr/bin/env bash
# Installs Debian's Chromium for the end-to-end tests if it is missing (idempotent; no browser
# download from anywhere but Debian's packages). Without root it only says what is missing; the
# end-to-end tests then report that they were skipped.
set -euo pipefail
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-chromium: chromium is not installed and this is not root; end-to-end tests will be skipped" >&2
  exit 0
fi
echo "ensure-chromium: installing Debian's chromium…"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
chromium --version
