#!/usr/bin/env bash
# One-shot EfficientHuman mode (b) training on a GPU machine (docs/training_synthetic.md, "GPU recipe").
#
#   OUT=/somewhere tools/train_synth_gpu.sh POSES.npz        (POSES: a pose bank inside the repo, e.g. runs/in/poses.npz)
#
# Each call: (a) generates the mode (b) shards if they are not there yet (all cores; shards on disk are kept),
# (b) trains until BUDGET_S seconds after the call started minus RESERVE_S, resuming from runs/gpu/eh.pt, or from
# runs/in/eh_weights.pt.part* (a previous call's weights, carried back) when that is absent, (c) evaluates on
# held-out shards (MPJPE / PA-MPJPE mm of the 24 joints, PCK@0.1 in 2D), (d) exports a float16 ONNX and a
# float16 weights-only checkpoint, split into parts of at most 15 MB, into $OUT with the log and the metrics.
# Settings (environment): COUNT VAL_COUNT STEPS BATCH LR WORKERS BUDGET_S RESERVE_S PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."
POSES=${1:?usage: tools/train_synth_gpu.sh POSES.npz}
START=$(date +%s)
COUNT=${COUNT:-100000} VAL_COUNT=${VAL_COUNT:-2000} STEPS=${STEPS:-8000} BATCH=${BATCH:-128} LR=${LR:-1e-3}
CORES=$(nproc) WORKERS=${WORKERS:-$(( $(nproc) > 2 ? $(nproc) - 2 : 0 ))}
BUDGET_S=${BUDGET_S:-570} RESERVE_S=${RESERVE_S:-75} PYTHON=${PYTHON:-python3}
WORK=runs/gpu OUT=${OUT:-runs/gpu/out}
mkdir -p "$WORK" "$OUT"
LOG="$OUT/train.log"
log() { echo "[$(( $(date +%s) - START ))s] $*" | tee -a "$LOG"; }
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1

log "python $($PYTHON -c 'import sys, numpy, torch; print(sys.version.split()[0], "numpy", numpy.__version__, "torch", torch.__version__, "cuda", torch.cuda.is_available())')"
for set in "synth_b 0 $COUNT" "synth_b_val 1 $VAL_COUNT"; do
  read -r name seed count <<< "$set"
  $PYTHON -m training.synth.generate --mode silhouette --count "$count" --seed "$seed" --poses "$POSES" \
    --out "$WORK/$name" --shard-size 500 --workers "$CORES" | tail -n 1 | tee -a "$LOG"
  log "shards $WORK/$name ready ($count samples, seed $seed)"
done

RESUME=(--resume)
if [ ! -f "$WORK/eh.pt" ] && compgen -G "runs/in/eh_weights.pt.part*" > /dev/null; then
  cat runs/in/eh_weights.pt.part* > "$WORK/eh_weights_in.pt"
  RESUME=(--init-weights "$WORK/eh_weights_in.pt")
  log "continuing from the carried weights runs/in/eh_weights.pt.part*"
fi
$PYTHON -m training.train --shards "$WORK/synth_b" --val-shards "$WORK/synth_b_val" --val-samples "$VAL_COUNT" \
  --steps "$STEPS" --batch "$BATCH" --lr "$LR" --workers "$WORKERS" --val-every 2000 --log-every 100 \
  --deadline $(( START + BUDGET_S - RESERVE_S )) --anneal-by-time --out "$WORK/eh.pt" "${RESUME[@]}" \
  --metrics "$OUT/metrics.json" --export "$WORK/efficienthuman_silhouette_fp16.onnx" --fp16 2>&1 | tee -a "$LOG"

$PYTHON -c "from pathlib import Path; from training.train import save_weights; save_weights(Path('$WORK/eh.pt'), Path('$WORK/eh_weights.pt'))"
rm -f "$OUT"/*.part*
split -b 15M -d -a 2 "$WORK/efficienthuman_silhouette_fp16.onnx" "$OUT/efficienthuman_silhouette_fp16.onnx.part"
split -b 15M -d -a 2 "$WORK/eh_weights.pt" "$OUT/eh_weights.pt.part"
(cd "$WORK" && sha256sum efficienthuman_silhouette_fp16.onnx eh_weights.pt) | tee -a "$LOG"
log "done: $(ls "$OUT" | tr '\n' ' ')"
