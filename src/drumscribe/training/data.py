"""Datasets and loaders over the feature cache (:mod:`drumscribe.dataset.cache`) and split files.

Training (:class:`TrainWindows`)
    Random fixed-length windows of ``training.window_seconds`` (converted to
    frames by :class:`~drumscribe.core.timebase.FrameClock`).  One epoch draws
    ``ceil(n_frames / window_frames)`` windows per file, so an epoch covers
    each file's duration once in expectation; window starts are uniform over
    the file.  A file shorter than a window is padded at the end with the
    log-floor value ``log(1e-6)`` (silence) and the padded frames get
    ``mask = 0``.  Augmentation (:mod:`drumscribe.training.augment`) only here.

Validation (:class:`EvalItems`)
    Whole files, one per batch (``batch_size = 1``: no padding enters the
    bidirectional GRU, so the result does not depend on batch composition),
    unless ``training.val_window_seconds`` is set: then each file is tiled into
    consecutive windows of that length (the last one padded + masked), batched
    with ``training.batch_size``.  Each item also carries the exact reference
    onsets (seconds relative to the item start, and classes) for onset F1.

Batches are dicts of tensors::

    features     (B, T, n_mels) float32  log-mel
    onsets       (B, T, C)      float32  targets in [0, 1] (soft targets, below)
    onset_hard   (B, T, C)      float32  the 0/1 onset frames (velocity loss mask)
    velocities   (B, T, C)      float32  MIDI velocity / 127 at onsets
    mask         (B, T)         float32  1 = real frame, 0 = padding
    offsets      (B, T, C)      float32  (model.offset_head) onset position - frame, frames
    offset_mask  (B, T, C)      float32  (model.offset_head) 1 where ``offsets`` is a target
    note_times   list[np.ndarray]  (eval only) reference onsets, s from item start
    note_classes list[np.ndarray]  (eval only)
    file_index   list[int]         (eval only) index of the file in the split
    item_index   list[int]         (eval only) index of the item in the dataset (DDP de-duplication)

Soft targets: with ``training.soft_target_weight = w > 0`` the frames directly
before and after an onset frame get target ``max(target, w)`` (the onset frame
stays 1).  This tolerates the +-1 frame uncertainty of a 23 ms hop.  Applied to
training and validation targets alike (so val_loss is comparable to
train_loss); F1 always uses the exact onset times.

HDF5 files are opened lazily, in the process that reads them
(:class:`~drumscribe.dataset.cache.LazyEntry`), so ``hardware.num_workers`` loader
processes (0 = load in the main process) each hold their own handles.

At construction every listed file must have a valid cache entry for this
config (:func:`~drumscribe.dataset.cache.is_valid` with :func:`~drumscribe.dataset.cache.cache_key`);
otherwise :class:`~drumscribe.core.errors.CacheError` names the split, the first bad
file, why, and how many are bad.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from drumscribe.training.augment import Augmenter, time_stretch
from drumscribe.dataset.cache import LazyEntry, cache_key, cache_path, is_valid, read_meta
from drumscribe.core.errors import CacheError
from drumscribe.audio.features import LOG_EPS
from drumscribe.dataset.splits import read_split
from drumscribe.core.timebase import FrameClock

PAD_VALUE = float(np.log(LOG_EPS))


def resolve_entries(cfg, split: str) -> list[Path]:
    """Cache paths of a split's files; CacheError if any is missing or stale."""
    rels = read_split(cfg.data.splits_dir, split)
    if not rels:
        raise CacheError(f"split {split!r} is empty ({cfg.data.splits_dir}); run `drumscribe preprocess`")
    key = cache_key(cfg)
    paths, bad = [], []
    for rel in rels:
        found = None
        why = "missing"
        for use_hdf5 in (True, False):
            p = cache_path(cfg.data.processed_root, rel, use_hdf5)
            ok, reason = is_valid(p, key)
            if ok:
                found = p
                break
            if reason != "missing":
                why = reason
        if found is None:
            bad.append((rel, why, cache_path(cfg.data.processed_root, rel)))
        else:
            paths.append(found)
    if bad:
        rel, why, p = bad[0]
        raise CacheError(
            f"split {split!r}: {len(bad)} of {len(rels)} files have no valid cache entry; first: {rel} "
            f"({p}: {why}); run `drumscribe preprocess --config ...`")
    return paths


def soften(onsets: np.ndarray, weight: float) -> np.ndarray:
    """Float targets: onset frames 1, their +-1 neighbours ``max(., weight)`` (no-op for weight 0)."""
    t = onsets.astype(np.float32)
    if weight > 0 and t.shape[0] > 1:
        nb = np.zeros_like(t)
        nb[1:] = np.maximum(nb[1:], t[:-1])
        nb[:-1] = np.maximum(nb[:-1], t[1:])
        t = np.maximum(t, nb * np.float32(weight))
    return t


