"""Events out: the project's one MIDI writer, plus JSON and CSV.  All writes are atomic (:mod:`drumscribe.core.atomic`).

MIDI (:func:`midi_file_bytes`, the writer every MIDI-producing module uses):
type 1, ``ticks_per_beat`` ticks per quarter note.  Track 0 holds the tempo
map and time signature(s) of a :class:`~drumscribe.transcription.beats.BeatMap`: one
``set_tempo`` at every beat (so the DAW's beats land on the detected beats and
its bars on the detected downbeats; a pickup bar gets its own time signature),
or one fixed tempo when no beat map is given.  Each further track holds
notes on channel 10 (index 9, which General MIDI and pretty_midi read as
``is_drum``).  A note at ``t`` seconds starts at the tick of ``t`` on that tempo
map (``round(ticks_per_beat * quarters(t))``): pretty_midi / a DAW read it back
at ``t`` within half a tick.

Transcribed drums (:func:`write_events`): one track "drums" (``tracks="per-drum"``: one track per drum
class present, named after it), note number ``midi.gm_mapping[class name]`` (an event with an
articulation: :data:`drumscribe.core.drums.ARTICULATION_GM`, unless folded to 8 drums), the event's velocity, duration
``midi.note_duration_ticks``.  With ``quantize`` (a :data:`QUANTIZE_STEPS` key)
the notes are snapped to that grid of the beat map; the played times stay in
the JSON/CSV (``time``) beside the snapped ones (``quantized_time``).

JSON: ``{"events": [{"time": s, "class": idx, "name": str, "note": int, "velocity": int,
"strength": float, "bar": int, "beat": float[, "quantized_time": s]}, ...],
"class_names": [...], "duration": s, "tempo": {"bpm": float, "meter": "4/4",
"beats": [s, ...], "downbeats": [s, ...]}}``.  ``bar`` counts from 1 at the first
downbeat (0: a pickup before it); ``beat`` is the 1-based, fractional beat within the bar.
CSV: header ``time,class,name,note,velocity,strength,bar,beat[,quantized_time]``, one event per row.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from drumscribe.core.atomic import atomic_write_bytes
from drumscribe.transcription.decoding import Event

DRUM_CHANNEL = 9  # 0-based index of General MIDI channel 10
FORMATS = ("midi", "json", "csv")
SUFFIX_FORMAT = {".mid": "midi", ".midi": "midi", ".json": "json", ".csv": "csv",
                 ".musicxml": "musicxml", ".xml": "musicxml", ".pdf": "pdf", ".png": "png",  # musicxml/pdf/png: score.py
                 ".html": "html", ".htm": "html"}  # html: the review page, review_page.py
# --quantize values -> grid step in quarter notes
QUANTIZE_STEPS: dict[str, float] = {
    "1/8": 0.5, "1/16": 0.25, "1/32": 0.125, "1/8t": 1.0 / 3.0, "1/16t": 1.0 / 6.0,
}
QUANTIZE_CHOICES = ("off", *QUANTIZE_STEPS)
MIDI_TRACKS = ("single", "per-drum")  # --midi-tracks
# --classes: "shown" (default) the drums + the articulations shown right for the model (the output rule,
# core/drums.ARTICULATION_MIN_PRECISION), "all" every articulation output, "8" the drums only
CLASS_CHOICES = ("shown", "all", "8")
CLASS_VIEW = {"shown": "shown", "all": "all", "8": "none"}  # --classes -> transcribe_audio(articulations=)


def format_for(path: str | Path, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    return SUFFIX_FORMAT.get(Path(path).suffix.lower(), "midi")


@dataclass(frozen=True)
class Note:
    """One MIDI note: ``time`` seconds, ``pitch`` 0-127, ``velocity`` 1-127, ``duration`` seconds (None: a fixed tick length)."""

    time: float
    pitch: int
    velocity: int
    duration: float | None = None


def midi_file_bytes(tracks: Sequence[tuple[str, Sequence[Note]]], beat_map=None, *, ticks_per_beat: int = 480,
                    tempo_bpm: float = 120.0, note_ticks: int = 50, channel: int = DRUM_CHANNEL,
                    midi_type: int = 1) -> bytes:
    """A Standard MIDI File (bytes): a tempo/meter track, then one track per ``(name, notes)`` or
    ``(name, notes, texts)`` (``texts``: ``[(seconds, text)]``, written as text meta events).

    ``beat_map``: a :class:`~drumscribe.transcription.beats.BeatMap` (tempo at every beat, its time
    signatures) or None (``tempo_bpm``, 4/4).  Notes without a duration last ``note_ticks``.
    ``midi_type=0``: the same events merged into one track (E-GMD's / GMD's own file type).
    """
    import mido
    import numpy as np

    from drumscribe.core.sanitize import clean_text

    tpb = int(ticks_per_beat)
    meta = mido.MidiTrack()
    if beat_map is None:
        meta.append(mido.MetaMessage("set_tempo", tempo=int(round(mido.bpm2tempo(tempo_bpm))), time=0))
        meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
        meta.append(mido.MetaMessage("end_of_track", time=0))

        def to_ticks(t):
            return np.rint(np.asarray(t, dtype=np.float64) * tpb * tempo_bpm / 60.0).astype(np.int64)
    else:
        evs = [(int(round(q * tpb)), 1, mido.MetaMessage("set_tempo", tempo=int(round(us)))) for q, us in beat_map.tempo_changes()]
        evs += [(int(round(q * tpb)), 0, mido.MetaMessage("time_signature", numerator=n, denominator=d))
                for q, n, d in beat_map.time_signatures()]
        _append_sorted(meta, evs)

        def to_ticks(t):
            return np.rint(beat_map.to_quarters(t) * tpb).astype(np.int64)
    mf = mido.MidiFile(type=1, ticks_per_beat=tpb)
    mf.tracks.append(meta)
    for name, notes, *texts in tracks:
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=clean_text(name), time=0))  # class names come from model files
        starts = to_ticks([n.time for n in notes]) if notes else np.zeros(0, np.int64)
        ends = (to_ticks([n.time + n.duration if n.duration is not None else n.time for n in notes])
                if notes else np.zeros(0, np.int64))
        evs = []  # note-offs sort before note-ons at the same tick
        for n, on, end in zip(notes, starts, ends):
            on = max(int(on), 0)
            off = max(int(end), on + 1) if n.duration is not None else on + int(note_ticks)
            vel = min(max(int(n.velocity), 1), 127)
            pitch = int(n.pitch)
            if not (0 <= pitch <= 127 and 0 <= channel <= 15):  # checked here once: mido's own checks are skipped
                raise ValueError(f"MIDI note {pitch} on channel {channel} is out of range")
            evs.append((on, 1, mido.Message("note_on", skip_checks=True, channel=channel, note=pitch, velocity=vel)))
            evs.append((off, 0, mido.Message("note_off", skip_checks=True, channel=channel, note=pitch, velocity=0)))
        for t, text in (texts[0] if texts else ()):
            evs.append((max(int(to_ticks([t])[0]), 0), -1, mido.MetaMessage("text", text=text)))
        _append_sorted(track, evs)
        mf.tracks.append(track)
    if midi_type == 0:
        merged = mido.MidiFile(type=0, ticks_per_beat=tpb)
        merged.tracks.append(mido.merge_tracks(mf.tracks))
        mf = merged
    elif midi_type != 1:
        raise ValueError(f"midi_type must be 0 or 1, got {midi_type!r}")
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def _append_sorted(track, evs) -> None:
    import mido

    evs.sort(key=lambda m: (m[0], m[1]))
    now = 0
    for tick, _, msg in evs:
        track.append(msg.copy(skip_checks=True, time=tick - now))  # ticks are sorted: delta >= 0
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))


def write_midi(path: str | Path, tracks: Sequence[tuple[str, Sequence[Note]]], beat_map=None, **kwargs) -> Path:
    """:func:`midi_file_bytes`, written atomically to ``path``."""
    path = Path(path)
    atomic_write_bytes(path, midi_file_bytes(tracks, beat_map, **kwargs))
    return path


def quantized_times(events: Sequence[Event], beat_map, quantize: str | None):
    """Event times snapped to ``quantize`` (a :data:`QUANTIZE_STEPS` key) on ``beat_map``; None when off."""
    if quantize in (None, "off"):
        return None
    if quantize not in QUANTIZE_STEPS:
        raise ValueError(f"quantize must be one of {QUANTIZE_CHOICES}, got {quantize!r}")
    if beat_map is None:
        raise ValueError("quantize needs a beat map")
    return beat_map.quantize([e.time for e in events], QUANTIZE_STEPS[quantize])


def note_number(event: Event, class_names: Sequence[str], midi_cfg, fold: bool = False) -> int:
    """The General MIDI note of ``event``: its articulation's (:data:`drumscribe.core.drums.ARTICULATION_GM`)
    unless ``fold`` (``--classes 8``) or plain, else its drum's ``midi.gm_mapping``."""
    from drumscribe.core.drums import ARTICULATION_GM

    if event.articulation and not fold:
        return int(ARTICULATION_GM[event.articulation])
    return int(midi_cfg.gm_mapping[class_names[event.cls]])


