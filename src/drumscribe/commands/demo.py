"""Transcribe the bundled drum clip with the bundled model: MIDI, piano roll, drum chart, and a score against its truth.

The clip ships with the package (rendered by ``drumscribe synth`` from kits
the model never heard in training) together with its ground-truth MIDI, so
the demo shows both what the model found and how well it did.
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
DEMO_CLIP = DEMO_DIR / "demo_clip.flac"
DEMO_TRUTH = DEMO_DIR / "demo_clip.midi"


def add_arguments(p) -> None:
    p.add_argument("--out", default="outputs/demo", help="output folder (default outputs/demo)")
    p.add_argument("--input", default=None, help="another audio file instead of the bundled clip")
    p.add_argument("--checkpoint", default=None, help="another model instead of the bundled one")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the model")


def truth_by_class(bundle, truth_midi: Path) -> list:
    """Reference onset times per class (seconds) of a MIDI file, through the model's note mapping."""
    import numpy as np

    from drumscribe.dataset.targets import onsets_by_class, read_drum_notes

    mapping = bundle.config.egmd_midi_mapping
    notes = read_drum_notes(truth_midi)
    keep = np.array([int(p) in mapping for p in notes.pitches], dtype=bool)
    classes = np.array([mapping[int(p)] for p in notes.pitches[keep]], dtype=np.int64)
    return onsets_by_class(notes.times[keep], classes, len(bundle.class_names))


def score_against_truth(bundle, events, truth_midi: Path, tolerance: float | None = None) -> dict:
    """Onset P/R/F1 (mir_eval, +-50 ms) of decoded events against a MIDI file's notes."""
    from drumscribe.transcription.decoding import events_by_class
    from drumscribe.evaluation.metrics import score_classes, summarize

    n = len(bundle.class_names)
    tol = bundle.config.postprocessing.onset_tolerance if tolerance is None else tolerance
    ref = truth_by_class(bundle, truth_midi)
    return summarize(score_classes(ref, events_by_class(events, n), tol), bundle.class_names)


def run(args) -> int:
    import argparse

    from rich.console import Console
    from rich.table import Table

    from drumscribe.core.errors import DrumscribeError
    from drumscribe.api import load_for_transcription
    from drumscribe.transcription.files import transcribe_file

    clip = Path(args.input) if args.input else DEMO_CLIP
    truth = None if args.input else DEMO_TRUTH
    if not clip.is_file():
        raise DrumscribeError(f"{clip}: demo audio not found")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    console = Console(highlight=False)
    bundle, thresholds = load_for_transcription(args.checkpoint, [], None, threads=args.threads)
    console.print(f"model: {bundle.path}")
    opts = argparse.Namespace(velocity="auto", window=None, overlap=None, device="cpu")
    midi_path, png_path = out / f"{clip.stem}.mid", out / f"{clip.stem}.png"
    has_truth = truth is not None and truth.is_file()
    tr = transcribe_file(bundle, thresholds, clip, midi_path, "midi", opts, None if has_truth else png_path, console)
    if has_truth:  # the piano roll with the truth drawn under the prediction
        from drumscribe.transcription.decoding import events_by_class
        from drumscribe.transcription.plotting import piano_roll

        piano_roll(png_path, bundle.class_names, events_by_class(tr.events, len(bundle.class_names)),
                   truth_by_class(bundle, truth), tr.onset_probs, tr.clock.frame_rate,
                   title=f"{clip.name}: truth (circles) vs drumscribe (crosses)")

    table = Table(title=f"first hits found in {clip.name}")
    for col in ("time (s)", "drum", "GM note", "velocity"):
        table.add_column(col, justify="right")
    gm = bundle.config.midi.gm_mapping
    for e in tr.events[:16]:
        name = bundle.class_names[e.cls]
        table.add_row(f"{e.time:.3f}", name, str(gm[name]), str(e.velocity))
    console.print(table)
    if has_truth:
        res = score_against_truth(bundle, tr.events, truth)
        t = Table(title="against the clip's ground truth (onset F1, +-50 ms)")
        for col in ("drum", "precision", "recall", "F1", "support"):
            t.add_column(col, justify="right")
        for name, r in res["per_class"].items():
            if r["support"] or r["fp"]:
                t.add_row(name, f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", str(r["support"]))
        m = res["micro"]
        t.add_row("micro", f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"]))
        console.print(t)
    from drumscribe.transcription.score import write_score
    from drumscribe.transcription.files import beat_map_for

    beat_map = beat_map_for(tr, bundle, opts)
    console.print(f"tempo {beat_map.bpm * beat_map.quarters_per_beat:.1f} bpm, {beat_map.meter}, "
                  f"{len(beat_map.downbeats[beat_map.downbeats <= tr.duration])} bars")
    try:  # the chart needs the optional music21 (drumscribe[score])
        score_path = write_score(out / f"{clip.stem}.musicxml", tr.events, bundle.class_names, beat_map,
                                 "musicxml", title=clip.stem)[0]
        chart = f" and {score_path} (drum chart: open it in MuseScore)"
    except DrumscribeError as e:
        chart = f"; no drum chart ({e})"
    console.print(f"wrote {midi_path} (General MIDI drums, channel 10, tempo map), {png_path} (piano roll){chart}")
    return 0
