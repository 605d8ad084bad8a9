"""Events out: General MIDI drum files, JSON and CSV.  All writes are atomic (temp sibling + rename).

MIDI layout (type 1, ``midi.ticks_per_beat`` ticks per beat): track 0 holds the
tempo (``midi.tempo_bpm``) and 4/4 time signature; track 1 "drums" holds the
notes on channel 10 (index 9, which General MIDI and pretty_midi read as
``is_drum``), note number ``midi.gm_mapping[class name]``, the event's
velocity, duration ``midi.note_duration_ticks``.  An event at ``t`` seconds
starts at tick ``round(t * ticks_per_beat * tempo_bpm / 60)``.

JSON: ``{"events": [{"time": s, "class": idx, "name": str, "note": int, "velocity": int,
"strength": float}, ...], "class_names": [...], "duration": s}``.
CSV: header ``time,class,name,note,velocity,strength``, one event per row.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Sequence

from .atomic import atomic_write_bytes
from .decoding import Event

DRUM_CHANNEL = 9  # 0-based index of General MIDI channel 10
FORMATS = ("midi", "json", "csv")
SUFFIX_FORMAT = {".mid": "midi", ".midi": "midi", ".json": "json", ".csv": "csv"}


def format_for(path: str | Path, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    return SUFFIX_FORMAT.get(Path(path).suffix.lower(), "midi")


def midi_bytes(events: Sequence[Event], class_names: Sequence[str], midi_cfg) -> bytes:
    """A Standard MIDI File (bytes) of ``events``; see the module docstring."""
    import mido

    tpb = int(midi_cfg.ticks_per_beat)
    bpm = float(midi_cfg.tempo_bpm)
    ticks_per_second = tpb * bpm / 60.0
    dur = int(midi_cfg.note_duration_ticks)
    mf = mido.MidiFile(type=1, ticks_per_beat=tpb)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    meta.append(mido.MetaMessage("end_of_track", time=0))
    mf.tracks.append(meta)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="drums", time=0))
    msgs = []  # (abs tick, order, message); note-offs sort before note-ons at the same tick
    for e in events:
        note = int(midi_cfg.gm_mapping[class_names[e.cls]])
        on = max(int(round(e.time * ticks_per_second)), 0)
        vel = min(max(int(e.velocity), 1), 127)
        msgs.append((on, 1, mido.Message("note_on", channel=DRUM_CHANNEL, note=note, velocity=vel)))
        msgs.append((on + dur, 0, mido.Message("note_off", channel=DRUM_CHANNEL, note=note, velocity=0)))
    msgs.sort(key=lambda m: (m[0], m[1]))
    now = 0
    for tick, _, msg in msgs:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    mf.tracks.append(track)
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def _rows(events: Sequence[Event], class_names: Sequence[str], midi_cfg) -> list[dict]:
    return [
        {"time": round(float(e.time), 6), "class": int(e.cls), "name": class_names[e.cls],
         "note": int(midi_cfg.gm_mapping[class_names[e.cls]]), "velocity": int(e.velocity),
         "strength": round(float(e.strength), 6)}
        for e in events
    ]


def write_events(path: str | Path, events: Sequence[Event], class_names: Sequence[str], midi_cfg,
                 fmt: str | None = None, duration: float | None = None) -> Path:
    """Write ``events`` as MIDI, JSON or CSV (``fmt`` None: from the suffix, default MIDI)."""
    path = Path(path)
    fmt = format_for(path, fmt)
    if fmt == "midi":
        data = midi_bytes(events, class_names, midi_cfg)
    elif fmt == "json":
        data = (json.dumps({"events": _rows(events, class_names, midi_cfg), "class_names": list(class_names),
                            "duration": duration}, indent=1) + "\n").encode()
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["time", "class", "name", "note", "velocity", "strength"])
        w.writeheader()
        w.writerows(_rows(events, class_names, midi_cfg))
        data = buf.getvalue().encode()
    else:
        raise ValueError(f"unknown output format {fmt!r}; expected one of {FORMATS}")
    atomic_write_bytes(path, data)
    return path
