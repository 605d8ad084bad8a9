#!/usr/bin/env bash
# Everything a candidate for the bundled model must show before it replaces it (issue 28, "done when"), measured
# beside the shipped model's committed results; nothing here touches src/ or docs/ (shipping is a separate, explicit
# copy of the files this writes).
#
#   bash scripts/candidate_report.sh CKPT NAME [WORKDIR]     (WORKDIR default: data)
#
# CKPT: a checkpoint whose thresholds were tuned on synthetic validation (e.g. runs/v6s-long/tuned/eNN.ckpt).
# Writes under OUT (default WORKDIR/candidates/NAME), each step skipped when its output exists (rerun to continue):
#   1. drumscribe-NAME.{safetensors,json,onnx}: the bundle and its ONNX export (checked against torch by export);
#   2. its velocity levels fitted on VEL_FILES training renders of CORPUS and written into its sidecar
#      (scripts/fit_velocity_levels.py; never validation, test or real recordings);
#   3. results/: `drumscribe evaluate` of the ONNX model on real-dev (drums, sums), GMD test (held-out kits, clean
#      and full mix: WORKDIR/gmd-test-*) and the held-out kit family (six sets: WORKDIR/family-*);
#   4. gate.json: the articulation gate (scripts/articulation_gate.py --write: an articulation is written only
#      where its precision is >= 0.80 on real-dev, in every leave-one-song-out subset, and on GMD test);
#   5. tables.md: the candidate beside the shipped model and ADTOF (scripts/side_by_side.py, their committed JSONs),
#      the family per condition (scripts/family_scores.py);
#   6. bench.txt (BENCH=1 only: needs a quiet machine): bench/transcribe.py with the candidate beside the bundled
#      model (and ADTOF where ADTOF=PATH names its command), one run.
# Variables: OUT, CORPUS=WORKDIR/v6-corpus, VEL_FILES=1000, THREADS=2, BENCH=0, ADTOF=-,
#            SHIPPED=docs/results/v5 (the shipped model's result JSONs), SHIPPED_NAME=v5.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bash scripts/candidate_report.sh CKPT NAME [WORKDIR]" >&2; exit 2; }
CK=$1; NAME=$2; W=${3:-data}
OUT=${OUT:-$W/candidates/$NAME}; CORPUS=${CORPUS:-$W/v6-corpus}; VEL_FILES=${VEL_FILES:-1000}; T=${THREADS:-2}
SHIPPED=${SHIPPED:-docs/results/v5}; SN=${SHIPPED_NAME:-v5}; R=docs/results
DS=.venv/bin/drumscribe; PY=.venv/bin/python
[ -f "$CK" ] || { echo "candidate_report: $CK: no such checkpoint" >&2; exit 2; }
for s in gmd-test-clean gmd-test-fullmix family-clean family-reverb family-noise family-reverb_noise \
         family-test-clean family-test-fullmix; do
  [ -d "$W/$s" ] || { echo "candidate_report: missing evaluation set $W/$s (reproduce_shipped_model.sh step 6, make_family_sets.sh)" >&2; exit 2; }
done
STEM="$OUT/drumscribe-$NAME"; RES="$OUT/results"
mkdir -p "$RES"
step() { echo "==> $(date '+%F %T') $*" >&2; }

step "1. bundle and ONNX"
if [ ! -f "$STEM.onnx" ]; then
  $PY -c "import sys; from drumscribe.training.checkpoint import export_bundle; print(export_bundle(sys.argv[1], sys.argv[2]))" \
    "$CK" "$STEM.tmp"
  # as reproduce_shipped_model.sh: the export's sidecar replaces the bundle's (one STEM.json for both files)
  $DS export --checkpoint "$CK" "$STEM.tmp.onnx" --overwrite
  mv "$STEM.tmp.safetensors" "$STEM.safetensors"; mv "$STEM.tmp.json" "$STEM.json"; mv "$STEM.tmp.onnx" "$STEM.onnx"
fi

step "2. velocity levels (training renders only)"
[ -f "$OUT/velocity_levels.json" ] || \
  $PY scripts/fit_velocity_levels.py --model "$STEM.safetensors" --corpus "$CORPUS" --files "$VEL_FILES" --write \
    --out "$OUT/velocity_levels.json"

step "3. evaluate"
ev() {  # ev SPLIT NAME
  [ -f "$RES/$2.json" ] || $DS evaluate --checkpoint "$STEM.onnx" --split "$1" --threads "$T" --output "$RES/$2.json"
}
ev real-dev/drums drums
ev real-dev/multitrack_sum multitrack_sum
ev "$W/gmd-test-clean" gmd_test_clean
ev "$W/gmd-test-fullmix" gmd_test_fullmix
for s in clean reverb noise reverb_noise test-clean test-fullmix; do ev "$W/family-$s" "family_$s"; done

step "4. articulation gate"
[ -f "$OUT/gate.json" ] || \
  $PY scripts/articulation_gate.py --model "$STEM.safetensors" --real "$RES/drums.json" "$RES/multitrack_sum.json" \
    --gmd "$RES/gmd_test_clean.json" "$RES/gmd_test_fullmix.json" --write --out "$OUT/gate.json"

step "5. tables"
{
  echo "# $NAME beside $SN and ADTOF"; echo
  echo "Checkpoint: \`$CK\`. Written by \`bash scripts/candidate_report.sh $CK $NAME $W\`."; echo
  $PY scripts/side_by_side.py --articulations \
    --row "real-dev drums|$NAME|$RES/drums.json" --row "real-dev drums|$SN|$SHIPPED/${SN}_drums.json" \
    --row "real-dev drums|ADTOF|$R/adtof_realdev_drums.json:adtof" \
    --row "real-dev sum|$NAME|$RES/multitrack_sum.json" --row "real-dev sum|$SN|$SHIPPED/${SN}_multitrack_sum.json" \
    --row "real-dev sum|ADTOF|$R/adtof_realdev_multitrack_sum.json:adtof" \
    --row "GMD test clean|$NAME|$RES/gmd_test_clean.json" --row "GMD test clean|$SN|$SHIPPED/${SN}_gmd_test_clean.json" \
    --row "GMD test clean|ADTOF|$R/adtof_gmd_test_clean.json:adtof" \
    --row "GMD test full mix|$NAME|$RES/gmd_test_fullmix.json" \
    --row "GMD test full mix|$SN|$SHIPPED/${SN}_gmd_test_fullmix.json" \
    --row "GMD test full mix|ADTOF|$SHIPPED/adtof5_gmd_test_fullmix.json:adtof"
  echo; echo "## The held-out kit family, per condition"; echo
  $PY scripts/family_scores.py --results "$RES" --data "$W"
  echo; echo "## $SN on the family (committed)"; echo
  $PY scripts/family_scores.py --results "$R/heldout_audit" --data "$W"
} > "$OUT/tables.md.tmp"
mv "$OUT/tables.md.tmp" "$OUT/tables.md"

if [ "${BENCH:-0}" = 1 ]; then
  step "6. speed, side by side (one run; a quiet machine)"
  AD=(); [ -n "${ADTOF:-}" ] && AD=(--adtof "$ADTOF")
  $PY bench/transcribe.py --backends onnx --model "$NAME=$STEM.onnx" "${AD[@]}" --long-minutes 20 > "$OUT/bench.txt.tmp"
  mv "$OUT/bench.txt.tmp" "$OUT/bench.txt"
fi
step "done: $OUT/tables.md"
