"""Onset metrics, the field's way (mir_eval matching, ±50 ms).

* Per class and file, reference and estimated onsets are matched one-to-one
  with ``mir_eval.util.match_events`` (maximum matching within ``tolerance``
  seconds); TP = matched pairs, FP = unmatched estimates, FN = unmatched
  references.
* Counts are summed over files per class.  From counts:
  ``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)``,
  ``F1 = 2PR / (P + R)`` with madmom's conventions for empty denominators:
  no estimates -> precision 1; no references -> recall 1; P + R = 0 -> F1 0
  (so "nothing to find, nothing found" scores 1, and a class with support but
  no detections scores P=1, R=0, F1=0).
* **micro**: the same formulas on the counts summed over classes (every onset
  weighs the same; madmom's ``SumEvaluation``);
  **macro**: the unweighted mean of per-class precision/recall/F1 over the
  classes with support > 0 in the reference (a class absent from the test set
  would otherwise count as a free 1.0 or a spurious 0.0; madmom's
  ``MeanEvaluation`` over classes).
* **5-class view** (comparable with published E-GMD results): classes are
  merged *by name* through :data:`FIVE_CLASS_GROUPS` (``drumscribe.core.drums.FOLD5``; toms = hi/mid/low tom,
  cymbals = crash + ride); onsets of a group are pooled and re-matched, so a
  hi-tom predicted as mid-tom counts as correct in the merged view.
* **frame-level** (reference only): per class, frames where ``prob >=
  threshold`` against the frame onset targets; summed counts, same formulas.
* **co-occurring false alarms** (pattern priors): per class, how many of its
  false alarms (estimates left unmatched above) lie within ``tolerance`` of a
  reference onset of *another* class, and of which ones (a hi-hat that fires on
  every kick and snare hit: ``cooccurrence["hihat"]["on"]["kick"]``).  A false
  alarm near onsets of two other classes counts once in ``on_other`` and once
  under each class in ``on``.  Given the files' durations, ``chance`` is the
  share expected if false alarms fell at random times (the fraction of the audio
  within ``tolerance`` of another class's onset): in a dense groove most of the
  timeline is, so ``share`` is read against ``chance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from drumscribe.core.drums import CLASSES, FOLD5, FOLD5_CLASSES

DEFAULT_TOLERANCE = 0.05

# merged view name -> member class names, from the vocabulary's 5-class fold (drumscribe.core.drums.FOLD5)
FIVE_CLASS_GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(c for c in CLASSES if FOLD5[c] == group) for group in FOLD5_CLASSES
}


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def n_estimated(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float:
        return 1.0 if self.n_estimated == 0 else self.tp / self.n_estimated

    @property
    def recall(self) -> float:
        return 1.0 if self.support == 0 else self.tp / self.support

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def as_dict(self) -> dict:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1,
                "support": self.support, "tp": self.tp, "fp": self.fp, "fn": self.fn}


def match_onsets(reference: np.ndarray, estimated: np.ndarray, tolerance: float = DEFAULT_TOLERANCE) -> Counts:
    """TP/FP/FN of one onset list against another (seconds), mir_eval's one-to-one matching."""
    import mir_eval

    ref = np.sort(np.asarray(reference, dtype=np.float64).reshape(-1))
    est = np.sort(np.asarray(estimated, dtype=np.float64).reshape(-1))
    if ref.size == 0 or est.size == 0:
        return Counts(0, int(est.size), int(ref.size))
    tp = len(mir_eval.util.match_events(ref, est, tolerance))
    return Counts(tp, int(est.size) - tp, int(ref.size) - tp)


