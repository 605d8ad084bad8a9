#!/usr/bin/env bash
# Learned sub-frame onset times for a shipped model (issue 29), without changing its onsets or velocities:
#   bash scripts/train_offsets.sh [WORKDIR] [CORPUS] [MODEL] [RUN]     (defaults: data, v6-corpus, default, v5o)
# 1. trains only the offset rows of MODEL's velocity head (training.frozen=all_but_offsets: the network in eval
#    mode, every other weight and statistic fixed) on the corpus's training split: EPOCHS x 400 steps of 16
#    windows, lr 1e-3 constant, v5's recipe (class weights, soft targets, augmentation), a checkpoint per epoch;
#    it continues from its last checkpoint when run again;
# 2. grafts each epoch onto MODEL (scripts/graft_offsets.py: checks that nothing else changed, writes
#    WORKDIR/runs/RUN/graft-eNN.{safetensors,json,onnx}); the epoch to ship is chosen on GMD validation timing
#    (drumscribe evaluate --split WORKDIR/gmd-val-clean / gmd-val-fullmix: F1 at ±20 ms, then the mean offset).
# Needs the corpus and its cache (scripts/make_corpus.sh) and splits (SPLITS, default the v6 swap splits of
# scripts/train_v6.sh step 1).
# Scale: EPOCHS=2, EPOCH_WINDOWS=6400, THREADS=2 (SMOKE=1: 1 epoch of 16 windows).
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-data}; CORPUS=${2:-v6-corpus}; MODEL=${3:-default}; RUN=${4:-v5o}
if [ "${SMOKE:-0}" = 1 ]; then : "${EPOCHS:=1}" "${EPOCH_WINDOWS:=16}" "${THREADS:=1}"; fi
EPOCHS=${EPOCHS:-2}; EPOCH_WINDOWS=${EPOCH_WINDOWS:-6400}; T=${THREADS:-2}
DS=.venv/bin/drumscribe; PY=.venv/bin/python
P="$W/processed/$CORPUS"; D="$W/runs/$RUN"; SPLITS=${SPLITS:-$P/splits-v6-swap}
[ -f "$SPLITS/train_split.txt" ] || { echo "train_offsets: no splits at $SPLITS (scripts/train_v6.sh step 1 makes them)" >&2; exit 2; }
. scripts/train_lib.sh  # V5_RECIPE
A=(--config configs/default_config.yaml --set data.egmd_root="$W/$CORPUS" --set data.processed_root="$P"
   --set data.splits_dir="$SPLITS" --set data.split_strategy=official "${V5_RECIPE[@]}"
   --set model.offset_head=true --set training.frozen=all_but_offsets --set hardware.num_workers=0
   --set early_stopping.enabled=false --set checkpoint.save_top_k=-1 --threads "$T" --no-progress --no-tune
   --set checkpoint.dirpath="$D/ckpt" --set logging.save_dir="$D/logs" --set logging.experiment_name="$RUN"
   --set training.num_epochs="$EPOCHS" --set training.epoch_windows="$EPOCH_WINDOWS"
   --set training.learning_rate=0.001 --set training.scheduler=none)
if [ ! -f "$D/done" ]; then
  if [ -f "$D/ckpt/drumscribe-last.ckpt" ]; then
    $DS train "${A[@]}" --resume "$D/ckpt/drumscribe-last.ckpt"
  else
    $DS train "${A[@]}" --init-from "$MODEL"
  fi
  touch "$D/done"
fi
for ck in "$D"/ckpt/drumscribe-epoch=*.ckpt; do
  e=$(basename "$ck" | sed -E 's/.*epoch=([0-9]+).*/\1/')
  [ -f "$D/graft-e$e.onnx" ] || $PY scripts/graft_offsets.py --model "$MODEL" --offsets "$ck" --out "$D/graft-e$e"
done
