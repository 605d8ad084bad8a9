"""Human performances from a GMD or E-GMD folder, for ``drumscribe synth --performances-from``.

GMD (Groove MIDI Dataset, CC BY 4.0): ``info.csv`` + ``.mid`` files.  E-GMD: its
``e-gmd-v1.0.0.csv`` + ``.midi`` files (one performance ``id`` appears once per kit;
the first row of each id is used).  Both keep the Roland TD note numbers
(:mod:`drumscribe.core.drums`), which the synthesiser keeps in its truth MIDI.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from drumscribe.dataset.index import CSV_NAME
from drumscribe.core.drums import TD_CLASS
from drumscribe.core.errors import DrumscribeError

GMD_INDEX = "info.csv"
GET_GMD = (
    "get the Groove MIDI Dataset (groove-v1.0.0-midionly.zip) from the Magenta datasets page "
    "(magenta.tensorflow.org/datasets/groove) and unzip it: the folder holds info.csv and drummerN/..."
)
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Source:
    """One performance: its index row (E-GMD column names) and its MIDI file."""

    id: str
    drummer: str
    session: str
    style: str
    bpm: int
    beat_type: str
    time_signature: str
    split: str
    duration: float
    midi: str  # absolute path
    stem: str  # relative output stem without the _<k> suffix, e.g. drummer1/session1/1_funk_80_beat_4-4


def read_index(folder) -> list[Source]:
    """All performances of a GMD or E-GMD folder, in index order (one per id)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DrumscribeError(f"{folder}: no such folder; {GET_GMD}")
    for name, ext in ((GMD_INDEX, ".mid"), (CSV_NAME, ".midi")):
        index = folder / name
        if index.is_file():
            break
    else:
        raise DrumscribeError(f"{folder}: neither {GMD_INDEX} (GMD) nor {CSV_NAME} (E-GMD) found; {GET_GMD}")
    out, seen = [], set()
    try:
        with open(index, newline="", encoding="utf-8") as f:
            for i, row in enumerate(csv.DictReader(f), start=2):
                try:
                    pid = row["id"]
                    if pid in seen:
                        continue
                    seen.add(pid)
                    midi = row["midi_filename"]
                    stem = midi[: -len(Path(midi).suffix)] if Path(midi).suffix else midi
                    out.append(Source(
                        id=pid, drummer=row["drummer"], session=row["session"], style=row["style"],
                        bpm=int(float(row["bpm"])), beat_type=row["beat_type"],
                        time_signature=row.get("time_signature") or "4-4", split=row["split"],
                        duration=float(row["duration"]), midi=str(folder / midi), stem=stem,
                    ))
                except (KeyError, ValueError) as exc:
                    raise DrumscribeError(f"{index}: line {i}: bad or missing column ({type(exc).__name__}: {exc})") from None
    except UnicodeDecodeError:
        raise DrumscribeError(f"{index}: not a UTF-8 CSV file") from None
    if not out:
        raise DrumscribeError(f"{index}: no performances listed")
    bad = sorted({s.split for s in out} - set(SPLITS))
    if bad:
        raise DrumscribeError(f"{index}: unknown split value(s) {bad} (train, validation, test)")
    return out


def select(sources: list[Source], *, performances=None, hours=None, kits_per_performance=1, seed=0, splits=None) -> list[Source]:
    """A seeded subset: ``performances`` of them, or enough for ``hours`` of audio once rendered on K kits."""
    import numpy as np

    if splits:
        sources = [s for s in sources if s.split in splits]
        if not sources:
            raise DrumscribeError(f"no performances in split(s) {', '.join(splits)}")
    order = np.random.default_rng([seed, 11]).permutation(len(sources))
    out, total = [], 0.0
    for i in order:
        if performances is not None and len(out) >= performances:
            break
        if hours is not None and total >= hours * 3600:
            break
        out.append(sources[i])
        total += sources[i].duration * kits_per_performance
    return out


def load_events(src: Source, stats: Counter | None = None) -> list[tuple[float, int, int]]:
    """(time s, TD note, velocity) of every note-on, sorted; notes outside the TD set are counted and dropped."""
    from drumscribe.dataset.targets import read_drum_notes

    notes = read_drum_notes(src.midi, allow_empty=True)
    out = []
    for t, n, v in zip(notes.times, notes.pitches, notes.velocities):
        n = int(n)
        if n not in TD_CLASS:
            if stats is not None:
                stats[f"drop:{n}"] += 1
            continue
        out.append((float(t), n, int(v)))
    return out
