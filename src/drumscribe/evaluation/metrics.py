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
* **timing and velocity** (:class:`TimingScorer`, issue 29): F1 at ±20 and ±30 ms (independent
  matchings, same formulas); over the hits matched at ±50 ms, the offset estimate - truth: mean
  (signed), mean absolute, 90th percentile of the absolute value and the scatter (standard deviation
  after removing each file's median offset), per class and overall; where the truth has velocities,
  Pearson correlation and MAE of written against true velocity, ghost-note recall (true < 40 written
  < 50) and accent recall (true >= 110 written >= 100).
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


def matched_pairs(reference: np.ndarray, estimated: np.ndarray,
                  tolerance: float = DEFAULT_TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """The one matching: ``mir_eval.util.match_events`` (maximum one-to-one matching within ``tolerance``
    seconds) of two *sorted* onset arrays -> ``(reference indices, estimate indices)`` of the matched pairs,
    int64, in reference order."""
    import mir_eval

    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    est = np.asarray(estimated, dtype=np.float64).reshape(-1)
    if ref.size == 0 or est.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pairs = sorted(mir_eval.util.match_events(ref, est, tolerance))
    return (np.array([i for i, _ in pairs], dtype=np.int64), np.array([j for _, j in pairs], dtype=np.int64))


def match_onsets(reference: np.ndarray, estimated: np.ndarray, tolerance: float = DEFAULT_TOLERANCE) -> Counts:
    """TP/FP/FN of one onset list against another (seconds), mir_eval's one-to-one matching."""
    ref = np.sort(np.asarray(reference, dtype=np.float64).reshape(-1))
    est = np.sort(np.asarray(estimated, dtype=np.float64).reshape(-1))
    tp = len(matched_pairs(ref, est, tolerance)[0])
    return Counts(tp, int(est.size) - tp, int(ref.size) - tp)


def false_alarms(reference: np.ndarray, estimated: np.ndarray, tolerance: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """The estimates (seconds, sorted) left unmatched by :func:`match_onsets`' matching: the false alarms."""
    ref = np.sort(np.asarray(reference, dtype=np.float64).reshape(-1))
    est = np.sort(np.asarray(estimated, dtype=np.float64).reshape(-1))
    matched = np.zeros(est.size, dtype=bool)
    matched[matched_pairs(ref, est, tolerance)[1]] = True
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


# ------------------------------------------------------------------ timing and velocity (issue 29)

TIMING_WINDOWS = (0.02, 0.03)  # extra F1 windows (seconds) reported beside the matching window
GHOST_TRUE_BELOW = 40  # a truth hit below this velocity is a ghost note ...
GHOST_WRITTEN_BELOW = 50  # ... found when written below this
ACCENT_TRUE_FROM = 110  # a truth hit at or above this velocity is an accent ...
ACCENT_WRITTEN_FROM = 100  # ... found when written at or above this


def offset_stats(offsets: np.ndarray, residuals: np.ndarray) -> dict:
    """Timing figures of matched hits, in milliseconds: ``offsets`` = estimate - truth (seconds);
    ``residuals`` = the same after removing each file's median offset.  ``n``, ``mean_offset_ms``
    (signed), ``mae_ms`` (mean absolute), ``p90_abs_ms`` (90th percentile of the absolute error),
    ``scatter_ms`` (standard deviation of the residuals), ``robust_scatter_ms`` (1.4826 x their median
    absolute deviation: the standard deviation a normal core would have, blind to the few hits matched
    a frame or more away), ``median_offset_ms``."""
    d = np.asarray(offsets, dtype=np.float64).reshape(-1) * 1000.0
    r = np.asarray(residuals, dtype=np.float64).reshape(-1) * 1000.0
    if d.size == 0:
        return {"n": 0, "mean_offset_ms": None, "median_offset_ms": None, "mae_ms": None, "p90_abs_ms": None,
                "scatter_ms": None, "robust_scatter_ms": None}
    return {"n": int(d.size), "mean_offset_ms": float(d.mean()), "median_offset_ms": float(np.median(d)),
            "mae_ms": float(np.abs(d).mean()), "p90_abs_ms": float(np.percentile(np.abs(d), 90)),
            "scatter_ms": float(r.std()), "robust_scatter_ms": float(1.4826 * np.median(np.abs(r - np.median(r))))}


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson correlation; None when undefined (fewer than 2 pairs or a constant side)."""
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _within_file_pearson(true_parts, est_parts) -> float | None:
    """Pearson correlation of matched velocities after removing each part's mean from both sides (a part: one
    file's hits of one class).  A recording's gain is arbitrary, so the level of a whole file is not a
    dynamic the audio can show; this is the figure of the dynamics *within* each file (cf. the scatter)."""
    t = [np.asarray(x, dtype=np.float64).reshape(-1) for x in true_parts]
    e = [np.asarray(x, dtype=np.float64).reshape(-1) for x in est_parts]
    keep = [(a - a.mean(), b - b.mean()) for a, b in zip(t, e) if a.size >= 2]
    if not keep:
        return None
    return _pearson(np.concatenate([a for a, _ in keep]), np.concatenate([b for _, b in keep]))


def velocity_stats(true_v: np.ndarray, est_v: np.ndarray) -> dict:
    """Velocity figures of matched hits (MIDI 1-127): ``pearson``, ``mae``, and the share of ghost notes
    (true < :data:`GHOST_TRUE_BELOW`) written below :data:`GHOST_WRITTEN_BELOW` and of accents (true >=
    :data:`ACCENT_TRUE_FROM`) written at or above :data:`ACCENT_WRITTEN_FROM` (None without any)."""
    t = np.asarray(true_v, dtype=np.float64).reshape(-1)
    e = np.asarray(est_v, dtype=np.float64).reshape(-1)
    ghost, accent = t < GHOST_TRUE_BELOW, t >= ACCENT_TRUE_FROM
    return {"n": int(t.size), "pearson": _pearson(t, e), "mae": float(np.abs(t - e).mean()) if t.size else None,
            "ghost_n": int(ghost.sum()),
            "ghost_recall": float((e[ghost] < GHOST_WRITTEN_BELOW).mean()) if ghost.any() else None,
            "accent_n": int(accent.sum()),
            "accent_recall": float((e[accent] >= ACCENT_WRITTEN_FROM).mean()) if accent.any() else None}


def _sorted_with(times, values) -> tuple[np.ndarray, np.ndarray | None]:
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    order = np.argsort(t, kind="stable")
    return t[order], None if values is None else np.asarray(values, dtype=np.float64).reshape(-1)[order]


class TimingScorer:
    """Onset timing and velocity of the hits matched at ``tolerance`` (±50 ms), accumulated over files.

    Per file and class, truth and estimates are matched by :func:`matched_pairs`; each pair gives an
    offset (estimate - truth).  Per class: mean signed offset, mean absolute error, 90th percentile of the
    absolute error and the *scatter*: the standard deviation of the offsets after removing the file's
    median offset of that class.  Overall: the same over every class's hits, the scatter after removing
    the file's median over all its matched hits.  F1 at each of ``windows`` (and at ``tolerance``) comes
    from :class:`Counts` of independent matchings at that window.

    Velocities (``ref_vel``/``est_vel`` per class) are scored only for a file whose truth velocities
    are not all equal (real-dev's truth is a constant 100: no velocity information).
    """

    def __init__(self, class_names: Sequence[str], tolerance: float = DEFAULT_TOLERANCE,
                 windows: Sequence[float] = TIMING_WINDOWS):
        self.class_names = list(class_names)
        self.tolerance = float(tolerance)
        self.windows = sorted({float(w) for w in windows} | {self.tolerance})
        n = len(self.class_names)
        self.counts = {w: [Counts() for _ in range(n)] for w in self.windows}
        self.offsets: list[list[np.ndarray]] = [[] for _ in range(n)]
        self.class_resid: list[list[np.ndarray]] = [[] for _ in range(n)]
        self.file_resid: list[np.ndarray] = []
        self.vel_true: list[list[np.ndarray]] = [[] for _ in range(n)]
        self.vel_est: list[list[np.ndarray]] = [[] for _ in range(n)]
        self.velocity_files = 0

    def add(self, ref_by_class: Sequence[np.ndarray], est_by_class: Sequence[np.ndarray],
            ref_vel_by_class: Sequence[np.ndarray] | None = None,
            est_vel_by_class: Sequence[np.ndarray] | None = None) -> None:
        """One file: per class onset times (seconds) and, optionally, the aligned MIDI velocities."""
        n = len(self.class_names)
        if len(ref_by_class) != n or len(est_by_class) != n:
            raise ValueError(f"need {n} classes of reference and estimate onsets")
        with_vel = ref_vel_by_class is not None and est_vel_by_class is not None
        if with_vel:
            known = np.concatenate([np.asarray(v, dtype=np.float64).reshape(-1) for v in ref_vel_by_class])
            with_vel = np.unique(known).size > 1
        self.velocity_files += int(with_vel)
        file_offsets = []
        for c in range(n):
            ref, rv = _sorted_with(ref_by_class[c], ref_vel_by_class[c] if with_vel else None)
            est, ev = _sorted_with(est_by_class[c], est_vel_by_class[c] if with_vel else None)
            for w in self.windows:
                k = len(matched_pairs(ref, est, w)[0])
                self.counts[w][c] = self.counts[w][c] + Counts(k, est.size - k, ref.size - k)
            i, j = matched_pairs(ref, est, self.tolerance)
            d = est[j] - ref[i]
            self.offsets[c].append(d)
            self.class_resid[c].append(d - np.median(d) if d.size else d)
            file_offsets.append(d)
            if with_vel:
                self.vel_true[c].append(rv[i])
                self.vel_est[c].append(ev[j])
        d = np.concatenate(file_offsets)
        self.file_resid.append(d - np.median(d) if d.size else d)

    def result(self) -> dict:
        """``{"tolerance", "windows", "f1": {window: summarize(...)}, "overall": offset_stats,
        "per_class": {name: offset_stats}, "velocity": velocity_stats + per_class | None}``."""
        cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)  # noqa: E731
        per_class = {name: offset_stats(cat(self.offsets[c]), cat(self.class_resid[c]))
                     for c, name in enumerate(self.class_names)}
        overall = offset_stats(cat([cat(o) for o in self.offsets]), cat(self.file_resid))
        out = {"tolerance": self.tolerance, "windows": self.windows,
               "scatter": "std of the offsets after removing each file's median offset (per class: of that class); "
                          "robust_scatter: 1.4826 x their median absolute deviation",
               "f1": {f"{w:g}": summarize(self.counts[w], self.class_names) for w in self.windows},
               "overall": overall, "per_class": per_class, "velocity": None}
        if self.velocity_files:
            vt = [cat(v) for v in self.vel_true]
            ve = [cat(v) for v in self.vel_est]
            within = [_within_file_pearson(self.vel_true[c], self.vel_est[c]) for c in range(len(self.class_names))]
            out["velocity"] = {**velocity_stats(cat(vt), cat(ve)), "files": self.velocity_files,
                               "pearson_within_file": _within_file_pearson(
                                   [v for c in self.vel_true for v in c], [v for c in self.vel_est for v in c]),
                               "per_class": {name: {**velocity_stats(vt[c], ve[c]), "pearson_within_file": within[c]}
                                             for c, name in enumerate(self.class_names) if vt[c].size}}
        return out
