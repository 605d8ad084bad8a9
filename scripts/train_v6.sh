#!/usr/bin/env bash
# v6 (issue 28): the pattern-breaking corpus, learned sub-frame offsets, and a long run on a fixed schedule.
#   bash scripts/train_v6.sh [WORKDIR] [CORPUS]     (defaults: data, v6-corpus)
# Needs, in WORKDIR: the corpus and its cache from
#   SWAP=0.25 REAL=1 CORPUS=v6-corpus CORPUS_KITS=3 CORPUS_MAX_SECONDS=30 bash scripts/make_corpus.sh ../shared/gmd data 2
# (which also renders gmd-val-clean / gmd-val-fullmix / cond-*), and the held-out kit family's sets from
#   bash scripts/make_family_sets.sh            (family-clean, family-reverb_noise, ...)
# Steps (each skipped when its output exists; the long run continues with --resume whenever it was stopped):
#   1. splits: the corpus's training files with and without the whole-file piece swaps (CSV `pattern` swap:*);
#      validation (every epoch) and threshold tuning read every VAL_EVERY-th validation file (held-out kits);
#   2. the data A/B at equal budget (AB_EPOCHS epochs of EPOCH_WINDOWS windows each, same steps, lr, threads,
#      recipe): "perf" trains without the swap files, "swap" with them; both start from v5 (the bundled model)
#      with the new offset head (model.offset_head) and loss.velocity_weight=VEL_WEIGHT;
#   3. v5 and every A/B epoch, thresholds tuned on the synthetic validation split only, scored on the v6
#      criterion (scripts/score_models.py --criterion v6: real-dev, gmd-val, the held-out kit family);
#   4. the long run from the best A/B epoch: LONG_EPOCHS epochs of LONG_EPOCH_WINDOWS windows on a cosine
#      schedule from LONG_LR stated here in advance (training.scheduler=cosine over training.num_epochs), a
#      checkpoint every epoch; stop it any time, run this script again to continue (--resume);
#   5. every long-run epoch checkpoint tuned and scored like step 3 (resumable), and the weight average of each
#      AVG consecutive epochs (0..AVG-1, AVG..2AVG-1, ...: scripts/average_checkpoints.py, tuned the same way);
#      the best criterion -> runs/v6-long/chosen.txt.
# Scale: AB_EPOCHS=3, EPOCH_WINDOWS=1600, LONG_EPOCHS=300, LONG_EPOCH_WINDOWS=6400 (400 steps of 16),
#        LONG_LR=2.5e-4, VEL_WEIGHT=0.5, OFFSET_HEAD=true (false: v5's heads),
#        WARMUP=0 (training.warmup_steps: linear learning-rate warm-up of each run's first steps), THREADS=2, LONG_MINUTES=100000 (a cap, not a plan)
#        AVG=5 (epochs per weight-average window in step 5; 0: none)
#        (SMOKE=1: 1 / 16 / 2 / 16).  LONG_ONLY=1 skips to step 4 once start.txt exists; SCORE_ONLY=1 (with
#        LONG_ONLY=1) skips the training and scores the long run's epochs written so far (step 5).
#        TAG=v6 names the runs and scores (runs/TAG-ab-ARM, runs/TAG-long, scores/TAG-ab, scores/TAG-long), so a
#        second corpus keeps its own; ARMS="perf swap" the A/B arms to train (e.g. ARMS=swap); AB_ONLY=1 stops
#        after the A/B's scores (step 3).  LONG_FROM=scratch (or a model path): the long run starts there on the
#        swap data, without the A/B (used with LONG_ONLY=1).
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-data}; CORPUS=${2:-v6-corpus}
if [ "${SMOKE:-0}" = 1 ]; then : "${AB_EPOCHS:=1}" "${EPOCH_WINDOWS:=16}" "${LONG_EPOCHS:=2}" "${LONG_EPOCH_WINDOWS:=16}" "${THREADS:=1}"; fi
AB_EPOCHS=${AB_EPOCHS:-3}; EPOCH_WINDOWS=${EPOCH_WINDOWS:-1600}; LONG_EPOCHS=${LONG_EPOCHS:-300}
LONG_EPOCH_WINDOWS=${LONG_EPOCH_WINDOWS:-6400}; LONG_LR=${LONG_LR:-0.00025}; VEL_WEIGHT=${VEL_WEIGHT:-0.5}; OFFSET_HEAD=${OFFSET_HEAD:-true}; WARMUP=${WARMUP:-0}
LONG_MINUTES=${LONG_MINUTES:-100000}; T=${THREADS:-2}; VAL_EVERY=${VAL_EVERY:-6}; AVG=${AVG:-5}
TAG=${TAG:-v6}; ARMS=${ARMS:-perf swap}  # run/score folder names ($TAG-ab-ARM, $TAG-long) and the A/B arms trained
DS=.venv/bin/drumscribe; PY=.venv/bin/python
P="$W/processed/$CORPUS"
[ -f "$P/splits/train_split.txt" ] || { echo "train_v6: no cache at $P (run scripts/make_corpus.sh)" >&2; exit 2; }
[ -f "$W/$CORPUS/e-gmd-v1.0.0.csv" ] || { echo "train_v6: no corpus CSV at $W/$CORPUS" >&2; exit 2; }

