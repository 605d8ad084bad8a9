#!/usr/bin/env python
"""Score drumscribe and ADTOF's public model on the same files with the same scorer (5-class onset F1).

ADTOF (Zehren et al. 2021/2023) is the strongest public drum transcriber.  Its weights are
non-commercial: this project never ships or vendors them.  This script only *runs* a copy that
you installed yourself, for measurement, e.g. the PyTorch port::

    git clone https://github.com/xavriley/ADTOF-pytorch /opt/adtof
    python -m venv /opt/adtof/venv && /opt/adtof/venv/bin/pip install torch librosa pretty_midi
    /opt/adtof/venv/bin/pip install --no-deps -e /opt/adtof

then::

    python scripts/compare_adtof.py data/heldout-clean --adtof /opt/adtof/venv/bin/adtof \
        --output docs/results/adtof_heldout_clean.json

FOLDER is an E-GMD-format folder (audio with a ``.midi`` truth of the same stem; E-GMD/TD note
numbers), or the name of a half of the real-recording dev set, ``real-dev/drums`` or
``real-dev/multitrack_sum`` (found by :func:`drumscribe.evaluation.realdev.folder`: ``$DRUMSCRIBE_REAL_DEV``
or ``shared/real-dev`` beside the checkout; CC BY-NC-SA, never copied into the repository)::

    python scripts/compare_adtof.py real-dev/drums --adtof /opt/adtof/venv/bin/adtof \
        --output docs/results/adtof_realdev_drums.json

Both systems are scored by :mod:`drumscribe.evaluation.metrics` (``mir_eval`` matching, +-50 ms) in the
5-class fold kick / snare / toms / hi-hat / cymbals (ADTOF's classes: 35, 38, 47, 42, 49).  The
truth is read with the project's E-GMD note map (:func:`drumscribe.core.drums.td_mapping`), whatever the
model's own training config said.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from drumscribe.core import drums
from drumscribe.core.atomic import atomic_write_text
from drumscribe.dataset.index import midi_partner
from drumscribe.dataset.targets import read_drum_notes
from drumscribe.audio.io import AUDIO_SUFFIXES
from drumscribe.core.errors import DrumscribeError
from drumscribe.evaluation import realdev
from drumscribe.evaluation.metrics import FIVE_CLASS_GROUPS, Counts, TimingScorer, merge_groups, score_classes, summarize

# ADTOF's output notes (its LABELS_5) -> the 5-class fold.
ADTOF_NOTE_TO_FOLD = {35: "kick", 36: "kick", 38: "snare", 47: "toms", 42: "hihat", 49: "cymbals"}
FOLD = tuple(FIVE_CLASS_GROUPS)


def truth_by_fold(midi_path: Path) -> list[np.ndarray]:
    """Reference onsets of one E-GMD truth file, pooled into the 5-class fold."""
    notes = read_drum_notes(midi_path, allow_empty=True)
    mapping = drums.td_mapping()
    cls = np.array([mapping.get(int(p), -1) for p in notes.pitches])
    by_class = [np.sort(notes.times[cls == c]) for c in range(len(drums.CLASSES))]
    return merge_groups(by_class, drums.CLASSES)


def adtof_by_fold(midi_path: Path) -> list[np.ndarray]:
    import pretty_midi

    out: dict[str, list[float]] = {k: [] for k in FOLD}
    for inst in pretty_midi.PrettyMIDI(str(midi_path)).instruments:
        for n in inst.notes:
            if n.pitch in ADTOF_NOTE_TO_FOLD:
                out[ADTOF_NOTE_TO_FOLD[n.pitch]].append(n.start)
    return [np.sort(np.asarray(out[k], dtype=np.float64)) for k in FOLD]


def drumscribe_by_fold(model, audio_path: Path) -> list[np.ndarray]:
    import drumscribe

    t = drumscribe.transcribe(str(audio_path), model=model)
    by_class = [np.sort(np.asarray([e.time for e in t.events if e.cls == c], dtype=np.float64))
                for c in range(len(t.class_names))]
    return merge_groups(by_class, t.class_names)


def run_adtof(adtof: str, files: list[Path], workdir: Path) -> tuple[dict[Path, Path], float]:
    """Run ADTOF's CLI once over a flat folder of links to ``files``; returns audio -> its MIDI, and seconds."""
    flat = workdir / "audio"
    out = workdir / "adtof"
    flat.mkdir()
    out.mkdir()
    names = {}
    for i, f in enumerate(files):
        link = flat / f"{i:05d}{f.suffix.lower()}"
        link.symlink_to(f.resolve())
        names[f] = out / f"{i:05d}_adtof-pt.mid"
    t0 = time.perf_counter()
    subprocess.run([adtof, "--audio", str(flat), "--out", str(out), "--device", "cpu"], check=True,
                   stdout=subprocess.DEVNULL)
    return names, time.perf_counter() - t0


