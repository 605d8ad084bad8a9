"""Transcribe drum audio to a General MIDI drum file (or JSON / CSV events).

Examples::

    drumscribe transcribe song.wav song.mid --checkpoint best.ckpt
    drumscribe transcribe song.flac events.json            # bundled model, JSON output
    drumscribe transcribe stems/ midi/ --format midi        # a folder in, a folder out

Any format libsndfile (or audioread) reads, any sample rate and channel count.
Silent audio gives a valid empty MIDI file and a warning; a file that cannot be
read gives a one-line error naming it and a non-zero exit (in folder mode the
other files still finish).  An existing output is skipped with a notice unless
--overwrite is given; the input and existing audio files are never written over.
In folder mode, inputs that would share an output name (take.wav, take.flac)
are written as take.wav.mid and take.flac.mid.
"""

from __future__ import annotations

import argparse
import sys

from drumscribe.transcription.beats import METERS
from drumscribe.core.config import add_set_argument
from drumscribe.core.outputs import add_output_argument, file_ids, model_files, refusal  # noqa: F401 (the one rule)
from drumscribe.audio.io import AUDIO_SUFFIXES
from drumscribe.api import load_for_transcription
from drumscribe.transcription.files import transcribe_file
from drumscribe.transcription.midi_out import CLASS_CHOICES, MIDI_TRACKS, QUANTIZE_CHOICES
from drumscribe.transcription.review_page import PAGE_AUDIO

