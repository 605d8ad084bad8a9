"""Activations -> drum events.  Pure functions: numpy in, events out; no I/O, no torch.

One entry point: ``decode(probs, DecodeSettings.from_config(cfg, thresholds))``
(:func:`decode`, :class:`DecodeSettings`).  Training validation, evaluation,
threshold tuning and transcription all build their settings with
:meth:`DecodeSettings.from_config`, so the same config decodes the same way
everywhere; per-class onset times are ``events_by_class(decode(...), n_classes)``.

Peak picking follows madmom's ``OnsetPeakPickingProcessor`` in spirit:

1. a frame ``f`` of class ``c`` is a *candidate* when ``p[f] >= threshold[c]``
   and ``p[f]`` is the maximum of ``p[f - d : f + d + 1]`` (``d`` =
   ``peak_min_distance`` frames; the window is clipped at the array edges, so a
   peak on frame 0 or on the last frame counts);
2. a *plateau* (consecutive equal candidate frames) is one peak, placed at the
   plateau's centre (fractional frame for an even length);
3. the *minimum interval*: candidates are accepted strongest first (ties: the
   earlier one); a candidate closer than ``max(min_onset_interval seconds,
   peak_min_distance frames)`` to an already accepted peak of the same class
   is dropped ("keep the stronger").
4. *exclusive groups* (``postprocessing.exclusive_groups``, e.g. the three toms: one stick, one
   drum): the peaks of a group's classes are pooled and accepted strongest first (ties: the
   earlier, then the lower class); a peak closer than the same minimum interval to an accepted
   peak of *another* class of the group is dropped.  Peaks compete by strength times their
   class's weight (``postprocessing.exclusive_weights``, default 1; the reported strength is
   unchanged), so a class the network scores lower than its neighbours still wins its hits.  A drum hit that sounds like two toms
   becomes the likelier one instead of one right and one false alarm (measured in
   ``MODEL_CARD.md``, "Decoding").  Classes outside every group are untouched.
5. optional sub-frame timing: the parabola through ``p[f-1], p[f], p[f+1]``
   moves the peak by ``delta = 0.5 (p[f-1] - p[f+1]) / (p[f-1] - 2 p[f] + p[f+1])``
   frames (``|delta| <= 0.5``; not applied at the array edges or on plateaus).
   Off by default: see ``docs/evaluation.md`` ("sub-frame timing") for the
   measurement that decided it.  A model with an offset head (``model.offset_head``) gives each
   peak its learned position instead: frame ``f`` + the head's offset at ``f`` (:func:`split_velocity_block`).

Articulations (``model.articulations``): the activations' last ``A`` columns are articulation outputs
(open hi-hat, cross-stick, ...), each belonging to a parent drum.  They never make events of their
own: a decoded hit of the parent drum (peak frame ``f``) takes the articulation whose output is highest
over frames ``f-1 .. f+1`` among those reaching their threshold (``postprocessing.articulation_thresholds``);
otherwise it is the plain stroke (``""``).  So the drum events, and every 8- and 5-class score, are the
same as without the articulation outputs.  What a transcription WRITES is narrower (:func:`written_articulations`,
:func:`fold_articulations`): by default only the articulations shown right for the model; evaluation
and tuning see every articulation output.

Times are seconds, converted only through :class:`drumscribe.core.timebase.FrameClock`.

Velocity of an event (MIDI 1-127), see :func:`velocities_for`:

* ``"head"``: the model's velocity head (sigmoid output, trained on
  ``velocity / 127``) at the peak frame: ``clip(round(127 * v), 1, 127)``;
* ``"strength"``: the onset probability at the peak: ``clip(round(127 * p), 1, 127)``
  (so ``p = 0.5`` -> 64, ``p = 1`` -> 127);
* ``"fixed"``: ``midi.default_velocity`` for every event;
* ``"auto"`` (default): ``head`` when the model has one, else ``strength``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from drumscribe.core.timebase import FrameClock, offset_from_prob

VELOCITY_SOURCES = ("auto", "head", "strength", "fixed")


@dataclass(frozen=True)
class Event:
    """One drum hit: ``time`` seconds, class index ``cls``, MIDI ``velocity`` 1-127, ``strength`` = peak probability.

    ``articulation``: one of :data:`drumscribe.core.drums.ARTICULATION_CLASSES` (its drum
    is ``cls``: an open hi-hat has ``cls`` = hihat), or ``""`` for the plain stroke.
    """

    time: float
    cls: int
    velocity: int
    strength: float
    articulation: str = ""


@dataclass
class Peaks:
    """Peaks of one class: ``frames`` (fractional frame positions, sorted), ``strengths`` (peak values), ``index`` (integer frame of each peak)."""

    frames: np.ndarray
    strengths: np.ndarray
    index: np.ndarray


def as_thresholds(thresholds, n_classes: int) -> np.ndarray:
    th = np.asarray(thresholds, dtype=np.float64)
    if th.ndim == 0:
        return np.full(n_classes, float(th))
    if th.shape != (n_classes,):
        raise ValueError(f"need {n_classes} per-class thresholds, got {th.shape[0]}")
    return th


def pick_peaks(act: np.ndarray, threshold: float, peak_min_distance: int = 0,
               min_interval_frames: float = 0.0, interpolate: bool = False) -> Peaks:
    """Peaks of one activation curve ``act`` (frames,).  See the module docstring for the rules.

    ``min_interval_frames`` is the minimum interval already converted to frames
    (possibly fractional).  Returns :class:`Peaks` sorted by frame.
    """
    a = np.asarray(act, dtype=np.float64).reshape(-1)
    n = a.shape[0]
    empty = Peaks(np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64))
    if n == 0:
        return empty
    d = max(int(peak_min_distance), 0)
    if d > 0:
        # running maximum over 2d+1 frames, edges repeated (scipy.ndimage.maximum_filter1d(mode="nearest"),
        # in numpy so that transcription does not pay scipy's import time)
        padded = np.concatenate([np.full(d, a[0]), a, np.full(d, a[-1])])
        local_max = np.lib.stride_tricks.sliding_window_view(padded, 2 * d + 1).max(axis=1)
    else:
        local_max = a
    cand = (a >= threshold) & (a >= local_max)
    if d == 0:  # without a window a peak must still not be below a neighbour
        left = np.r_[-np.inf, a[:-1]]
        right = np.r_[a[1:], -np.inf]
        cand &= (a >= left) & (a >= right)
    idx = np.flatnonzero(cand)
    if idx.size == 0:
        return empty
    # plateaus: runs of consecutive candidate frames with equal value -> one peak at the centre
    new_run = np.r_[True, (np.diff(idx) != 1) | (a[idx[1:]] != a[idx[:-1]])]
    starts = np.flatnonzero(new_run)
    ends = np.r_[starts[1:], idx.size] - 1
    first, last = idx[starts], idx[ends]
    frames = (first + last) / 2.0
    strengths = a[first]
    index = first + (last - first) // 2
    if interpolate:
        single = (first == last) & (first > 0) & (first < n - 1)
        f = first[single]
        lo, mid, hi = a[f - 1], a[f], a[f + 1]
        denom = lo - 2 * mid + hi
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = np.where(denom < 0, 0.5 * (lo - hi) / denom, 0.0)
        frames = frames.copy()
        frames[single] = f + np.clip(delta, -0.5, 0.5)
    min_interval_frames = max(float(min_interval_frames), float(d))
    if min_interval_frames > 0 and frames.size > 1:
        order = np.lexsort((frames, -strengths))  # strongest first, ties: earliest
        import bisect

        kept: list[int] = []
        kept_frames: list[float] = []  # sorted: only the nearest kept peak on each side can be too close
        gap = min_interval_frames - 1e-9
        for i in order:
            fr = float(frames[i])
            j = bisect.bisect_left(kept_frames, fr)
            if (j == 0 or fr - kept_frames[j - 1] >= gap) and (j == len(kept_frames) or kept_frames[j] - fr >= gap):
                kept.append(i)
                kept_frames.insert(j, fr)
        sel = np.sort(np.asarray(kept, dtype=np.int64))
        frames, strengths, index = frames[sel], strengths[sel], index[sel]
    return Peaks(frames, strengths, index)


def exclusive_keep(peaks: Sequence[Peaks], min_interval_frames: float,
                   weights: Sequence[float] | None = None) -> list[np.ndarray]:
    """Rule 4 of the module docstring for one group: ``peaks`` of the group's classes -> one boolean
    keep-mask per class.  Peaks are accepted strongest first, by strength x ``weights[k]`` (default 1;
    ties: earlier frame, then lower position in ``peaks``); a peak within ``min_interval_frames`` of an
    accepted peak of another class is dropped."""
    keep = [np.ones(p.frames.shape[0], dtype=bool) for p in peaks]
    if len(peaks) < 2 or sum(p.frames.shape[0] for p in peaks) < 2:
        return keep
    frames = np.concatenate([p.frames for p in peaks])
    w = np.ones(len(peaks)) if weights is None else np.asarray(weights, dtype=np.float64)
    strengths = np.concatenate([p.strengths * w[k] for k, p in enumerate(peaks)])
    member = np.concatenate([np.full(p.frames.shape[0], k) for k, p in enumerate(peaks)])
    offset = np.cumsum([0] + [p.frames.shape[0] for p in peaks])
    import bisect

    gap = float(min_interval_frames) - 1e-9
    acc_f: list[float] = []  # accepted peaks, sorted by frame
    acc_m: list[int] = []
    for i in np.lexsort((member, frames, -strengths)):
        f, m = float(frames[i]), int(member[i])
        j = lo = hi = bisect.bisect_left(acc_f, f)
        while lo > 0 and f - acc_f[lo - 1] < gap:
            lo -= 1
        while hi < len(acc_f) and acc_f[hi] - f < gap:
            hi += 1
        if any(acc_m[k] != m for k in range(lo, hi)):
            keep[m][i - offset[m]] = False
        else:
            acc_f.insert(j, f)
            acc_m.insert(j, m)
    return keep


def select_peaks(p: Peaks, mask: np.ndarray) -> Peaks:
    return Peaks(p.frames[mask], p.strengths[mask], p.index[mask])


def strength_to_velocity(strength) -> np.ndarray:
    """Onset probability (or velocity-head output) in [0, 1] -> MIDI velocity 1-127."""
    return np.clip(np.rint(127.0 * np.asarray(strength, dtype=np.float64)), 1, 127).astype(np.int64)


def velocities_for(peaks: Peaks, cls: int, velocity_probs: np.ndarray | None, source: str,
                   default_velocity: int) -> np.ndarray:
    """MIDI velocities of one class's peaks (see the module docstring for ``source``)."""
    if source not in VELOCITY_SOURCES:
        raise ValueError(f"velocity source must be one of {VELOCITY_SOURCES}, got {source!r}")
    if source == "auto":
        source = "head" if velocity_probs is not None else "strength"
    if source == "head":
        if velocity_probs is None:
            raise ValueError("velocity source 'head' but the model has no velocity head")
        return strength_to_velocity(np.asarray(velocity_probs)[peaks.index, cls])
    if source == "strength":
        return strength_to_velocity(peaks.strengths)
    return np.full(peaks.frames.shape[0], int(default_velocity), dtype=np.int64)


