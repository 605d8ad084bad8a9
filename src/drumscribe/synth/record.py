"""A synth dataset's record and lock: what a folder was rendered with, compared on a re-run.

``.drumscribe-synth.json`` beside the CSV holds everything that decides the content: every argument,
the ``--kit-dir`` folders (path and an md5 of their ``index.csv``) and the kits, backing soundfonts and
real instruments installed here.  A re-run that differs in any of them, a render into a folder whose
CSV or audio no ``drumscribe synth`` run recorded, and a second render into a folder another run is
writing (``.drumscribe-synth.lock``) are refused in one line.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

from drumscribe.core.errors import DrumscribeError
from drumscribe.dataset.index import CSV_NAME

RECORD_NAME = ".drumscribe-synth.json"  # the settings a folder was rendered with (beside the CSV)
LOCK_NAME = ".drumscribe-synth.lock"  # held (flock) by the run writing the folder
RERUN_FREE = ("out_dir", "num_workers", "progress")  # arguments that do not change what is rendered
SHOWN_AS = {"kit_dir": "--kit-dir", "installed": "the installed kits, backing soundfonts and instruments"}


def run_record(params: dict) -> dict:
    """The JSON-able settings of a :func:`render_dataset` call (all arguments but :data:`RERUN_FREE`)."""
    import dataclasses

    def plain(x):
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            return {k: plain(v) for k, v in dataclasses.asdict(x).items()}
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        if isinstance(x, Path):
            return str(x)
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        return repr(x)

    settings = {k: plain(v) for k, v in sorted(params.items()) if k not in RERUN_FREE}
    from drumscribe.synth.kits import doubtful_allowed

    settings.update(kit_dir=kit_dir_record(), installed=installed_record(), licence_doubtful=doubtful_allowed())
    return {"settings": settings}


def kit_dir_record() -> list[dict]:
    """``[{"path", "index_md5"}]`` of the ``--kit-dir`` folders in use: their kits and IRs decide the content."""
    from drumscribe.synth.kits import kit_dirs

    out = []
    for d in kit_dirs():
        index = Path(d) / "index.csv"
        try:
            digest = hashlib.md5(index.read_bytes()).hexdigest()
        except OSError as exc:
            raise DrumscribeError(f"{index}: unreadable ({exc.strerror or exc})") from None
        out.append({"path": str(Path(d).resolve()), "index_md5": digest})
    return out


def installed_record() -> dict:
    """The names of the kits, backing soundfonts and real instruments installed here (the pools draw from them)."""
    from drumscribe.synth.backing import real_instruments
    from drumscribe.synth.kits import backing_soundfonts, list_kits

    return {"kits": sorted(k.name for k in list_kits("all") if k.source not in ("procedural", "real")),
            "backing_soundfonts": sorted(Path(p).name for p in backing_soundfonts("all")),
            "instruments": sorted(real_instruments())}


def check_rerun(out: Path, record: dict) -> None:
    """Refuse (one line) a re-run whose rows would not fit the folder's CSV: other settings than the recorded
    ones, or a CSV (a real E-GMD release, a hand-made one) that no ``drumscribe synth`` run recorded."""
    from drumscribe.core.atomic import check_destination

    csv_path, rec_path = out / CSV_NAME, out / RECORD_NAME
    check_destination(csv_path)  # a file in the way, a read-only folder: fail now, not after planning
    if not rec_path.is_file():
        if csv_path.exists():
            raise DrumscribeError(f"{csv_path}: not listed by a `drumscribe synth` run that recorded its settings "
                                  f"({RECORD_NAME}); refusing to rewrite it: render into a new --out folder")
        theirs = _audio_or_midi(out)
        if theirs is not None:
            raise DrumscribeError(f"{out}: holds {theirs.relative_to(out)} and no record of a `drumscribe synth` run "
                                  f"({RECORD_NAME}); refusing to write among files that are not its own: "
                                  "render into a new or empty --out folder")
        return
    try:
        old = json.loads(rec_path.read_text())["settings"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DrumscribeError(f"{rec_path}: unreadable ({exc}); render into a new --out folder") from None
    new = record["settings"]
    changed = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if changed:
        k = changed[0]
        raise DrumscribeError(
            f"{out}: rendered with other settings ({SHOWN_AS.get(k, '--' + k.replace('_', '-'))} {_shown(old.get(k))}, now "
            f"{_shown(new.get(k))}{f'; also {len(changed) - 1} more' if len(changed) > 1 else ''}); "
            "a re-run must use the same ones, or render into a new --out folder")


def _shown(v) -> str:
    text = "unset" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else str(v))
    return text if len(text) <= 160 else text[:157] + "..."


def _audio_or_midi(out: Path) -> Path | None:
    """The first audio or MIDI file under ``out`` (a user's file a render could replace), or None."""
    from drumscribe.core.filetypes import AUDIO_SUFFIXES

    if not out.is_dir():
        return None
    for root, _, files in os.walk(out):
        for f in sorted(files):
            if Path(f).suffix.lower() in {*AUDIO_SUFFIXES, ".mid", ".midi"}:
                return Path(root) / f
    return None


@contextmanager
def folder_lock(out: Path):
    """Hold ``out/.drumscribe-synth.lock`` (``flock``) while a run writes ``out``; a second run is refused in
    one line.  The lock dies with its process (kill -9 included), the file stays (it is never trusted)."""
    try:
        import fcntl
    except ImportError:  # no flock here (Windows): no lock
        yield
        return
    path = out / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise DrumscribeError(f"{out}: cannot write there ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip()
            raise DrumscribeError(f"{out}: another `drumscribe synth` run is writing this folder"
                                  f"{f' (pid {other})' if other.isdigit() else ''}; wait for it to end or render "
                                  "into another --out folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def existing_rows(csv_path: Path) -> list[dict]:
    if not csv_path.is_file():
        return []
    with open(csv_path, newline="") as fh:
        return [dict(r) for r in csv.DictReader(fh)]
