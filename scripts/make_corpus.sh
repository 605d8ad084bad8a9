#!/usr/bin/env bash
# The training corpus of issue 9: GMD's human performances rendered through many kits,
# clean and inside songs, with the variety options; validation/test on held-out kits.
#
# Usage: bash scripts/make_corpus.sh [GMD_DIR] [WORKDIR] [WORKERS]
#        (defaults: ../shared/gmd, data/, 2)
# Needs GMD (Groove MIDI Dataset, CC BY 4.0, Magenta datasets page: info.csv + .mid)
# and the Debian kits/soundfonts that ./run installs.  Sizes and times: docs/synth.md
# ("A ready recipe"), extrapolated from a measured 1 h slice: ~68 h of audio (54 h train),
# ~22 GB of WAV, ~5.5 GB of cache, ~2 h wall on 2 busy cores.  KEEP_WAV=0 deletes the WAVs once they are cached (the cache is all
# training needs; the MIDI and the CSV stay).
# Scale (environment; full / SMOKE=1 value, "-" = not passed: every performance, uncapped):
#   CORPUS_PERFS=-/26 (with seed 1 the first 26 include validation and test ones)   CORPUS_KITS=5/2
#   CORPUS_MAX_SECONDS=-/10   VAL_PERFS=30/2   VAL_MAX_SECONDS=60/10   (WORKERS default 2/1)
#   SMOKE=1 bash scripts/make_corpus.sh ../shared/gmd /tmp/smoke   (a minute: checks the commands only)
# Recipe (environment): REAL=1 (default) is the real-recordings corpus of issue 20 into $W/real-corpus:
#   real recorded kits and real IRs from REAL_SOUNDS (default ../shared/real-sounds; training material only),
#   real backing instruments, multitrack sums and drumless songs, 6 renderings per performance (~65 h train);
#   REAL=0 is v4's corpus (issue 9) into $W/gmd-corpus, exactly as before (scripts/reproduce_shipped_model.sh).
#   SWAP=P (default 0 = v5's corpus): chance of a whole-file piece swap (synth --swap: no hi-hat, hi-hat on the ride,
#   no hi-hat where the snare plays, kick+snare only, kick alone, crash<->ride, toms reversed; issue 28).
#   SYNTH_EXTRA="FLAGS": more `drumscribe synth` flags for the corpus (e.g. "--random-onsets 0.2 --solo 0.1": they
#   override --variety's shares).
#   REAL_IR=P (default 0.7): the share of the reverberated files that get a real IR (the rest a synthesised room);
#   since the doubtful-licence IRs left the recipe the real IRs are the EMT 140 plates only (issue 28's room A/B).
set -euo pipefail
cd "$(dirname "$0")/.."
GMD=${1:-../shared/gmd}
W=${2:-data}
if [ "${SMOKE:-0}" = 1 ]; then
  : "${CORPUS_PERFS:=26}" "${CORPUS_KITS:=2}" "${CORPUS_MAX_SECONDS:=10}" "${VAL_PERFS:=2}" "${VAL_MAX_SECONDS:=10}"
fi
J=${3:-$([ "${SMOKE:-0}" = 1 ] && echo 1 || echo 2)}
REAL=${REAL:-1}; REAL_SOUNDS=${REAL_SOUNDS:-../shared/real-sounds}
CORPUS_KITS=${CORPUS_KITS:-$([ "$REAL" = 1 ] && echo 6 || echo 5)}; VAL_PERFS=${VAL_PERFS:-30}; VAL_MAX_SECONDS=${VAL_MAX_SECONDS:-60}
CORPUS=${CORPUS:-}  # output folder name under WORKDIR (default: real-corpus / gmd-corpus by REAL)
CORPUS_SIZE=()  # empty: every GMD performance, full length
[ -n "${CORPUS_PERFS:-}" ] && CORPUS_SIZE+=(--performances "$CORPUS_PERFS")
[ -n "${CORPUS_MAX_SECONDS:-}" ] && CORPUS_SIZE+=(--max-seconds "$CORPUS_MAX_SECONDS")
DS=".venv/bin/drumscribe"
[ -x "$DS" ] || { ./run --version >/dev/null; }
[ -f "$GMD/info.csv" ] || { echo "make_corpus: no GMD at $GMD (info.csv missing); get it from the Magenta datasets page (groove-v1.0.0-midionly)" >&2; exit 2; }
mkdir -p "$W"

