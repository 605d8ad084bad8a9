#!/usr/bin/env python
"""Train the beat/downbeat network (issue 30) on rendered GMD train performances, export it as ONNX.

Re-runnable for a new drum model: the events of every rendered file are cached per drum model
(``--cache``), so ``--checkpoint NEW_MODEL`` transcribes the corpus once with it and trains on what it
hears.  Steps (each skipped when its output exists):

1. events: every audio file of the ``--corpus`` and ``--val`` folders (``drumscribe synth
   --performances-from GMD`` output: train-split performances on train-pool kits for ``--corpus``,
   validation ones on held-out kits for ``--val``) transcribed by the drum model, cached as ``.npz``;
2. training: the TCN of :mod:`drumscribe.training.beat_net` on the transcribed corpus plus the oracle
   GMD train grooves (``--gmd``; time-stretched and thinned), BCE on beat and downbeat, Adam, CPU;
   the state with the lowest validation loss is kept;
3. decoder settings: ``transition_lambda`` x ``meter_penalty`` of :mod:`drumscribe.transcription.bar_tracker`
   chosen on the validation folders (mean downbeat F, meter right as tie-break);
4. export: ``--out`` (ONNX, probabilities) + its JSON sidecar (fps, input classes, decoder settings, what it
   was trained on and its validation numbers).

The recipe of the shipped model (``docs/musician.md``, "Learned beat tracker")::

    bash scripts/make_beat_corpus.sh            # renders data/beats-{train,val}-{clean,mix}
    nice -n 10 python scripts/train_beats.py --corpus data/beats-train-clean data/beats-train-mix \\
        --val data/beats-val-clean data/beats-val-mix --gmd ../shared/gmd --cache data/beat-events \\
        --out src/drumscribe/pretrained/beats-default.onnx
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def log(msg: str) -> None:
    print(f"[train_beats {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def evaluate_decoding(items, acts, lam, pen):
    """Mean downbeat F, beat F and meter accuracy of decoded ``acts`` (one (T, 2) array per item)."""
    import mir_eval

    from drumscribe.transcription.beats import beat_map_from_activations

    bf, df, mr = [], [], []
    for it, a in zip(items, acts):
        bm = beat_map_from_activations(a, it["duration"], decoder={"transition_lambda": lam, "meter_penalty": pen})
        if bm is None:
            continue
        est_b, est_d = bm.beats[bm.beats <= it["duration"]], bm.downbeats[bm.downbeats <= it["duration"]]
        rb, rd = mir_eval.beat.trim_beats(it["beats"]), mir_eval.beat.trim_beats(it["downbeats"])
        if len(rb) >= 2:
            bf.append(mir_eval.beat.f_measure(rb, mir_eval.beat.trim_beats(est_b)))
        if len(rd) >= 2:
            df.append(mir_eval.beat.f_measure(rd, mir_eval.beat.trim_beats(est_d)))
        mr.append(bm.meter == it["meter"])
    return float(np.mean(df)), float(np.mean(bf)), float(np.mean(mr))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, nargs="+", required=True, help="rendered train-split folders")
    ap.add_argument("--val", type=Path, nargs="+", required=True, help="rendered validation folders (held-out kits)")
    ap.add_argument("--gmd", type=Path, default=None, help="GMD root: its train grooves' MIDI as extra oracle items")
    ap.add_argument("--checkpoint", default=None, help="drum model making the events (default: the bundled ONNX)")
    ap.add_argument("--cache", type=Path, default=Path("data/beat-events"), help="event cache folder")
    ap.add_argument("--out", type=Path, default=None, help="ONNX file to write (+ .json sidecar)")
    ap.add_argument("--events-only", action="store_true", help="fill the event cache, then stop")
    ap.add_argument("--cached-only", action="store_true",
                    help="train on the corpus files already in the event cache (validation: all files)")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop-seconds", type=float, default=40.0)
    ap.add_argument("--channels", type=int, default=20)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--oracle-share", type=float, default=0.3, help="share of oracle items in the batches")
    ap.add_argument("--lambdas", type=float, nargs="+", default=[30.0, 100.0, 300.0])
    ap.add_argument("--penalties", type=float, nargs="+", default=[0.3, 1.0, 3.0])
    ap.add_argument("--seed", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if not args.events_only and args.out is None:
        ap.error("--out is required unless --events-only")

    from drumscribe.training.beat_data import load_drum_model, model_id, oracle_items, transcribed_items

    bundle = load_drum_model(args.checkpoint)
    corpus = [it for root in args.corpus
              for it in transcribed_items(root, bundle, args.cache, log=log, cached_only=args.cached_only)]
    val = [it for root in args.val for it in transcribed_items(root, bundle, args.cache, log=log)]
    log(f"events: {len(corpus)} corpus files, {len(val)} validation files (drum model {model_id(bundle)})")
    if args.events_only:
        return 0

    import torch

    from drumscribe.core.drums import CLASSES
    from drumscribe.training import beat_net
    from drumscribe.training.beat_data import augment, targets
    from drumscribe.transcription.beat_model import FPS, SIDECAR_FORMAT, event_features

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    oracle = oracle_items(args.gmd, max_seconds=90.0) if args.gmd else []
    log(f"oracle items: {len(oracle)}")
    input_classes = list(CLASSES)
    crop = int(args.crop_seconds * FPS)
    pool = corpus + oracle
    n_or = len(oracle)

    def pick_aug(item, r):  # transcribed items: mild stretch; oracle items: wider stretch and thinning
        if item["source"].startswith("oracle/"):
            return augment(item, r, stretch=(0.75, 1.33), drop=0.3)
        return augment(item, r, stretch=(0.9, 1.1), drop=0.05)

    # sample oracle items with probability oracle_share
    weights = np.r_[np.full(len(corpus), (1 - args.oracle_share) / max(len(corpus), 1)),
                    np.full(n_or, args.oracle_share / max(n_or, 1))] if n_or else None

    gen = beat_net.batches(pool, input_classes, args.batch, rng, crop, pick_aug, weights)
    net = beat_net.BeatTCN(len(input_classes), channels=args.channels)
    n_params = sum(p.numel() for p in net.parameters())
    log(f"BeatTCN: {n_params} parameters")
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    vx = [event_features(it["t"], it["c"], it["v"], CLASSES, it["duration"], input_classes) for it in val]
    vy = [targets(it, len(x)) for it, x in zip(val, vx)]

    def val_loss():
        net.eval()
        tot = 0.0
        with torch.no_grad():
            for x, y in zip(vx, vy):
                lg = net(torch.from_numpy(x)[None])
                tot += float(beat_net.masked_loss(lg, torch.from_numpy(y)[None], torch.ones(1, len(x))))
        net.train()
        return tot / len(vx)

    best, best_state, t0, run = float("inf"), None, time.time(), 0.0
    net.train()
    for step in range(1, args.steps + 1):
        x, y, m = next(gen)
        loss = beat_net.masked_loss(net(x), y, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run = 0.98 * run + 0.02 * float(loss) if step > 1 else float(loss)
        if step % 100 == 0 or step == args.steps:
            vl = val_loss()
            if vl < best:
                best, best_state = vl, copy.deepcopy(net.state_dict())
            log(f"step {step}: train loss {run:.4f}, val loss {vl:.4f} (best {best:.4f}), {time.time() - t0:.0f} s")
    net.load_state_dict(best_state)
    acts = [beat_net.predict(net, x) for x in vx]
    grid = []
    for lam in args.lambdas:
        for pen in args.penalties:
            dfm, bfm, mr = evaluate_decoding(val, acts, lam, pen)
            grid.append({"transition_lambda": lam, "meter_penalty": pen, "downbeat_f": round(dfm, 4),
                         "beat_f": round(bfm, 4), "meter_acc": round(mr, 4)})
            log(f"decoder lambda {lam} penalty {pen}: downbeat F {dfm:.4f}, beat F {bfm:.4f}, meter {mr:.3f}")
    chosen = max(grid, key=lambda g: (g["downbeat_f"], g["meter_acc"], g["beat_f"]))
    log(f"chosen decoder: {chosen}")
    sidecar = {
        "format": SIDECAR_FORMAT, "fps": FPS, "input_classes": input_classes, "outputs": ["beat", "downbeat"],
        "decoder": {"transition_lambda": chosen["transition_lambda"], "meter_penalty": chosen["meter_penalty"]},
        "training": {"corpus": [str(p) for p in args.corpus], "val": [str(p) for p in args.val],
                     "oracle_gmd": str(args.gmd) if args.gmd else None, "oracle_items": n_or,
                     "corpus_files": len(corpus), "val_files": len(val), "drum_model": model_id(bundle),
                     "steps": args.steps, "batch": args.batch, "crop_seconds": args.crop_seconds,
                     "channels": args.channels, "parameters": n_params, "lr": args.lr, "seed": args.seed,
                     "oracle_share": args.oracle_share, "val_loss": round(best, 5), "decoder_grid": grid,
                     "command": "python scripts/train_beats.py " + " ".join(sys.argv[1:] if argv is None else argv)},
    }
    beat_net.export_onnx(net, args.out, sidecar)
    log(f"wrote {args.out} ({args.out.stat().st_size} bytes) and its sidecar")
    return 0


if __name__ == "__main__":
    sys.exit(main())
