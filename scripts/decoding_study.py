#!/usr/bin/env python
"""Decoding study (issue 10, point 4): do a minimum inter-onset interval, a peak window, exclusive groups raise F1?

Runs the model once on each ``--tune`` and ``--check`` folder (or cache split), then for every
decoding setting (``postprocessing.min_onset_interval`` seconds x ``postprocessing.peak_min_distance``
frames x ``postprocessing.exclusive_groups`` x ``postprocessing.exclusive_weights``) re-tunes the per-class thresholds on ``--tune`` (as ``drumscribe tune`` does) and scores both
sets with those thresholds.  Decoding is per class, so the table gives per-class F1 for each
setting; a per-class choice is the column maximum.  Choose on ``--tune``; ``--check`` shows
whether the choice holds elsewhere.  Never point it at test data.

    .venv/bin/python scripts/decoding_study.py --checkpoint C --tune data/abl-val \
        --check data/gmd-val-clean data/gmd-val-fullmix --output docs/results/decoding_study.json \
        --groups "[]" "[[hi_tom,mid_tom,low_tom]]"
    # the mid tom's ranking weight in the tom group (one interval and distance; "val": the cache
    # split of the checkpoint's own config, here the GMD corpus)
    .venv/bin/python scripts/decoding_study.py --checkpoint C --tune val --intervals 0.05 --distances 2 \
        --weights "{}" "{mid_tom: 1.5}" "{mid_tom: 2}" "{mid_tom: 3}"
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", help="checkpoint or bundle (default: the bundled model)")
    ap.add_argument("--tune", required=True, help="folder (audio+MIDI) or cache split the thresholds are tuned on")
    ap.add_argument("--check", nargs="*", default=[], help="further folders scored with the tuned thresholds")
    ap.add_argument("--intervals", type=float, nargs="+", default=[0.0, 0.02, 0.03, 0.05, 0.075],
                    help="min_onset_interval values, seconds")
    ap.add_argument("--distances", type=int, nargs="+", default=[0, 1, 2, 3, 5], help="peak_min_distance values, frames")
    ap.add_argument("--groups", nargs="+", default=None,
                    help="postprocessing.exclusive_groups values (YAML, e.g. '[[hi_tom,mid_tom,low_tom]]'); "
                         "default: the model's own")
    ap.add_argument("--weights", nargs="+", default=None,
                    help="postprocessing.exclusive_weights values (YAML, e.g. '{mid_tom: 2}'); default: the model's own")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--output", help="JSON with every row")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from drumscribe.core.atomic import atomic_write_text
    from drumscribe.core.config import config_from_dict
    from drumscribe.core.timebase import FrameClock
    from drumscribe.evaluation.evaluate import evaluate_predictions, predict_items, split_items
    from drumscribe.evaluation.tuning import tune_from_predictions
    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.transcription.bundle import config_for

    bundle = load_bundle(args.checkpoint)
    base = config_for(bundle, None, [])
    clock = FrameClock.from_config(base.audio)
    sets = {"tune": args.tune, **{Path(c).name: c for c in args.check}}
    preds = {name: predict_items(bundle, split_items(base, where, bundle.cache_key)) for name, where in sets.items()}
    rows = []
    groups = args.groups or [json.dumps(base.postprocessing.exclusive_groups)]
    weights = args.weights or [json.dumps(base.postprocessing.exclusive_weights)]
    for interval, dist, group, weight in itertools.product(args.intervals, args.distances, groups, weights):
        cfg = config_from_dict(base.to_dict(), [f"postprocessing.min_onset_interval={interval}",
                                               f"postprocessing.peak_min_distance={dist}",
                                               f"postprocessing.exclusive_groups={group}",
                                               f"postprocessing.exclusive_weights={weight}"])
        th, _ = tune_from_predictions(preds["tune"], cfg, bundle.thresholds)
        row = {"min_onset_interval_s": interval, "peak_min_distance_frames": dist,
               "peak_window_ms": round(1000 * float(clock.to_seconds(dist)), 1),
               "exclusive_groups": cfg.postprocessing.exclusive_groups,
               "exclusive_weights": cfg.postprocessing.exclusive_weights, "thresholds": th, "sets": {}}
        for name, p in preds.items():
            res = evaluate_predictions(p, cfg, bundle.class_names, th)
            row["sets"][name] = {"micro": res["micro"]["f1"], "five_class_micro": res["five_class"]["micro"]["f1"],
                                 "per_class": {n: d["f1"] for n, d in res["per_class"].items()}}
        rows.append(row)
        print(f"interval {interval:5.3f} s  distance {dist} fr ({row['peak_window_ms']:5.1f} ms)  groups {group}  weights {weight}  " +
              "  ".join(f"{n} {row['sets'][n]['micro']:.4f}" for n in sets), flush=True)
    # per class: the setting with the best tune-set F1, and what it gives elsewhere
    best = {}
    for name in bundle.class_names:
        r = max(rows, key=lambda r: (r["sets"]["tune"]["per_class"][name], -r["min_onset_interval_s"]))
        best[name] = {"min_onset_interval_s": r["min_onset_interval_s"], "peak_min_distance_frames": r["peak_min_distance_frames"],
                      **{n: r["sets"][n]["per_class"][name] for n in sets}}
        print(f"best for {name:6s}: interval {r['min_onset_interval_s']:.3f} s, distance {r['peak_min_distance_frames']} fr  " +
              "  ".join(f"{n} {best[name][n]:.3f}" for n in sets))
    if args.output:
        atomic_write_text(args.output, json.dumps({"checkpoint": str(bundle.path), "sets": sets, "frames_per_second": clock.frame_rate,
                                                   "rows": rows, "best_per_class": best}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