# 1. Corpus: every GMD performance.  --eval-on-heldout: train-split performances on
#    train-pool kits (5 each, ~54 h), validation/test performances on held-out kits
#    (and held-out backing soundfonts, held-out procedural seeds).  Half the files are
#    full mixes (song + mastering, codec artefacts on 75 % of those), all drum-side
#    effects at p=0.75; --variety: kit mixing, procedural kits, per-piece variation,
#    dropout, random onsets, solo pieces.
#    REAL=1 adds: a real recorded kit for 35 % of the renderings (train pool: Open Source Drumkit,
#    MuldjordKit with a per-file mic mix; held out: Pearl Master Studio), a real IR for 70 % of the
#    reverberated files (held-out IRs for held-out kits), real guitar/piano parts in half of the songs,
#    30 % of the songs as unmastered multitrack sums, 5 % drumless songs, drum-to-backing +12..-12 dB.
REALX=()
[ "${SWAP:-0}" = 0 ] || REALX+=(--swap "$SWAP")
# shellcheck disable=SC2206
[ -z "${SYNTH_EXTRA:-}" ] || REALX+=($SYNTH_EXTRA)
[ -n "$CORPUS" ] || CORPUS=$([ "$REAL" = 1 ] && echo real-corpus || echo gmd-corpus)
if [ "$REAL" = 1 ]; then
  [ -f "$REAL_SOUNDS/index.csv" ] || { echo "make_corpus: REAL=1 needs REAL_SOUNDS (a folder with index.csv; got $REAL_SOUNDS)" >&2; exit 2; }
  REALX+=(--kit-dir "$REAL_SOUNDS" --real-kits 0.35 --real-ir "${REAL_IR:-0.7}" --real-instruments 0.5 --multitrack-sum 0.3
         --backing-only 0.05 --backing-ratio -12 12)
fi
$DS synth --performances-from "$GMD" --out "$W/$CORPUS" "${CORPUS_SIZE[@]}" --eval-on-heldout --kits-per-performance "$CORPUS_KITS" \
  --variety --realism --full-mix 0.5 --seed 1 "${REALX[@]}" --num-workers "$J" --no-progress

# 2. Feature cache: default config (E-GMD's TD note map), official splits from the CSV.
C=(--set data.egmd_root="$W/$CORPUS" --set data.processed_root="$W/processed/$CORPUS"
   --set data.splits_dir="$W/processed/$CORPUS/splits" --set data.split_strategy=official)
# REAL=0 is v4's corpus: 8-class targets (v1-v4 have no articulation outputs); REAL=1 the default
# config's articulation targets too
[ "$REAL" = 1 ] || C+=(--set "model.articulations=[]")
$DS preprocess --config configs/default_config.yaml --num-workers "$J" --quiet "${C[@]}"
if [ "${KEEP_WAV:-1}" = 0 ]; then
  find "$W/$CORPUS" -name '*.wav' -delete
fi

# 3. Evaluation sets for the pattern-prior measurement (docs/synth.md): 30 GMD validation
#    performances on held-out kits, clean and full mix (the "before" numbers used these).
$DS synth --performances-from "$GMD" --splits validation --performances "$VAL_PERFS" --pool heldout --kits-per-performance 1 \
  --max-seconds "$VAL_MAX_SECONDS" --seed 7 --out "$W/gmd-val-clean" --num-workers "$J" --no-progress
$DS synth --performances-from "$GMD" --splits validation --performances "$VAL_PERFS" --pool heldout --kits-per-performance 1 \
  --max-seconds "$VAL_MAX_SECONDS" --seed 7 --realism --full-mix 1 --out "$W/gmd-val-fullmix" --num-workers "$J" --no-progress

# 3b. Per-condition validation sets (issue "Bundled model v5", point 4): VAL_PERFS GMD validation performances
#     on held-out kits (with REAL=1 the held-out real kit and IRs too), VAL_MAX_SECONDS each, the same
#     performances and kits under each condition: clean, backing (a song around the drums, no mastering),
#     reverb, noise, reverb+noise (every drawn effect applied: --realism-prob 1).
COND_KIT=(); [ "$REAL" = 1 ] && COND_KIT=(--kit-dir "$REAL_SOUNDS" --real-kits 0.35 --real-ir 0.7)
for cond in clean backing reverb noise reverb_noise; do
  case $cond in
    clean) FX=() ;; backing) FX=(--backing --full-mix 1) ;; reverb) FX=(--reverb) ;; noise) FX=(--noise) ;;
    reverb_noise) FX=(--reverb --noise) ;;
  esac
  [ -f "$W/cond-$cond/e-gmd-v1.0.0.csv" ] && continue
  $DS synth --performances-from "$GMD" --splits validation --performances "$VAL_PERFS" --pool heldout --kits-per-performance 1 \
    --max-seconds "$VAL_MAX_SECONDS" --seed 9 "${COND_KIT[@]}" "${FX[@]}" --realism-prob 1 --out "$W/cond-$cond" \
    --num-workers "$J" --no-progress
done

# 4. Training (the next issue) then reads the cache:
#    $DS train --config configs/default_config.yaml "${C[@]}"
#    and `drumscribe evaluate --split "$W/gmd-val-clean"` / `"$W/gmd-val-fullmix"` print the
#    co-occurring false alarms next to the F1 table.
