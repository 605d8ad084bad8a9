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
    p.add_argument("--verbose", action="store_true",
                   help="also the model's path, the first hits found and precision/recall/F1 per drum")


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
    verbose = bool(getattr(args, "verbose", False))
    bundle, thresholds = load_for_transcription(args.checkpoint, [], None, threads=args.threads)
    if verbose:
        console.print(f"model: {bundle.path}", markup=False)
    opts = argparse.Namespace(velocity="auto", window=None, overlap=None, device="cpu")
    has_truth = truth is not None and truth.is_file()
    tr = transcribe_file(bundle, thresholds, clip, midi_path if write[midi_path] else None, "midi", opts,
                         None if has_truth or not write[png_path] else png_path, console if verbose else None)
    if has_truth and write[png_path]:  # the piano roll with the truth drawn under the prediction
        from drumscribe.transcription.decoding import events_by_class
        from drumscribe.transcription.plotting import piano_roll

        piano_roll(png_path, bundle.class_names, events_by_class(tr.events, len(bundle.class_names)),
                   truth_by_class(bundle, truth), tr.onset_probs, tr.clock.frame_rate,
                   title=f"{clip.name}: truth (circles) vs drumscribe (crosses)")
    res = score_against_truth(bundle, tr.events, truth) if has_truth else None
    if verbose:
        print_details(console, bundle, tr, clip, res)
    from drumscribe.transcription.score import write_score
    from drumscribe.transcription.files import beat_map_for

    beat_map = beat_map_for(tr, bundle, opts)
    score = None
    if write[xml_path]:
        try:  # the score needs the optional music21 (drumscribe[score])
            score_path = write_score(xml_path, tr.events, bundle.class_names, beat_map, "musicxml", title=clip.stem)[0]
            score = (score_path, "drum score: open it in MuseScore")
        except DrumscribeError as e:
            score = (None, f"no drum score ({e})")
    if write[html_path]:  # the review page: listen to the hits on the song, fix them, download MIDI
        from drumscribe.transcription.review_page import write_review_page

        write_review_page(html_path, clip, tr.events, bundle.class_names, bundle.config.midi, beat_map, tr.duration,
                          articulations=bundle.config.articulations)
    wrote = [(midi_path, "General MIDI drums, channel 10, tempo map") if write[midi_path] else None,
             (png_path, "piano roll" + (": truth circles, drumscribe crosses" if has_truth else ""))
             if write[png_path] else None, score,
             (html_path, "review page: listen, check, fix in a browser") if write[html_path] else None]
    bars = len(beat_map.downbeats[beat_map.downbeats <= tr.duration])
    for line in summary_lines(bundle, tr, clip, res, f"{beat_map.bpm * beat_map.quarters_per_beat:.1f} bpm, "
                              f"{beat_map.meter}, {bars} bars", [w for w in wrote if w], out, verbose):
        console.print(line, markup=False)
    return 0


SUMMARY_WIDTH = 80  # the summary's hit table is cut into blocks of drums that fit this many columns


def hit_table(names: list[str], rows: list[tuple[str, list[str]]], width: int = SUMMARY_WIDTH) -> list[str]:
    """Rows of values under one column per drum (``names``), each row led by its label; blocks of columns
    that fit ``width``."""
    label_w = max(len(label) for label, _ in rows) + 1
    widths = [max([len(n)] + [len(vals[i]) for _, vals in rows]) + 1 for i, n in enumerate(names)]
    blocks, cur, used = [], [], label_w
    for i, w in enumerate(widths):
        if cur and used + w > width:
            blocks.append(cur)
            cur, used = [], label_w
        cur.append(i)
        used += w
    blocks.append(cur)
    lines = []
    for block in blocks:
        lines.append(" " * label_w + "".join(names[i].rjust(widths[i]) for i in block))
        lines += [label.ljust(label_w) + "".join(vals[i].rjust(widths[i]) for i in block) for label, vals in rows]
    return lines


def summary_lines(bundle, tr, clip: Path, res: dict | None, tempo: str, wrote: list, out: Path,
                  verbose: bool = False) -> list[str]:
    """The demo's summary (at most 20 lines at 80 columns for the 8 drums): what was transcribed, the hits per
    drum (and the F1 per drum against the truth), the micro F1 in one line, the tempo/meter, what was written."""
    names = list(bundle.class_names)
    found = [sum(1 for e in tr.events if e.cls == c) for c in range(len(names))]
    secs = tr.timings.get("total", 0.0)
    lines = [f"{clip.name}: {tr.duration:.1f} s, transcribed in {secs:.1f} s by {Path(str(bundle.path)).name}"]
    if res is not None:
        per = res["per_class"]
        shown = [i for i, n in enumerate(names) if found[i] or per[n]["support"]]
        m = res["micro"]
        lines += hit_table([names[i] for i in shown] + ["all"], [
            ("hits", [str(found[i]) for i in shown] + [str(len(tr.events))]),
            ("truth", [str(per[names[i]]["support"]) for i in shown] + [str(m["support"])]),
            ("F1", [f"{per[names[i]]['f1']:.2f}" for i in shown] + [f"{m['f1']:.2f}"])])
        lines.append(f"against the clip's ground truth (+-50 ms): micro F1 {m['f1']:.3f}, "
                     f"P {m['precision']:.3f}, R {m['recall']:.3f}")
    else:
        shown = [i for i in range(len(names)) if found[i]]
        lines += hit_table([names[i] for i in shown] + ["all"],
                           [("hits", [str(found[i]) for i in shown] + [str(len(tr.events))])])
    lines.append(f"tempo {tempo}")
    if wrote:
        lines.append("wrote:")
        lines += [f"  {path}  ({what})" if path is not None else f"  {what}" for path, what in wrote]
    else:
        lines.append(f"nothing written: every output exists in {out}")
    if not verbose:
        lines.append("details (first hits, precision/recall per drum): drumscribe demo --verbose")
    return lines


def print_details(console, bundle, tr, clip: Path, res: dict | None) -> None:
    """``--verbose``: the first hits found and the per-drum precision/recall/F1 table."""
    from rich.table import Table

    table = Table(title=f"first hits found in {clip.name}")
    for col in ("time (s)", "drum", "GM note", "velocity"):
        table.add_column(col, justify="right")
    gm = bundle.config.midi.gm_mapping
    for e in tr.events[:16]:
        name = bundle.class_names[e.cls]
        table.add_row(f"{e.time:.3f}", name, str(gm[name]), str(e.velocity))
    console.print(table)
    if res is not None:
        t = Table(title="against the clip's ground truth (onset F1, +-50 ms)")
        for col in ("drum", "precision", "recall", "F1", "support"):
            t.add_column(col, justify="right")
        for name, r in res["per_class"].items():
            if r["support"] or r["fp"]:
                t.add_row(name, f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", str(r["support"]))
        m = res["micro"]
        t.add_row("micro", f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"]))
        console.print(t)