@dataclass(frozen=True)
class DecodeSettings:
    """Everything decoding needs besides the activations, built once per run by :meth:`from_config`.

    ``thresholds``: one per class (or a scalar for every class); ``min_onset_interval``: seconds;
    ``peak_min_distance``: frames; ``default_velocity``/``velocity_source``: see the module docstring;
    ``interpolate``: sub-frame timing; ``exclusive_groups``: class-index tuples (rule 4);
    ``exclusive_weights``: per-class ranking weight inside a group (empty: all 1).  Training validation, ``drumscribe evaluate``/``tune`` and
    ``drumscribe transcribe`` all build theirs with :meth:`from_config`, so they decode alike.
    """

    clock: FrameClock
    thresholds: tuple[float, ...] | float
    min_onset_interval: float = 0.0
    peak_min_distance: int = 0
    default_velocity: int = 80
    velocity_source: str = "auto"
    interpolate: bool = False
    exclusive_groups: tuple[tuple[int, ...], ...] = ()
    exclusive_weights: tuple[float, ...] = ()
    # articulation outputs (the activations' last columns, in order): their names, their parent class
    # index and their thresholds
    articulations: tuple[str, ...] = ()
    articulation_parents: tuple[int, ...] = ()
    articulation_thresholds: tuple[float, ...] = ()

    def __post_init__(self):
        th = self.thresholds
        th = float(th) if np.ndim(th) == 0 else tuple(float(x) for x in th)
        object.__setattr__(self, "thresholds", th)
        object.__setattr__(self, "exclusive_groups", tuple(tuple(int(c) for c in g) for g in self.exclusive_groups))
        object.__setattr__(self, "exclusive_weights", tuple(float(w) for w in self.exclusive_weights))
        object.__setattr__(self, "articulations", tuple(self.articulations))
        object.__setattr__(self, "articulation_parents", tuple(int(c) for c in self.articulation_parents))
        object.__setattr__(self, "articulation_thresholds", tuple(float(x) for x in self.articulation_thresholds))
        if not len(self.articulations) == len(self.articulation_parents) == len(self.articulation_thresholds):
            raise ValueError("articulations, their parents and their thresholds must be as many")
        if self.velocity_source not in VELOCITY_SOURCES:
            raise ValueError(f"velocity source must be one of {VELOCITY_SOURCES}, got {self.velocity_source!r}")

    @classmethod
    def from_config(cls, cfg, thresholds=None, *, velocity_source: str = "auto",
                    interpolate: bool = False) -> "DecodeSettings":
        """The settings of a :class:`drumscribe.core.config.Config`: ``audio`` (frame rate),
        ``postprocessing.min_onset_interval`` / ``peak_min_distance`` / ``exclusive_groups`` (class names
        -> indices of ``midi.drum_names``) / ``exclusive_weights``, ``midi.default_velocity``;
        ``thresholds`` None -> ``cfg.thresholds()`` (the tuned ones when the config holds them)."""
        pp = cfg.postprocessing
        names = list(cfg.midi.drum_names)
        groups = tuple(tuple(names.index(n) for n in g) for g in (pp.exclusive_groups or []))
        weights = tuple(float(pp.exclusive_weights.get(n, 1.0)) for n in names) if pp.exclusive_weights else ()
        from drumscribe.core.drums import ARTICULATION_PARENT

        arts = tuple(cfg.model.articulations or ())
        return cls(FrameClock.from_config(cfg.audio), cfg.thresholds() if thresholds is None else thresholds,
                   float(pp.min_onset_interval), int(pp.peak_min_distance), int(cfg.midi.default_velocity),
                   velocity_source, bool(interpolate), groups, weights,
                   arts, tuple(names.index(ARTICULATION_PARENT[a]) for a in arts), tuple(cfg.articulation_thresholds()))

    def with_thresholds(self, thresholds) -> "DecodeSettings":
        return replace(self, thresholds=thresholds)

    def with_articulation_thresholds(self, thresholds) -> "DecodeSettings":
        return replace(self, articulation_thresholds=tuple(thresholds))

    def n_drums(self, probs: np.ndarray) -> int:
        """How many of ``probs``' columns are drums (the rest: the articulation outputs)."""
        n = np.asarray(probs).shape[1] - len(self.articulations)
        if n < 1:
            raise ValueError(f"probs have {np.asarray(probs).shape[1]} columns for {len(self.articulations)} articulations")
        return n

    @property
    def min_interval_frames(self) -> float:
        """The minimum interval of rules 3 and 4, in frames."""
        return max(self.min_onset_interval * self.clock.frame_rate, float(self.peak_min_distance))

    def peaks(self, act: np.ndarray, threshold: float) -> Peaks:
        """:func:`pick_peaks` of one class's curve with these settings (used by threshold tuning)."""
        return pick_peaks(act, threshold, self.peak_min_distance, self.min_interval_frames, self.interpolate)

    def group_of(self, cls: int) -> tuple[int, ...]:
        """The exclusive group holding class ``cls`` (empty when it is in none)."""
        return next((g for g in self.exclusive_groups if cls in g), ())

    def group_weights(self, group: Sequence[int]) -> list[float] | None:
        """The ranking weights of ``group``'s classes (None: all 1)."""
        return [self.exclusive_weights[c] for c in group] if self.exclusive_weights else None

    def class_peaks(self, probs: np.ndarray, thresholds) -> list[Peaks]:
        """Every drum class's peaks, exclusive groups applied (rules 1-5); articulation columns ignored."""
        n = self.n_drums(probs)
        th = as_thresholds(thresholds, n)
        peaks = [self.peaks(probs[:, c], th[c]) for c in range(n)]
        for group in self.exclusive_groups:
            masks = exclusive_keep([peaks[c] for c in group], self.min_interval_frames, self.group_weights(group))
            for c, m in zip(group, masks):
                peaks[c] = select_peaks(peaks[c], m)
        return peaks


