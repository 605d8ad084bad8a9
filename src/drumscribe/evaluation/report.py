"""The plan's step 7: a decision row and the success checklist, from a training history and an evaluation.

Pure logic (:func:`loss_trend`, :func:`decide`); reading files is in :func:`load_history` /
``drumscribe report``.

Definitions (all on ``val_loss`` per epoch, in epoch order, empty cells skipped):

* **decreasing**: at least 2 epochs, the least-squares slope of ``val_loss``
  against the epoch number is < 0, *and* the last value is below the first.
* **flat for 5+ epochs** (plateaued): at least 6 epochs, and the best
  ``val_loss`` of the last 5 epochs is not lower than the best before them by
  more than 1 % (relative): ``min(last 5) >= (1 - 0.01) * min(earlier)``.
* **F1**: the evaluation's overall micro F1 (8 classes, summed counts).

Decision (first matching rule wins):

0. a ``val_loss`` or ``train_loss`` cell is NaN or infinite -> **Diverged** (the run blew up: lower the
   learning rate, check the data and mixed precision); the trend is then measured on the finite values only;
1. F1 < 0.15 and not decreasing -> **Not learning** (debug preprocessing, model, loss);
2. plateaued -> **Plateaued** (the table's "Any F1"; investigate LR, architecture, data);
3. F1 > 0.30 and decreasing -> **Good progress** (proceed to full training);
4. 0.15 <= F1 <= 0.30 and decreasing -> **Slow learning** (longer test / tune);
5. (not in the plan's table) F1 < 0.15 but decreasing -> **Slow learning**: the loss
   still falls, so it is learning, just slowly;
6. (not in the table) F1 >= 0.15 and not decreasing (rising or noisy val_loss,
   or too few epochs to tell) -> **Plateaued** (investigate: overfitting or LR).

Success criteria (each ticked, failed, or unknown when its input is missing):
all configured epochs ran (history rows vs ``training.num_epochs``); best
``val_loss`` < 0.20 (the best checkpoint is the one evaluated); overall F1 > 0.25;
kick, snare and hi-hat recall > 0.30 each; the transcription MIDI has notes.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from drumscribe.core.drums import CORE_CLASSES
from drumscribe.core.errors import DrumscribeError

PLATEAU_EPOCHS = 5
PLATEAU_REL_IMPROVEMENT = 0.01
F1_GOOD = 0.30
F1_SLOW = 0.15
TARGET_VAL_LOSS = 0.20
TARGET_F1 = 0.25
TARGET_RECALL = 0.30
RECALL_CLASSES = CORE_CLASSES

ROWS = {
    "good_progress": ("Good progress", "Proceed to full training"),
    "slow_learning": ("Slow learning", "Consider a longer test (20 epochs) or tune hyperparameters"),
    "plateaued": ("Plateaued", "Investigate learning rate, architecture, or data issues"),
    "not_learning": ("Not learning", "Debug preprocessing, model architecture, or loss function"),
    "diverged": ("Diverged", "The loss became NaN/inf: lower the learning rate, check the data for NaN and "
                             "mixed precision, then train again from the last finite checkpoint"),
}
LOSS_KEYS = ("val_loss", "train_loss")  # a non-finite value in either is a diverged run


@dataclass
class Trend:
    n_epochs: int
    first: float | None
    last: float | None
    best: float | None
    slope: float | None  # val_loss per epoch (least squares)
    decreasing: bool
    plateaued: bool
    plateau_best_recent: float | None = None
    plateau_best_before: float | None = None


@dataclass
class Criterion:
    name: str
    passed: bool | None  # None: unknown (input missing)
    value: Any
    target: str


@dataclass
class Decision:
    row: str
    label: str
    action: str
    f1: float
    trend: Trend
    reasons: list[str]
    criteria: list[Criterion] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------ pure logic

def loss_trend(val_losses: Sequence[float], epochs: Sequence[float] | None = None) -> Trend:
    """Trend of a val_loss series (see the module docstring for the definitions)."""
    y = np.asarray([v for v in val_losses], dtype=np.float64)
    x = np.arange(len(y), dtype=np.float64) if epochs is None else np.asarray(epochs, dtype=np.float64)
    n = len(y)
    if n == 0:
        return Trend(0, None, None, None, None, False, False)
    slope = float(np.polyfit(x, y, 1)[0]) if n >= 2 and np.ptp(x) > 0 else None
    decreasing = bool(n >= 2 and slope is not None and slope < 0 and y[-1] < y[0])
    plateaued, recent, before = False, None, None
    if n >= PLATEAU_EPOCHS + 1:
        recent = float(y[-PLATEAU_EPOCHS:].min())
        before = float(y[:-PLATEAU_EPOCHS].min())
        plateaued = bool(recent >= (1.0 - PLATEAU_REL_IMPROVEMENT) * before)
    return Trend(n, float(y[0]), float(y[-1]), float(y.min()), slope, decreasing, plateaued, recent, before)


def _num(v) -> float | None:
    if v is None or v == "":
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def nonfinite_losses(rows: Sequence[dict], keys: Sequence[str] = LOSS_KEYS) -> list[tuple[Any, str, float]]:
    """``(epoch, key, value)`` of every NaN/inf cell of ``keys`` (a diverged run), in row order."""
    out = []
    for i, r in enumerate(rows):
        for key in keys:
            v = r.get(key)
            if v is None or v == "":
                continue
            try:
                f = float(v)
            except (TypeError, ValueError):
                continue
            if not np.isfinite(f):
                e = _num(r.get("epoch"))
                out.append((i if e is None else int(e), key, f))
    return out


def history_series(rows: Sequence[dict], key: str = "val_loss") -> tuple[list[float], list[float]]:
    """(epochs, values) of the rows that have ``key``, sorted by epoch."""
    pts = []
    for i, r in enumerate(rows):
        v = _num(r.get(key))
        if v is not None:
            e = _num(r.get("epoch"))
            pts.append((i if e is None else e, v))
    pts.sort()
    return [p[0] for p in pts], [p[1] for p in pts]


def decide(history: Sequence[dict], eval_results: dict, expected_epochs: int | None = None,
           midi_notes: int | None = None) -> Decision:
    """The step-7 decision row and the success checklist.

    ``history``: rows of ``metrics_history.csv`` (dicts with ``epoch``, ``val_loss``...);
    ``eval_results``: the ``drumscribe evaluate`` JSON; ``expected_epochs``: ``training.num_epochs``
    (None: unknown); ``midi_notes``: notes in a transcription MIDI (None: not checked).
    """
    epochs, losses = history_series(history, "val_loss")
    trend = loss_trend(losses, epochs)
    try:
        f1 = float(eval_results["micro"]["f1"])
    except (KeyError, TypeError, ValueError):
        raise DrumscribeError("evaluation results lack micro.f1 (is it a `drumscribe evaluate --output` JSON?)") from None
    dec = "decreasing" if trend.decreasing else "not decreasing"
    slope = "n/a" if trend.slope is None else f"{trend.slope:+.4f}/epoch"
    reasons = [f"F1 {f1:.3f}; val_loss {dec} over {trend.n_epochs} epochs (slope {slope}"
               + (f", first {trend.first:.4f}, last {trend.last:.4f})" if trend.n_epochs else ")")]
    if trend.n_epochs < 2:
        reasons.append("fewer than 2 epochs with val_loss: a trend cannot be measured (counted as not decreasing)")
    if trend.plateaued:
        reasons.append(f"best val_loss of the last {PLATEAU_EPOCHS} epochs {trend.plateau_best_recent:.4f} is within "
                       f"{PLATEAU_REL_IMPROVEMENT:.0%} of the earlier best {trend.plateau_best_before:.4f}")
    diverged = nonfinite_losses(history)
    if diverged:
        e, key, v = diverged[0]
        reasons.insert(0, f"{key} is {v} at epoch {e} ({len(diverged)} NaN/inf loss value"
                          f"{'s' if len(diverged) > 1 else ''} in the history): the training diverged")
        row = "diverged"
    elif f1 < F1_SLOW and not trend.decreasing:
        row = "not_learning"
    elif trend.plateaued:
        row = "plateaued"
    elif f1 > F1_GOOD and trend.decreasing:
        row = "good_progress"
    elif f1 >= F1_SLOW and trend.decreasing:
        row = "slow_learning"
    elif trend.decreasing:  # f1 < 0.15
        row = "slow_learning"
        reasons.append("not in the plan's table: F1 < 0.15 but the loss is decreasing -> treated as slow learning")
    else:  # f1 >= 0.15, not decreasing, not plateaued
        row = "plateaued"
        reasons.append("not in the plan's table: F1 >= 0.15 but val_loss is not decreasing "
                       "(rising or noisy: check overfitting / learning rate) -> treated as plateaued")
    label, action = ROWS[row]
    return Decision(row, label, action, f1, trend, reasons, criteria(history, eval_results, expected_epochs, midi_notes))


def criteria(history: Sequence[dict], eval_results: dict, expected_epochs: int | None,
             midi_notes: int | None) -> list[Criterion]:
    epochs = [_num(r.get("epoch")) for r in history]
    n_done = len({e for e in epochs if e is not None})
    out = [Criterion("training finished all configured epochs",
                     None if expected_epochs is None else n_done >= expected_epochs,
                     n_done, f"{expected_epochs if expected_epochs is not None else '?'} epochs")]
    _, losses = history_series(history, "val_loss")
    best = min(losses) if losses else None
    out.append(Criterion("validation loss < 0.20 (best epoch)", None if best is None else best < TARGET_VAL_LOSS,
                         best, f"< {TARGET_VAL_LOSS}"))
    f1 = float(eval_results["micro"]["f1"])
    out.append(Criterion("overall F1 > 0.25 (micro)", f1 > TARGET_F1, f1, f"> {TARGET_F1}"))
    per = eval_results.get("per_class", {})
    for name in RECALL_CLASSES:
        d = per.get(name)
        if d is None or not d.get("support"):
            out.append(Criterion(f"{name} recall > 0.30", None, None, f"> {TARGET_RECALL}"))
        else:
            out.append(Criterion(f"{name} recall > 0.30", float(d["recall"]) > TARGET_RECALL, float(d["recall"]),
                                 f"> {TARGET_RECALL}"))
    out.append(Criterion("inference produced a non-empty MIDI file", None if midi_notes is None else midi_notes > 0,
                         midi_notes, "> 0 notes"))
    return out


# ------------------------------------------------------------------ files

def load_history(path: str | Path) -> list[dict]:
    """Rows of a ``metrics_history.csv`` (or a JSON list of rows / ``{"rows": [...]}``).

    A file without a single ``val_loss`` value is not a training history (no decision can come from it):
    :class:`DrumscribeError` naming it, never a "Plateaued" row computed from nothing.
    """
    rows = _read_history(Path(path))
    if not history_series(rows, "val_loss")[1] and not nonfinite_losses(rows, ("val_loss",)):
        cols = sorted({k for r in rows for k in r if k is not None})
        raise DrumscribeError(f"{path}: not a training history (no val_loss values; columns: "
                              f"{', '.join(cols) or 'none'}); pass the metrics_history.csv `drumscribe train` wrote")
    return rows


def _not_a_file(path: Path, what: str) -> str:
    """Why an existing ``path`` that is not a regular file cannot be ``what`` (a folder, a FIFO...), else ``not found``."""
    if path.is_dir():
        return f"{path}: is a folder, not {what}"
    if path.exists():
        return f"{path}: is not a regular file (a FIFO, socket or device), not {what}"
    return f"{path}: {what} not found"


def _read_history(path: Path) -> list[dict]:
    if not path.is_file():
        raise DrumscribeError(_not_a_file(path, "training history"))
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text())
            rows = data.get("rows", data.get("epochs")) if isinstance(data, dict) else data
            if not isinstance(rows, list):
                raise ValueError("expected a list of epoch rows")
            return [dict(r) for r in rows]
        with open(path, newline="") as fh:
            return [dict(r) for r in csv.DictReader(fh)]
    except Exception as exc:
        raise DrumscribeError(f"{path}: unreadable training history ({type(exc).__name__}: {exc})") from None


def load_eval(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise DrumscribeError(_not_a_file(path, "evaluation results") + " (write them with `drumscribe evaluate --output`)")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DrumscribeError(f"{path}: not a JSON file ({exc})") from None
    if not isinstance(data, dict) or "micro" not in data:
        raise DrumscribeError(f"{path}: not a `drumscribe evaluate` results file (no 'micro' scores)")
    return data


def count_midi_notes(path: str | Path) -> int:
    from drumscribe.dataset.targets import read_drum_notes

    return len(read_drum_notes(path, allow_empty=True).times)