def _window_item(feat, on, vel, mask, soft: float, offsets=None) -> dict:
    """The tensors every window carries: features, (soft) targets, hard targets, velocities, mask;
    ``offsets``: ``(offsets, offset_mask)`` of :func:`drumscribe.dataset.targets.offset_targets` (offset head)."""
    item = {
        "features": feat,
        "onsets": soften(on, soft),
        "onset_hard": on.astype(np.float32),
        "velocities": vel,
        "mask": mask,
    }
    if offsets is not None:
        item["offsets"], item["offset_mask"] = offsets[0], offsets[1] * mask[:, None]
    return item


def _offsets(times: np.ndarray, classes: np.ndarray, start: int, length: int, n_out: int, n_classes: int,
             clock: FrameClock, rate: float | None = None):
    """Offset targets of the window whose source frames start at ``start`` (``rate``: its time stretch)."""
    from drumscribe.dataset.targets import offset_targets

    pos = np.asarray(times, dtype=np.float64) * clock.frame_rate - start
    keep = (pos > -2.0) & (pos < length + 2.0)
    pos = pos[keep] * (1.0 if rate is None else rate)
    return offset_targets(pos, np.asarray(classes)[keep], n_out, n_classes)


class _Notes:
    """Each cache entry's exact onsets (note_times, note_classes), read once."""

    def __init__(self, entries):
        self.entries = entries
        self._notes: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, f: int) -> tuple[np.ndarray, np.ndarray]:
        if f not in self._notes:
            e = self.entries[f]
            self._notes[f] = (np.asarray(e.array("note_times"), np.float64), np.asarray(e.array("note_classes"), np.int64))
        return self._notes[f]


def _read(entry: LazyEntry, start: int, length: int, n_frames: int):
    """Frames [start, start+length) of an entry, padded past its end; returns (feat, on, vel, mask)."""
    stop = min(start + length, n_frames)
    feat = entry.array("features", start, stop)
    on = entry.array("onsets", start, stop)
    vel = entry.array("velocities", start, stop)
    got = feat.shape[0]
    mask = np.ones(length, dtype=np.float32)
    if got < length:
        pad = length - got
        feat = np.concatenate([feat, np.full((pad, feat.shape[1]), PAD_VALUE, np.float32)])
        on = np.concatenate([on, np.zeros((pad, on.shape[1]), on.dtype)])
        vel = np.concatenate([vel, np.zeros((pad, vel.shape[1]), np.float32)])
        mask[got:] = 0
    return feat.astype(np.float32, copy=False), on, vel.astype(np.float32, copy=False), mask


def _n_frames(path: Path) -> int:
    try:
        n = read_meta(path).get("n_frames")
        if n:
            return int(n)
    except CacheError:
        pass
    e = LazyEntry(path)
    try:
        return e.n_frames()
    finally:
        e.close()  # never carry an open handle into forked workers


class TrainWindows:
    """Random training windows (a map-style torch Dataset; torch is not needed to build it)."""

    def __init__(self, cfg, split: str = "train", augment: bool = True):
        self.cfg = cfg
        self.clock = FrameClock.from_config(cfg.audio)
        self.window = max(1, self.clock.to_frames(cfg.training.window_seconds))
        self.paths = resolve_entries(cfg, split)
        self.entries = [LazyEntry(p) for p in self.paths]
        self.n_frames = [_n_frames(p) for p in self.paths]
        counts = [max(1, math.ceil(n / self.window)) for n in self.n_frames]
        self.index = np.repeat(np.arange(len(self.paths)), counts)
        self.augmenter = Augmenter(cfg.augmentation, self.clock.frame_duration, cfg.audio.n_mels) if augment else None
        self.soft = float(cfg.training.soft_target_weight)
        self.offset_head = bool(cfg.model.offset_head)
        self.notes = _Notes(self.entries)
        # training.epoch_windows: an epoch of that many windows, each from a file drawn in
        # proportion to its length (the same file distribution as a full pass)
        self.epoch_windows = cfg.training.epoch_windows

    def __len__(self) -> int:
        return int(self.index.shape[0] if self.epoch_windows is None else self.epoch_windows)

    def _rng(self) -> np.random.Generator:
        import torch  # torch's per-worker RNG is seeded by the DataLoader / seed_everything

        return np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))

    def __getitem__(self, i: int) -> dict:
        rng = self._rng()
        f = int(self.index[i] if self.epoch_windows is None else self.index[rng.integers(self.index.shape[0])])
        n = self.n_frames[f]
        aug = self.augmenter if self.augmenter is not None and self.augmenter.enabled else None
        rate = aug.draw_stretch(rng) if aug else None
        src_len = self.window if rate is None else int(math.ceil(self.window / rate)) + 1
        start = int(rng.integers(0, max(1, n - src_len + 1)))
        feat, on, vel, mask = _read(self.entries[f], start, src_len, n)
        if rate is not None:
            feat, on, vel, mask = time_stretch(feat, on, vel, mask, rate, self.window)
        if aug:
            feat = aug.apply_features(feat, rng)
        offsets = None
        if self.offset_head:
            offsets = _offsets(*self.notes(f), start, src_len, self.window, vel.shape[1], self.clock, rate)
        return _window_item(feat, on, vel, mask, self.soft, offsets)