def decode(probs: np.ndarray, settings: DecodeSettings, velocity_probs: np.ndarray | None = None) -> list[Event]:
    """The one decoder: ``probs`` ``(frames, classes)`` in [0, 1] (+ optional velocity head output, same
    shape) -> :class:`Event` list sorted by (time, class).  Per-class onset times:
    :func:`events_by_class` of the result."""
    probs = np.asarray(probs)
    if probs.ndim != 2:
        raise ValueError(f"probs must be (frames, classes), got shape {probs.shape}")
    n = settings.n_drums(probs)
    if velocity_probs is not None and np.asarray(velocity_probs).shape not in ((probs.shape[0], n), (probs.shape[0], 2 * n)):
        raise ValueError("velocity_probs must have the shape of the drum columns of probs (twice as wide with offsets)")
    return peak_events(probs, settings.class_peaks(probs, settings.thresholds), settings, velocity_probs)


def peak_events(probs: np.ndarray, peaks: Sequence[Peaks], settings: DecodeSettings,
                velocity_probs: np.ndarray | None = None) -> list[Event]:
    """The events of every drum class's ``peaks`` (:meth:`DecodeSettings.class_peaks` of ``probs``), with
    velocities and articulations: the second half of :func:`decode`, for callers that vary only the
    articulation thresholds over fixed drum peaks (threshold tuning)."""
    events: list[Event] = []
    velocity_probs, offsets = split_velocity_block(velocity_probs, len(peaks))
    for c, pk in enumerate(peaks):
        vel = velocities_for(pk, c, velocity_probs, settings.velocity_source, settings.default_velocity)
        frames = pk.frames if offsets is None else pk.index + offset_from_prob(offsets[pk.index, c])
        t = np.asarray(settings.clock.to_seconds(frames), dtype=np.float64).reshape(-1)
        arts = articulations_at(probs, pk.index, c, settings)
        events.extend(Event(float(ti), c, int(v), float(s), a) for ti, v, s, a in zip(t, vel, pk.strengths, arts))
    events.sort(key=lambda e: (e.time, e.cls))
    return events


