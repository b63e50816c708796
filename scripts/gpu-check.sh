#!/usr/bin/env bash
# The one command for a machine with an NVIDIA GPU:
#   1. create (or reuse) .venv and install minitorch with the CUDA extra (as `make setup` does);
#   2. run the CUDA and fast backend tests on the real GPU (the simulator stays off);
#   3. run the matmul benchmark (minitorch's tiled kernel against torch.matmul, if installed).
# Everything it prints is also saved under ${OUT:-gpu-results}/.
#
#   bash scripts/gpu-check.sh                 # WITH_TORCH=1 also installs torch for the comparison
set -uo pipefail
cd "$(dirname "$0")/.."

OUT_DIR="${OUT:-gpu-results}"
mkdir -p "$OUT_DIR"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
STAMP=.venv/.cuda-installed-stamp
unset NUMBA_ENABLE_CUDASIM  # a real GPU, not the simulator

# 1. Set-up, skipped when the venv is newer than pyproject.toml (as make's stamp does).
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv || exit 1
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[all,cuda]' || { echo "pip install failed"; exit 1; }
    touch "$STAMP"
fi
if [ "${WITH_TORCH:-0}" = "1" ]; then
    .venv/bin/python -m pip install --quiet torch || echo "torch did not install: benchmark without it"
fi

# 2. Is there a GPU Numba can use? Say what it found, or stop here with why not.
nvidia-smi > "$OUT_DIR/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed (see $OUT_DIR/nvidia-smi.txt)"
.venv/bin/python - <<'EOF' 2>&1 | tee "$OUT_DIR/numba-cuda.txt"
import sys
import numba
from numba import cuda

print(f"numba {numba.__version__}, numba.cuda implementation: {getattr(cuda, 'implementation', '?')}")
if not cuda.is_available():
    print(f"no usable CUDA GPU: {cuda.cuda_error()}")
    sys.exit(1)
cuda.detect()
EOF
[ "${PIPESTATUS[0]}" = "0" ] || exit 1

# 3. Tests on the GPU, then the benchmark; run both, fail if either failed.
status=0
.venv/bin/python -m pytest tests/test_cuda_backend.py tests/test_fast_backend.py -q \
    --durations=10 --junitxml "$OUT_DIR/junit.xml" 2>&1 | tee "$OUT_DIR/pytest.txt" || status=1
COLUMNS=140 .venv/bin/python -m benchmarks.cuda_matmul --json "$OUT_DIR/cuda_matmul.json" 2>&1 \
    | tee "$OUT_DIR/cuda_matmul.txt" || status=1
echo "results in $OUT_DIR/ (exit status $status)"
exit $status
