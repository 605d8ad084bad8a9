# Shared by scripts/train_v5.sh, train_v6.sh and train_offsets.sh (sourced, not run): v5's training recipe and the
# epoch scoring helpers.  The helpers need W, PY and a `tuned CKPT OUT` function in the caller; BASELINE names the
# score row that `best` never picks.

# v5's recipe: class weights (toms x3, crash/ride x2, articulations x2), soft targets 0.5, the stronger augmentation
# of the ablation
V5_RECIPE=(--set "loss.class_weights=[1,1,1,3,3,3,2,2,2,2,2,2,2]" --set training.soft_target_weight=0.5
   --set augmentation.time_stretch_prob=0.4 --set augmentation.pitch_shift_prob=0.5 --set augmentation.volume_scale_prob=0.7
   --set augmentation.reverb_prob=0.5 --set augmentation.noise_prob=0.5)

epochs() {  # epochs RUN PREFIX: every epoch checkpoint of RUN tuned, as --model PREFIX-eNN=... arguments (into EPOCHS)
  mkdir -p "$W/runs/$1/tuned"
  for c in "$W"/runs/$1/ckpt/drumscribe-epoch=*.ckpt; do
    [ -f "$c" ] || continue
    local e; e=$(basename "$c" .ckpt | sed 's/drumscribe-epoch=\([0-9]*\).*/e\1/')
    tuned "$c" "$W/runs/$1/tuned/$e.ckpt"
    EPOCHS+=(--model "$2-$e=$W/runs/$1/tuned/$e.ckpt")
  done
}

averages() {  # averages RUN PREFIX K: the mean of each K consecutive epoch checkpoints of RUN (epochs 0..K-1, K..2K-1,
  # ...; complete windows only: scripts/average_checkpoints.py), tuned, as --model PREFIX-avg-eAA-eBB=... (into EPOCHS)
  local d="$W/runs/$1" k=$3 n a b e name
  [ "$k" -gt 0 ] || return 0
  mkdir -p "$d/avg"
  n=$(ls "$d"/ckpt/drumscribe-epoch=*.ckpt 2>/dev/null | wc -l)
  for ((a = 0; a + k <= n; a += k)); do
    b=$((a + k - 1)); name=$(printf "avg-e%02d-e%02d" "$a" "$b")
    if [ ! -f "$d/avg/$name.ckpt" ]; then
      local IN=()
      for ((e = a; e <= b; e++)); do IN+=("$(ls "$d"/ckpt/drumscribe-epoch=$(printf %02d "$e")-*.ckpt)"); done
      rm -f "$d/avg/$name.raw.ckpt"
      $PY scripts/average_checkpoints.py "$d/avg/$name.raw.ckpt" "${IN[@]}" >/dev/null
      tuned "$d/avg/$name.raw.ckpt" "$d/avg/$name.ckpt"
      rm -f "$d/avg/$name.raw.ckpt"
    fi
    EPOCHS+=(--model "$2-$name=$d/avg/$name.ckpt")
  done
}

best() {  # best SCORES.json PREFIX OUT: the model file of PREFIX's best criterion (never BASELINE's) written to OUT
  $PY - "$@" "$BASELINE" <<'PYEOF'
import json, sys
scores, prefix, out, baseline = sys.argv[1:5]
rows = [r for r in json.load(open(scores))
        if r["model"].startswith(prefix) and r["model"] != baseline and r["criterion"] is not None]
paths = json.load(open(scores.replace("scores.json", "models.json")))
if rows:
    b = max(rows, key=lambda r: r["criterion"])
    open(out, "w").write(paths[b["model"]] + "\n")
    print(f"{prefix or 'best'}: {b['model']} (criterion {b['criterion']:.4f}) -> {out}")
PYEOF
}
