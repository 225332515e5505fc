#!/usr/bin/env bash
# The whole test suite: `bash scripts/test.sh [pytest args]`. Bootstraps .venv with every extra
# (torch==2.14.1, torchvision==0.29.1, fvcore, torchinfo, ... for the cross-checks).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
ensure_venv "test,torch,symbolic,report,spec"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
