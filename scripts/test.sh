#!/usr/bin/env bash
# The whole test suite: `bash scripts/test.sh [pytest args]`. Bootstraps .venv with every extra
# (torch==2.14.1, torchvision==0.29.1, fvcore, torchinfo, ... for the cross-checks).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
ensure_venv "test,torch,symbolic,report,spec"
# The HTML report test opens reports in headless Chromium; the benchmark test measures with GNU
# time (Debian's `chromium` and `time` packages).
missing=()
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
if [ ! -x /usr/bin/time ]; then missing+=(time); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "archcalc: installing ${missing[*]} for the browser and benchmark tests..." >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
