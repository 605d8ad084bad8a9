"""A synth dataset's record: the settings a folder was rendered with, compared on a re-run.

``.drumscribe-synth.json`` beside the CSV holds every argument that decides the content; a re-run with
other settings, or into a folder whose CSV no ``drumscribe synth`` run recorded, is refused in one line.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from drumscribe.core.errors import DrumscribeError
from drumscribe.dataset.index import CSV_NAME

RECORD_NAME = ".drumscribe-synth.json"  # the settings a folder was rendered with (beside the CSV)
RERUN_FREE = ("out_dir", "num_workers", "progress")  # arguments that do not change what is rendered


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

    return {"settings": {k: plain(v) for k, v in sorted(params.items()) if k not in RERUN_FREE}}


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
            f"{out}: rendered with other settings (--{k.replace('_', '-')} {_shown(old.get(k))}, now "
            f"{_shown(new.get(k))}{f'; also {len(changed) - 1} more' if len(changed) > 1 else ''}); "
            "a re-run must use the same ones, or render into a new --out folder")


def _shown(v) -> str:
    return "unset" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else str(v))


def existing_rows(csv_path: Path) -> list[dict]:
    if not csv_path.is_file():
        return []
    with open(csv_path, newline="") as fh:
        return [dict(r) for r in csv.DictReader(fh)]
