"""E-GMD audio+MIDI -> per-file feature cache, plus the split files (plan steps 1 and 3).

``run_preprocess(cfg, num_workers, force, use_hdf5)`` indexes ``data.egmd_root``,
picks the ``data.max_files`` subset, caches features and targets for every
file (skipping entries that are complete and were made with the same feature
config), and writes ``train_split.txt`` / ``val_split.txt`` / ``test_split.txt``
into ``data.splits_dir``.  A bad file is reported and does not stop the others.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from drumscribe.core.atomic import atomic_write_text
from drumscribe.dataset.cache import cache_key, cache_lock, cache_path, is_valid, write_item
from drumscribe.core.config import Config, require_path
from drumscribe.dataset.index import assign_splits, index_dataset, select_subset
from drumscribe.core.errors import DrumscribeError
from drumscribe.dataset.splits import SPLIT_NAMES, read_split, split_file, write_split

SUMMARY_NAME = "preprocess_summary.json"


@dataclass
class FileResult:
    path: str
    status: str  # "processed" | "skipped" | "failed"
    reason: str = ""
    duration: float = 0.0
    unmapped: dict = field(default_factory=dict)
    notes_per_class: list = field(default_factory=list)
    rebuilt_because: str = ""

    def __bool__(self) -> bool:  # the plan's ``return True`` on skip/success
        return self.status != "failed"


def process_single_file(
    file_path: Path | str,
    egmd_root: Path,
    output_root: Path,
    config: Config,
    use_hdf5: bool = True,
    force: bool = False,
    midi_path: Path | str | None = None,
    drumless: bool = False,
) -> FileResult:
    """Process one audio/MIDI pair into one cache entry.

    Args:
        file_path: audio path relative to ``egmd_root``.
        egmd_root: root of the E-GMD(-format) dataset.
        output_root: ``data.processed_root``.
        config: the full :class:`Config` (features, mapping, classes).
        use_hdf5: one ``.h5`` per file (default) or a folder of ``.npy`` files.
        force: rebuild even when a valid entry exists.
        midi_path: MIDI path relative to ``egmd_root``; default: the audio's
            stem with ``.midi`` (E-GMD), else ``.mid``.
        drumless: the dataset declares the file drum-free (a backing-only song): a MIDI without
            notes is its truth, not an error.
    """
    from drumscribe.audio.io import SILENCE_PEAK
    from drumscribe.audio.features import file_features
    from drumscribe.dataset.targets import make_targets, read_drum_notes
    from drumscribe.core.timebase import FrameClock

    rel = Path(file_path).as_posix()
    out = cache_path(output_root, rel, use_hdf5)
    key = cache_key(config)
    rebuilt_because = ""
    try:
        # Skip-if-exists (plan step 1), but only an entry that is complete and
        # was made with this feature config; anything else is rebuilt.
        if not force:
            ok, why = is_valid(out, key)
            if ok:
                return FileResult(rel, "skipped")
            if why != "missing":
                rebuilt_because = why
        audio_path = Path(egmd_root) / rel
        if midi_path is None:
            midi_abs = audio_path.with_suffix(".midi")
            if not midi_abs.is_file() and audio_path.with_suffix(".mid").is_file():
                midi_abs = audio_path.with_suffix(".mid")
        else:
            midi_abs = Path(egmd_root) / midi_path
        notes = read_drum_notes(midi_abs, allow_empty=drumless)
        # the features inference computes for this file (one implementation: drumscribe.audio.features)
        feats, n_samples, peak = file_features(audio_path, config.audio)
        if peak < SILENCE_PEAK:
            return FileResult(rel, "failed", f"{audio_path}: audio is silent (peak below -80 dBFS) but the MIDI has notes")
        clock = FrameClock.from_config(config.audio)
        tg = make_targets(notes, feats.shape[0], clock, config.egmd_midi_mapping, config.model.n_classes,
                          config.articulations)
        duration = n_samples / config.audio.sample_rate
        meta = {
            "cache_key": key,
            "source_path": rel,
            "midi_path": Path(midi_abs).relative_to(egmd_root).as_posix() if Path(midi_abs).is_relative_to(egmd_root) else str(midi_abs),
            "duration": duration,
            "sample_rate": config.audio.sample_rate,
            "hop_length": config.audio.hop_length,
            "n_frames": int(feats.shape[0]),
            "n_classes": config.model.n_classes,
            "class_names": config.class_names,
            "articulations": config.articulations,
            "unmapped": {str(k): v for k, v in sorted(tg.unmapped.items())},
            "beyond_audio": tg.beyond_audio,
        }
        arrays = {
            "features": feats,
            "onsets": tg.onsets,
            "velocities": tg.velocities,
            "note_times": tg.note_times,
            "note_classes": tg.note_classes,
            "note_velocities": tg.note_velocities,
            "note_pitches": tg.note_pitches,
        }
        write_item(out, arrays, meta)
        counts = np.bincount(tg.note_classes, minlength=config.model.n_classes).tolist()
        return FileResult(rel, "processed", duration=duration, unmapped=dict(tg.unmapped),
                          notes_per_class=counts, rebuilt_because=rebuilt_because)
    except DrumscribeError as exc:
        return FileResult(rel, "failed", str(exc))
    except Exception as exc:  # keep going: one bad file never stops the others
        return FileResult(rel, "failed", f"{rel}: {type(exc).__name__}: {exc}")


@dataclass
class PreprocessSummary:
    n_indexed: int
    n_selected: int
    processed: int
    skipped: int
    failed: list[tuple[str, str]]
    index_problems: list[tuple[str, str]]
    rebuilt: list[tuple[str, str]]
    unmapped: dict[int, int]
    notes_per_class: list[int]
    audio_seconds: float
    split_counts: dict[str, int]
    seconds: float
    source: str
    class_names: list[str]
    # where the config's tom map disagrees with E-GMD's TD numbering (drums.tom_map_disagreements)
    tom_map: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["unmapped"] = {str(k): v for k, v in sorted(self.unmapped.items())}
        return d

    @property
    def listed_missing(self) -> list[tuple[str, str]]:
        """Files the dataset's CSV lists that are missing (or lack their MIDI): a failure, unlike a
        scanned audio file without a partner (a warning)."""
        return list(self.index_problems) if self.source.startswith("csv") else []

    @property
    def ok(self) -> bool:
        return not self.failed and not self.listed_missing


def _existing_assignment(splits_dir: Path) -> dict[str, str]:
    out = {}
    for s in SPLIT_NAMES:
        if split_file(splits_dir, s).is_file():
            for rel in read_split(splits_dir, s):
                out[rel] = s
    return out


def run_preprocess(
    cfg: Config,
    num_workers: int = 1,
    force: bool = False,
    use_hdf5: bool = True,
    resplit: bool = False,
    progress: bool = True,
    log=print,
) -> PreprocessSummary:
    t0 = time.perf_counter()
    egmd_root = require_path(cfg, "data.egmd_root")
    out_root = Path(cfg.data.processed_root).expanduser()
    splits_dir = Path(cfg.data.splits_dir).expanduser()
    try:
        out_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DrumscribeError(f"data.processed_root: cannot create {out_root}: {exc}") from None
    with cache_lock(out_root):  # one writer per cache folder; a second run refuses in one line
        return _run_locked(cfg, egmd_root, out_root, splits_dir, num_workers, force, use_hdf5, resplit,
                           progress, log, t0)


def _run_locked(cfg, egmd_root, out_root, splits_dir, num_workers, force, use_hdf5, resplit, progress, log,
                t0) -> PreprocessSummary:
    index = index_dataset(egmd_root)
    if not index.pairs:
        raise DrumscribeError(f"data.egmd_root: no audio+MIDI pairs found in {egmd_root}")
    pairs = select_subset(index.pairs, cfg.data.max_files, cfg.data.random_seed)
    log(f"indexed {len(index.pairs)} pairs in {egmd_root} ({index.source}); "
        f"processing {len(pairs)} (max_files={cfg.data.max_files}) with {num_workers} worker(s)")

    fn = partial(process_single_file, egmd_root=egmd_root, output_root=out_root, config=cfg,
                 use_hdf5=use_hdf5, force=force)
    jobs = [(p.audio, p.midi, p.drumless) for p in pairs]
    results: list[FileResult] = []
    bar = _progress(len(jobs), enabled=progress)
    if num_workers > 1:
        import multiprocessing as mp

        ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ctx.Pool(num_workers, initializer=_worker_init, initargs=(os.getpid(),)) as pool:
            for r in pool.imap_unordered(partial(_call, fn), jobs, chunksize=1):
                results.append(r)
                bar.update(1)
    else:
        for job in jobs:
            results.append(_call(fn, job))
            bar.update(1)
    bar.close()

    by_status = Counter(r.status for r in results)
    failed = sorted((r.path, r.reason) for r in results if r.status == "failed")
    unmapped: Counter = Counter()
    per_class = np.zeros(cfg.model.n_classes, dtype=np.int64)
    seconds = 0.0
    for r in results:
        unmapped.update(r.unmapped)
        if r.notes_per_class:
            per_class += np.asarray(r.notes_per_class)
        seconds += r.duration

    # Splits: existing assignments are kept unless --force / --resplit.
    ratios = (cfg.data.train_split, cfg.data.val_split, cfg.data.test_split)
    existing = {} if (force or resplit) else _existing_assignment(splits_dir)
    assignment = assign_splits(pairs, ratios, cfg.data.random_seed, cfg.data.split_strategy, existing)
    good = {r.path for r in results if r.status != "failed"}
    split_counts = {}
    for s in SPLIT_NAMES:
        members = sorted(p for p, sp in assignment.items() if sp == s and p in good)
        write_split(splits_dir, s, members)
        split_counts[s] = len(members)

    summary = PreprocessSummary(
        n_indexed=len(index.pairs), n_selected=len(pairs),
        processed=by_status["processed"], skipped=by_status["skipped"], failed=failed,
        index_problems=index.problems,
        rebuilt=sorted((r.path, r.rebuilt_because) for r in results if r.rebuilt_because),
        unmapped=dict(unmapped), notes_per_class=per_class.tolist(), audio_seconds=seconds,
        split_counts=split_counts, seconds=time.perf_counter() - t0, source=index.source,
        class_names=cfg.class_names,
        tom_map=_tom_map_check(cfg),
    )
    atomic_write_text(out_root / SUMMARY_NAME, json.dumps(summary.to_dict(), indent=2))
    return summary


def _worker_init(parent_pid: int) -> None:
    """Pool worker start: die with the parent (Linux ``PR_SET_PDEATHSIG``), so a killed
    ``preprocess`` never leaves workers writing into the cache."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except Exception:  # pragma: no cover - no libc prctl
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def _call(fn, job):
    audio, midi, drumless = job
    return fn(audio, midi_path=midi, drumless=drumless)