def midi_bytes(events: Sequence[Event], class_names: Sequence[str], midi_cfg, beat_map=None,
               quantize: str | None = None, tracks: str = "single", fold: bool = False) -> bytes:
    """A General MIDI drum file (bytes) of ``events``; see the module docstring.

    ``tracks``: ``"single"`` (one track "drums") or ``"per-drum"`` (one track per drum class present, named
    after it, articulations on their drum's track, same channel 10).  ``fold``: articulations written as their
    drum's plain note (the 8-drum file).
    """
    if tracks not in MIDI_TRACKS:
        raise ValueError(f"tracks must be one of {MIDI_TRACKS}, got {tracks!r}")
    times = quantized_times(events, beat_map, quantize)
    notes = [Note(float(e.time if times is None else times[i]), note_number(e, class_names, midi_cfg, fold),
                  int(e.velocity)) for i, e in enumerate(events)]
    if tracks == "single":
        groups = [("drums", notes)]
    else:
        groups = [(name, [n for n, e in zip(notes, events) if e.cls == c]) for c, name in enumerate(class_names)]
        groups = [g for g in groups if g[1]]
    return midi_file_bytes(groups, beat_map, ticks_per_beat=int(midi_cfg.ticks_per_beat),
                           tempo_bpm=float(midi_cfg.tempo_bpm), note_ticks=int(midi_cfg.note_duration_ticks))


