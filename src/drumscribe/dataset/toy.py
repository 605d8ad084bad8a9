"""Tiny synthetic drum data for tests and benchmarks (no Debian kits needed).

Each class gets a distinctive, deterministic sound (kick: low decaying sine;
snare: mid noise + tone; hi-hat: high noise; toms: pitched sines; crash/ride:
long bright noise), so a small model can learn them in seconds.  Files are
written in E-GMD's layout with its CSV, so the real pipeline runs on them.
For realistic data use ``drumscribe synth``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from drumscribe.dataset.index import CSV_NAME, EGMD_COLUMNS
from drumscribe.core.drums import CLASSES, GM_OUTPUT, TD_CLASS
from drumscribe.synth.constants import SR  # the synthesiser's one sample rate

TOY_NOTES = [GM_OUTPUT[c] for c in CLASSES]  # one General MIDI note per class
_NOTE_CLASS = {note: c for c, note in GM_OUTPUT.items()}
_TOM_HZ = {"hi_tom": 240.0, "mid_tom": 160.0, "low_tom": 100.0}


def _hit(note: int, velocity: int, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    cls = _NOTE_CLASS.get(note) or TD_CLASS.get(note, "ride")  # a GM output note, else E-GMD's numbering
    dur = {"crash": 0.6, "ride": 0.4}.get(cls, 0.15)
    n = int(dur * sr)
    t = np.arange(n) / sr
    amp = velocity / 127.0
    if cls == "kick":
        x = np.sin(2 * np.pi * (50 + 60 * np.exp(-t * 40)) * t) * np.exp(-t * 18)
    elif cls == "snare":
        x = 0.6 * rng.standard_normal(n) * np.exp(-t * 25) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t * 30)
    elif cls == "hihat":
        noise = np.diff(rng.standard_normal(n + 1))
        x = 0.5 * noise * np.exp(-t * 60)
    elif cls in _TOM_HZ:
        x = np.sin(2 * np.pi * _TOM_HZ[cls] * t) * np.exp(-t * 12)
    elif cls == "crash":
        noise = np.diff(rng.standard_normal(n + 1))
        x = 0.35 * (noise + 0.3 * rng.standard_normal(n)) * np.exp(-t * 5)
    else:  # ride
        x = 0.3 * np.sin(2 * np.pi * 3100 * t) * np.exp(-t * 6) + 0.15 * np.diff(rng.standard_normal(n + 1)) * np.exp(-t * 9)
    return (amp * x).astype(np.float32)


def toy_performance(seconds: float, seed: int, notes=TOY_NOTES) -> list[tuple[float, int, int]]:
    """Random drum events (time s, note, velocity); every class appears."""
    rng = np.random.default_rng(seed)
    events = []
    t = 0.1
    while t < seconds - 0.3:
        k = int(rng.integers(1, 3))
        for note in rng.choice(notes, size=k, replace=False):
            events.append((round(float(t), 4), int(note), int(rng.integers(40, 127))))
        t += float(rng.uniform(0.12, 0.35))
    return events


def render_events(events, seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    rng = np.random.default_rng(seed + 1000)
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    for t, note, vel in events:
        h = _hit(note, vel, rng, sr)
        s = int(round(t * sr))
        e = min(len(y), s + len(h))
        y[s:e] += h[: e - s]
    peak = float(np.max(np.abs(y))) or 1.0
    return (0.8 * y / peak).astype(np.float32)


def write_midi(path: Path, events, ticks_per_beat: int = 480, bpm: float = 120.0) -> None:
    """``(time s, note, velocity)`` events as a drum MIDI file, 50 ms notes (:func:`drumscribe.transcription.midi_out.write_midi`)."""
    from drumscribe.transcription.midi_out import Note, write_midi as write_tracks

    notes = [Note(float(t), int(note), int(vel), duration=0.05) for t, note, vel in events]
    write_tracks(path, [("drums", notes)], ticks_per_beat=ticks_per_beat, tempo_bpm=bpm)


def make_toy_egmd(root: str | Path, n_performances: int = 4, kits_per_performance: int = 2,
                  seconds: float = 3.0, seed: int = 0, write_csv: bool = True) -> Path:
    """Write a tiny E-GMD-format folder; returns ``root``.

    Renderings of one performance share the CSV ``id`` and differ by kit suffix
    ``_<k>`` (the "kit" changes the gain and noise seed).
    """
    import soundfile as sf

    root = Path(root)
    rows = []
    for p in range(n_performances):
        drummer, session = f"drummer{1 + p % 2}", f"session{1 + p // 2}"
        events = toy_performance(seconds, seed * 1000 + p)
        split = ["train", "train", "validation", "test"][p % 4]
        for k in range(1, kits_per_performance + 1):
            stem = f"{p + 1}_rock_120_beat_4-4_{k}"
            rel = Path(drummer) / session / stem
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            y = render_events(events, seconds, seed * 1000 + p * 10 + k) * (0.6 + 0.2 * k)
            sf.write(str(root / rel.with_suffix(".wav")), y, SR, subtype="PCM_16")
            write_midi(root / rel.with_suffix(".midi"), events)
            rows.append({
                "drummer": drummer, "session": f"{drummer}/{session}", "id": f"{drummer}/{session}/{p + 1}",
                "style": "rock", "bpm": 120, "beat_type": "beat", "time_signature": "4-4",
                "duration": seconds, "split": split, "midi_filename": str(rel.with_suffix(".midi")),
                "audio_filename": str(rel.with_suffix(".wav")), "kit_name": f"Toy Kit {k}",
            })
    if write_csv:
        with open(root / CSV_NAME, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=EGMD_COLUMNS)
            w.writeheader()
            w.writerows(rows)
    return root