class EvalItems:
    """Whole files (``window_seconds=None``) or consecutive tiled windows, with reference onsets."""

    def __init__(self, cfg, split: str = "val", window_seconds: float | None = None):
        self.cfg = cfg
        self.clock = FrameClock.from_config(cfg.audio)
        self.paths = resolve_entries(cfg, split)
        self.entries = [LazyEntry(p) for p in self.paths]
        self.n_frames = [_n_frames(p) for p in self.paths]
        self.window = None if window_seconds is None else max(1, self.clock.to_frames(window_seconds))
        self.items: list[tuple[int, int, int]] = []  # (file, start, length)
        for f, n in enumerate(self.n_frames):
            if self.window is None:
                self.items.append((f, 0, n))
            else:
                for s in range(0, n, self.window):
                    self.items.append((f, s, self.window))
        self.soft = float(cfg.training.soft_target_weight)
        self.offset_head = bool(cfg.model.offset_head)
        self._file_notes = _Notes(self.entries)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        f, start, length = self.items[i]
        feat, on, vel, mask = _read(self.entries[f], start, length, self.n_frames[f])
        times, classes = self._file_notes(f)
        t0 = self.clock.to_seconds(start)
        # a note belongs to the window holding its frame (frames are centred on t = frame * hop / sr)
        frames = self.clock.to_frames(times) if times.size else np.zeros(0, np.int64)
        sel = (frames >= start) & (frames < start + length)
        offsets = _offsets(times, classes, start, length, length, vel.shape[1], self.clock) if self.offset_head else None
        return {
            **_window_item(feat, on, vel, mask, self.soft, offsets),
            "note_times": times[sel] - t0,
            "note_classes": classes[sel],
            "file_index": f,
            "item_index": i,
        }


def collate(items: list[dict]) -> dict:
    """Stack equal-length items; pad unequal ones (features with the log floor, mask 0)."""
    import torch

    length = max(it["features"].shape[0] for it in items)
    out: dict = {}
    for key in ("features", "onsets", "onset_hard", "velocities", "mask", "offsets", "offset_mask"):
        if key not in items[0]:
            continue
        arrs = []
        for it in items:
            a = it[key]
            if a.shape[0] < length:
                fill = PAD_VALUE if key == "features" else 0.0
                pad = np.full((length - a.shape[0],) + a.shape[1:], fill, dtype=np.float32)
                a = np.concatenate([a.astype(np.float32, copy=False), pad])
            arrs.append(np.asarray(a, dtype=np.float32))
        out[key] = torch.from_numpy(np.stack(arrs))
    if "note_times" in items[0]:
        out["note_times"] = [it["note_times"] for it in items]
        out["note_classes"] = [it["note_classes"] for it in items]
        out["file_index"] = [it["file_index"] for it in items]
        out["item_index"] = [it["item_index"] for it in items]
    return out


def make_dataloaders(cfg, train_split: str = "train", val_split: str = "val"):
    """``(train_loader, val_loader)`` per the config (batch size, workers, augmentation)."""
    from torch.utils.data import DataLoader

    workers = int(cfg.hardware.num_workers)
    common = {"num_workers": workers, "collate_fn": collate, "persistent_workers": workers > 0}
    train = TrainWindows(cfg, train_split, augment=True)
    val = EvalItems(cfg, val_split, cfg.training.val_window_seconds)
    train_loader = DataLoader(train, batch_size=cfg.training.batch_size, shuffle=True, drop_last=False, **common)
    val_bs = 1 if cfg.training.val_window_seconds is None else cfg.training.batch_size
    val_loader = DataLoader(val, batch_size=val_bs, shuffle=False, **common)
    return train_loader, val_loader
