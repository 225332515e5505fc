#!/usr/bin/env bash
# The main job: `bash scripts/run.sh vgg16 [archcalc options]`. Bootstraps .venv on first use.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
ensure_venv "symbolic,report,spec"
exec "$VENV/bin/archcalc" "$@"
