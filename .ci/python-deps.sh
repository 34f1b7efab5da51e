#!/usr/bin/env bash
# Make a Python venv with duckdb, pyarrow, aiosmtpd, moto's S3 server and pyspark (used by tests/readback.py,
# tests/query_oracle.py, tests/alerts_smtp.py, tests/s3_moto.py, tests/spark_dataset.py and benches/compare.sh;
# pyspark needs a Java 17+ runtime on PATH). Installs only what is not already importable there.
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

# module to import = package to install
deps=("duckdb=duckdb" "pyarrow=pyarrow" "aiosmtpd=aiosmtpd" "moto.server=moto[server]" "boto3=boto3" "pyspark=pyspark")
missing=()
modules=()
for d in "${deps[@]}"; do
    mod="${d%%=*}"
    if ! "$PY" -c "import $mod" >/dev/null 2>&1; then
        missing+=("${d#*=}")
        modules+=("$mod")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "python-deps: installing ${missing[*]} into $VENV" >&2
    "$PY" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
    for mod in "${modules[@]}"; do
        "$PY" -c "import $mod" >&2
    done
fi

echo "$PY"
