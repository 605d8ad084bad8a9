"""The per-file feature cache (HDF5, or .npy folders).

One entry per audio file, at ``processed_root/<relative audio path with suffix
.h5>`` (the plan's ``output_file_path.with_suffix('.h5')``), or a folder
``<...>.npy.d/`` holding one ``.npy`` per array plus ``meta.json`` when HDF5 is
off.  Arrays:

=================  ===========================  =========================================
name               shape / dtype                meaning
=================  ===========================  =========================================
features           (n_frames, n_mels) float32    log-mel, see :mod:`drumscribe.audio.features`
onsets             (n_frames, n_classes) uint8   1 at the frame of each mapped onset
velocities         (n_frames, n_classes) f32     MIDI velocity / 127 at onsets
note_times         (n_notes,) float64            exact onset times, seconds
note_classes       (n_notes,) int64              class index of each onset
note_velocities    (n_notes,) int64              MIDI velocity of each onset
=================  ===========================  =========================================

Metadata (HDF5 attributes / meta.json): ``cache_key`` (hash of the feature
config, the note mapping, the class count and the cache format version),
``format_version``, ``code_version``, ``source_path``, ``duration``,
``sample_rate``, ``hop_length``, ``n_frames``, ``n_classes``, ``unmapped``
(JSON: note -> count), ``beyond_audio``, ``complete``.

Writes are atomic: everything goes to a temporary sibling that is renamed over
the final name only after it is complete and closed, so a run killed at any
moment never leaves a file that :func:`is_valid` trusts.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from drumscribe.core.version import CACHE_FORMAT_VERSION, __version__
from drumscribe.core.atomic import TMP_MARK, ensure_parent, parse_temp_name, temp_sibling, writer_alive, writer_tag
from drumscribe.core.atomic import remove_stale_temps as _remove_stale_temps
from drumscribe.core.config import Config, stable_hash
from drumscribe.core.errors import CacheError
from drumscribe.audio.features import feature_params

ARRAYS = ("features", "onsets", "velocities", "note_times", "note_classes", "note_velocities")
# written when given, read when present (entries made before it lack it: no articulation truth then)
OPTIONAL_ARRAYS = ("note_pitches",)


def cache_key(cfg: Config) -> str:
    """Hash of everything that determines a cache entry's contents."""
    return stable_hash({
        "features": feature_params(cfg.audio),
        "mapping": {str(k): v for k, v in sorted(cfg.egmd_midi_mapping.items())},
        "n_classes": cfg.model.n_classes,
        "format": CACHE_FORMAT_VERSION,
        # articulation target columns of ``onsets`` (absent from the key without them: older keys stay valid)
        **({"articulations": list(cfg.model.articulations)} if cfg.model.articulations else {}),
    })


def cache_path(processed_root: str | Path, rel_audio: str | Path, use_hdf5: bool = True) -> Path:
    rel = Path(rel_audio)
    return Path(processed_root) / (rel.with_suffix(".h5") if use_hdf5 else rel.with_suffix(".npy.d"))


@dataclass
class CacheItem:
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]


def _tmp_sibling(path: Path) -> Path:
    """A temp name carrying the writer's identity (``<host>-<pid>``, see :func:`drumscribe.core.atomic.writer_tag`)."""
    return temp_sibling(path)


def _temp_owner(name: str) -> tuple[str, int] | None:
    owner = parse_temp_name(name)
    if owner is None:  # the pre-identity form ``.<name>.tmp-<pid>-<hex>``: this host's
        tail = name.rsplit(TMP_MARK, 1)[-1].split("-")
        if len(tail) == 2 and tail[0].isdigit():
            owner = (writer_tag().rsplit("-", 1)[0], int(tail[0]))
    return owner


def remove_stale_temps(path: Path) -> None:
    """Delete leftovers of *dead* writers for this entry (never the entry itself, never a live writer's temp)."""
    _remove_stale_temps(path, _temp_owner)


