"""Index an E-GMD-format folder and split it.

With ``e-gmd-v1.0.0.csv`` (any ``*.csv`` with E-GMD's columns at the root) the
CSV is the index; without it every audio file is paired with a ``.midi`` /
``.mid`` of the same stem.  Pairs whose partner is missing are reported as
problems, never silently dropped.

Grouping: renderings of one performance share the CSV ``id``; without a CSV
the group is the folder plus the stem without its trailing ``_<kit>`` number
(``drummer1/session1/1_funk_80_beat_4-4_3`` -> ``drummer1/session1/1_funk_80_beat_4-4``).
"""

from __future__ import annotations

import csv
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from drumscribe.core.errors import DrumscribeError
from drumscribe.audio.io import AUDIO_EXTENSIONS

MIDI_EXTENSIONS = (".midi", ".mid")
CSV_NAME = "e-gmd-v1.0.0.csv"
# the release CSV's columns, in order (extra columns after them are allowed)
EGMD_COLUMNS = [
    "drummer", "session", "id", "style", "bpm", "beat_type", "time_signature",
    "duration", "split", "midi_filename", "audio_filename", "kit_name",
]
REQUIRED_COLUMNS = ("id", "split", "midi_filename", "audio_filename")
# a CSV row whose `mix_mode` says this has no drums (drumscribe synth's backing-only files): its MIDI may be empty
DRUMLESS_MIX_MODE = "backing_only"
OFFICIAL_SPLITS = {"train": "train", "validation": "val", "val": "val", "test": "test"}


@dataclass
class Pair:
    audio: str  # relative to the dataset root, POSIX separators
    midi: str
    group: str  # performance key: renderings of one performance share it
    split: str | None = None  # "train" | "val" | "test" from the CSV, if any
    kit: str | None = None
    duration: float | None = None
    drumless: bool = False  # the CSV declares it a file without drums (mix_mode backing_only): empty truth is right


@dataclass
class DatasetIndex:
    root: Path
    pairs: list[Pair]
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    source: str = "scan"  # "csv:<name>" or "scan"


def _group_from_path(rel: str) -> str:
    p = Path(rel)
    return str(p.parent / re.sub(r"_\d+$", "", p.stem))


def midi_partner(audio_path: Path) -> Path | None:
    """The ``.midi`` (E-GMD) or ``.mid`` file beside an audio file, if any."""
    return next((audio_path.with_suffix(ext) for ext in MIDI_EXTENSIONS if audio_path.with_suffix(ext).is_file()), None)


def _find_csv(root: Path) -> Path | None:
    if (root / CSV_NAME).is_file():
        return root / CSV_NAME
    for cand in sorted(root.glob("*.csv")):
        try:
            with open(cand, newline="") as fh:
                header = next(csv.reader(fh), [])
        except (OSError, UnicodeDecodeError):
            continue
        if all(c in header for c in REQUIRED_COLUMNS):
            return cand
    return None


def index_dataset(root: str | Path) -> DatasetIndex:
    root = Path(root)
    if not root.is_dir():
        raise DrumscribeError(f"dataset folder not found: {root}")
    csv_path = _find_csv(root)
    if csv_path is not None:
        return _index_csv(root, csv_path)
    return _index_scan(root)


def _index_csv(root: Path, csv_path: Path) -> DatasetIndex:
    pairs, problems = [], []
    with open(csv_path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing_cols = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing_cols:
            raise DrumscribeError(f"{csv_path}: missing columns {missing_cols}")
        for lineno, row in enumerate(reader, start=2):
            audio, midi = (row.get("audio_filename") or "").strip(), (row.get("midi_filename") or "").strip()
            if not audio:
                problems.append((f"{csv_path.name}:{lineno}", "row has no audio_filename"))
                continue
            if not (root / audio).is_file():
                problems.append((audio, "audio file listed in the CSV is missing"))
                continue
            if not midi or not (root / midi).is_file():
                problems.append((audio, f"MIDI partner missing ({midi or 'no midi_filename'})"))
                continue
            try:
                duration = float(row["duration"]) if row.get("duration") else None
            except ValueError:
                duration = None
            pairs.append(Pair(
                audio=audio, midi=midi,
                group=(row.get("id") or "").strip() or _group_from_path(audio),
                split=OFFICIAL_SPLITS.get((row.get("split") or "").strip().lower()),
                kit=row.get("kit_name"), duration=duration,
                drumless=(row.get("mix_mode") or "").strip() == DRUMLESS_MIX_MODE,
            ))
    pairs.sort(key=lambda p: p.audio)
    return DatasetIndex(root, pairs, problems, source=f"csv:{csv_path.name}")


def _index_scan(root: Path) -> DatasetIndex:
    pairs, problems = [], []
    for audio_path in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()):
        if any(part.startswith(".") for part in audio_path.relative_to(root).parts):
            continue
        rel = audio_path.relative_to(root).as_posix()
        midi = midi_partner(audio_path)
        if midi is None:
            problems.append((rel, "no .midi/.mid partner"))
            continue
        pairs.append(Pair(audio=rel, midi=midi.relative_to(root).as_posix(), group=_group_from_path(rel)))
    return DatasetIndex(root, pairs, problems, source="scan")


