"""Tempo, beats, downbeats and meter from transcribed drum events.  numpy only (filters: smoothing.py), no I/O.

The drum hits themselves are the beat evidence: kick, snare, hi-hat and their
velocities say where the pulse is far more clearly than a spectral flux of the
mix.  The method is Ellis's dynamic-programming beat tracker
(D. P. W. Ellis, "Beat Tracking by Dynamic Programming", J. New Music Research
36(1), 2007; the algorithm librosa's ``beat_track`` implements) run on an
onset-strength signal built from the events instead of from audio:

1. **Onset strength** ``env`` at :data:`ENV_RATE` frames per second: every
   event adds ``CLASS_WEIGHT[class] * velocity / 127`` at its frame, then a
   Gaussian of :data:`ENV_SMOOTH_S` seconds smooths it.
2. **Tempo** (Ellis, section 3.1): the autocorrelation of ``env`` over lags of
   :data:`MIN_BPM`-:data:`MAX_BPM`, plus its values at the metrical levels
   around each lag (:data:`LEVEL_WEIGHTS`: half and double, the 4-beat bar,
   3 beats, the 16th; levels a short file cannot hold are left out), weighted by a log-Gaussian prior
   around :data:`PRIOR_BPM` (:data:`PRIOR_OCTAVES` wide).  The winning lag is
   the beat period ``P``.
3. **Local period** (drift): the same autocorrelation in windows of
   :data:`LOCAL_WINDOW_S` seconds, searched only within ``P / LOCAL_RANGE .. LOCAL_RANGE P``,
   median-filtered; a steady performance keeps ``P`` everywhere.
4. **Beats** (Ellis, section 3.2): ``C(t) = O(t) + max_{tau} [C(t - tau) -
   TIGHTNESS * log(tau / P(t))^2]`` over ``tau`` in ``P/2 .. 2P``; the best
   chain is traced back from the end.  The beat times are then smoothed by a
   local linear fit (Savitzky-Golay, :data:`SMOOTH_BEATS` beats), so a steady
   groove gives an even grid and a drifting one a gently changing one, and
   extended with the first / last beat period to cover the whole file.
5. **Meter and downbeats**: the per-beat kick, snare and crash strengths are
   compared at bar lengths of 3 and 4 beats (the better-repeating length wins,
   with a prior for 4); triplet subdivisions with a 2-beat bar give 6/8.  The
   downbeat phase is the one whose beats carry the most kick and crash and the
   least snare (the back-beat).  When two phases tie on that (a groove with the
   kick on 1 *and* 3 and the snare on 2 and 4 repeats every 2 beats, so bar
   phase 1 and 3 look alike), what drummers do around the bar line decides
   (:func:`downbeat_phase`): fills and pickups sit in the last beat of a bar
   and lead into 1 (:data:`FILL_WEIGHT`), and a song starts on a downbeat
   unless a pickup says otherwise: a crash within the first bar after the
   first hit marks the 1 instead (:data:`START_WEIGHT`).  A 4-beat bar wins
   unless 3 repeats clearly better (:data:`METER_PRIOR_4`).

Between 4 and 5, an **off-beat check**: a tracker that locked onto the
"and"s (punk and polka beats put the snare there) is moved by half a beat
when the kick (plus half the snare) is clearly stronger half-way between
the tracked beats than on them (:data:`OFFBEAT_RATIO`).  Then a **back-beat
check** (:func:`fix_half_tempo`): a tracker at half the tempo puts the
back-beat snare (beats 2 and 4) half-way between its beats, on every one of
them, and almost none a quarter of the way; the beats are then doubled
(:data:`HALF_TEMPO_RATIO`, only up to :data:`DOUBLE_MAX_BPM`).

Times are seconds at the boundary; inside, frames of :data:`CLOCK` (the
project's :class:`~drumscribe.core.timebase.FrameClock`).  The constants below were
chosen on GMD *train/validation* performances (``scripts/eval_beats.py``),
never on the test split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from drumscribe.core.timebase import FrameClock

ENV_RATE = 100  # onset-strength frames per second
CLOCK = FrameClock(sample_rate=ENV_RATE, hop_length=1)
ENV_SMOOTH_S = 0.02
MIN_BPM, MAX_BPM = 40.0, 250.0
PRIOR_BPM, PRIOR_OCTAVES = 110.0, 0.7  # tempo within 4%: 0.825 of GMD train grooves (vs 0.788 at 120, 1.0)
# autocorrelation weight of each metrical level (multiple of the beat period) in the tempo salience.
# Chosen on GMD train/validation (oracle events, global tempo within 4%): with the bar (x4), 3-beat and
# 16th terms, train grooves 0.818 -> 0.841, validation grooves 0.813 -> 0.833, fills unchanged or better.
LEVEL_WEIGHTS: dict[float, float] = {1.0: 1.0, 2.0: 0.5, 4.0: 1.0, 0.5: 0.25, 0.25: 0.25, 3.0: 0.25}
LEVEL_REPEATS = 4  # levels beyond 2 beats count when the file is at least this many of them long
LOCAL_WINDOW_S = 8.0
LOCAL_RANGE = 1.12  # the local period is searched within P / LOCAL_RANGE .. P * LOCAL_RANGE (1.25: 0.718 of
# train+validation grooves within 4%; 1.12 with TIGHTNESS 300: 0.796)
TIGHTNESS = 300.0
SMOOTH_BEATS = 9
METER_PRIOR_4 = 1.15  # a 4-beat bar wins unless 3 repeats this much better
# off-beat check: the beats move by half a period when kick + OFFBEAT_SNARE * snare is this much stronger
# half-way between them (GMD train grooves >= 8 s: beat F 0.761 -> 0.775; validation 0.733 -> 0.750)
OFFBEAT_RATIO, OFFBEAT_SNARE = 1.1, 0.5  # (1.2 before issue 22: GMD validation the same, train see musician.md)

# how much a hit of each class says "here is a pulse" (unknown class names: DEFAULT_WEIGHT)
CLASS_WEIGHT: dict[str, float] = {
    "kick": 1.0, "snare": 1.0, "hihat": 0.5, "hi_tom": 0.6, "mid_tom": 0.6, "low_tom": 0.6,
    "crash": 0.8, "ride": 0.5,
}
DEFAULT_WEIGHT = 0.5
DOWNBEAT_WEIGHT: dict[str, float] = {"kick": 1.0, "crash": 1.5, "snare": -1.0}
# downbeat tie-breakers, in units of the per-beat spread of the DOWNBEAT_WEIGHT score: off-beat activity
# (fills, pickups) in the last beat of the bar, and the first played beat being a 1.  Motivated by drumming
# practice, checked on GMD train/validation oracle events (downbeat F) and on real-dev (docs/musician.md)
FILL_WEIGHT, START_WEIGHT = 0.3, 0.2
FILL_MIN_HITS = 4.0  # the fill term counts fully from this much unusual activity (about 4 full-velocity hits)
FILL_GROUPS = ("snare", "hi_tom", "mid_tom", "low_tom")
# back-beat check: double the beats when the snare half-way between them beats the snare on them this much
HALF_TEMPO_RATIO, DOUBLE_MAX_BPM = 2.0, 180.0
HALF_TEMPO_SHARE = 0.6  # ... and has a snare on this share of them (a back-beat at the tracked level: half)
METERS = ("4/4", "3/4", "6/8")


@dataclass
class BeatMap:
    """The beat grid of a performance.

    ``beats``: beat times in seconds ``(B,)``, increasing, ``beats[0]`` = 0 is allowed (a
    partial first beat is stretched to a whole one, see :func:`track`);
    ``downbeat_index``: index into ``beats`` of the first downbeat; ``meter``: one of
    :data:`METERS` (the tracked beat is a quarter note in x/4 and a dotted quarter in 6/8).
    Positions are counted in quarter notes (MIDI's unit): beat ``i`` is at
    ``quarters[i] = i * quarters_per_beat``.
    """

    beats: np.ndarray
    downbeat_index: int = 0
    meter: str = "4/4"

    # --- meter facts
    @property
    def numerator(self) -> int:
        return int(self.meter.split("/")[0])

    @property
    def denominator(self) -> int:
        return int(self.meter.split("/")[1])

    @property
    def beats_per_bar(self) -> int:
        return 2 if self.meter == "6/8" else self.numerator

    @property
    def quarters_per_beat(self) -> float:
        from drumscribe.transcription.bar_tracker import QUARTERS_PER_BEAT

        return QUARTERS_PER_BEAT.get(self.meter, 4.0 / self.denominator)

    @property
    def quarters_per_bar(self) -> float:
        return self.beats_per_bar * self.quarters_per_beat

    @property
    def quarters(self) -> np.ndarray:
        return np.arange(len(self.beats), dtype=np.float64) * self.quarters_per_beat

    # --- tempo
    @property
    def beat_periods(self) -> np.ndarray:
        """Seconds from each beat to the next ``(B-1,)``."""
        return np.diff(self.beats)

    @property
    def bpm(self) -> float:
        """Overall tempo in tracked beats per minute (quarter notes, dotted quarters in 6/8).

        The slope of a least-squares line through the beats after the first (which may be stretched).
        """
        b = self.beats[1:] if len(self.beats) > 3 else self.beats
        if len(b) < 2:
            return 0.0
        slope = np.polyfit(np.arange(len(b), dtype=np.float64), b, 1)[0]
        return 60.0 / slope if slope > 0 else 0.0

    @property
    def downbeats(self) -> np.ndarray:
        return self.beats[self.downbeat_index::self.beats_per_bar]

    # --- seconds <-> quarter notes (piecewise linear through the beats, extrapolated at the ends)
    def to_quarters(self, times) -> np.ndarray:
        t = np.asarray(times, dtype=np.float64)
        b, q = self.beats, self.quarters
        out = np.interp(t, b, q)
        qpb = self.quarters_per_beat
        if len(b) >= 2:
            hi = t > b[-1]
            out = np.where(hi, q[-1] + (t - b[-1]) / (b[-1] - b[-2]) * qpb, out)
            lo = t < b[0]
            out = np.where(lo, q[0] + (t - b[0]) / (b[1] - b[0]) * qpb, out)
        return out

    def to_seconds(self, quarters) -> np.ndarray:
        q = np.asarray(quarters, dtype=np.float64)
        b, qq = self.beats, self.quarters
        out = np.interp(q, qq, b)
        qpb = self.quarters_per_beat
        if len(b) >= 2:
            out = np.where(q > qq[-1], b[-1] + (q - qq[-1]) / qpb * (b[-1] - b[-2]), out)
            out = np.where(q < qq[0], b[0] + (q - qq[0]) / qpb * (b[1] - b[0]), out)
        return out

    def bar_and_beat(self, times) -> tuple[np.ndarray, np.ndarray]:
        """(bar number, 1-based; beat within the bar, 1-based and fractional) of ``times``.

        Bars count from the first downbeat (bar 1); beats before it belong to bar 0 (a pickup).
        """
        q = self.to_quarters(times)
        q0 = self.downbeat_index * self.quarters_per_beat
        rel = (q - q0) / self.quarters_per_bar
        bar = np.floor(rel + 1.0 / (32 * self.beats_per_bar)).astype(np.int64)  # a hit 1/32 beat early: on the beat
        beat = (q - q0 - bar * self.quarters_per_bar) / self.quarters_per_beat + 1.0
        return bar + 1, beat

    def quantize(self, times, step_quarters: float) -> np.ndarray:
        """``times`` snapped to the nearest multiple of ``step_quarters`` quarter notes on this grid (seconds)."""
        q = self.to_quarters(times)
        return self.to_seconds(np.round(q / step_quarters) * step_quarters)

    # --- what a MIDI file needs
    def tempo_changes(self) -> list[tuple[float, float]]:
        """``[(quarter position, microseconds per quarter note), ...]``: one per beat, repeating the last."""
        per = self.beat_periods
        if len(per) == 0:
            return [(0.0, 500000.0)]
        us = per / self.quarters_per_beat * 1e6
        return [(float(q), float(u)) for q, u in zip(self.quarters[:-1], us)]

    def time_signatures(self) -> list[tuple[float, int, int]]:
        """``[(quarter position, numerator, denominator)]``: a pickup bar first when the first downbeat is late."""
        out = []
        if self.downbeat_index > 0:
            if self.meter == "6/8":
                out.append((0.0, 3 * self.downbeat_index, 8))
            else:
                out.append((0.0, self.downbeat_index, self.denominator))
        out.append((self.downbeat_index * self.quarters_per_beat, self.numerator, self.denominator))
        return out

    @classmethod
    def constant(cls, bpm: float, duration: float, meter: str = "4/4") -> "BeatMap":
        """A fixed-tempo grid from time 0 (beats every ``60 / bpm`` s, first beat a downbeat)."""
        period = 60.0 / float(bpm)
        n = int(np.ceil(max(duration, 0.0) / period)) + 2
        return cls(np.arange(n, dtype=np.float64) * period, 0, meter)


# ------------------------------------------------------------------ onset strength

def onset_strength(times: np.ndarray, classes: np.ndarray, velocities: np.ndarray, class_names: Sequence[str],
                   duration: float) -> np.ndarray:
    """``(frames,)`` onset strength at :data:`ENV_RATE` fps (see the module docstring, step 1)."""
    from drumscribe.transcription.smoothing import gaussian_filter1d

    n = CLOCK.n_frames(int(np.ceil(max(duration, 0.0) * ENV_RATE))) + 1
    env = np.zeros(n, dtype=np.float64)
    if len(times):
        w = np.array([CLASS_WEIGHT.get(class_names[c], DEFAULT_WEIGHT) for c in classes]) * np.asarray(velocities) / 127.0
        f = np.clip(CLOCK.to_frames(np.asarray(times)), 0, n - 1)
        np.add.at(env, np.atleast_1d(f), w)
    return gaussian_filter1d(env, ENV_SMOOTH_S * ENV_RATE)


def _acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation ``(max_lag + 1,)`` of ``x`` (mean removed), by FFT."""
    x = x - x.mean()
    n = len(x)
    nfft = 1 << int(np.ceil(np.log2(max(2 * n + 1, max_lag + 1))))
    spec = np.fft.rfft(x, nfft)
    r = np.fft.irfft(spec * np.conj(spec), nfft)[: max_lag + 1]
    return r / (r[0] + 1e-12)


def _acf_at(r: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """``r`` at fractional ``lags`` (linear interpolation), or its largest value 1 frame either side if higher."""
    x = np.asarray(lags, dtype=np.float64)
    i = np.floor(x).astype(np.int64)
    f = x - i
    v = r[i] * (1 - f) + r[i + 1] * f
    return np.maximum(v, np.maximum(r[np.maximum(i - 1, 0)], r[i + 2]))


def tempo_salience(env: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lags in frames, salience) over :data:`MIN_BPM`-:data:`MAX_BPM` (step 2).

    The salience of a beat period sums the autocorrelation at the metrical levels around it
    (:data:`LEVEL_WEIGHTS`: the beat, half/double, the bar at 4 beats, 3 beats, the 16th);
    a level longer than 2 beats counts only when the file holds it :data:`LEVEL_REPEATS` times.
    """
    lo = int(np.floor(60.0 / MAX_BPM * ENV_RATE))
    hi = int(np.ceil(60.0 / MIN_BPM * ENV_RATE))
    kmax = max(LEVEL_WEIGHTS)
    r = _acf(env, int(kmax * hi) + 3)
    lags = np.arange(lo, hi + 1)
    sal = np.zeros(len(lags))
    for k, w in LEVEL_WEIGHTS.items():
        held = (k <= 2) | (k * lags * LEVEL_REPEATS < len(env))
        sal += w * np.where(held, _acf_at(r, k * lags), 0.0)
    prior = np.exp(-0.5 * (np.log2(60.0 * ENV_RATE / lags / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    return lags, np.maximum(sal, 0.0) * prior


def global_period(env: np.ndarray) -> float:
    """Beat period in frames (fractional: parabolic interpolation of the salience peak)."""
    lags, sal = tempo_salience(env)
    i = int(np.argmax(sal))
    if 0 < i < len(sal) - 1:
        a, b, c = sal[i - 1], sal[i], sal[i + 1]
        d = a - 2 * b + c
        if d < 0:
            return float(lags[i] + np.clip(0.5 * (a - c) / d, -0.5, 0.5))
    return float(lags[i])


def local_periods(env: np.ndarray, period: float) -> np.ndarray:
    """Per-frame beat period ``(frames,)`` (step 3)."""
    from drumscribe.transcription.smoothing import median_filter1d

    n = len(env)
    win = int(LOCAL_WINDOW_S * ENV_RATE)
    if n < 2 * win:
        return np.full(n, period)
    hop = win // 4
    lo, hi = int(np.floor(period / LOCAL_RANGE)), int(np.ceil(period * LOCAL_RANGE))
    centres, found = [], []
    for s in range(0, n - win + 1, hop):
        r = _acf(env[s:s + win], hi + 1)
        lags = np.arange(lo, hi + 1)
        seg = r[lags]
        if seg.max() <= 0.1:
            continue
        i = int(np.argmax(seg))
        centres.append(s + win / 2)
        found.append(float(lags[i]))
    if len(found) < 3:
        return np.full(n, period)
    found = median_filter1d(np.asarray(found), 5)
    return np.interp(np.arange(n), centres, found)


def dp_beats(env: np.ndarray, periods: np.ndarray, tightness: float | None = None) -> np.ndarray:
    """Beat frames by Ellis's dynamic programme (step 4), ``periods`` per frame.

    Vectorised over blocks of ``min(P)/2`` frames (no frame in a block can be the predecessor of another).
    """
    tightness = TIGHTNESS if tightness is None else tightness
    n = len(env)
    if n == 0 or env.max() <= 0:
        return np.zeros(0, dtype=np.int64)
    o = env / (env.std() + 1e-12)
    # local score: the onset strength convolved with a Gaussian of width P/32 (Ellis)
    from drumscribe.transcription.smoothing import gaussian_filter1d

    local = gaussian_filter1d(o, max(float(np.median(periods)) / 32.0, 0.5))
    dlo = max(int(np.floor(periods.min() / 2)), 1)
    dhi = int(np.ceil(periods.max() * 2))
    d = np.arange(dlo, dhi + 1, dtype=np.int64)
    logd = np.log(d.astype(np.float64))
    cum = np.zeros(n)
    back = np.full(n, -1, dtype=np.int64)
    for s in range(0, n, dlo):
        t = np.arange(s, min(s + dlo, n))
        p = periods[t][:, None]
        prev = t[:, None] - d[None, :]
        ok = (prev >= 0) & (d[None, :] >= np.round(p / 2)) & (d[None, :] <= np.round(2 * p))
        cost = -tightness * (logd[None, :] - np.log(p)) ** 2
        cand = np.where(ok, cum[np.maximum(prev, 0)] + cost, -np.inf)
        j = np.argmax(cand, axis=1)
        best = cand[np.arange(len(t)), j]
        has = best > 0
        cum[t] = local[t] + np.where(has, best, 0.0)
        back[t] = np.where(has, prev[np.arange(len(t)), j], -1)
    # the last beat: the latest local maximum of the cumulated score that is at least half the median peak
    peaks = np.flatnonzero((cum[1:-1] >= cum[:-2]) & (cum[1:-1] >= cum[2:])) + 1
    if len(peaks) == 0:
        return np.zeros(0, dtype=np.int64)
    good = peaks[cum[peaks] >= 0.5 * np.median(cum[peaks])]
    b = [int(good[-1])]
    while back[b[-1]] >= 0:
        b.append(int(back[b[-1]]))
    return np.asarray(b[::-1], dtype=np.int64)


def _smooth_and_extend(beats: np.ndarray, duration: float) -> np.ndarray:
    """Local-linear smoothing of beat times, then extension to cover ``[0, duration]`` (step 4)."""
    from drumscribe.transcription.smoothing import savgol_filter

    b = np.asarray(beats, dtype=np.float64)
    if len(b) >= SMOOTH_BEATS:
        b = savgol_filter(b, SMOOTH_BEATS, 1)
    elif len(b) >= 3:
        b = np.polyval(np.polyfit(np.arange(len(b)), b, 1), np.arange(len(b)))
    first, last = b[1] - b[0], b[-1] - b[-2]
    head = []
    t = b[0] - first
    while t > -1e-9:
        head.append(t)
        t -= first
    tail = []
    t = b[-1] + last
    while t < duration + last:
        tail.append(t)
        t += last
    b = np.concatenate([head[::-1], b, tail])
    # a partial first beat: close to 0 -> the beat moves to 0; otherwise a stretched beat starts at 0
    if b[0] > 1e-9:
        if b[0] < 0.35 * first:
            b[0] = 0.0
        else:
            b = np.r_[0.0, b]
    return b


def _beat_features(env_by_group: dict[str, np.ndarray], beats: np.ndarray) -> dict[str, np.ndarray]:
    """Per-beat strength of each group: the maximum of its envelope within +-1/8 beat of each beat."""
    out = {}
    n = len(next(iter(env_by_group.values())))
    f = CLOCK.to_frames(beats)
    per = np.diff(f, append=f[-1] + (f[-1] - f[-2] if len(f) > 1 else 50))
    half = np.maximum(per // 8, 1)
    for k, e in env_by_group.items():
        out[k] = np.array([e[max(fi - h, 0):min(fi + h + 1, n)].max() if fi < n else 0.0
                           for fi, h in zip(f, half)])
    return out


def _repeat_score(x: np.ndarray, lag: int) -> float:
    if len(x) <= 2 * lag:
        return 0.0
    a, b = x[:-lag], x[lag:]
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else 0.0


def _triplet_feel(env: np.ndarray, beats: np.ndarray) -> float:
    """Onset strength at 1/3 and 2/3 of the beats over that at 1/4, 1/2 and 3/4."""
    n = len(env)
    if len(beats) < 4:
        return 0.0
    tri, duo = 0.0, 0.0
    for a, b in zip(beats[:-1], beats[1:]):
        for frac, acc in ((1 / 3, "t"), (2 / 3, "t"), (0.25, "d"), (0.5, "d"), (0.75, "d")):
            f = CLOCK.to_frames(a + frac * (b - a))
            v = env[f] if f < n else 0.0
            if acc == "t":
                tri += v / 2
            else:
                duo += v / 3
    return tri / (duo + 1e-12)


def _group_envelopes(times, classes, velocities, class_names, n: int, groups) -> dict[str, np.ndarray]:
    """Onset strength ``(n,)`` of each class in ``groups`` alone (velocity / 127, smoothed as :func:`onset_strength`)."""
    from drumscribe.transcription.smoothing import gaussian_filter1d

    out: dict[str, np.ndarray] = {}
    for g in groups:
        e = np.zeros(n)
        sel = np.array([class_names[c] == g for c in classes], dtype=bool) if len(classes) else np.zeros(0, bool)
        if sel.any():
            f = np.clip(CLOCK.to_frames(np.asarray(times)[sel]), 0, n - 1)
            np.add.at(e, np.atleast_1d(f), np.asarray(velocities)[sel] / 127.0)
        out[g] = gaussian_filter1d(e, ENV_SMOOTH_S * ENV_RATE)
    return out


def fix_offbeat(beats: np.ndarray, groups: dict[str, np.ndarray]) -> np.ndarray:
    """``beats`` (seconds), or the points half-way between them when those carry clearly more kick (and snare)."""
    if len(beats) < 4:
        return beats
    mids = 0.5 * (beats[:-1] + beats[1:])
    pulse = {"p": groups["kick"] + OFFBEAT_SNARE * groups["snare"]
}
    on = _beat_features(pulse, beats)["p"][:-1].sum()
    mid = _beat_features(pulse, mids)["p"].sum()
    return mids if mid > OFFBEAT_RATIO * on and mid > 0 else beats


def fix_half_tempo(beats: np.ndarray, groups: dict[str, np.ndarray]) -> np.ndarray:
    """``beats`` (seconds), or twice as many (the midpoints added) when kick and snare alternate at half a beat.

    A rock groove tracked at half its tempo puts the back-beat snare half-way between the tracked
    beats (the kick on them), or the tracked beats on the snare and the kicks half-way: the snare owns
    one half (on :data:`HALF_TEMPO_SHARE` of its points, :data:`HALF_TEMPO_RATIO` times the other half
    and the quarter points; a back-beat at the right tempo is on every *other* beat), the kick leans
    to the other.  Only when the doubled tempo stays within :data:`DOUBLE_MAX_BPM` (a snare on every
    "and" at 95 bpm is a baiao or polka, not a 190-bpm back-beat).
    """
    if len(beats) < 4:
        return beats
    period = float(np.median(np.diff(beats)))
    if 60.0 / period * 2 > DOUBLE_MAX_BPM:
        return beats
    d = np.diff(beats)
    at = {name: beats[:-1] + frac * d for name, frac in (("on", 0.0), ("mid", 0.5), ("q1", 0.25), ("q3", 0.75))}
    per = {g: {k: _beat_features({"x": groups[g]}, t)["x"] for k, t in at.items()} for g in ("kick", "snare")}
    f = {g: {k: float(x.sum()) for k, x in v.items()} for g, v in per.items()}
    r = HALF_TEMPO_RATIO
    sq = 0.5 * (f["snare"]["q1"] + f["snare"]["q3"])
    top = max(float(np.percentile(per["snare"]["on"], 90)), float(np.percentile(per["snare"]["mid"], 90)), 1e-9)

    def alternate(x, y):  # the snare owns ``x`` (on nearly every one; not ``y``, not the quarters); kick leans to ``y``
        s, k = f["snare"], f["kick"]
        every = float(np.mean(per["snare"][x] > 0.3 * top)) >= HALF_TEMPO_SHARE
        return every and s[x] > r * s[y] and s[x] > r * sq and k[y] > k[x]

    if alternate("mid", "on") or alternate("on", "mid"):
        out = np.empty(2 * len(beats) - 1)
        out[0::2], out[1::2] = beats, at["mid"]
        return out
    return beats


def meter_and_downbeat(times, classes, velocities, class_names, duration, beats) -> tuple[str, int]:
    """(meter, index of the first downbeat in ``beats``) (step 5)."""
    n = CLOCK.n_frames(int(np.ceil(duration * ENV_RATE))) + 1
    groups = _group_envelopes(times, classes, velocities, class_names, n,
                              tuple(dict.fromkeys(("kick", "snare", "crash") + FILL_GROUPS)))
    inside = beats[beats <= duration]
    if len(inside) < 2:
        return "4/4", 0
    feats = _beat_features(groups, inside)
    pattern = feats["kick"] + 0.7 * feats["snare"] + feats["crash"]
    s3, s4, s2 = _repeat_score(pattern, 3), _repeat_score(pattern, 4), _repeat_score(pattern, 2)
    env_all = groups["kick"] + groups["snare"] + groups["crash"]
    if _triplet_feel(env_all, inside) > 1.5 and s2 >= s3 and s2 >= s4 * 0.9:
        meter, per_bar = "6/8", 2
    elif s3 > METER_PRIOR_4 * s4 and s3 > 0.2:
        meter, per_bar = "3/4", 3
    else:
        meter, per_bar = "4/4", 4
    score = sum(w * feats[g] for g, w in DOWNBEAT_WEIGHT.items())
    fill = _offbeat_activity(sum(groups[g] for g in FILL_GROUPS if g in groups), inside)
    played = np.flatnonzero(feats["kick"] + feats["snare"] + feats["crash"] > 0.1)
    first = int(played[0]) if len(played) else None
    if first is not None:  # a crash within the first bar after a pickup marks the 1 instead
        cr = feats["crash"][first + 1:first + per_bar]
        if len(cr) and cr.max() > 0.1 and cr.max() > feats["crash"][first]:
            first = first + 1 + int(np.argmax(cr))
    return meter, downbeat_phase(score, fill, per_bar, first)


def _offbeat_activity(env: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """``(B,)``: onset strength strictly between each beat and the next (from 1/8 after to 1/8 before)."""
    n = len(env)
    f = CLOCK.to_frames(beats)
    out = np.zeros(len(beats))
    for i in range(len(f) - 1):
        h = max((f[i + 1] - f[i]) // 8, 1)
        a, b = min(f[i] + h + 1, n), min(f[i + 1] - h, n)
        out[i] = env[a:b].sum() if b > a else 0.0
    return out


def downbeat_phase(score: np.ndarray, fill: np.ndarray, per_bar: int, first_played: int | None = None) -> int:
    """Index (0 .. ``per_bar`` - 1) of the first downbeat among the beats (step 5).

    ``score``: per-beat downbeat evidence (:data:`DOWNBEAT_WEIGHT`); ``fill``: per-beat off-beat activity
    (:func:`_offbeat_activity`); ``first_played``: index of the first beat with a kick, snare or crash.
    Each phase's mean ``score``, in units of the score's spread, plus the tie-breakers: the share of
    unusual fill activity (beyond the median of its place in the bar) in the beat before the phase's
    downbeats (:data:`FILL_WEIGHT`) and whether the first
    played beat is a downbeat (:data:`START_WEIGHT`).
    """
    spread = float(np.std(score)) + 1e-9
    # what each beat plays beyond its usual (the median of the beats at the same place in the bar): a fill,
    # not the groove's own syncopation
    fill = np.asarray(fill, dtype=np.float64).copy()
    for p in range(per_bar):
        if len(fill[p::per_bar]):
            fill[p::per_bar] = np.maximum(fill[p::per_bar] - np.median(fill[p::per_bar]), 0.0)
    total = float(fill.sum())
    out = []
    for p in range(per_bar):
        s = score[p::per_bar]
        if not len(s):
            out.append(-np.inf)
            continue
        v = float(s.mean()) / spread
        if total > 0:
            last = fill[(p - 1) % per_bar::per_bar].sum() / total  # share of the fill activity in the bar's last beat
            sure = min(total / FILL_MIN_HITS, 1.0)  # a few stray ghost notes are no fill
            v += sure * FILL_WEIGHT * (last - 1.0 / per_bar) / (1.0 - 1.0 / per_bar)
        if first_played is not None and (first_played - p) % per_bar == 0:
            v += START_WEIGHT
        out.append(v)
    return int(np.argmax(out)) % per_bar


def track(times, classes, velocities, class_names: Sequence[str], duration: float,
          bpm: float | None = None, meter: str | None = None) -> BeatMap:
    """The :class:`BeatMap` of a performance from its drum events.

    ``times`` seconds, ``classes`` class indices into ``class_names``, ``velocities`` 1-127
    (arrays of one length).  ``bpm`` / ``meter``: user overrides (``bpm`` sets the search
    centre, so the tracker follows that tempo; ``meter`` one of :data:`METERS`).  Too few
    hits (fewer than 4): a constant grid at ``bpm`` (or :data:`PRIOR_BPM`).
    """
    times = np.asarray(times, dtype=np.float64)
    classes = np.asarray(classes, dtype=np.int64)
    velocities = np.asarray(velocities, dtype=np.float64)
    if meter is not None and meter not in METERS:
        raise ValueError(f"meter must be one of {METERS}, got {meter!r}")
    duration = max(float(duration), float(times.max()) if len(times) else 0.0)
    if len(times) < 4:
        return BeatMap.constant(bpm or PRIOR_BPM, duration, meter or "4/4")
    env = onset_strength(times, classes, velocities, class_names, duration)
    period = 60.0 * ENV_RATE / bpm if bpm else global_period(env)
    periods = local_periods(env, period) if not bpm else np.full(len(env), period)
    b = dp_beats(env, periods)
    if len(b) < 2:
        return BeatMap.constant(bpm or 60.0 * ENV_RATE / period, duration, meter or "4/4")
    groups = _group_envelopes(times, classes, velocities, class_names, len(env), ("kick", "snare"))
    raw = fix_offbeat(CLOCK.to_seconds(b), groups)
    if not bpm:
        raw = fix_half_tempo(raw, groups)
    beats = _smooth_and_extend(raw, duration)
    m, phase = meter_and_downbeat(times, classes, velocities, class_names, duration, beats)
    if meter is not None and meter != m:
        m = meter
        phase = 0 if meter == "6/8" else phase % (3 if meter == "3/4" else 4)
    return BeatMap(beats, phase, m)


def beat_map_from_activations(act: np.ndarray, duration: float, bpm: float | None = None,
                              meter: str | None = None, decoder: dict | None = None,
                              tempo_hint: float | None = None) -> BeatMap | None:
    """The :class:`BeatMap` of ``(frames, 2)`` beat / downbeat probabilities at the beat model's rate
    (:data:`drumscribe.transcription.beat_model.FPS`), decoded by the bar pointer
    (:func:`drumscribe.transcription.bar_tracker.decode`; ``decoder``: its settings; ``bpm`` a user's tempo,
    ``tempo_hint`` a guessed one), beats refined to the activation's centroid, smoothed and extended to cover
    ``[0, duration]`` as :func:`track` does.  A ``decoder`` with ``tempo_source: "activation"`` (round 4) replaces
    ``tempo_hint`` by the activations' own tempo (:func:`~drumscribe.transcription.bar_tracker.activation_tempo`,
    its settings ``tempo_prior_bpm``, ``tempo_prior_sd``, ``tempo_prior_weight``, ``tempo_downbeat_weight``,
    ``tempo_half_weight``); a
    user's ``bpm`` still wins.  None when no two beats fit."""
    from drumscribe.transcription import bar_tracker

    dec = decoder or {}
    if bpm is None and dec.get("tempo_source") == "activation":
        tempo_hint = bar_tracker.activation_tempo(act[:, 0], act[:, 1], _beat_fps(), **tempo_args(dec))
    paths = bar_tracker.decode_meters(act[:, 0], act[:, 1], _beat_fps(), METERS if meter is None else (meter,),
                                      bpm=bpm, tempo_hint=tempo_hint,
                                      **_decoder_args(decoder, "meter_prior", "meter_penalty", *TEMPO_KEYS))
    m = bar_tracker.choose_meter(paths, float(dec.get("meter_prior", bar_tracker.METER_PRIOR)),
                                 float(dec.get("meter_penalty", bar_tracker.METER_PENALTY)))
    return beat_map_from_path(act, duration, *paths[m][:2], m, int(dec.get("obs_window", bar_tracker.OBS_WINDOW)))


def _beat_fps() -> int:
    from drumscribe.transcription.beat_model import FPS

    return FPS


# decoder settings of the activation tempo (round 4) -> keyword arguments of bar_tracker.tempo_salience
TEMPO_KEYS = {"tempo_source": None, "tempo_prior_bpm": "prior_bpm", "tempo_prior_sd": "prior_sd",
              "tempo_prior_weight": "prior_weight", "tempo_downbeat_weight": "downbeat_weight",
              "tempo_half_weight": "half_weight"}


def tempo_args(decoder: dict) -> dict:
    """The activation-tempo settings of a model's ``decoder`` dict as keyword arguments of
    :func:`~drumscribe.transcription.bar_tracker.tempo_salience` (absent ones: its defaults)."""
    return {kw: float(decoder[k]) for k, kw in TEMPO_KEYS.items() if kw and k in decoder}


def _decoder_args(decoder: dict | None, *leave_out: str) -> dict:
    return {k: v for k, v in (decoder or {}).items() if k not in leave_out}


def beat_map_from_path(act: np.ndarray, duration: float, frames: np.ndarray, pos: np.ndarray,
                       meter: str, window: int = 0) -> BeatMap | None:
    """The :class:`BeatMap` of one decoded bar-pointer path (beat frames, beat in bar, meter; ``window``: the
    decoder's beat window, :func:`~drumscribe.transcription.bar_tracker.refine`); None when it has fewer
    than two beats."""
    from drumscribe.transcription import bar_tracker
    from drumscribe.transcription.beat_model import CLOCK as BEAT_CLOCK

    if len(frames) < 2:
        return None
    raw = BEAT_CLOCK.to_seconds(bar_tracker.refine(frames, act[:, 0], window=window))
    beats = _smooth_and_extend(raw, duration)
    first = int(np.argmin(np.abs(beats - raw[0])))  # where the decoded beats start in the extended grid
    down = np.flatnonzero(pos == 0)
    per_bar = bar_tracker.METER_BEATS[meter]
    phase = (first + (int(down[0]) if len(down) else 0)) % per_bar
    return BeatMap(beats, phase, meter)


def track_learned(times, classes, velocities, class_names: Sequence[str], duration: float,
                  bpm: float | None = None, meter: str | None = None, net=None,
                  tempo_hint: float | None = None, audio=None) -> BeatMap | None:
    """The learned tracker: the beat network (``net``, default the bundled one,
    :mod:`drumscribe.transcription.beat_model`) on the events, decoded by the bar pointer (``bpm``: a
    user's tempo; ``tempo_hint``: a guessed one in quarter notes per minute, followed within the model's
    ``tempo_band``; ``audio``: ``(band_means, feature_clock)`` of the audio for a model that hears it,
    :meth:`~drumscribe.transcription.beat_model.BeatNet.activations_of_events`).

    None when no beat model is installed or no two beats fit (then :func:`track` answers)."""
    from drumscribe.transcription import beat_model

    net = net if net is not None else beat_model.load_default()
    if net is None:
        return None
    if meter is not None and meter not in METERS:
        raise ValueError(f"meter must be one of {METERS}, got {meter!r}")
    duration = max(float(duration), float(np.max(times)) if len(times) else 0.0)
    act = net.activations_of_events(times, classes, velocities, class_names, duration, audio)
    return beat_map_from_activations(act, duration, bpm, meter, net.decoder, tempo_hint)


def track_events(events, class_names: Sequence[str], duration: float, bpm: float | None = None,
                 meter: str | None = None, audio=None) -> BeatMap:
    """The :class:`BeatMap` of a list of :class:`~drumscribe.transcription.decoding.Event`.

    The rule tracker (:func:`track`) guesses the tempo; when the beat model is installed and there are at
    least 4 hits, the learned bar pointer (:func:`track_learned`) then places beats, downbeats and meter,
    its tempo kept within the model's ``tempo_band`` of the rules' guess (a drift is followed beat by beat,
    an octave or 3:2 away is not reachable) or at ``bpm`` when given.  A model whose decoder says
    ``tempo_source: "activation"`` (round 4) centres that band on its own activations' tempo instead, so the
    learned model chooses the metrical level; the rules' tempo then only answers when no two beats fit.  Measured on GMD test (held-out kits)
    and real-dev (docs/musician.md, issue 30): the pair beats both trackers alone on downbeat F and meter;
    the learned tracker's own tempo had more octave errors than the rules', so the rules keep the level."""
    from drumscribe.transcription.decoding import events_to_arrays

    t, c, v = events_to_arrays(events)
    rules = track(t, c, v, class_names, duration, bpm, meter)
    if len(t) >= 4:
        bm = track_learned(t, c, v, class_names, duration, bpm, meter, tempo_hint=rules.bpm * rules.quarters_per_beat,
                           audio=audio)
        if bm is not None:
            return bm
    return rules