def write_item(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Atomically write one cache entry (HDF5 if ``path`` ends in .h5, else an .npy folder)."""
    missing = [a for a in ARRAYS if a not in arrays]
    if missing:
        raise ValueError(f"cache entry lacks arrays {missing}")
    ensure_parent(path)
    remove_stale_temps(path)
    tmp = _tmp_sibling(path)
    meta = dict(meta, format_version=CACHE_FORMAT_VERSION, code_version=__version__, complete=True)
    names = ARRAYS + tuple(n for n in OPTIONAL_ARRAYS if n in arrays)
    try:
        if path.suffix == ".h5":
            import h5py

            with h5py.File(tmp, "w") as h5:
                for name in names:
                    a = np.asarray(arrays[name])
                    # targets compress 2-6x with LZF; log-mel float32 only 4%, at 5x the write time: stored raw
                    packed = a.ndim == 2 and a.size > 0 and name != "features"
                    kw = {"compression": "lzf", "chunks": True} if packed else {}
                    h5.create_dataset(name, data=a, track_times=False, **kw)
                for k, v in meta.items():
                    h5.attrs[k] = json.dumps(v) if isinstance(v, (dict, list)) or v is None else v
            os.replace(tmp, path)
        else:
            tmp.mkdir()
            for name in names:
                np.save(tmp / f"{name}.npy", np.asarray(arrays[name]))
            (tmp / "meta.json").write_text(json.dumps(meta, sort_keys=True))
            if path.exists():  # directories cannot be os.replace'd over a non-empty one
                old = _tmp_sibling(path)
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def _decode_attr(v: Any) -> Any:
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, str) and v[:1] in "{[" or v == "null":
        try:
            return json.loads(v)
        except (json.JSONDecodeError, TypeError):
            return v
    if isinstance(v, np.generic):
        return v.item()
    return v


def read_meta(path: Path) -> dict[str, Any]:
    """Metadata of an entry; raises CacheError if it is missing or unreadable."""
    path = Path(path)
    try:
        if path.suffix == ".h5":
            import h5py

            with h5py.File(path, "r") as h5:
                meta = {k: _decode_attr(v) for k, v in h5.attrs.items()}
                absent = [a for a in ARRAYS if a not in h5]
        else:
            meta = json.loads((path / "meta.json").read_text())
            absent = [a for a in ARRAYS if not (path / f"{a}.npy").is_file()]
    except FileNotFoundError:
        raise CacheError(f"{path}: cache entry not found (run `drumscribe preprocess`)") from None
    except Exception as exc:
        raise CacheError(f"{path}: unreadable cache entry ({type(exc).__name__}: {exc})") from None
    if absent:
        raise CacheError(f"{path}: cache entry lacks {absent}")
    return meta


def is_valid(path: Path, expected_key: str) -> tuple[bool, str]:
    """(True, "") if the entry is complete and made with ``expected_key``; else (False, why)."""
    if not Path(path).exists():
        return False, "missing"
    try:
        meta = read_meta(path)
    except CacheError as exc:
        return False, str(exc)
    if not meta.get("complete"):
        return False, "incomplete"
    if meta.get("format_version") != CACHE_FORMAT_VERSION:
        return False, f"cache format {meta.get('format_version')} != {CACHE_FORMAT_VERSION}"
    if meta.get("cache_key") != expected_key:
        return False, f"made with another feature config (key {meta.get('cache_key')} != {expected_key})"
    return True, ""


def read_item(path: Path, names: tuple[str, ...] = ARRAYS, expected_key: str | None = None) -> CacheItem:
    """Load an entry fully into memory.  With ``expected_key``, refuse a stale one.  A name of
    :data:`OPTIONAL_ARRAYS` the entry lacks is left out of ``arrays``."""
    path = Path(path)
    meta = read_meta(path)
    if expected_key is not None and meta.get("cache_key") != expected_key:
        raise CacheError(f"{path}: made with another feature config; re-run `drumscribe preprocess`")
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "r") as h5:
            arrays = {n: h5[n][()] for n in names if n in h5 or n not in OPTIONAL_ARRAYS}
    else:
        arrays = {n: np.load(path / f"{n}.npy") for n in names
                  if n not in OPTIONAL_ARRAYS or (path / f"{n}.npy").exists()}
    return CacheItem(arrays, meta)


class LazyEntry:
    """Random access to slices of one entry without loading it whole.

    The HDF5 handle is opened on first use in the process that uses it (safe
    with DataLoader worker processes: open after fork, never before).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._h5 = None
        self._npy: dict[str, np.ndarray] = {}

    def _open(self):
        if self.path.suffix == ".h5":
            if self._h5 is None:
                import h5py

                self._h5 = h5py.File(self.path, "r")
            return self._h5
        return None

    def array(self, name: str, start: int | None = None, stop: int | None = None) -> np.ndarray:
        h5 = self._open()
        if h5 is not None:
            return h5[name][start:stop]
        if name not in self._npy:
            self._npy[name] = np.load(self.path / f"{name}.npy", mmap_mode="r")
        return np.asarray(self._npy[name][start:stop])

    def n_frames(self) -> int:
        h5 = self._open()
        if h5 is not None:
            return int(h5["features"].shape[0])
        return int(self.array("features").shape[0])

    def close(self) -> None:
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def __getstate__(self):  # never pickle an open handle into a worker
        return {"path": self.path, "_h5": None, "_npy": {}}


LOCK_NAME = ".drumscribe.lock"


class CacheBusyError(CacheError):
    """Another process holds the cache folder's lock."""


class cache_lock:
    """Exclusive lock on a cache folder (``<root>/.drumscribe.lock``, ``flock``) for one writer at a time.

    A second holder gets :class:`CacheBusyError` naming the folder and the first writer (pid, host).
    The OS drops the lock when its holder dies (``kill -9`` included), so it never goes stale.
    Where ``fcntl`` is missing (Windows) the lock is a no-op.
    """

    def __init__(self, root: str | Path, what: str = "drumscribe preprocess"):
        self.root = Path(root)
        self.what = what
        self.fd: int | None = None

    def __enter__(self) -> "cache_lock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return self
        path = self.root / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise CacheBusyError(f"{self.root}: in use by another {self.what} ({holder}); wait for it to "
                                 "finish, or use another data.processed_root") from None
        host, pid = writer_tag().rsplit("-", 1)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {pid} on {host}".encode())
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock
            self.fd = None
