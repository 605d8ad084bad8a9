#!/usr/bin/env python
"""Which articulations a model may write by default: the output rule of issue 28, applied and recorded.

Usage::

    python scripts/articulation_gate.py --model MODEL \\
        --real RESULTS_realdev_drums.json RESULTS_realdev_sum.json \\
        --gmd RESULTS_gmd_test_clean.json RESULTS_gmd_test_fullmix.json [--write] [--out gate.json]

The result JSONs are ``drumscribe evaluate --output`` of MODEL (its shipped thresholds) on real-dev's two
halves and on GMD test.  An articulation is written by default only when its precision (counts summed
over the files of a group) is at least :data:`drumscribe.core.drums.ARTICULATION_MIN_PRECISION` on the
real recordings AND on GMD test, and on the real recordings also in every leave-one-song-out subset
(real-dev took part in the choice, so it has to hold without each song).  An articulation the model never
wrote has no shown precision and is not written.  ``--write`` stores the passing list in MODEL's
``postprocessing.written_articulations`` (sidecar or checkpoint, atomically, beside its thresholds); every
other articulation is then written as its drum's plain stroke (``drumscribe transcribe --classes all``
still writes them all).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from drumscribe.evaluation.realdev import song_of  # noqa: E402  (after the path line above)


def counts(results: list[dict], art: str, skip_song: str | None = None):
    """The summed per-file :class:`~drumscribe.evaluation.metrics.Counts` of ``art`` (without ``skip_song``)."""
    from drumscribe.evaluation.metrics import Counts

    total = Counts()
    for r in results:
        for f in r.get("files", []):
            c = (f.get("articulations") or {}).get(art)
            if c is not None and (skip_song is None or song_of(f["file"]) != skip_song):
                total = total + Counts(c["tp"], c["fp"], c["fn"])
    return total


def shown_precision(c) -> float | None:
    """Precision of what was written; None when nothing was written (no precision shown, unlike
    Counts.precision's 1.0 for an empty estimate)."""
    return c.precision if c.n_estimated else None


def gate(real: list[dict], gmd: list[dict], articulations: list[str], min_precision: float) -> dict:
    songs = sorted({song_of(f["file"]) for r in real for f in r.get("files", [])})
    out = {}
    for a in articulations:
        row = {}
        for name, group in (("real", real), ("gmd", gmd)):
            c = counts(group, a)
            row[name] = {"tp": c.tp, "fp": c.fp, "fn": c.fn, "precision": shown_precision(c),
                         "recall": c.recall if c.support else None}
        loso = {s: shown_precision(counts(real, a, s)) for s in songs}
        row["real_loso"] = loso
        ok = [row["real"]["precision"], row["gmd"]["precision"], *loso.values()]
        row["written"] = all(p is not None and p >= min_precision for p in ok)
        out[a] = row
    return out


def main(argv=None) -> int:
    from drumscribe.core.drums import ARTICULATION_MIN_PRECISION

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="the model whose results these are (checkpoint or .safetensors)")
    p.add_argument("--real", nargs="+", required=True, help="evaluate JSONs on real recordings (real-dev halves)")
    p.add_argument("--gmd", nargs="+", required=True, help="evaluate JSONs on GMD test")
    p.add_argument("--write", action="store_true", help="store the passing list in the model")
    p.add_argument("--out", default=None, help="write the gate's table as JSON here")
    a = p.parse_args(argv)
    load = lambda paths: [json.loads(Path(x).read_text()) for x in paths]  # noqa: E731
    real, gmd = load(a.real), load(a.gmd)
    for r in real + gmd:
        if not any("articulations" in f for f in r.get("files", [])):
            p.error(f"a result without per-file articulation counts ({r.get('split')}): re-run drumscribe evaluate")
    from drumscribe.training.checkpoint import load_bundle, save_thresholds

    bundle = load_bundle(a.model)
    arts = list(bundle.config.model.articulations or ())
    table = gate(real, gmd, arts, ARTICULATION_MIN_PRECISION)
    fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    print(f"articulation gate (precision >= {ARTICULATION_MIN_PRECISION} on real recordings, each song left out, "
          f"and GMD test) for {a.model}")
    print("| articulation | real P / R (tp/fp/fn) | real P, each song left out | GMD test P / R (tp/fp/fn) | written |")
    print("|---|---|---|---|---|")
    for name, row in table.items():
        r, g = row["real"], row["gmd"]
        print(f"| {name} | {fmt(r['precision'])} / {fmt(r['recall'])} ({r['tp']}/{r['fp']}/{r['fn']}) | "
              + ", ".join(fmt(v) for v in row["real_loso"].values())
              + f" | {fmt(g['precision'])} / {fmt(g['recall'])} ({g['tp']}/{g['fp']}/{g['fn']}) | "
              + ("yes" if row["written"] else "no: folded into its drum") + " |")
    written = [n for n, row in table.items() if row["written"]]
    if a.out:
        from drumscribe.core.atomic import atomic_write_bytes

        atomic_write_bytes(Path(a.out), (json.dumps({"model": a.model, "min_precision": ARTICULATION_MIN_PRECISION,
                                                     "articulations": table, "written": written}, indent=1)
                                         + "\n").encode())
    if a.write:
        decoding = {"written_articulations": written}
        save_thresholds(bundle.path, list(bundle.thresholds), decoding)
        print(f"{bundle.path}: postprocessing.written_articulations = {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