# 1. splits
for arm in perf swap; do
  [ -f "$P/splits-v6-$arm/val_split.txt" ] && continue
  mkdir -p "$P/splits-v6-$arm"
  cp "$P/splits/test_split.txt" "$P/splits-v6-$arm/"
  awk -v k="$VAL_EVERY" 'NR % k == 1' "$P/splits/val_split.txt" > "$P/splits-v6-$arm/val_split.txt.tmp"
  $PY - "$W/$CORPUS/e-gmd-v1.0.0.csv" "$P/splits/train_split.txt" "$arm" > "$P/splits-v6-$arm/train_split.txt.tmp" <<'PYEOF'
import csv, sys
from pathlib import PurePosixPath
corpus_csv, train, arm = sys.argv[1:4]
swapped = {str(PurePosixPath(r["audio_filename"]).with_suffix("")) for r in csv.DictReader(open(corpus_csv))
           if r.get("pattern", "").startswith("swap:")}
rows = [l.rstrip("\n") for l in open(train) if l.strip()]
kept = [l for l in rows if arm == "swap" or str(PurePosixPath(l).with_suffix("")) not in swapped]
print(f"train_v6: {arm}: {len(kept)} of {len(rows)} training files ({len(swapped)} swap renderings in the corpus)",
      file=sys.stderr)
print("\n".join(kept))
PYEOF
  mv "$P/splits-v6-$arm/train_split.txt.tmp" "$P/splits-v6-$arm/train_split.txt"
  mv "$P/splits-v6-$arm/val_split.txt.tmp" "$P/splits-v6-$arm/val_split.txt"
done
G() { echo --set data.egmd_root="$W/$CORPUS" --set data.processed_root="$P" --set data.splits_dir="$P/splits-v6-$1" \
           --set data.split_strategy=official; }
. scripts/train_lib.sh  # V5_RECIPE, epochs, averages, best
# the recipe: v5's (class weights, soft targets, the stronger augmentation) + the offset head + velocity weight
R=("${V5_RECIPE[@]}"
   --set model.offset_head="$OFFSET_HEAD" --set loss.velocity_weight="$VEL_WEIGHT" --set training.warmup_steps="$WARMUP"
   --set hardware.num_workers=0
   --set early_stopping.enabled=false --set checkpoint.save_top_k=-1 --threads "$T" --no-progress --no-tune)
train() {  # train RUN SPLITS [extra args...]: start it, or continue it from its last checkpoint
  local d="$W/runs/$1" splits=$2; shift 2
  local A=(--set checkpoint.dirpath="$d/ckpt" --set logging.save_dir="$d/logs" --set logging.experiment_name="$(basename "$d")")
  if [ -f "$d/ckpt/drumscribe-last.ckpt" ]; then
    $DS train --config configs/default_config.yaml $(G "$splits") "${R[@]}" "${A[@]}" "$@" --resume "$d/ckpt/drumscribe-last.ckpt"
  else
    $DS train --config configs/default_config.yaml $(G "$splits") "${R[@]}" "${A[@]}" "$@" --init-from default
  fi
}
tuned() {  # tuned CKPT OUT: a copy of CKPT with thresholds tuned on the synthetic validation split
  [ -f "$2" ] || { cp "$1" "$2.tmp" && $DS tune --checkpoint "$2.tmp" --config configs/default_config.yaml $(G swap) \
                     --split val --threads "$T" >/dev/null && mv "$2.tmp" "$2"; }
}
BASELINE=v5
SETS=("$W/gmd-val-clean" "$W/gmd-val-fullmix" "$W/family-clean" "$W/family-reverb_noise")
for s in "${SETS[@]}"; do [ -d "$s" ] || { echo "train_v6: missing evaluation set $s" >&2; exit 2; }; done
SCORE=(--criterion v6 --sets "${SETS[@]}" --threads "$T")

