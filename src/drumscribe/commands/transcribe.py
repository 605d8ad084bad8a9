"""Transcribe drum audio to a General MIDI drum file (or JSON / CSV events).

Examples::

    drumscribe transcribe song.wav song.mid --checkpoint best.ckpt
    drumscribe transcribe song.flac events.json            # bundled model, JSON output
    drumscribe transcribe stems/ midi/ --format midi        # a folder in, a folder out

Any format libsndfile (or audioread) reads, any sample rate and channel count.
Silent audio gives a valid empty MIDI file and a warning; a file that cannot be
read gives a one-line error naming it and a non-zero exit (in folder mode the
other files still finish).
"""

from __future__ import annotations

import argparse
import sys

from ..evaluation import AUDIO_SUFFIXES

FORMAT_SUFFIX = {"midi": ".mid", "json": ".json", "csv": ".csv"}
THRESHOLD_KEYS = ("postprocessing.onset_threshold", "postprocessing.class_thresholds")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="audio file, or a folder of audio files")
    parser.add_argument("output", help="output file (.mid/.midi, .json, .csv), or a folder when INPUT is a folder")
    parser.add_argument("--checkpoint", default=None,
                        help="a .ckpt from `drumscribe train` or a .safetensors model (default: the bundled model)")
    parser.add_argument("--format", choices=("midi", "json", "csv"), default=None,
                        help="output format (default: from OUTPUT's suffix; MIDI for folders)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="one onset threshold for every class (default: the model's tuned thresholds)")
    parser.add_argument("--velocity", choices=("auto", "head", "strength", "fixed"), default="auto",
                        help="velocity source: the model's velocity head, the onset strength, or "
                             "midi.default_velocity (auto: head if the model has one, else strength)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a decoding/MIDI config key, e.g. --set postprocessing.min_onset_interval=0.03")
    parser.add_argument("--plot", default=None, help="write a piano-roll PNG here (a folder in folder mode)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--window", type=float, default=None, help="model window, seconds (default 20)")
    parser.add_argument("--overlap", type=float, default=None, help="window overlap, seconds (default 3)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--quiet", action="store_true", help="print only warnings and errors")


def load_for_transcription(checkpoint, overrides, threshold):
    """(bundle with the overridden config, thresholds)."""
    from ..checkpoint import load_bundle
    from ..evaluation import config_for, resolve_thresholds

    bundle = load_bundle(checkpoint)
    if overrides:
        bundle.config = config_for(bundle, None, overrides)
    th = resolve_thresholds(bundle, bundle.config, threshold,
                            from_config=any(o.startswith(THRESHOLD_KEYS) for o in overrides))
    return bundle, th


def transcribe_file(bundle, thresholds, in_path, out_path, fmt, args, plot_path=None, console=None):
    """Transcribe one file and write the output; returns the :class:`~drumscribe.inference.Transcription`."""
    from ..inference import DEFAULT_OVERLAP_S, DEFAULT_WINDOW_S, transcribe_audio
    from ..midi_out import write_events

    tr = transcribe_audio(bundle, in_path, thresholds=thresholds, velocity_source=args.velocity,
                          window_s=args.window or DEFAULT_WINDOW_S,
                          overlap_s=DEFAULT_OVERLAP_S if args.overlap is None else args.overlap, device=args.device)
    if tr.silent:
        print(f"drumscribe transcribe: warning: {in_path}: audio is silent (peak {tr.peak:.1e}); "
              f"writing an empty {fmt.upper()} file", file=sys.stderr)
    write_events(out_path, tr.events, bundle.class_names, bundle.config.midi, fmt, tr.duration)
    if plot_path:
        from ..decoding import events_by_class
        from ..plotting import piano_roll

        piano_roll(plot_path, bundle.class_names, events_by_class(tr.events, len(bundle.class_names)),
                   None, tr.onset_probs, tr.clock.frame_rate, title=str(in_path))
    if console is not None:
        counts = [sum(1 for e in tr.events if e.cls == c) for c in range(len(bundle.class_names))]
        found = ", ".join(f"{n} {k}" for k, n in zip(bundle.class_names, counts) if n) or "no drum hits"
        rtf = tr.duration / tr.timings["total"] if tr.timings["total"] > 0 else float("inf")
        console.print(f"{in_path}: {tr.duration:.1f} s, {len(tr.events)} hits ({found}) -> {out_path} "
                      f"[{rtf:.0f}x real time]", highlight=False)
    return tr


def run(args) -> int:
    from pathlib import Path

    import torch
    from rich.console import Console

    from ..errors import AudioError, DrumscribeError
    from ..midi_out import format_for

    if args.threads:
        torch.set_num_threads(args.threads)
    in_path, out_path = Path(args.input), Path(args.output)
    if not in_path.exists():
        raise AudioError(f"{in_path}: audio file not found")
    bundle, thresholds = load_for_transcription(args.checkpoint, args.overrides, args.threshold)
    console = None if args.quiet else Console(highlight=False)
    if in_path.is_file():
        if out_path.is_dir():
            out_path = out_path / (in_path.stem + FORMAT_SUFFIX[args.format or "midi"])
        transcribe_file(bundle, thresholds, in_path, out_path, format_for(out_path, args.format), args,
                        args.plot, console)
        return 0
    # folder mode
    fmt = args.format or "midi"
    files = sorted(p for p in in_path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise AudioError(f"{in_path}: no audio files ({', '.join(AUDIO_SUFFIXES)}) found")
    if out_path.exists() and not out_path.is_dir():
        raise DrumscribeError(f"{out_path}: INPUT is a folder, so OUTPUT must be a folder")
    failed = []
    for f in files:
        rel = f.relative_to(in_path)
        target = out_path / rel.with_suffix(FORMAT_SUFFIX[fmt])
        plot = Path(args.plot) / rel.with_suffix(".png") if args.plot else None
        try:
            transcribe_file(bundle, thresholds, f, target, fmt, args, plot, console)
        except DrumscribeError as exc:
            print(f"drumscribe transcribe: error: {exc}", file=sys.stderr)
            failed.append(f)
    if console is not None:
        console.print(f"{len(files) - len(failed)} of {len(files)} files transcribed into {out_path}"
                      + (f"; {len(failed)} failed" if failed else ""))
    return 1 if failed else 0
