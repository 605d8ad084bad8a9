"""Velocities that follow the playing: each hit's level measured in the audio (``postprocessing.velocity_levels``).

numpy only, no torch.  A recording's gain is arbitrary, so the audio cannot tell how loud a whole
performance was played, but within one file the level of each hit against the other hits of its drum
is the dynamics a producer wants (accents, ghost notes).  The network's velocity head hears the timbre
and sets the file's level, yet it barely follows the dynamics inside a file (its outputs spread about a
third as much as the truth: MODEL_CARD "Onset timing and velocity").  So, per file and class ``c``
with at least :data:`MIN_HITS` decoded hits:

1. **level**: ``L_i``, the highest band energy (dB) of ``c``'s own band envelope
   (:class:`drumscribe.transcription.refine.BandEnvelopes`, the band of :data:`refine.BANDS`, 11.6 ms
   frames every :data:`HOP_S`, computed while the audio streams) within
   ``[t_i - PRE_S, t_i + POST_S]`` of the hit's decoded time;
2. **velocity**: ``v_i = m + slope_c * (L_i - median(L)) + head_c * (h_i - m)``, where ``h_i`` is the
   head's velocity of the hit and ``m`` the median of the head's velocities of ``c`` in this file (the
   file's level stays the head's), rounded and clipped to 1-127.

``slope_c`` (velocity per dB) and ``head_c`` are fitted per class by least squares on matched hits of the
training corpus (``scripts/fit_velocity_levels.py``, which stores them in the model's
``postprocessing.velocity_levels``: class name -> ``[slope, head]``; a class not listed, or a file with
fewer hits of it, keeps the head's velocities).  The coefficients belong to the model whose head they were
fitted with: a model without them writes its head's velocities.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

HOP_S = 0.004  # the band envelopes' hop when only the levels need them (refine.HOP_S, 1 ms, when onsets are refined too)
PRE_S = 0.002  # the level is the band envelope's highest value from this before the decoded time ...
POST_S = 0.030  # ... to this after it (the attack and the first of the decay; the frame grid is 23 ms)
MIN_HITS = 4  # fewer hits of a class in a file: no contrast to measure, the head's velocities stay


def hit_levels(env_db: np.ndarray, hop_s: float, times: np.ndarray) -> np.ndarray:
    """The level (dB) of each hit at ``times`` (seconds) on one band envelope ``env_db`` (one value per ``hop_s``)."""
    n = env_db.shape[0]
    out = np.full(len(times), np.nan)
    if n == 0:
        return out
    pre, post = int(round(PRE_S / hop_s)), int(round(POST_S / hop_s))
    for i, t in enumerate(np.asarray(times, dtype=np.float64)):
        k = int(round(t / hop_s))
        lo, hi = min(max(k - pre, 0), n - 1), min(max(k + post + 1, 1), n)
        out[i] = float(env_db[lo:max(hi, lo + 1)].max())
    return out


def contrast_velocities(head: np.ndarray, levels: np.ndarray, slope: float, head_weight: float,
                        medians: tuple[float, float] | None = None) -> np.ndarray:
    """Step 2 of the module docstring for one file's hits of one class -> MIDI velocities (int64, 1-127).
    ``medians``: (head, level) medians of the file's hits of the class (None: those of ``head`` / ``levels``)."""
    head = np.asarray(head, dtype=np.float64)
    m, lm = (float(np.median(head)), float(np.median(levels))) if medians is None else medians
    v = m + slope * (np.asarray(levels, dtype=np.float64) - lm) + head_weight * (head - m)
    return np.clip(np.rint(v), 1, 127).astype(np.int64)


def relevel_events(events: Sequence, envelopes, class_names: Sequence[str],
                   coefficients: Mapping[str, Sequence[float]]) -> list:
    """``events`` (:class:`~drumscribe.transcription.decoding.Event`) with the velocities of every class in
    ``coefficients`` (name -> ``[slope, head]``) measured as the module docstring says; order and
    everything else unchanged."""
    events = list(events)
    if not coefficients or not events:
        return events
    out = list(events)
    classes = np.array([e.cls for e in events])
    for c, name in enumerate(class_names):
        if name not in coefficients:
            continue
        idx = np.flatnonzero(classes == c)
        if idx.size < MIN_HITS:
            continue
        slope, head_weight = (float(x) for x in coefficients[name])
        levels = hit_levels(envelopes.db[:, c], envelopes.hop_s, np.array([events[i].time for i in idx]))
        vel = contrast_velocities(np.array([events[i].velocity for i in idx]), levels, slope, head_weight)
        for i, v in zip(idx, vel):
            out[i] = replace(events[i], velocity=int(v))
    return out
