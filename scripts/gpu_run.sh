#!/usr/bin/env bash
# The GPU run (docs/gpu.md), on the lent machine, from the repository root, with carry/ (from
# `python -m poetry_rnn.app.gpu_recipe pack`) beside it; the results go to $OUT.
#
#   bash scripts/gpu_run.sh [--bench] [options of python -m poetry_rnn.app.gpu_recipe train]
#
# --bench first measures training throughput against the reference recipe on this GPU
# (benchmarks/train_throughput.py, about a minute) and keeps it in run.json.
set -euo pipefail
started=$SECONDS
out=${OUT:?set OUT to the folder whose files come back}
carry=${CARRY:-carry}
python=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

# The image lacks two pure-Python needs of the package: install the carried wheels.
if ! "$python" -c "import pypinyin, opencc" 2>/dev/null; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --target /tmp/gpu-site \
        "$carry"/wheels/*.whl
    export PYTHONPATH="$PYTHONPATH:/tmp/gpu-site"
fi
data=$(ls "$carry"/*.npz.xz 2>/dev/null | head -n 1 || true)
if [[ -z $data ]]; then
    echo "error: no corpus in $carry/: run python -m poetry_rnn.app.gpu_recipe pack first" >&2
    exit 2
fi

extra=()
if [[ ${1:-} == --bench ]]; then
    shift
    "$python" benchmarks/train_throughput.py --data "$data" --device cuda --presets large \
        --steps 48 --json > /tmp/throughput.json
    extra=(--throughput /tmp/throughput.json)
fi
# Results written by 9.5 minutes from the start, inside the call's 10.
exec "$python" -m poetry_rnn.app.gpu_recipe train --data "$data" --out "$out" \
    --deadline-s $((570 - (SECONDS - started))) ${extra[@]+"${extra[@]}"} "$@"