def false_alarms(reference: np.ndarray, estimated: np.ndarray, tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """The estimates (seconds, sorted) left unmatched by :func:`match_onsets`' matching: the false alarms."""
    import mir_eval

    ref = np.sort(np.asarray(reference, dtype=np.float64).reshape(-1))
    est = np.sort(np.asarray(estimated, dtype=np.float64).reshape(-1))
    if ref.size == 0 or est.size == 0:
        return est
    matched = np.zeros(est.size, dtype=bool)
    matched[[j for _, j in mir_eval.util.match_events(ref, est, tolerance)]] = True
    return est[~matched]


def _covered_seconds(times: np.ndarray, tolerance: float, duration: float) -> float:
    """Length of the union of ``[t - tolerance, t + tolerance]`` within ``[0, duration]``."""
    t = np.unique(np.asarray(times, dtype=np.float64))
    if t.size == 0:
        return 0.0
    lo, hi = np.clip(t - tolerance, 0, duration), np.clip(t + tolerance, 0, duration)
    return float((hi - lo).sum() - np.clip(hi[:-1] - lo[1:], 0, None).sum())


def cooccurring_false_alarms(ref_by_class: Sequence[np.ndarray], est_by_class: Sequence[np.ndarray],
                             class_names: Sequence[str], tolerance: float = DEFAULT_TOLERANCE,
                             duration: float | None = None) -> dict:
    """Per class: ``{"false_alarms": n, "on_other": k, "on": {other class: k_other}}`` for one file
    (plus ``covered_s`` and ``duration_s`` when the file's ``duration`` in seconds is given)."""
    refs = [np.sort(np.asarray(r, dtype=np.float64).reshape(-1)) for r in ref_by_class]
    out = {}
    for c, name in enumerate(class_names):
        fa = false_alarms(refs[c], est_by_class[c], tolerance)
        near_any = np.zeros(fa.size, dtype=bool)
        on = {}
        for o, other in enumerate(class_names):
            if o == c or fa.size == 0 or refs[o].size == 0:
                on[other] = 0 if o != c else None
                continue
            i = np.clip(np.searchsorted(refs[o], fa), 1, refs[o].size) - 1
            dist = np.minimum(np.abs(fa - refs[o][i]), np.abs(fa - refs[o][np.minimum(i + 1, refs[o].size - 1)]))
            near = dist <= tolerance
            near_any |= near
            on[other] = int(near.sum())
        out[name] = {"false_alarms": int(fa.size), "on_other": int(near_any.sum()),
                     "on": {k: v for k, v in on.items() if v is not None}}
        if duration is not None:
            others = np.concatenate([refs[o] for o in range(len(refs)) if o != c] or [np.zeros(0)])
            out[name]["covered_s"] = _covered_seconds(others, tolerance, float(duration))
            out[name]["duration_s"] = float(duration)
    return out


def add_cooccurrence(total: dict, part: dict) -> dict:
    """Sum two :func:`cooccurring_false_alarms` results (``total`` may be empty)."""
    for name, d in part.items():
        t = total.setdefault(name, {"false_alarms": 0, "on_other": 0, "on": {}})
        t["false_alarms"] += d["false_alarms"]
        t["on_other"] += d["on_other"]
        for k in ("covered_s", "duration_s"):
            if k in d:
                t[k] = t.get(k, 0.0) + d[k]
        for k, v in d["on"].items():
            t["on"][k] = t["on"].get(k, 0) + v
    return total


def score_classes(ref_by_class: Sequence[np.ndarray], est_by_class: Sequence[np.ndarray],
                  tolerance: float = DEFAULT_TOLERANCE) -> list[Counts]:
    """Per-class counts of one file (lists of onset-time arrays, one per class)."""
    if len(ref_by_class) != len(est_by_class):
        raise ValueError("reference and estimate need the same number of classes")
    return [match_onsets(r, e, tolerance) for r, e in zip(ref_by_class, est_by_class)]


def merge_groups(by_class: Sequence[np.ndarray], class_names: Sequence[str],
                 groups: Mapping[str, Sequence[str]] = FIVE_CLASS_GROUPS) -> list[np.ndarray]:
    """Pool per-class onset lists into the groups (by class name); names absent from ``class_names`` are skipped."""
    index = {n: i for i, n in enumerate(class_names)}
    out = []
    for members in groups.values():
        parts = [np.asarray(by_class[index[m]], dtype=np.float64) for m in members if m in index]
        out.append(np.sort(np.concatenate(parts)) if parts else np.zeros(0))
    return out


def summarize(counts: Sequence[Counts], names: Sequence[str]) -> dict:
    """``{"per_class": {name: {...}}, "micro": {...}, "macro": {...}}`` from per-class counts."""
    per_class = {n: c.as_dict() for n, c in zip(names, counts)}
    total = sum(counts, Counts())
    with_support = [c for c in counts if c.support > 0]
    if with_support:
        macro = {
            "precision": float(np.mean([c.precision for c in with_support])),
            "recall": float(np.mean([c.recall for c in with_support])),
            "f1": float(np.mean([c.f1 for c in with_support])),
        }
    else:
        macro = {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    macro["n_classes"] = len(with_support)
    return {"per_class": per_class, "micro": total.as_dict(), "macro": macro}


def frame_counts(probs: np.ndarray, targets: np.ndarray, thresholds) -> list[Counts]:
    """Frame-level per-class counts: ``probs >= threshold`` vs ``targets > 0``, both ``(frames, classes)``."""
    probs = np.asarray(probs)
    targets = np.asarray(targets) > 0
    n = min(probs.shape[0], targets.shape[0])
    th = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (probs.shape[1],))
    pred = probs[:n] >= th[None, :]
    tgt = targets[:n]
    tp = (pred & tgt).sum(axis=0)
    fp = (pred & ~tgt).sum(axis=0)
    fn = (~pred & tgt).sum(axis=0)
    return [Counts(int(a), int(b), int(c)) for a, b, c in zip(tp, fp, fn)]


class OnsetScorer:
    """Accumulates counts over files: per class, 5-class merged, frame level."""

    def __init__(self, class_names: Sequence[str], tolerance: float = DEFAULT_TOLERANCE,
                 groups: Mapping[str, Sequence[str]] = FIVE_CLASS_GROUPS):
        self.class_names = list(class_names)
        self.tolerance = float(tolerance)
        self.groups = dict(groups)
        self.counts = [Counts() for _ in self.class_names]
        self.group_counts = [Counts() for _ in self.groups]
        self.frame = [Counts() for _ in self.class_names]
        self.cooccurrence: dict = {}
        self.n_files = 0

    def add(self, ref_by_class: Sequence[np.ndarray], est_by_class: Sequence[np.ndarray],
            probs: np.ndarray | None = None, frame_targets: np.ndarray | None = None,
            thresholds=None, duration: float | None = None) -> dict:
        """Score one file, add it to the totals; returns the file's own summary (per class + micro + macro).

        ``duration`` (seconds) lets the co-occurrence counts report their chance level."""
        file_counts = score_classes(ref_by_class, est_by_class, self.tolerance)
        self.counts = [a + b for a, b in zip(self.counts, file_counts)]
        g = score_classes(merge_groups(ref_by_class, self.class_names, self.groups),
                          merge_groups(est_by_class, self.class_names, self.groups), self.tolerance)
        self.group_counts = [a + b for a, b in zip(self.group_counts, g)]
        add_cooccurrence(self.cooccurrence, cooccurring_false_alarms(ref_by_class, est_by_class, self.class_names, self.tolerance,
                                                                    duration))
        if probs is not None and frame_targets is not None:
            fc = frame_counts(probs, frame_targets, thresholds if thresholds is not None else 0.5)
            self.frame = [a + b for a, b in zip(self.frame, fc)]
        self.n_files += 1
        return summarize(file_counts, self.class_names)

    def result(self) -> dict:
        return {
            **summarize(self.counts, self.class_names),
            "five_class": summarize(self.group_counts, list(self.groups)),
            "frame": summarize(self.frame, self.class_names),
            "cooccurrence": {n: {**d, "share": d["on_other"] / d["false_alarms"] if d["false_alarms"] else 0.0,
                                 **({"chance": d["covered_s"] / d["duration_s"]} if d.get("duration_s") else {})}
                             for n, d in self.cooccurrence.items()},
            "tolerance": self.tolerance,
            "n_files": self.n_files,
        }


def counts_to_array(counts: Sequence[Counts]) -> np.ndarray:
    """``(classes, 3)`` int64 ``[tp, fp, fn]`` (for summing across files or DDP ranks)."""
    return np.array([[c.tp, c.fp, c.fn] for c in counts], dtype=np.int64).reshape(-1, 3)


def counts_from_array(a) -> list[Counts]:
    """Inverse of :func:`counts_to_array`."""
    return [Counts(int(tp), int(fp), int(fn)) for tp, fp, fn in np.asarray(a, dtype=np.int64).reshape(-1, 3)]
