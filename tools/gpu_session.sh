#!/usr/bin/env bash
# One session on a lent GPU machine (Python 3.12, JAX, PyTorch; no TensorFlow, no Keras, no Jupyter):
# install the carried wheels, then run the steps named in $GPU_STEPS, writing under $OUT as it goes.
#   bench  benchmarks/bench_gpu.py at 224 px, float32 then mixed_bfloat16 (each against torchvision)
#   nb01   notebook 01 at the full profile (plain Python runner), its records tarred into $OUT
# Sizes can be shrunk for a CPU rehearsal with GPU_SIZE / GPU_BATCH / GPU_IMAGES.
set -u
OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
if ! python3 -c "import keras" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site || exit 1
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-} KERAS_BACKEND=${KERAS_BACKEND:-jax} PYTHONUNBUFFERED=1 VIENNA_WEIGHTS=project
export VIENNA_RESULTS_DIR=/tmp/gpu_results
SIZE=${GPU_SIZE:-224}; BATCH=${GPU_BATCH:-128}; IMAGES=${GPU_IMAGES:-4096}
nvidia-smi --query-gpu=name,memory.total,driver_version,utilization.gpu --format=csv 2>/dev/null
nproc; free -g | head -2
for step in ${GPU_STEPS:-bench nb01}; do
  echo "=== $step $(date +%T)"
  case $step in
    bench)
      python3 benchmarks/bench_gpu.py --size $SIZE --batch $BATCH --images $IMAGES --epochs 3 --out $OUT/bench_gpu_fp32.json
      python3 benchmarks/bench_gpu.py --size $SIZE --batch $BATCH --images $IMAGES --epochs 3 --precision mixed_bfloat16 \
        --stages fine_tune,ceiling,peer --out $OUT/bench_gpu_bf16.json ;;
    nb01)
      VIENNA_PROFILE=full python3 -m vienna_utils.synthetic
      python3 tools/run_notebook.py notebooks/01_explore_imbalance.ipynb -p profile full 2>&1 | tee $OUT/nb01_full.log
      tar -C /tmp/gpu_results -czf $OUT/nb01_records.tgz . ;;
  esac
done
echo "=== done $(date +%T)"
