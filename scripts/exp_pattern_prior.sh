#!/usr/bin/env bash
# Usage: bash scripts/exp_pattern_prior.sh [WORKDIR]; the evaluation sets come from scripts/make_corpus.sh step 3.
# Issue 9, point 5 "after": same model, same steps, two training corpora of 2 h (train-pool kits,
# GMD-train or generated performances), evaluated on GMD validation performances on held-out kits.
set -euo pipefail
cd "$(dirname "$0")/.."
DS=".venv/bin/drumscribe"
E=${1:-data/exp-pattern-prior}; mkdir -p "$E"

$DS synth --out $E/A-patterns --hours 2 --pool train --realism --seed 1 --num-workers 1 --no-progress
$DS synth --performances-from ../shared/gmd --splits train --out $E/B-gmd --hours 2 --pool train --kits-per-performance 3 \
   --variety --realism --full-mix 0.5 --seed 1 --num-workers 1 --no-progress
train() {  # name
  local n=$1
  S=(--set data.egmd_root=$E/$n --set data.processed_root=$E/proc-$n --set data.splits_dir=$E/proc-$n/splits
     --set data.split_strategy=group)
  $DS preprocess --config configs/default_config.yaml --num-workers 1 --quiet "${S[@]}"
  $DS train --config configs/default_config.yaml "${S[@]}" --set checkpoint.dirpath=$E/runs/$n/ckpt \
     --set logging.save_dir=$E/runs/$n/logs --set training.num_epochs=12 --set training.precision=32 \
     --set early_stopping.enabled=false --threads 1 --no-tune --no-progress
}
train A-patterns > $E/train-A.log 2>&1 &
train B-gmd > $E/train-B.log 2>&1 &
wait
for n in A-patterns B-gmd; do
  C=$E/runs/$n/ckpt/drumscribe-last.ckpt
  for v in clean fullmix; do  # from scripts/make_corpus.sh step 3
    $DS evaluate --checkpoint $C --backend torch --split data/gmd-val-$v --config configs/default_config.yaml --output $E/eval-$n-$v.json > $E/eval-$n-$v.txt 2>&1 || true
  done
done
echo done