def _rows(events: Sequence[Event], class_names: Sequence[str], midi_cfg, beat_map=None,
          quantize: str | None = None, fold: bool = False) -> list[dict]:
    from drumscribe.core.sanitize import clean_text  # a class name is text from a model's files

    rows = [
        {"time": round(float(e.time), 6), "class": int(e.cls), "name": clean_text(class_names[e.cls]),
         "note": note_number(e, class_names, midi_cfg, fold), "velocity": int(e.velocity),
         "strength": round(float(e.strength), 6)}
        for e in events
    ]
    if not fold and any(e.articulation for e in events):  # only when the model has articulations
        for r, e in zip(rows, events):
            r["articulation"] = e.articulation
            r["rimshot"] = e.articulation == "rimshot"
    if beat_map is not None and rows:
        bars, beats = beat_map.bar_and_beat([e.time for e in events])
        for r, bar, beat in zip(rows, bars, beats):
            r["bar"], r["beat"] = int(bar), round(float(beat), 4)
    times = quantized_times(events, beat_map, quantize)
    if times is not None:
        for r, t in zip(rows, times):
            r["quantized_time"] = round(float(t), 6)
    return rows


def tempo_summary(beat_map) -> dict | None:
    if beat_map is None:
        return None
    return {"bpm": round(float(beat_map.bpm * beat_map.quarters_per_beat), 3), "meter": beat_map.meter,
            "beats": [round(float(b), 6) for b in beat_map.beats],
            "downbeats": [round(float(b), 6) for b in beat_map.downbeats]}


def write_events(path: str | Path, events: Sequence[Event], class_names: Sequence[str], midi_cfg,
                 fmt: str | None = None, duration: float | None = None, beat_map=None,
                 quantize: str | None = None, tracks: str = "single", fold: bool = False) -> Path:
    """Write ``events`` as MIDI, JSON or CSV (``fmt`` None: from the suffix, default MIDI).

    ``beat_map``: a :class:`~drumscribe.transcription.beats.BeatMap` for the MIDI tempo map and the
    JSON/CSV bar/beat columns (None: ``midi.tempo_bpm``, no bar/beat columns).
    ``quantize``: a :data:`QUANTIZE_STEPS` key, or None / "off".  ``tracks``/``fold``: see :func:`midi_bytes`.
    """
    path = Path(path)
    data = events_bytes(events, class_names, midi_cfg, format_for(path, fmt), duration, beat_map, quantize,
                        tracks, fold)
    atomic_write_bytes(path, data)
    return path


def events_bytes(events: Sequence[Event], class_names: Sequence[str], midi_cfg, fmt: str,
                 duration: float | None = None, beat_map=None, quantize: str | None = None,
                 tracks: str = "single", fold: bool = False) -> bytes:
    """``events`` serialised as ``fmt`` (midi, json or csv): what :func:`write_events` writes.

    Events with an articulation (a model that has them) add ``articulation`` and ``rimshot`` to JSON/CSV
    and are written with the articulation's General MIDI note, unless ``fold``.
    """
    if fmt == "midi":
        data = midi_bytes(events, class_names, midi_cfg, beat_map, quantize, tracks, fold)
    elif fmt == "json":
        doc = {"events": _rows(events, class_names, midi_cfg, beat_map, quantize, fold),
               "class_names": list(class_names), "duration": duration}
        if beat_map is not None:
            doc["tempo"] = tempo_summary(beat_map)
        data = (json.dumps(doc, indent=1) + "\n").encode()
    elif fmt == "csv":
        buf = io.StringIO()
        fields = ["time", "class", "name", "note", "velocity", "strength"]
        if beat_map is not None:
            fields += ["bar", "beat"]
        if quantize not in (None, "off"):
            fields += ["quantized_time"]
        if not fold and any(e.articulation for e in events):
            fields += ["articulation", "rimshot"]
        w = csv.DictWriter(buf, fieldnames=fields)
        w.writeheader()
        w.writerows(_rows(events, class_names, midi_cfg, beat_map, quantize, fold))
        data = buf.getvalue().encode()
    else:
        raise ValueError(f"unknown output format {fmt!r}; expected one of {FORMATS}")
    return data