PLOT_SUFFIXES = (".png", ".pdf", ".svg")  # what the piano roll (matplotlib) writes
FORMAT_SUFFIX = {"midi": ".mid", "json": ".json", "csv": ".csv", "musicxml": ".musicxml", "pdf": ".pdf", "png": ".png",
                 "chart": "",  # chart: a Clone Hero / YARG song folder (transcription/chart.py)
                 "html": ".html"}  # html: a self-contained review page (transcription/review_page.py)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="audio file, or a folder of audio files")
    add_output_argument(parser, "output", help="output file (.mid/.midi, .json, .csv; a drum score: .musicxml, .pdf, "
                                               ".png; a review page to listen to and fix: .html), or a folder "
                                               "when INPUT is a folder")
    parser.add_argument("--checkpoint", default=None,
                        help="a .ckpt from `drumscribe train` or a .safetensors model (default: the bundled model)")
    parser.add_argument("--format", choices=tuple(FORMAT_SUFFIX), default=None,
                        help="output format (default: from OUTPUT's suffix; MIDI for folders)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="one onset threshold for every class (default: the model's tuned thresholds)")
    parser.add_argument("--velocity", choices=("auto", "head", "strength", "fixed"), default="auto",
                        help="velocity source: the model's velocity head, the onset strength, or "
                             "midi.default_velocity (auto: head if the model has one, else strength)")
    add_set_argument(parser, "override a decoding/MIDI config key, e.g. --set postprocessing.min_onset_interval=0.03")
    add_output_argument(parser, "--plot", default=None,
                        help=f"write a piano-roll image here ({'/'.join(PLOT_SUFFIXES)}; a folder in folder mode)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for the model (default: the runtime's, one per core)")
    parser.add_argument("--window", type=float, default=None, help="model window, seconds (default 20)")
    parser.add_argument("--overlap", type=float, default=None, help="window overlap, seconds (default 3)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu; cuda implies --backend torch)")
    parser.add_argument("--backend", choices=("onnx", "torch"), default=None,
                        help="onnx: ONNX Runtime, no PyTorch needed (default for the bundled model and .onnx files); "
                             "torch: PyTorch (default for .ckpt/.safetensors; needs drumscribe[train])")
    parser.add_argument("--quiet", action="store_true", help="print only warnings and errors")
    parser.add_argument("--quantize", choices=QUANTIZE_CHOICES, default="off",
                        help="snap MIDI notes to this grid of the detected beats (default off: notes keep their "
                             "played timing; JSON/CSV then carry both times). Scores are always quantised "
                             "(1/16 or triplet eighths per beat unless given here)")
    parser.add_argument("--tempo", type=float, default=None, metavar="BPM",
                        help="the tempo (quarter notes per minute) if you know it: beats are tracked at it "
                             "(default: detected from the drums)")
    parser.add_argument("--meter", choices=METERS, default=None, help="time signature (default: detected)")
    parser.add_argument("--midi-tracks", choices=MIDI_TRACKS, default="single",
                        help="MIDI: one drum track (default) or one named track per drum (per-drum; all on channel 10)")
    parser.add_argument("--classes", choices=CLASS_CHOICES, default="shown",
                        help="shown (default): the drums and the articulations (open/pedal hi-hat, cross-stick, rim "
                             "shot, ride bell) shown right for the model (precision >= 0.80 on real recordings and GMD "
                             "test; MODEL_CARD.md), the others as their drum's plain note; all: every articulation "
                             "output, even unproven; 8: the 8 drums only")
    parser.add_argument("--page-audio", choices=PAGE_AUDIO, default="embed",
                        help="html: embed the song in the page (default; compact MP3) or link to the input file "
                             "beside it (keep the two together; nothing is copied)")
    parser.add_argument("--shard", metavar="K/N", default=None,
                        help="folder mode: only shard K of N of the files (1-based, 1..N; a stable hash of each file's "
                             "path relative to INPUT), so N runs on N machines or processes share a folder without "
                             "coordination (docs/scale_out.md)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing output files (default: skip them with a notice); the input "
                             "and existing audio files are never replaced")
    parser.add_argument("--chart-format", choices=("mid", "chart"), default=None,
                        help="--format chart: notes.mid (default) or notes.chart (Moonscraper); default: the "
                             "song folder's existing format")
    parser.add_argument("--tag", action="append", default=None, metavar="KEY=VALUE",
                        help="--format chart: song.ini metadata (name, artist, album, genre, year), e.g. "
                             "--tag genre=Rock; default: the audio's tags and file name")


# ------------------------------------------------------------------ option checks and the output-path policy
#
# Never lose a user's file: an output that is the input (also through a link) or an existing audio file is
# refused; any other existing output is skipped with a notice unless --overwrite is given.  In folder mode
# two inputs that would share an output name (take.wav, take.flac) get the full input name plus the output
# suffix instead (take.wav.mid, take.flac.mid).

def validate_options(args) -> None:
    """Numbers in their ranges (:mod:`drumscribe.core.options`: ``--window``, ``--threads``, ``--tempo``...),
    ``--overlap`` shorter than the window, ``--device`` present: checked before any work (one line)."""
    from drumscribe.core.errors import ConfigError
    from drumscribe.core.options import check_args
    from drumscribe.transcription.inference import DEFAULT_OVERLAP_S, DEFAULT_WINDOW_S

    check_args("transcribe", args)
    window = DEFAULT_WINDOW_S if args.window is None else args.window
    overlap = DEFAULT_OVERLAP_S if args.overlap is None else args.overlap
    if not 0 <= overlap < window:
        raise ConfigError(f"--overlap {overlap:g}: must be at least 0 and shorter than the window ({window:g} s)")
    check_device(args.device)


def check_single_outputs(out_path, plot, fmt) -> None:
    """Single-file mode: an output name that says what it holds (or ``--format``), a plot name matplotlib writes,
    and two distinct files (:class:`ConfigError` / :class:`OutputExistsError`, one line)."""
    from pathlib import Path

    from drumscribe.core.errors import ConfigError
    from drumscribe.core.outputs import OutputRule
    from drumscribe.transcription.midi_out import SUFFIX_FORMAT

    if fmt is None and out_path.suffix.lower() not in SUFFIX_FORMAT and out_path.suffix.lower() not in AUDIO_SUFFIXES:
        raise ConfigError(f"{out_path}: unknown output type {out_path.suffix or '(no suffix)'!r}; name it "
                          f"{', '.join(sorted(set(SUFFIX_FORMAT)))} or pass --format")
    if plot is not None:
        if Path(plot).suffix.lower() not in PLOT_SUFFIXES:
            raise ConfigError(f"--plot {plot}: a piano roll is written as {', '.join(PLOT_SUFFIXES)}")
        OutputRule("transcribe").distinct([out_path, Path(plot)])


def check_device(device: str) -> None:
    """A torch device string that names a device present here, else a one-line error (:func:`drumscribe.api.check_device`)."""
    from drumscribe.api import check_device as check

    check(device, "--device")


def folder_targets(files, in_root, out_root, suffix: str):
    """``{input: output}`` for folder mode; inputs whose outputs would collide (``take.wav``/``take.flac``,
    also by case) are named ``<input name><suffix>`` (``take.wav.mid``).  Returns ``(targets, clashes)``:
    ``clashes`` lists inputs that still share an output and are not transcribed."""
    from collections import Counter
    from pathlib import Path

    rels = {f: Path(f).relative_to(in_root) for f in files}
    plain = {f: r.with_suffix(suffix) for f, r in rels.items()}
    n = Counter(str(p).casefold() for p in plain.values())
    names = {f: (p if n[str(p).casefold()] == 1 else rels[f].with_name(rels[f].name + suffix)) for f, p in plain.items()}
    n2 = Counter(str(p).casefold() for p in names.values())
    clashes = [f for f, p in names.items() if n2[str(p).casefold()] > 1]
    return {f: Path(out_root) / p for f, p in names.items() if f not in clashes}, clashes


def _skip_notice(in_path, existing) -> None:
    print(f"drumscribe transcribe: skipped {in_path}: {existing} exists (pass --overwrite to replace it)",
          file=sys.stderr)


def _console():
    from rich.console import Console  # imported only when something is printed (start-up time)

    return Console(highlight=False)


def check_chart_options(args) -> None:
    """Options that mean nothing for a song folder are refused (one line), and chart options without one."""
    from drumscribe.core.errors import ConfigError
    from drumscribe.transcription.chart_folder import parse_tags

    if args.format != "chart":
        for flag, value in (("--chart-format", args.chart_format), ("--tag", args.tag)):
            if value:
                raise ConfigError(f"{flag}: only with --format chart (a song folder)")
        return
    if args.midi_tracks != "single":
        raise ConfigError("--midi-tracks: not with --format chart (a chart has its own PART DRUMS track)")
    if args.quantize != "off":
        raise ConfigError("--quantize: not with --format chart (a chart is always on the 1/16 or triplet grid)")
    parse_tags(args.tag)


def run_chart(args, pairs, plots=None) -> int:
    """``--format chart``: transcribe each ``(input, song folder)``.  Every folder (and ``--plot``) is checked
    before any work by the folder rule (:func:`~drumscribe.transcription.chart_folder.plan_folder`): a folder
    that exists is kept whole unless --overwrite, one that cannot be written or holds audio the chart did not
    write is refused; the folder is then written as one unit."""
    from drumscribe.core.atomic import check_destination
    from drumscribe.core.errors import DrumscribeError, OutputExistsError, os_error_line
    from drumscribe.transcription.chart_folder import plan_folder

    plots = plots or {}
    todo, failed = [], 0
    for f, folder in pairs:
        plot = plots.get(f)
        try:
            inputs = [f, *model_files(args.checkpoint)]
            plan = plan_folder(folder, inputs, args.overwrite, args.chart_format)
            if plot is not None:
                why = refusal(plot, file_ids(inputs))
                if why:
                    raise OutputExistsError(why)
                check_destination(plot)
        except DrumscribeError as exc:
            print(f"drumscribe transcribe: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        except OSError as exc:
            print(f"drumscribe transcribe: error: {os_error_line(exc, folder)}", file=sys.stderr)
            failed += 1
            continue
        if not plan.write:
            _skip_notice(f, folder)
        elif plot is not None and (plot.exists() or plot.is_symlink()) and not args.overwrite:
            _skip_notice(f, plot)
        else:
            todo.append((f, folder, plot))
    if not todo:
        return 1 if failed else 0
    bundle, thresholds = load_for_transcription(args.checkpoint, args.overrides, args.threshold, args.backend,
                                                 args.device, args.threads)
    console = None if args.quiet else _console()
    for f, folder, plot in todo:
        try:
            transcribe_file(bundle, thresholds, f, folder, "chart", args, plot, console)
        except DrumscribeError as exc:
            print(f"drumscribe transcribe: error: {exc}", file=sys.stderr)
            failed += 1
        except OSError as exc:
            print(f"drumscribe transcribe: error: {os_error_line(exc, folder)}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def run(args) -> int:
    from pathlib import Path

    from drumscribe.core.atomic import check_destination
    from drumscribe.core.errors import AudioError, DrumscribeError, OutputExistsError, os_error_line
    from drumscribe.transcription.midi_out import format_for

    validate_options(args)
    in_path, out_path = Path(args.input), Path(args.output)
    from drumscribe.core.shard import in_shard, parse_shard

    shard = parse_shard(args.shard) if getattr(args, "shard", None) else None
    if shard is not None and in_path.is_file():
        raise DrumscribeError(f"--shard {args.shard}: only when INPUT is a folder ({in_path} is a file)")
    if not in_path.exists():
        raise AudioError(f"{in_path}: audio file not found")
    if not in_path.is_file() and not in_path.is_dir():  # a FIFO, socket or device: not "no audio files found"
        from drumscribe.audio.io import check_audio_path

        check_audio_path(in_path)
    check_chart_options(args)
    if in_path.is_file() and args.format == "chart":  # OUTPUT is the song folder
        plot = Path(args.plot) if args.plot else None
        if plot is not None:
            check_single_outputs(out_path, plot, "chart")
        return run_chart(args, [(in_path, out_path)], {in_path: plot})
    if in_path.is_dir() and args.format == "chart":  # one song folder per input
        from drumscribe.transcription.chart_folder import is_song_folder

        # the audio of song folders (this command's own outputs, a re-run into the same folder) is not an input
        files = sorted(p for p in in_path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
                       and not any(is_song_folder(in_path / d) for d in p.relative_to(in_path).parents))
        if not files:
            raise AudioError(f"{in_path}: no audio files ({', '.join(AUDIO_SUFFIXES)}) found")
        targets, clashes = folder_targets(files, in_path, out_path, "")
        targets = {f: t for f, t in targets.items() if in_shard(f, in_path, shard)}  # clashes: over all shards
        clashes = [f for f in clashes if in_shard(f, in_path, shard)]
        for f in clashes:
            print(f"drumscribe transcribe: error: {f}: its output name is taken by another input; rename one",
                  file=sys.stderr)
        plots = {f: Path(args.plot) / (str(t.relative_to(out_path)) + ".png") for f, t in targets.items()} \
            if args.plot else {}
        return max(run_chart(args, list(targets.items()), plots), 1 if clashes else 0)
    if in_path.is_file():
        if out_path.is_dir():
            out_path = out_path / (in_path.stem + FORMAT_SUFFIX[args.format or "midi"])
        outputs = [out_path] + ([Path(args.plot)] if args.plot else [])
        for o in outputs:
            why = refusal(o, file_ids([in_path, *model_files(args.checkpoint)]))
            if why:
                raise OutputExistsError(why)
        check_single_outputs(out_path, args.plot, args.format)
        if out_path.suffix.lower() in AUDIO_SUFFIXES:
            raise OutputExistsError(f"{out_path}: an audio file name; choose a .mid/.json/.csv output name")
        existing = [o for o in outputs if o.exists() or o.is_symlink()]
        if existing and not args.overwrite:
            _skip_notice(in_path, existing[0])
            return 0
        for o in outputs:
            check_destination(o)  # a folder that cannot be written fails now, not after the work
        bundle, thresholds = load_for_transcription(args.checkpoint, args.overrides, args.threshold, args.backend,
                                                     args.device, args.threads)
        console = None if args.quiet else _console()
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
    targets, clashes = folder_targets(files, in_path, out_path, FORMAT_SUFFIX[fmt])
    targets = {f: t for f, t in targets.items() if in_shard(f, in_path, shard)}  # clashes: over all shards
    clashes = [f for f in clashes if in_shard(f, in_path, shard)]
    bundle, thresholds = load_for_transcription(args.checkpoint, args.overrides, args.threshold, args.backend,
                                                 args.device, args.threads)
    console = None if args.quiet else _console()
    failed, skipped, done = list(clashes), [], 0
    input_ids = file_ids([*files, *model_files(args.checkpoint)])
    for f in clashes:
        print(f"drumscribe transcribe: error: {f}: its output name is taken by another input; rename one",
              file=sys.stderr)
    for f, target in targets.items():
        plot = Path(args.plot) / target.relative_to(out_path).with_suffix(".png") if args.plot else None
        outputs = [target] + ([plot] if plot else [])
        why = next((w for w in (refusal(o, input_ids) for o in outputs) if w), None)
        if why:
            print(f"drumscribe transcribe: error: {why}", file=sys.stderr)
            failed.append(f)
            continue
        existing = [o for o in outputs if o.exists() or o.is_symlink()]
        if existing and not args.overwrite:
            _skip_notice(f, existing[0])
            skipped.append(f)
            continue
        try:
            transcribe_file(bundle, thresholds, f, target, fmt, args, plot, console)
            done += 1
        except DrumscribeError as exc:
            print(f"drumscribe transcribe: error: {exc}", file=sys.stderr)
            failed.append(f)
        except OSError as exc:  # this output cannot be written; the other files still run
            print(f"drumscribe transcribe: error: {os_error_line(exc, target)}", file=sys.stderr)
            failed.append(f)
    if console is not None:
        share = f"{len(files)}" if shard is None else f"{len(targets) + len(clashes)} (shard {shard[0]}/{shard[1]} of {len(files)})"
        console.print(f"{done} of {share} files transcribed into {out_path}"
                      + (f"; {len(skipped)} skipped (output exists; --overwrite replaces)" if skipped else "")
                      + (f"; {len(failed)} failed" if failed else ""))
    return 1 if failed else 0
