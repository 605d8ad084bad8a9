#!/usr/bin/env python
"""Does tuning the thresholds on real recordings too generalise, or does it fit 4 songs?

Usage::

    python scripts/tune_check.py --model runs/v5-long/tuned/e04.ckpt --set data.processed_root=... \\
        --set data.splits_dir=... [--synthetic val] --out data/scores/tune_check.json

Predicts once per file on the synthetic tuning split (``--synthetic``, the corpus's validation subset by
default) and on both halves of real-dev, then scores real-dev (5- and 8-class micro F1, open hi-hat and
cross-stick F1) with three threshold sets, all chosen by :mod:`drumscribe.evaluation.tuning`:

- ``synthetic``: tuned on the synthetic split alone (what ``train_v5.sh`` stores);
- ``combined``: tuned on the synthetic split + real-dev drums + real-dev sum (mean F1 of the three sets,
  ``drumscribe tune --split val --split real-dev/drums --split real-dev/multitrack_sum``), scored on the
  same 4 songs: in-sample, optimistic;
- ``combined, leave one song out``: for each song, thresholds tuned on the synthetic split + the other 3
  songs (both halves), scored on the song left out; counts pooled over the 4 held-out songs.  The honest
  estimate of what combined tuning gives on a song it did not see.

The synthetic split's own F1 under each threshold set is reported too (combined tuning must not lose it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

ARTS = ("hihat_open", "cross_stick")


def song(name: str) -> str:
    return Path(name).stem.split("_")[0]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (paths)")
    p.add_argument("--synthetic", default="val", help="the synthetic tuning split (default: the cache's val)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)

    import torch

    from drumscribe.core.atomic import atomic_write_bytes
    from drumscribe.evaluation.evaluate import evaluate_predictions, predict_items, split_items
    from drumscribe.evaluation.metrics import Counts
    from drumscribe.evaluation.tuning import tune_articulation_thresholds, tune_from_predictions
    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.transcription.bundle import config_for

    torch.set_num_threads(a.threads)
    bundle = load_bundle(a.model)
    cfg = config_for(bundle, None, a.set)
    names = bundle.class_names
    syn = predict_items(bundle, split_items(cfg, a.synthetic, bundle.cache_key))
    real = {h: predict_items(bundle, split_items(cfg, f"real-dev/{h}")) for h in ("drums", "multitrack_sum")}

    art0 = cfg.postprocessing.articulation_thresholds  # scoring sets it; every tuning starts from the model's

    def tune(sets):
        cfg.postprocessing.articulation_thresholds = art0
        th, _ = tune_from_predictions(sets, cfg, bundle.thresholds)
        art, _ = tune_articulation_thresholds(sets, cfg, th)
        return th, art

    def score(preds, th, art) -> dict:
        """Pooled counts: 5-class and 8-class micro, the articulations."""
        cfg.postprocessing.articulation_thresholds = list(art)
        r = evaluate_predictions(preds, cfg, names, th)
        c = {"five": Counts(**{k: r["five_class"]["micro"][k] for k in ("tp", "fp", "fn")}),
             "eight": Counts(**{k: r["micro"][k] for k in ("tp", "fp", "fn")})}
        for x in ARTS:
            d = (r.get("articulations") or {}).get(x)
            c[x] = Counts(d["tp"], d["fp"], d["fn"]) if d else Counts()
        return c

    def row(counts: dict) -> dict:
        return {k: {"f1": round(v.f1, 4), "support": v.support, "fp": v.fp} for k, v in counts.items()}

    results = {"model": a.model, "synthetic": a.synthetic, "files": {"synthetic": len(syn), **{h: len(v) for h, v in real.items()}}}
    variants = {"synthetic": tune([syn]), "combined": tune([syn, real["drums"], real["multitrack_sum"]])}
    for v, (th, art) in variants.items():
        results[v] = {"thresholds": th, "articulation_thresholds": art, "synthetic_split": row(score(syn, th, art)),
                      **{h: row(score(real[h], th, art)) for h in real}}
    # leave one song out
    songs = sorted({song(x.item.name) for x in real["drums"]})
    pooled = {h: {} for h in real}
    folds = {}
    for s in songs:
        rest = {h: [x for x in real[h] if song(x.item.name) != s] for h in real}
        th, art = tune([syn, rest["drums"], rest["multitrack_sum"]])
        folds[s] = {"thresholds": th, "articulation_thresholds": art}
        for h in real:
            held = [x for x in real[h] if song(x.item.name) == s]
            for k, c in score(held, th, art).items():
                pooled[h][k] = pooled[h].get(k, Counts()) + c
    results["combined_leave_one_song_out"] = {**{h: row(pooled[h]) for h in real}, "folds": folds}
    atomic_write_bytes(a.out, (json.dumps(results, indent=1) + "\n").encode())
    for v in ("synthetic", "combined", "combined_leave_one_song_out"):
        r = results[v]
        cells = [f"{h}: 5-cl {r[h]['five']['f1']:.3f} 8-cl {r[h]['eight']['f1']:.3f} open {r[h]['hihat_open']['f1']:.2f} "
                 f"xstick {r[h]['cross_stick']['f1']:.2f}" for h in real]
        if "synthetic_split" in r:
            cells.append(f"synthetic split 8-cl {r['synthetic_split']['eight']['f1']:.3f}")
        print(f"{v:30s} " + " | ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
