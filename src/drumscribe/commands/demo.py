"""Transcribe the bundled drum clip with the bundled model: MIDI, piano roll, drum chart, a review page to listen to
and fix in a browser, and a score against its truth.

The clip ships with the package (rendered by ``drumscribe synth`` from kits
the model never heard in training) together with its ground-truth MIDI, so
the demo shows both what the model found and how well it did.
"""

from __future__ import annotations

from pathlib import Path

from drumscribe.core.outputs import add_output_argument, add_overwrite_argument

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
DEMO_CLIP = DEMO_DIR / "demo_clip.flac"
DEMO_TRUTH = DEMO_DIR / "demo_clip.midi"


def add_arguments(p) -> None:
    add_output_argument(p, "--out", kind="folder", default="outputs/demo",
                        help="output folder (default outputs/demo): CLIP.mid, CLIP.png, CLIP.musicxml, CLIP.html")
    p.add_argument("--input", default=None, help="another audio file instead of the bundled clip")
    p.add_argument("--checkpoint", default=None, help="another model instead of the bundled one")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the model")
    add_overwrite_argument(p, "existing files of an earlier demo (or hand-made ones) in --out")


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
    from drumscribe.core.outputs import OutputRule, model_files

    out = Path(args.out)
    midi_path, png_path, xml_path, html_path = (out / f"{clip.stem}{s}" for s in (".mid", ".png", ".musicxml", ".html"))
    rule = OutputRule("demo", [clip, truth, *model_files(args.checkpoint)], args.overwrite)
    write = {p: rule.may_write(p) for p in (midi_path, png_path, xml_path, html_path)}  # the overwrite rule first
    out.mkdir(parents=True, exist_ok=True)
    console = Console(highlight=False)
    bundle, thresholds = load_for_transcription(args.checkpoint, [], None, threads=args.threads)
    console.print(f"model: {bundle.path}")
    opts = argparse.Namespace(velocity="auto", window=None, overlap=None, device="cpu")
    has_truth = truth is not None and truth.is_file()
    tr = transcribe_file(bundle, thresholds, clip, midi_path if write[midi_path] else None, "midi", opts,
                         None if has_truth or not write[png_path] else png_path, console)
    if has_truth and write[png_path]:  # the piano roll with the truth drawn under the prediction
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
    chart = ""
    if write[xml_path]:
        try:  # the chart needs the optional music21 (drumscribe[score])
            score_path = write_score(xml_path, tr.events, bundle.class_names, beat_map, "musicxml", title=clip.stem)[0]
            chart = f"{score_path} (drum chart: open it in MuseScore)"
        except DrumscribeError as e:
            chart = f"no drum chart ({e})"
    if write[html_path]:  # the review page: listen to the hits on the song, fix them, download MIDI
        from drumscribe.transcription.review_page import write_review_page

        write_review_page(html_path, clip, tr.events, bundle.class_names, bundle.config.midi, beat_map, tr.duration,
                          articulations=bundle.config.articulations)
    wrote = [f"{midi_path} (General MIDI drums, channel 10, tempo map)" if write[midi_path] else None,
             f"{png_path} (piano roll)" if write[png_path] else None, chart or None,
             f"{html_path} (review page: open it in a browser to listen, check and fix)" if write[html_path] else None]
    wrote = [w for w in wrote if w]
    console.print(f"wrote {', '.join(wrote)}" if wrote else f"nothing written: every output exists in {out}")
    return 0
