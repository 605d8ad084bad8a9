"""Split files: ``train_split.txt`` / ``val_split.txt`` / ``test_split.txt``.

One relative audio path per line (relative to ``data.egmd_root``, as in the
E-GMD CSV's ``audio_filename``).
"""

from __future__ import annotations

from pathlib import Path

from drumscribe.core.atomic import atomic_write_text
from drumscribe.core.errors import CacheError

SPLIT_NAMES = ("train", "val", "test")
ALIASES = {"validation": "val", "valid": "val", "training": "train"}


def split_file(splits_dir: str | Path, split: str) -> Path:
    split = ALIASES.get(split, split)
    if split not in SPLIT_NAMES:
        raise CacheError(f"unknown split {split!r}; expected one of {', '.join(SPLIT_NAMES)}")
    return Path(splits_dir) / f"{split}_split.txt"


def read_split(splits_dir: str | Path, split: str) -> list[str]:
    """Relative audio paths of a split; a clear error if the split file is missing."""
    path = split_file(splits_dir, split)
    if not path.is_file():
        raise CacheError(f"split file not found: {path} (run `drumscribe preprocess --config ...` first)")
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]


def write_split(splits_dir: str | Path, split: str, paths: list[str]) -> Path:
    """Atomically (re)write one split file."""
    path = split_file(splits_dir, split)
    atomic_write_text(path, "".join(f"{p}\n" for p in paths))
    return path
