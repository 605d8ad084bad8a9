#!/usr/bin/env python
"""Fit a model's ``postprocessing.velocity_levels`` (issue 29): velocities from each hit's level in the audio.

Usage::

    python scripts/fit_velocity_levels.py --model default --corpus data/v6-corpus [--files 300] [--seed 0] \\
        [--out docs/results/velocity_levels.json] [--write]

Reads ``--files`` performances drawn at random (``--seed``) from the *training* split of a rendered corpus
(its ``e-gmd-v1.0.0.csv``, ``split == train``: never validation, test or real recordings), transcribes each
with MODEL (its thresholds and decoding, velocities from its head), matches the decoded hits to the truth
(±50 ms, per class) and fits, per class, the two coefficients of
:mod:`drumscribe.transcription.levels` by least squares on the matched hits, each file's means removed
(the within-file contrast; a recording's gain is arbitrary):

    v_true - mean  ~  slope * (L - median L)  +  head * (h - median h)

(the medians over the file's decoded hits of the class, as at transcription).  A class with fewer than
``--min-hits`` matched hits in files with at least ``levels.MIN_HITS`` hits keeps the head's velocities.
Prints the coefficients and the within-file Pearson of head and fitted velocities on these files;
``--write`` stores them in MODEL (sidecar or checkpoint, atomically, beside its thresholds).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def training_pairs(corpus: Path, n: int, seed: int) -> list[tuple[Path, Path]]:
    rows = [r for r in csv.DictReader(open(corpus / "e-gmd-v1.0.0.csv")) if r["split"] == "train"]
    random.Random(seed).shuffle(rows)
    return [(corpus / r["audio_filename"], corpus / r["midi_filename"]) for r in rows[:n]]


def collect(bundle, pairs, corpus: Path, tolerance: float) -> list[dict]:
    """Per file and class with at least MIN_HITS decoded hits: the matched hits' truth, head velocity and level,
    and the medians over all decoded hits of the class."""
    from drumscribe.evaluation.evaluate import pair_items, predict_items
    from drumscribe.evaluation.metrics import matched_pairs
    from drumscribe.transcription.decoding import DecodeSettings, decode
    from drumscribe.transcription.inference import envelope_hop
    from drumscribe.transcription.levels import MIN_HITS, hit_levels
    from drumscribe.transcription.refine import file_envelopes

    cfg = bundle.config
    names = list(bundle.class_names)
    settings = DecodeSettings.from_config(cfg, list(bundle.thresholds))
    groups = []
    for p in predict_items(bundle, pair_items(cfg, pairs, corpus), progress=True):
        events = decode(p.onset_probs, settings, p.velocity_probs)  # the head's velocities
        env = file_envelopes(p.item.audio_path, cfg.audio, names, hop_s=envelope_hop(cfg))  # as transcribe measures
        for c in range(len(names)):
            es = sorted((e for e in events if e.cls == c), key=lambda e: e.time)
            if len(es) < MIN_HITS:
                continue
            et = np.array([e.time for e in es])
            head = np.array([e.velocity for e in es], dtype=np.float64)
            levels = hit_levels(env.db[:, c], env.hop_s, et)
            sel = p.item.note_classes == c
            rt, rv = p.item.note_times[sel], p.item.note_velocities[sel]
            order = np.argsort(rt)
            ri, ei = matched_pairs(rt[order], et, tolerance)
            if len(ri) < 2:
                continue
            groups.append({"cls": c, "true": rv[order][ri].astype(np.float64), "head": head[ei], "level": levels[ei],
                           "head_median": float(np.median(head)), "level_median": float(np.median(levels))})
    return groups


def fit(groups: list[dict], n_classes: int, min_hits: int) -> dict[int, tuple[float, float, int]]:
    out = {}
    for c in range(n_classes):
        xs, ys = [], []
        for g in (g for g in groups if g["cls"] == c):
            x = np.c_[g["level"] - g["level_median"], g["head"] - g["head_median"]]
            xs.append(x - x.mean(axis=0))
            ys.append(g["true"] - g["true"].mean())
        n = sum(len(y) for y in ys)
        if n < min_hits:
            continue
        coef = np.linalg.lstsq(np.concatenate(xs), np.concatenate(ys), rcond=None)[0]
        out[c] = (float(coef[0]), float(coef[1]), n)
    return out


def within_pearson(groups: list[dict], velocities: list[np.ndarray]) -> float:
    xs = [v - v.mean() for v in velocities]
    ys = [g["true"] - g["true"].mean() for g in groups]
    x, y = np.concatenate(xs), np.concatenate(ys)
    return float(np.corrcoef(x, y)[0, 1]) if x.size > 2 and x.std() > 0 and y.std() > 0 else float("nan")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="default", help="checkpoint, .safetensors/.json or 'default' (the bundled model)")
    p.add_argument("--corpus", required=True, help="a rendered corpus folder with e-gmd-v1.0.0.csv (scripts/make_corpus.sh)")
    p.add_argument("--files", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-hits", type=int, default=200, help="matched hits a class needs to be fitted")
    p.add_argument("--tolerance", type=float, default=0.05)
    p.add_argument("--out", default=None, help="write the fit (coefficients, counts, Pearson) as JSON here")
    p.add_argument("--write", action="store_true", help="store the coefficients in the model")
    a = p.parse_args(argv)
    from drumscribe.training.checkpoint import load_bundle, save_thresholds
    from drumscribe.transcription.bundle import default_model_path
    from drumscribe.transcription.levels import contrast_velocities

    path = default_model_path() if a.model == "default" else Path(a.model)
    bundle = load_bundle(path)
    bundle.config.postprocessing.velocity_levels = {}  # fit against the head's own velocities
    corpus = Path(a.corpus)
    groups = collect(bundle, training_pairs(corpus, a.files, a.seed), corpus, a.tolerance)
    names = list(bundle.class_names)
    coefs = fit(groups, len(names), a.min_hits)
    print(f"velocity levels of {path} fitted on {a.files} training files of {corpus} (seed {a.seed})")
    print("| class | matched hits | slope (velocity per dB) | head weight | within-file Pearson: head | fitted |")
    print("|---|--:|--:|--:|--:|--:|")
    table = {}
    for c, (slope, head_w, n) in coefs.items():
        gs = [g for g in groups if g["cls"] == c]
        fitted = [contrast_velocities(g["head"], g["level"], slope, head_w, (g["head_median"], g["level_median"]))
                  for g in gs]
        r_head, r_fit = within_pearson(gs, [g["head"] for g in gs]), within_pearson(gs, [f.astype(float) for f in fitted])
        table[names[c]] = {"slope": round(slope, 4), "head": round(head_w, 4), "matched_hits": n,
                           "within_pearson_head": round(r_head, 4), "within_pearson_fitted": round(r_fit, 4)}
        print(f"| {names[c]} | {n} | {slope:.3f} | {head_w:.3f} | {r_head:.3f} | {r_fit:.3f} |")
    levels = {n: [t["slope"], t["head"]] for n, t in table.items()}
    if a.out:
        from drumscribe.core.atomic import atomic_write_bytes

        atomic_write_bytes(Path(a.out), (json.dumps({"model": str(a.model), "corpus": str(corpus), "files": a.files,
                                                     "seed": a.seed, "classes": table, "velocity_levels": levels},
                                                    indent=1) + "\n").encode())
    if a.write:
        save_thresholds(bundle.path, list(bundle.thresholds), {"velocity_levels": levels})
        print(f"{bundle.path}: postprocessing.velocity_levels = {levels}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
