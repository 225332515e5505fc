# Sourced by run.sh and test.sh: make .venv (once) and install archcalc with the given extras,
# reinstalling only when pyproject.toml or the extras change.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ARCHCALC_VENV:-$ROOT/.venv}"
ensure_venv() {
  local extras="$1"
  local stamp="$VENV/.archcalc-installed"
  local want
  want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)-$extras"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "archcalc: installing into $VENV (extras: $extras)..." >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[$extras]" 1>&2
    echo "$want" > "$stamp"
  fi
}
