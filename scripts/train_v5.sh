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
#   3. the long run: the warm arm resumed to LONG_MINUTES in all (Lightning restores the elapsed time);
#   4. every epoch checkpoint tuned and scored like step 2; the best selection criterion
#      (scripts/score_models.py) is written to runs/v5-warm/chosen.txt and scored on every condition set.
# Scale: AB_MINUTES=8, LONG_MINUTES=70, EPOCH_WINDOWS=1600, THREADS=2 (SMOKE=1: 0.5 / 1 / 16 / 1).
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-data}; CORPUS=${2:-real-corpus}
if [ "${SMOKE:-0}" = 1 ]; then : "${AB_MINUTES:=0.5}" "${LONG_MINUTES:=1}" "${EPOCH_WINDOWS:=16}" "${THREADS:=1}"; fi
AB_MINUTES=${AB_MINUTES:-8}; LONG_MINUTES=${LONG_MINUTES:-70}; EPOCH_WINDOWS=${EPOCH_WINDOWS:-1600}; T=${THREADS:-2}
DS=.venv/bin/drumscribe; PY=.venv/bin/python
P="$W/processed/$CORPUS"
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
# the recipe: class weights (toms x3, crash/ride x2, articulations x2), soft targets 0.5, the stronger
# augmentation of the ablation, epochs of EPOCH_WINDOWS windows (checkpoint + validation each)
R=(--set "loss.class_weights=[1,1,1,3,3,3,2,2,2,2,2,2,2]" --set training.soft_target_weight=0.5
   --set augmentation.time_stretch_prob=0.4 --set augmentation.pitch_shift_prob=0.5 --set augmentation.volume_scale_prob=0.7
   --set augmentation.reverb_prob=0.5 --set augmentation.noise_prob=0.5
   --set training.epoch_windows="$EPOCH_WINDOWS" --set training.num_epochs=1000 --set hardware.num_workers=0
   --set early_stopping.enabled=false --set checkpoint.save_top_k=-1 --threads "$T" --no-progress --no-tune)
arm() {  # arm NAME MINUTES LR [extra args...]
  local name=$1 minutes=$2 lr=$3; shift 3
  local d="$W/runs/v5-$name"
  local A=(--set checkpoint.dirpath="$d/ckpt" --set logging.save_dir="$d/logs" --set logging.experiment_name="v5-$name"
           --set training.max_minutes="$minutes" --set training.learning_rate="$lr")
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

# 1-2. the A/B
[ -f "$W/runs/v5-warm/ab.ckpt" ] || { arm warm "$AB_MINUTES" 0.00025 --init-from "${V4_FOR_V5:-default}";
                                      cp "$W/runs/v5-warm/ckpt/drumscribe-last.ckpt" "$W/runs/v5-warm/ab.ckpt"; }
[ -f "$W/runs/v5-scratch/ab.ckpt" ] || { arm scratch "$AB_MINUTES" 0.001;
                                         cp "$W/runs/v5-scratch/ckpt/drumscribe-last.ckpt" "$W/runs/v5-scratch/ab.ckpt"; }
tuned "$W/runs/v5-warm/ab.ckpt" "$W/runs/v5-warm/ab-tuned.ckpt"
tuned "$W/runs/v5-scratch/ab.ckpt" "$W/runs/v5-scratch/ab-tuned.ckpt"
$PY scripts/score_models.py --model v4=default --model ab-warm="$W/runs/v5-warm/ab-tuned.ckpt" \
  --model ab-scratch="$W/runs/v5-scratch/ab-tuned.ckpt" --sets "${SETS[@]:0:2}" --out "$W/scores/ab" --threads "$T"

# 3. the long run (the warm arm; LONG_MINUTES in all, the A/B's minutes included)
arm warm "$LONG_MINUTES" 0.00025

# 4. choose: every epoch checkpoint of the long run (and the last one) tuned on the validation subset and
#    scored on the criterion's four sets; the best criterion is the model (chosen.txt); the chosen one is
#    then scored on the per-condition sets too
M=(--model v4=default)
mkdir -p "$W/runs/v5-warm/tuned"
for c in "$W"/runs/v5-warm/ckpt/drumscribe-epoch=*.ckpt; do
  [ -f "$c" ] || continue
  e=$(basename "$c" .ckpt | sed 's/drumscribe-epoch=\([0-9]*\).*/e\1/')
  tuned "$c" "$W/runs/v5-warm/tuned/$e.ckpt"
  M+=(--model "v5-$e=$W/runs/v5-warm/tuned/$e.ckpt")
done
$PY scripts/score_models.py "${M[@]}" --sets "${SETS[@]:0:2}" --out "$W/scores/epochs" --threads "$T"
$PY - "$W/scores/epochs/scores.json" "$W/runs/v5-warm" <<'PYEOF'
import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r["model"].startswith("v5-") and r["criterion"] is not None]
if rows:
    best = max(rows, key=lambda r: r["criterion"])
    path = f"{sys.argv[2]}/tuned/{best['model'][3:]}.ckpt"
    open(f"{sys.argv[2]}/chosen.txt", "w").write(path + "\n")
    print(f"train_v5: chosen {best['model']} (criterion {best['criterion']:.4f}) -> {path}")
PYEOF
[ -f "$W/runs/v5-warm/chosen.txt" ] && $PY scripts/score_models.py --model v4=default \
  --model v5="$(cat "$W/runs/v5-warm/chosen.txt")" --sets "${SETS[@]}" --out "$W/scores/final" --threads "$T"
