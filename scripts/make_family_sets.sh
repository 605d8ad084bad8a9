#!/usr/bin/env bash
# Validation and test sets on the held-out kit FAMILY (issue 28 point 4) and the bundled model's scores on them.
#
# Usage: bash scripts/make_family_sets.sh [GMD_DIR] [WORKDIR] [MODEL]
#        (defaults: ../shared/gmd, data, the bundled model)
# Needs the family folder (scripts/make_heldout_family.py -> $FAMILY, default data/heldout-family): its real.yaml
# pool is heldout, so `--pool heldout --kit-dir $FAMILY --real-kits 1` renders every file on one family kit
# (LinnDrum LM-2, Pearl Master Studio, Roland TR-505, STK Drummer), reverberated files on the held-out IRs
# copied into the folder (--real-ir 0.7; otherwise the synthetic room).  The family shares no sample, author
# or soundfont with any training kit (scripts/audit_kits.py -> docs/results/heldout_audit/).
#
# 1. Per-condition validation sets (as make_corpus.sh step 3b): VAL_PERFS GMD validation performances,
#    VAL_MAX_SECONDS each, the same performances and kits under each condition, every drawn effect applied.
# 2. GMD TEST performances (TEST_PERFS, default all 129) on the family: clean and full mix (as
#    reproduce_shipped_model.sh step 6: --realism --full-mix 1, backing on the held-out backing soundfont).
# 3. `drumscribe evaluate` of MODEL on each set -> $RESULTS/family_<set>.json (8-class and 5-class micro F1).
# Scale: VAL_PERFS=30 VAL_MAX_SECONDS=60 TEST_PERFS=- (all) TEST_MAX_SECONDS=60; SMOKE=1: 2 performances x 10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
GMD=${1:-../shared/gmd}
W=${2:-data}
MODEL=${3:-}
FAMILY=${FAMILY:-data/heldout-family}
RESULTS=${RESULTS:-docs/results/heldout_audit}
if [ "${SMOKE:-0}" = 1 ]; then
  : "${VAL_PERFS:=2}" "${VAL_MAX_SECONDS:=10}" "${TEST_PERFS:=2}" "${TEST_MAX_SECONDS:=10}"
fi
VAL_PERFS=${VAL_PERFS:-30}; VAL_MAX_SECONDS=${VAL_MAX_SECONDS:-60}; TEST_MAX_SECONDS=${TEST_MAX_SECONDS:-60}
TP=(); [ -n "${TEST_PERFS:-}" ] && TP=(--performances "$TEST_PERFS")
DS=${DS:-.venv/bin/drumscribe}  # e.g. DS="env PYTHONPATH=/tmp/head/src .venv/bin/drumscribe": a committed tree
[ -f "$FAMILY/index.csv" ] || { echo "make_family_sets: no family folder at $FAMILY (run scripts/make_heldout_family.py)" >&2; exit 2; }
[ -f "$GMD/info.csv" ] || { echo "make_family_sets: no GMD at $GMD (info.csv missing)" >&2; exit 2; }
FAM=(--pool heldout --kit-dir "$FAMILY" --real-kits 1 --real-ir 0.7 --kits-per-performance 1)
EV=(); [ -n "$MODEL" ] && EV=(--checkpoint "$MODEL")
mkdir -p "$W" "$RESULTS"

for cond in clean reverb noise reverb_noise; do
  case $cond in
    clean) FX=() ;; reverb) FX=(--reverb) ;; noise) FX=(--noise) ;; reverb_noise) FX=(--reverb --noise) ;;
  esac
  [ -f "$W/family-$cond/e-gmd-v1.0.0.csv" ] || \
    nice -n 10 $DS synth --performances-from "$GMD" --splits validation --performances "$VAL_PERFS" "${FAM[@]}" \
      --max-seconds "$VAL_MAX_SECONDS" --seed 9 "${FX[@]}" --realism-prob 1 --out "$W/family-$cond" \
      --num-workers 1 --no-progress
done
for s in clean fullmix; do
  [ -f "$W/family-test-$s/e-gmd-v1.0.0.csv" ] || \
    nice -n 10 $DS synth --performances-from "$GMD" --splits test "${TP[@]}" "${FAM[@]}" \
      --max-seconds "$TEST_MAX_SECONDS" --seed 2026 $([ $s = fullmix ] && echo --realism --full-mix 1) \
      --out "$W/family-test-$s" --num-workers 1 --no-progress
done
for set in clean reverb noise reverb_noise test-clean test-fullmix; do
  nice -n 10 $DS evaluate "${EV[@]}" --split "$W/family-$set" --output "$RESULTS/family_${set}.json"
done
