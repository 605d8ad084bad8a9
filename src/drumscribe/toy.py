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

from .dataset_index import CSV_NAME, EGMD_COLUMNS

TOY_NOTES = [36, 38, 42, 50, 47, 45, 49, 51]  # one GM note per plan class
SR = 44100


def _hit(note: int, velocity: int, rng: np.random.Generator, sr: int = SR) -> np.ndarray:
    dur = {49: 0.6, 51: 0.4}.get(note, 0.15)
    n = int(dur * sr)
    t = np.arange(n) / sr
    amp = velocity / 127.0
    if note == 36:
        x = np.sin(2 * np.pi * (50 + 60 * np.exp(-t * 40)) * t) * np.exp(-t * 18)
    elif note == 38:
        x = 0.6 * rng.standard_normal(n) * np.exp(-t * 25) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t * 30)
    elif note in (42, 44, 46):
        noise = np.diff(rng.standard_normal(n + 1))
        x = 0.5 * noise * np.exp(-t * 60)
    elif note in (50, 47, 45):
        f0 = {50: 240.0, 47: 160.0, 45: 100.0}[note]
        x = np.sin(2 * np.pi * f0 * t) * np.exp(-t * 12)
    elif note == 49:
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
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(resolution=ticks_per_beat, initial_tempo=bpm)
    inst = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    for t, note, vel in events:
        inst.notes.append(pretty_midi.Note(velocity=vel, pitch=note, start=t, end=t + 0.05))
    pm.instruments.append(inst)
    pm.write(str(path))


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
