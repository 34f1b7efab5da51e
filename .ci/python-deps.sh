#!/usr/bin/env bash
# Make a Python venv with duckdb, pyarrow and aiosmtpd (used by tests/readback.py, tests/query_oracle.py, tests/alerts_smtp.py and
# benches/compare.sh). Installs only what is not already importable there.
# The last line printed is the venv's python.
#   VENV_PY=$(bash .ci/python-deps.sh | tail -n1)
set -euo pipefail

VENV="${VPCFLOW_VENV:-$HOME/.cache/vpcflow-venv}"
PY_BASE="${PYTHON:-python3}"
PY="$VENV/bin/python"

if [ ! -x "$PY" ]; then
    mkdir -p "$(dirname "$VENV")"
    "$PY_BASE" -m venv "$VENV" >&2
fi

missing=()
for mod in duckdb pyarrow aiosmtpd; do
    if ! "$PY" -c "import $mod" >/dev/null 2>&1; then
        missing+=("$mod")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "python-deps: installing ${missing[*]} into $VENV" >&2
    "$PY" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
    for mod in "${missing[@]}"; do
        "$PY" -c "import $mod" >&2
    done
fi

echo "$PY"
