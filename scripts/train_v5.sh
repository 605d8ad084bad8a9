#!/usr/bin/env bash
# v5: the real-recordings corpus (scripts/make_corpus.sh, REAL=1), articulation outputs, the ablation
# winners (soft targets, stronger augmentation, class weights), chosen on real recordings.
#   bash scripts/train_v5.sh [WORKDIR] [CORPUS]     (defaults: data, real-corpus)
# Needs make_corpus.sh's outputs in WORKDIR (the corpus's cache and the validation sets).
# Steps (each skipped when its output exists; the long run continues with --resume):
#   1. the A/B at equal short budget (AB_MINUTES each, training.max_minutes): from v4 ("warm", its weights
#      with new articulation outputs) and from scratch ("scratch"), same data, recipe and threads;
#   2. both scored (scripts/score_models.py) on real-dev and the synthetic validation sets, thresholds
#      tuned on the corpus's validation split (synthetic, held-out kits) only;
#   3. the start of the long run: the A/B warm arm's epoch with the best selection criterion
#      (runs/v5-warm/start.txt), or V5_START=MODEL when given (then the warm A/B arm is not re-run);
#   4. the long run ("long"): from that start, LONG_LR with the plateau schedule halving it after each
#      epoch whose validation loss did not improve, LONG_MINUTES of training (Lightning restores the elapsed
#      time on --resume), epochs of LONG_EPOCH_WINDOWS windows;
#   5. every epoch checkpoint of the long run tuned and scored like step 2, beside the start; the best
#      criterion is written to runs/v5-long/chosen.txt and scored on every condition set.
# Scale: AB_MINUTES=8, LONG_MINUTES=70, EPOCH_WINDOWS=1600, LONG_EPOCH_WINDOWS=6400, LONG_LR=1.25e-4,
#        THREADS=2 (SMOKE=1: 0.5 / 1 / 16 / 32 / - / 1).
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-data}; CORPUS=${2:-real-corpus}
if [ "${SMOKE:-0}" = 1 ]; then : "${AB_MINUTES:=0.5}" "${LONG_MINUTES:=1}" "${EPOCH_WINDOWS:=16}" "${LONG_EPOCH_WINDOWS:=32}" "${THREADS:=1}"; fi
AB_MINUTES=${AB_MINUTES:-8}; LONG_MINUTES=${LONG_MINUTES:-70}; EPOCH_WINDOWS=${EPOCH_WINDOWS:-1600}; T=${THREADS:-2}
LONG_EPOCH_WINDOWS=${LONG_EPOCH_WINDOWS:-6400}; LONG_LR=${LONG_LR:-0.000125}
DS=.venv/bin/drumscribe; PY=.venv/bin/python
P="$W/processed/$CORPUS"
# v4, the warm arm's start and the baseline of every table (the bundled model is v5 now): reproduce_shipped_model.sh
# passes its own export; otherwise v4 from git, e.g. git show 702c0da^:src/drumscribe/pretrained/drumscribe-default.safetensors
V4=${V4_FOR_V5:-$W/export/drumscribe-v4.safetensors}
[ -f "$V4" ] || { echo "train_v5: no v4 model at $V4 (set V4_FOR_V5; see the comment above)" >&2; exit 2; }
[ -f "${V4%.safetensors}.json" ] || { echo "train_v5: $V4 has no .json sidecar beside it" >&2; exit 2; }
[ -f "$P/splits/train_split.txt" ] || { echo "train_v5: no cache at $P (run scripts/make_corpus.sh)" >&2; exit 2; }
# the corpus's own splits, except that validation (every epoch) and threshold tuning read every VAL_EVERY-th
# validation file (held-out kits; VAL_EVERY=6: 62 of 372 files, 31 min): whole-file validation of all
# 372 would cost more than the epoch's training on 2 cores
VAL_EVERY=${VAL_EVERY:-6}
if [ ! -f "$P/splits-v5/val_split.txt" ]; then
  mkdir -p "$P/splits-v5"
  cp "$P/splits/train_split.txt" "$P/splits/test_split.txt" "$P/splits-v5/"
  awk -v k="$VAL_EVERY" 'NR % k == 1' "$P/splits/val_split.txt" > "$P/splits-v5/val_split.txt"
fi
G=(--set data.egmd_root="$W/$CORPUS" --set data.processed_root="$P"
   --set data.splits_dir="$P/splits-v5" --set data.split_strategy=official)
. scripts/train_lib.sh  # V5_RECIPE, epochs, best
# the recipe (V5_RECIPE), epochs of EPOCH_WINDOWS windows (checkpoint + validation each)
R=("${V5_RECIPE[@]}"
   --set training.num_epochs=1000 --set hardware.num_workers=0
   --set early_stopping.enabled=false --set checkpoint.save_top_k=-1 --threads "$T" --no-progress --no-tune)
