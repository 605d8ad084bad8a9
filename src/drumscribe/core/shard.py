"""Shards of a folder: ``--shard K/N`` splits a folder's inputs over N runs that need no coordination.

A file belongs to shard ``K`` (1-based, 1..N, like a SLURM array task id ``--array=1-N``) when the stable hash
of its path relative to the input folder (SHA-1 of the POSIX path, UTF-8) modulo N is ``K - 1``.  The hash
does not depend on the machine, the Python process (no ``hash()`` salt), the file's size or the order of
listing, so N runs on N machines together take every file exactly once, and a file keeps its shard as long
as its relative path stays.  Together with the skip of finished outputs, a shard that is run again (after a
crash, on another machine) does only what is missing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePath

from drumscribe.core.errors import ConfigError


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with ``1 <= K <= N``; :class:`ConfigError` (one line) otherwise."""
    k, sep, n = str(text).partition("/")
    try:
        k_i, n_i = int(k), int(n)
    except ValueError:
        k_i = n_i = 0
    if not sep or n_i < 1 or not 1 <= k_i <= n_i:
        raise ConfigError(f"--shard {text!r}: give K/N with 1 <= K <= N (1-based, e.g. 1/4 .. 4/4)")
    return k_i, n_i


def shard_of(relative: PurePath | str, n: int) -> int:
    """The shard (1-based) of a file whose path relative to the input folder is ``relative``."""
    key = PurePath(relative).as_posix().encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.sha1(key).digest()[:8], "big") % n + 1


def in_shard(path: Path, root: Path, shard: tuple[int, int] | None) -> bool:
    """Whether ``path`` (under ``root``) belongs to ``shard`` (``None``: no sharding, every file does)."""
    if shard is None:
        return True
    k, n = shard
    return shard_of(path.relative_to(root), n) == k