def split_velocity_block(velocity_probs: np.ndarray | None, n_drums: int):
    """The velocity head's output -> ``(velocity (frames, n_drums) | None, offset head output | None)``: a model
    with ``model.offset_head`` emits ``2 * n_drums`` columns, the velocities then the sub-frame offsets
    (:func:`drumscribe.core.timebase.offset_from_prob` turns them into frames)."""
    if velocity_probs is None:
        return None, None
    v = np.asarray(velocity_probs)
    if v.shape[1] == 2 * n_drums:
        return v[:, :n_drums], v[:, n_drums:]
    return v, None


def articulations_at(probs: np.ndarray, index: np.ndarray, cls: int, settings: DecodeSettings) -> list[str]:
    """The articulation of each hit of drum ``cls`` at frames ``index`` (``""``: the plain stroke); see the
    module docstring.  ``probs``: all columns, the articulation outputs last."""
    index = np.asarray(index, dtype=np.int64).reshape(-1)
    out = [""] * index.shape[0]
    cols = [j for j, p in enumerate(settings.articulation_parents) if p == cls]
    if not cols or not index.size:
        return out
    n = settings.n_drums(probs)
    frames = probs.shape[0]
    near = np.clip(index[:, None] + np.arange(-1, 2)[None, :], 0, frames - 1)  # (hits, 3)
    best = np.zeros(index.shape[0])
    for j in cols:
        p = np.asarray(probs[:, n + j], dtype=np.float64)[near].max(axis=1)
        win = (p >= settings.articulation_thresholds[j]) & (p > best)
        best = np.where(win, p, best)
        for i in np.flatnonzero(win):
            out[i] = settings.articulations[j]
    return out


