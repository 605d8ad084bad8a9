# Shared by scripts/train_v5.sh and scripts/train_v6.sh (sourced, not run): the epoch scoring helpers.
# Needs W, PY and a `tuned CKPT OUT` function in the caller; BASELINE names the score row that `best` never picks.

epochs() {  # epochs RUN PREFIX: every epoch checkpoint of RUN tuned, as --model PREFIX-eNN=... arguments (into EPOCHS)
  mkdir -p "$W/runs/$1/tuned"
  for c in "$W"/runs/$1/ckpt/drumscribe-epoch=*.ckpt; do
    [ -f "$c" ] || continue
    local e; e=$(basename "$c" .ckpt | sed 's/drumscribe-epoch=\([0-9]*\).*/e\1/')
    tuned "$c" "$W/runs/$1/tuned/$e.ckpt"
    EPOCHS+=(--model "$2-$e=$W/runs/$1/tuned/$e.ckpt")
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
