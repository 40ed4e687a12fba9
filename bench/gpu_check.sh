#!/usr/bin/env bash
# GPU check of the CUDA path: CPU/GPU equivalence tests with their CUDA halves, then the
# benchmarks that need no video decoding (encoders on CUDA, the ANN index at 100k and 1M
# tracks), printed as one table. Meant for the `device` tool's machine (an H200 with torch
# already installed; nothing can be fetched there), run from the repository root.
#
# Prepare once, here (wheels for Python 3.12, carried to the machine in .whl; about 21 MB):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
#     --platform manylinux2014_x86_64 -d .whl faiss-cpu==1.15.1 librosa==0.11.0 audioread decorator \
#     pooch soxr soundfile cffi platformdirs
# Then, through the device tool: run(command="bash bench/gpu_check.sh", carry=[".whl"], timeout_s=570).
# ANN_TRACKS=100000 ends in about 70 s there; the default adds the million-track rows (about
# 3 more minutes on its 16 cores). pytest runs with the project's addopts cleared, as the
# machine has no pytest-qt.
# Its files come back from $OUT: tests.txt, table.md, bench.json, bench.log.
#
# Not covered there: PyAV (36 MB) does not fit beside the wheels in the 64 MiB a call carries,
# so the suggest, indexing, memory and coldstart cases stay CPU-only (the modules tested here
# import without it, as bgmatch.engine.library loads its names on first use); faiss-gpu's CUDA 12
# wheels need about 1 GB of NVIDIA libraries, so the index runs on faiss-cpu unless a
# faiss with GPU support is already importable there (the tests then check it too).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-$(mktemp -d)}
site=${BGMATCH_GPU_SITE:-/tmp/bgmatch-site}
ann_tracks=${ANN_TRACKS:-100000,1000000}

if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl || exit 1
fi
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --no-cache-dir --target "$site" . || exit 1
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 BGMATCH_DEVICE=cuda

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 - <<'PY' || exit 1
import faiss, torch
print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}, "
      f"faiss {faiss.__version__}, faiss GPUs: {faiss.get_num_gpus() if hasattr(faiss, 'get_num_gpus') else 0}")
PY

status=0
python3 -m pytest -p no:cacheprovider -o addopts="" -q -rs tests/engine/test_device.py tests/engine/test_index_scale.py 2>&1 \
  | tee "$out/tests.txt" || status=1
python3 -m bench encoders ann --device cuda --ann-tracks "$ann_tracks" --markdown --json "$out/bench.json" \
  2> "$out/bench.log" | tee "$out/table.md" || status=1
exit $status
