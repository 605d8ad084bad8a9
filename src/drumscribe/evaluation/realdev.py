"""The real-recording yardstick: ``real-dev`` (4 MDB Drums songs, drum tracks and multitrack sums).

Its audio is CC BY-NC-SA: never in the repository, the package, training or a test fixture.  It is
found, in this order, at ``$DRUMSCRIBE_REAL_DEV`` or at ``shared/real-dev`` beside the project
checkout (the layout of the development machines); nothing else.  Evaluation names its two halves
as splits: ``--split real-dev/drums`` and ``--split real-dev/multitrack_sum`` (and ``real-dev``
for both, scored separately).  Without the folder every command says so in one line.

What can be scored there: the 8 classes (and the 5-class fold), open hi-hat (35 onsets in each
version) and cross-stick (32); ride bell has 6 onsets (reported, too few to decide on); it has no
hi-hat pedal or rim-shot labels, and no per-instrument activity of the band (so false alarms are
related to other drums' onsets only, not to a guitar or a voice).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from drumscribe.core.errors import DrumscribeError

ENV = "DRUMSCRIBE_REAL_DEV"
NAME = "real-dev"
SUBSETS = ("drums", "multitrack_sum")


def song_of(name: str) -> str:
    """The MDB song a real-dev file belongs to (its drum track and multitrack sum are one song): the unit a
    leave-one-song-out check leaves out."""
    return re.sub(r"_(drums|multitrack_sum|mix)$", "", Path(name).stem, flags=re.IGNORECASE)


def real_dev_root() -> Path | None:
    """The real-dev folder, or None when this machine has none."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    here = Path(__file__).resolve()
    for up in here.parents:
        cand = up / "shared" / "real-dev"
        if cand.is_dir():
            return cand
    return None


def is_real_dev(split: str) -> bool:
    return split == NAME or split.startswith(NAME + "/")


def subsets(split: str) -> list[str]:
    """``real-dev`` -> both halves; ``real-dev/drums`` -> that one (an unknown half: one line)."""
    if split == NAME:
        return list(SUBSETS)
    sub = split.split("/", 1)[1]
    if sub not in SUBSETS:
        raise DrumscribeError(f"--split {split}: real-dev has {', '.join(NAME + '/' + s for s in SUBSETS)}")
    return [sub]


def folder(subset: str) -> Path:
    """The folder of one half of real-dev; one line when it is not on this machine."""
    root = real_dev_root()
    if root is None or not (root / subset).is_dir():
        where = f"{root / subset}" if root is not None else "shared/real-dev beside the checkout"
        raise DrumscribeError(f"real-dev not found ({where}); set {ENV}=DIR (MDB Drums, CC BY-NC-SA: never shipped)")
    return root / subset


def available() -> bool:
    root = real_dev_root()
    return root is not None and all((root / s).is_dir() for s in SUBSETS)


def named(split: str | os.PathLike) -> bool:
    """True when ``split`` names real-dev (``real-dev``, ``real-dev/<half>``) rather than an existing folder."""
    return is_real_dev(Path(split).as_posix().rstrip("/")) and not Path(split).is_dir()


def resolve(split: str | os.PathLike) -> Path:
    """``split`` as a folder: ``real-dev/<half>`` -> that half's folder on this machine, any other path as
    given.  Bare ``real-dev`` (two halves, scored separately) or an unknown half: one line."""
    if not named(split):
        return Path(split)
    name = Path(split).as_posix().rstrip("/")
    halves = subsets(name)
    if len(halves) != 1:
        raise DrumscribeError(f"{name}: name one half of real-dev at a time: "
                              + ", ".join(f"{NAME}/{s}" for s in halves))
    return folder(halves[0])