def score(per_file: list[list[Counts]]) -> dict:
    total = [sum((f[k] for f in per_file), Counts()) for k in range(len(FOLD))]
    return summarize(total, FOLD)


def timing(refs: list[list[np.ndarray]], ests: list[list[np.ndarray]]) -> dict:
    """Onset timing of the 5-class hits matched at ±50 ms, as ``drumscribe evaluate`` reports it (issue 29)."""
    t = TimingScorer(FOLD)
    for r, e in zip(refs, ests):
        t.add(r, e)
    res = t.result()
    res.pop("velocity")  # ADTOF writes no velocities
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path,
                   help="E-GMD-format folder (audio + .midi truth), or real-dev/drums, real-dev/multitrack_sum")
    p.add_argument("--adtof", default=None, help="ADTOF-pytorch's `adtof` command (omit: drumscribe only)")
    p.add_argument("--model", default=None, help="drumscribe model (default: the bundled one)")
    p.add_argument("--limit", type=int, default=None, help="score only the first N files (sorted)")
    p.add_argument("--output", type=Path, default=None, help="write the JSON results here")
    args = p.parse_args(argv)

    try:
        folder = realdev.resolve(args.folder)
    except DrumscribeError as e:
        print(f"compare_adtof: error: {e}", file=sys.stderr)
        return 2
    files = sorted(f for f in folder.rglob("*") if f.suffix.lower() in AUDIO_SUFFIXES and midi_partner(f))
    if args.limit:
        files = files[: args.limit]
    if not files:
        print(f"compare_adtof: error: {args.folder}: no audio+MIDI pairs", file=sys.stderr)
        return 2
    import drumscribe

    model = drumscribe.load_model(args.model)
    refs = {f: truth_by_fold(midi_partner(f)) for f in files}
    t0 = time.perf_counter()
    our_est = [drumscribe_by_fold(model, f) for f in files]
    ours = [score_classes(refs[f], e) for f, e in zip(files, our_est)]
    results = {"folder": str(args.folder), "files": len(files), "classes": list(FOLD),
               "drumscribe": {**score(ours), "seconds": time.perf_counter() - t0,
                              "timing": timing([refs[f] for f in files], our_est)}}
    if args.adtof:
        with tempfile.TemporaryDirectory() as tmp:
            midis, secs = run_adtof(args.adtof, files, Path(tmp))
            their_est = [adtof_by_fold(midis[f]) for f in files]
            theirs = [score_classes(refs[f], e) for f, e in zip(files, their_est)]
        results["adtof"] = {**score(theirs), "seconds": secs,
                            "timing": timing([refs[f] for f in files], their_est)}
    for system in ("drumscribe", "adtof"):
        if system in results:
            r = results[system]
            per = "  ".join(f"{k} {r['per_class'][k]['f1']:.3f}" for k in FOLD)
            print(f"{system:10s} 5-class micro F1 {r['micro']['f1']:.3f}  ({per})  [{r['seconds']:.0f} s]")
            tm, o = r["timing"], r["timing"]["overall"]
            if o["n"]:
                print(f"{'':10s} F1 ±20/±30 ms {tm['f1']['0.02']['micro']['f1']:.3f}/{tm['f1']['0.03']['micro']['f1']:.3f}; "
                      f"offset mean {o['mean_offset_ms']:+.1f} ms, MAE {o['mae_ms']:.1f}, scatter {o['scatter_ms']:.1f} "
                      f"(robust {o['robust_scatter_ms']:.1f})")
    if args.output:
        atomic_write_text(args.output, json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