class _NullBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NullBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="preprocess", dynamic_ncols=True, file=sys.stderr, disable=None)


def _tom_map_check(cfg: Config) -> list[str]:
    """E-GMD tom notes the config maps to another tom class (empty: agrees, or no tom classes)."""
    from drumscribe.core.drums import TOM_CLASSES, tom_map_disagreements

    if not set(TOM_CLASSES) <= set(cfg.class_names):
        return []
    return tom_map_disagreements(cfg.egmd_midi_mapping, list(cfg.class_names))


def format_summary(s: PreprocessSummary, processed_root: str, splits_dir: str) -> str:
    lines = [
        f"processed {s.processed}, skipped {s.skipped} (cache valid), failed {len(s.failed)} "
        f"of {s.n_selected} files in {s.seconds:.1f} s",
    ]
    if s.processed:
        lines.append(f"new audio cached: {s.audio_seconds / 60:.1f} min")
    if s.processed:
        lines.append("onsets per class (new files): " + ", ".join(
            f"{n}={c}" for n, c in zip(s.class_names, s.notes_per_class)))
    if s.unmapped:
        lines.append("notes outside egmd_midi_mapping (not used as targets): " + ", ".join(
            f"{k}x{v}" for k, v in sorted(s.unmapped.items())))
    if s.tom_map:
        lines.append("note: this config's tom map is not E-GMD's Roland TD numbering (48/50 tom 1, 45/47 tom 2, "
                     "43/58 floor; see README): " + "; ".join(s.tom_map))
    if s.rebuilt:
        lines.append(f"rebuilt {len(s.rebuilt)} stale cache entries, e.g. {s.rebuilt[0][0]}: {s.rebuilt[0][1]}")
    lines.append(f"splits in {splits_dir}: " + ", ".join(f"{k} {v}" for k, v in s.split_counts.items()))
    if s.index_problems:
        lines.append(f"{len(s.index_problems)} files could not be paired"
                     + (" (listed in the CSV but missing: a failure)" if s.listed_missing else "") + ":")
        lines += [f"  {p}: {why}" for p, why in s.index_problems[:20]]
        if len(s.index_problems) > 20:
            lines.append(f"  ... and {len(s.index_problems) - 20} more (see {SUMMARY_NAME})")
    if s.failed:
        lines.append(f"{len(s.failed)} files FAILED (left out of the splits):")
        lines += [f"  {p}: {why}" for p, why in s.failed[:20]]
        if len(s.failed) > 20:
            lines.append(f"  ... and {len(s.failed) - 20} more (see {SUMMARY_NAME})")
    lines.append(f"summary written to {Path(processed_root) / SUMMARY_NAME}")
    return "\n".join(lines)