def select_subset(pairs: list[Pair], max_files: int | None, seed: int) -> list[Pair]:
    """A deterministic subset: the first ``max_files`` of a seeded permutation.

    A larger ``max_files`` gives a superset of a smaller one (same seed), so a
    cache built for 500 files is reused when scaling to the full dataset.
    """
    ordered = sorted(pairs, key=lambda p: p.audio)
    if max_files is None or max_files >= len(ordered):
        return ordered
    rng = random.Random(seed)
    rng.shuffle(ordered)
    return sorted(ordered[:max_files], key=lambda p: p.audio)


def _targets(n: int, ratios: tuple[float, float, float]) -> dict[str, int]:
    n_train = round(n * ratios[0])
    n_val = round(n * ratios[1])
    n_val = min(n_val, n - n_train)
    return {"train": n_train, "val": n_val, "test": n - n_train - n_val}


def assign_splits(pairs: list[Pair], ratios: tuple[float, float, float], seed: int, strategy: str = "group",
                  existing: dict[str, str] | None = None) -> dict[str, str]:
    """Map each pair's audio path to "train" / "val" / "test".

    * ``group``: whole performance groups go to one split; groups are visited in
      a seeded order and each goes to the split furthest below its target
      count, so counts are as close to the ratios as grouping allows.
    * ``official``: the CSV ``split`` column (error if a pair has none).
    * ``random``: plain per-file shuffle (renderings of one performance can
      land in both train and test: for comparison only).

    ``existing`` (path -> split, from split files already on disk) is kept
    as is; a new file whose group already has a split joins it.
    """
    existing = dict(existing or {})
    if strategy == "official":
        out = {}
        for p in pairs:
            if p.split is None:
                raise DrumscribeError(
                    f"data.split_strategy is 'official' but {p.audio} has no split in the CSV "
                    "(official splits need e-gmd-v1.0.0.csv)")
            out[p.audio] = p.split
        return out
    rng = random.Random(seed)
    out: dict[str, str] = {p.audio: existing[p.audio] for p in pairs if p.audio in existing}
    targets = _targets(len(pairs), ratios)
    counts = {k: 0 for k in targets}
    for split in out.values():
        counts[split] += 1
    todo = [p for p in pairs if p.audio not in out]
    if strategy == "random":
        units = [[p] for p in sorted(todo, key=lambda p: p.audio)]
    elif strategy == "group":
        group_split = {}
        for p in pairs:
            if p.audio in out:
                group_split.setdefault(p.group, out[p.audio])
        groups: dict[str, list[Pair]] = defaultdict(list)
        for p in todo:
            if p.group in group_split:
                out[p.audio] = group_split[p.group]
                counts[out[p.audio]] += 1
            else:
                groups[p.group].append(p)
        units = [groups[g] for g in sorted(groups)]
    else:
        raise DrumscribeError(f"data.split_strategy: unknown strategy {strategy!r}")
    rng.shuffle(units)
    order = ("train", "val", "test")
    for unit in units:
        # the split with the largest remaining deficit relative to its target
        def deficit(s: str) -> float:
            return (targets[s] - counts[s]) / max(targets[s], 1e-9) if targets[s] > 0 else float("-inf")

        split = max(order, key=lambda s: (deficit(s), -order.index(s)))
        for p in unit:
            out[p.audio] = split
            counts[split] += 1
    return out