if [ -n "${LONG_FROM:-}" ] && [ ! -f "$W/runs/$TAG-long/start.txt" ]; then
  # LONG_FROM=scratch (or a model): the long run starts there, without the A/B (on the swap data)
  mkdir -p "$W/runs/$TAG-long"; echo "$LONG_FROM" > "$W/runs/$TAG-long/start.txt"; echo swap > "$W/runs/$TAG-long/splits.txt"
fi
if [ "${LONG_ONLY:-0}" != 1 ] || [ ! -f "$W/runs/$TAG-long/start.txt" ]; then
  # 2. the data A/B: equal steps, constant learning rate
  for arm in $ARMS; do
    [ -f "$W/runs/$TAG-ab-$arm/done" ] && continue
    train "$TAG-ab-$arm" "$arm" --set training.num_epochs="$AB_EPOCHS" --set training.epoch_windows="$EPOCH_WINDOWS" \
      --set training.learning_rate="$LONG_LR" --set training.scheduler=none
    touch "$W/runs/$TAG-ab-$arm/done"
  done
  # 3. scored on the v6 criterion
  EPOCHS=()
  epochs "$TAG-ab-perf" ab-perf
  epochs "$TAG-ab-swap" ab-swap
  $PY scripts/score_models.py --model v5=default "${EPOCHS[@]}" "${SCORE[@]}" --out "$W/scores/$TAG-ab"
  mkdir -p "$W/runs/$TAG-long"
  [ -f "$W/runs/$TAG-long/start.txt" ] || best "$W/scores/$TAG-ab/scores.json" ab- "$W/runs/$TAG-long/start.txt"
  # the long run trains on the winning arm's data
  [ -f "$W/runs/$TAG-long/splits.txt" ] || { grep -q "$TAG-ab-perf" "$W/runs/$TAG-long/start.txt" && echo perf || echo swap; } \
    > "$W/runs/$TAG-long/splits.txt"
fi

[ "${AB_ONLY:-0}" = 1 ] && exit 0  # AB_ONLY=1: the A/B and its scores only (no long run)

# 4. the long run (continues where it stopped); SCORE_ONLY=1 skips it and scores the epochs written so far
#    (while the run goes on in another process)
START=$(cat "$W/runs/$TAG-long/start.txt")
if [ "${SCORE_ONLY:-0}" != 1 ]; then
LONG=(--set training.num_epochs="$LONG_EPOCHS" --set training.epoch_windows="$LONG_EPOCH_WINDOWS"
      --set training.learning_rate="$LONG_LR" --set training.scheduler=cosine --set training.max_minutes="$LONG_MINUTES")
SPLITS=$(cat "$W/runs/$TAG-long/splits.txt" 2>/dev/null || echo swap)
if [ -f "$W/runs/$TAG-long/ckpt/drumscribe-last.ckpt" ]; then
  train "$TAG-long" "$SPLITS" "${LONG[@]}"
else
  INIT=(--init-from "$START"); [ "$START" = scratch ] && INIT=()  # scratch: the network's own initialisation
  $DS train --config configs/default_config.yaml $(G "$SPLITS") "${R[@]}" "${LONG[@]}" \
    --set checkpoint.dirpath="$W/runs/$TAG-long/ckpt" --set logging.save_dir="$W/runs/$TAG-long/logs" \
    --set logging.experiment_name="$TAG-long" "${INIT[@]}"
fi
fi

# 5. every epoch of the long run scored, and (AVG=K > 0) the mean of each K consecutive epochs; the best one chosen
EPOCHS=()
epochs "$TAG-long" long
averages "$TAG-long" long "$AVG"
mkdir -p "$W/scores/$TAG-long"
cp -n "$W"/scores/$TAG-ab/v5_*.json "$W/scores/$TAG-long/" 2>/dev/null || true
$PY scripts/score_models.py --model v5=default "${EPOCHS[@]}" "${SCORE[@]}" --out "$W/scores/$TAG-long"
best "$W/scores/$TAG-long/scores.json" long "$W/runs/$TAG-long/chosen.txt"