arm() {  # arm NAME MINUTES LR WINDOWS [extra args...]
  local name=$1 minutes=$2 lr=$3 windows=$4; shift 4
  local d="$W/runs/v5-$name"
  local A=(--set checkpoint.dirpath="$d/ckpt" --set logging.save_dir="$d/logs" --set logging.experiment_name="v5-$name"
           --set training.max_minutes="$minutes" --set training.learning_rate="$lr" --set training.epoch_windows="$windows")
  if [ -f "$d/ckpt/drumscribe-last.ckpt" ]; then
    $DS train --config configs/default_config.yaml "${G[@]}" "${R[@]}" "${A[@]}" --resume "$d/ckpt/drumscribe-last.ckpt"
  else
    $DS train --config configs/default_config.yaml "${G[@]}" "${R[@]}" "${A[@]}" "$@"
  fi
}
tuned() {  # tuned CKPT OUT: a copy of CKPT with thresholds tuned on the corpus's validation split
  [ -f "$2" ] || { cp "$1" "$2.tmp" && $DS tune --checkpoint "$2.tmp" --config configs/default_config.yaml "${G[@]}" \
                     --split val --threads "$T" >/dev/null && mv "$2.tmp" "$2"; }
}
SETS=("$W/gmd-val-clean" "$W/gmd-val-fullmix" "$W/cond-clean" "$W/cond-backing" "$W/cond-reverb" "$W/cond-noise" "$W/cond-reverb_noise")

BASELINE=v4

# 1-2. the A/B at equal budget: warm (v4 + new articulation outputs) and scratch
if [ -z "${V5_START:-}" ] && [ ! -f "$W/runs/v5-warm/ab.ckpt" ]; then
  arm warm "$AB_MINUTES" 0.00025 "$EPOCH_WINDOWS" --init-from "$V4"
  cp "$W/runs/v5-warm/ckpt/drumscribe-last.ckpt" "$W/runs/v5-warm/ab.ckpt"
fi
[ -f "$W/runs/v5-scratch/ab.ckpt" ] || { arm scratch "$AB_MINUTES" 0.001 "$EPOCH_WINDOWS";
                                         cp "$W/runs/v5-scratch/ckpt/drumscribe-last.ckpt" "$W/runs/v5-scratch/ab.ckpt"; }
tuned "$W/runs/v5-scratch/ab.ckpt" "$W/runs/v5-scratch/ab-tuned.ckpt"
EPOCHS=()
[ -n "${V5_START:-}" ] || epochs v5-warm ab-warm
$PY scripts/score_models.py --model v4="$V4" "${EPOCHS[@]}" \
  --model ab-scratch="$W/runs/v5-scratch/ab-tuned.ckpt" --sets "${SETS[@]:0:2}" --out "$W/scores/ab" --threads "$T"

# 3. the long run's start
START=${V5_START:-}
if [ -z "$START" ]; then
  [ -f "$W/runs/v5-warm/start.txt" ] || best "$W/scores/ab/scores.json" ab-warm "$W/runs/v5-warm/start.txt"
  START=$(cat "$W/runs/v5-warm/start.txt")
fi

# 4. the long run
if [ -f "$W/runs/v5-long/ckpt/drumscribe-last.ckpt" ]; then
  arm long "$LONG_MINUTES" "$LONG_LR" "$LONG_EPOCH_WINDOWS" --set training.scheduler_patience=0
else
  arm long "$LONG_MINUTES" "$LONG_LR" "$LONG_EPOCH_WINDOWS" --set training.scheduler_patience=0 --init-from "$START"
fi

# 5. choose among the start and every epoch of the long run; the chosen one on every condition set
EPOCHS=()
epochs v5-long long
# v4's results on the same sets are the A/B's (same files, same overrides): not computed again
mkdir -p "$W/scores/long" "$W/scores/final"
cp -n "$W"/scores/ab/v4_*.json "$W/scores/long/" 2>/dev/null || true; cp -n "$W"/scores/ab/v4_*.json "$W/scores/final/" 2>/dev/null || true
$PY scripts/score_models.py --model v4="$V4" --model start="$START" "${EPOCHS[@]}" \
  --sets "${SETS[@]:0:2}" --out "$W/scores/long" --threads "$T"
best "$W/scores/long/scores.json" "" "$W/runs/v5-long/chosen.txt"
$PY scripts/score_models.py --model v4="$V4" --model v5="$(cat "$W/runs/v5-long/chosen.txt")" \
  --sets "${SETS[@]}" --out "$W/scores/final" --threads "$T"