def written_articulations(config, view: str = "shown") -> list[str]:
    """The articulations a transcription writes: ``view`` ``"shown"`` (default) those of the model's
    ``postprocessing.written_articulations`` (shown right: :data:`drumscribe.core.drums.ARTICULATION_MIN_PRECISION`),
    ``"all"`` every articulation output, ``"none"`` the 8 drums only."""
    from drumscribe.core.drums import ARTICULATION_VIEWS

    if view not in ARTICULATION_VIEWS:
        raise ValueError(f"articulations must be one of {ARTICULATION_VIEWS}, got {view!r}")
    if view == "none":
        return []
    arts = list(config.model.articulations or ())
    return arts if view == "all" else [a for a in arts if a in config.postprocessing.written_articulations]


def fold_articulations(events: Sequence[Event], keep) -> list[Event]:
    """``events`` with every articulation not in ``keep`` written as its drum's plain stroke (``""``)."""
    keep = set(keep)
    return [e if not e.articulation or e.articulation in keep else replace(e, articulation="") for e in events]


def events_to_arrays(events: Sequence[Event]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times float64, classes int64, velocities int64) of a list of events."""
    return (
        np.array([e.time for e in events], dtype=np.float64),
        np.array([e.cls for e in events], dtype=np.int64),
        np.array([e.velocity for e in events], dtype=np.int64),
    )


def events_by_class(events: Sequence[Event], n_classes: int) -> list[np.ndarray]:
    """One sorted array of onset times per class."""
    times, classes, _ = events_to_arrays(events)
    return [np.sort(times[classes == c]) for c in range(n_classes)]
