"""Transcribe one audio file into one output file (MIDI, JSON, CSV, a score or a review page), as ``drumscribe transcribe``
and ``drumscribe demo`` do: :func:`transcribe_file` (the model already loaded, e.g. by
:func:`drumscribe.api.load_for_transcription`)."""

from __future__ import annotations

import sys
from pathlib import Path

SCORE_FORMATS = ("musicxml", "pdf", "png")


def beat_map_for(tr, bundle, args):
    """The :class:`~drumscribe.transcription.beats.BeatMap` of a transcription (``--tempo``/``--meter`` honoured)."""
    from drumscribe.transcription.bar_tracker import QUARTERS_PER_BEAT
    from drumscribe.transcription.beats import track_events

    tempo, meter = getattr(args, "tempo", None), getattr(args, "meter", None)
    bpm = None
    if tempo is not None:
        bpm = tempo / QUARTERS_PER_BEAT.get(meter, 1.0)  # tracked beats: dotted quarters in 6/8
    return track_events(tr.events, bundle.class_names, tr.duration, bpm=bpm, meter=meter, audio=tr.beat_audio)


def transcribe_file(bundle, thresholds, in_path, out_path, fmt, args, plot_path=None, console=None):
    """Transcribe one file and write the output; returns the :class:`~drumscribe.transcription.inference.Transcription`.

    ``out_path``/``plot_path`` None: not written (the caller kept an existing file under the overwrite rule,
    :mod:`drumscribe.core.outputs`, which callers apply before calling this)."""
    from drumscribe.transcription.inference import DEFAULT_OVERLAP_S, DEFAULT_WINDOW_S, transcribe_audio
    from drumscribe.transcription.decoding import written_articulations
    from drumscribe.transcription.midi_out import CLASS_VIEW, write_events

    audio_job = None
    if fmt == "chart" and out_path is not None:  # the song's audio is encoded while the model runs
        from drumscribe.transcription.chart_folder import AudioJob

        audio_job = AudioJob(in_path)
    view = CLASS_VIEW[getattr(args, "classes", "shown")]
    tr = transcribe_audio(bundle, in_path, thresholds=thresholds, velocity_source=args.velocity,
                          window_s=args.window or DEFAULT_WINDOW_S,
                          overlap_s=DEFAULT_OVERLAP_S if args.overlap is None else args.overlap, device=args.device,
                          articulations=view)
    if tr.silent:
        print(f"drumscribe transcribe: warning: {in_path}: audio is silent (peak {tr.peak:.1e}); "
              f"writing an empty {fmt.upper()} file", file=sys.stderr)
    beat_map = beat_map_for(tr, bundle, args)
    quantize = getattr(args, "quantize", "off")
    events = tr.events  # articulations already folded to the --classes view
    if out_path is None:
        pass
    elif fmt == "chart":  # a song folder, written as one unit (transcription/chart_folder.py)
        from drumscribe.transcription.chart_folder import export_song_folder

        export_song_folder(out_path, in_path, events, bundle.class_names, beat_map, audio_job, args)
    elif fmt == "html":  # the review page: listen, check and fix in a browser (review_page.py)
        from drumscribe.transcription.review_page import write_review_page

        write_review_page(out_path, in_path, events, bundle.class_names, bundle.config.midi, beat_map, tr.duration,
                          audio=getattr(args, "page_audio", "embed"), quantize=quantize,
                          articulations=written_articulations(bundle.config, view),
                          tracks=getattr(args, "midi_tracks", "single"))
    elif fmt in SCORE_FORMATS:
        from drumscribe.transcription.score import write_score

        write_score(out_path, events, bundle.class_names, beat_map, fmt,
                    quantize=None if quantize == "off" else quantize, title=Path(in_path).stem)
    else:
        write_events(out_path, events, bundle.class_names, bundle.config.midi, fmt, tr.duration,
                     beat_map=beat_map, quantize=quantize, tracks=getattr(args, "midi_tracks", "single"))
    if plot_path:
        from drumscribe.transcription.decoding import events_by_class
        from drumscribe.transcription.plotting import piano_roll

        piano_roll(plot_path, bundle.class_names, events_by_class(tr.events, len(bundle.class_names)),
                   None, tr.onset_probs, tr.clock.frame_rate, title=str(in_path))
    if console is not None:
        counts = [sum(1 for e in tr.events if e.cls == c) for c in range(len(bundle.class_names))]
        found = ", ".join(f"{n} {k}" for k, n in zip(bundle.class_names, counts) if n) or "no drum hits"
        rtf = tr.duration / tr.timings["total"] if tr.timings["total"] > 0 else float("inf")
        console.print(f"{in_path}: {tr.duration:.1f} s, {len(tr.events)} hits ({found}), "
                      f"{beat_map.bpm * beat_map.quarters_per_beat:.1f} bpm {beat_map.meter}"
                      + (f" -> {out_path}" if out_path is not None else "") + " "
                      f"[{rtf:.0f}x real time]", highlight=False)
    return tr
