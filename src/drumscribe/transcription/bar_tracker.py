"""Beats, downbeats, tempo and meter from beat/downbeat activations: a bar-pointer model decoded by Viterbi.

Pure numpy, no I/O, no model: activations in, beat frames out (unit-testable with hand-made arrays).

The model is the bar pointer of Whiteley, Cemgil & Godsill (2006) as madmom's downbeat tracker uses it
(Krebs, Böck & Widmer 2015; Böck, Krebs & Widmer 2016): a hidden state is (meter, beat in the bar ``k``,
beat period ``P`` in frames); within a beat the pointer moves one frame per frame, the tempo may change
only at a beat, to a neighbouring period, at a cost ``transition_lambda * |log(P / P')|`` (madmom's
exponential tempo transition); the meter never changes inside a file.  Observations: a beat frame in
bar position 0 scores ``log p(downbeat)``, other beat frames ``log(p(beat) - p(downbeat))``, every other
frame ``log(1 - p(beat))``.

Because the pointer moves deterministically between beats, the Viterbi path is a chain of beat frames,
and with the non-beat score summed into a constant the recursion is over beats only::

    D[t, P, k] = s_k(t) + max_{P' in P-1..P+1} (D[t - P, P', k - 1] - lambda |log(P / P')|)
    s_k(t)    = log p_k(t) - log(1 - p_beat(t))      (p_k: downbeat for k = 0, beat otherwise)

which is exactly the HMM's Viterbi, vectorised over blocks of ``min(P)`` frames (no frame in a block
can be the predecessor of another in it).  A path starts with a beat within its first period and ends
with one within its last.  Meters: ``4/4`` (4 quarter beats), ``3/4`` (3), ``6/8`` (2 dotted-quarter
beats).

**Meter** (model comparison): each meter is decoded on its own state space and the meters' Viterbi scores
(log-likelihood ratios of the best path) are compared with a log prior: a meter other than 4/4 pays
``meter_prior`` once per file plus ``meter_penalty`` per beat, so 3/4 or 6/8 wins only when the bar evidence
over the whole file outweighs the prior.  Both are calibrated on GMD validation renders (every meter GMD has;
``scripts/train_beats.py``) and stored with the model.

**Tempo**: periods of every meter's tempo range (:data:`METER_BPM`), narrowed around a tempo that is given:
a user's ``bpm`` (within :data:`TEMPO_TOLERANCE`), or a ``tempo_hint`` (the rule tracker's tempo, or since
round 4 the activations' own, :func:`activation_tempo`: autocorrelation + GMD's tempo prior) within
``tempo_band``, wide enough for a drifting performance to be followed beat by beat (the transitions above)
and narrow enough to keep the hint's metrical level (an octave or 3:2 away is outside it).
"""

from __future__ import annotations

import numpy as np

METER_BEATS: dict[str, int] = {"4/4": 4, "3/4": 3, "6/8": 2}
QUARTERS_PER_BEAT: dict[str, float] = {"4/4": 1.0, "3/4": 1.0, "6/8": 1.5}
# tracked-beat tempo range of each meter (beats per minute of the tracked beat: quarters in x/4,
# dotted quarters in 6/8)
METER_BPM: dict[str, tuple[float, float]] = {"4/4": (55.0, 215.0), "3/4": (55.0, 215.0), "6/8": (35.0, 110.0)}
PRIOR_METER = "4/4"
TRANSITION_LAMBDA = 30.0
METER_PENALTY = 0.0  # log prior per beat of a meter other than 4/4
METER_PRIOR = 3.0  # log prior per file of a meter other than 4/4
TEMPO_TOLERANCE = 0.05  # a given --tempo: periods within this share of it
TEMPO_BAND = 0.2  # a tempo hint: periods within this share of it (a drift of +-12 % fits, x3/2 does not)
FLOOR = 1e-4  # activations are clipped to [FLOOR, 1 - FLOOR] before the logs
# a played beat is spread over a few frames (human timing around the click, 20 ms frames): the observation
# of a beat at t is the activation's maximum over t - OBS_WINDOW .. t + OBS_WINDOW (madmom's beat region; a
# maximum, not a sum, so that it stays a probability and the meters' scores stay comparable)
OBS_WINDOW = 2
# the tempo of the learned activation (round 4, :func:`activation_tempo`): a log-normal prior over quarter-note
# tempi, fitted on GMD train's tempo column (geometric mean 107.1 bpm, sd of log bpm 0.218; the sidecar carries
# the numbers its training measured), and the search range of the estimate
TEMPO_PRIOR_BPM = 107.1
TEMPO_PRIOR_SD = 0.218
TEMPO_PRIOR_WEIGHT = 1.0  # prior weight: ``0.05 * weight * z**2`` off the autocorrelation (1 at its lag 0)
TEMPO_DOWNBEAT_WEIGHT = 0.25  # the downbeat activation's autocorrelation at 4 beats, added with this weight
TEMPO_HALF_WEIGHT = 0.0  # the beat activation's autocorrelation at half a beat, taken off with this weight
TEMPO_RANGE = (55.0, 215.0)


def _states(chains, fps: float):
    """State space of ``chains`` (``[(meter, lo_bpm, hi_bpm)]``, each its own bar pointer): (periods (nP,),
    chain index, beat-in-bar and previous position of each position (K,), allowed (nP, K))."""
    ranges = [(int(np.floor(fps * 60.0 / hi)), int(np.ceil(fps * 60.0 / lo))) for _, lo, hi in chains]
    pmin = max(min(r[0] for r in ranges), 2)
    pmax = max(r[1] for r in ranges)
    periods = np.arange(pmin, pmax + 1)
    chain_of, beat_of, prev = [], [], []
    for c, (m, _, _) in enumerate(chains):
        n, base = METER_BEATS[m], len(beat_of)
        for k in range(n):
            chain_of.append(c)
            beat_of.append(k)
            prev.append(base + (k - 1) % n)
    allowed = np.zeros((len(periods), len(beat_of)), dtype=bool)
    for j, c in enumerate(chain_of):
        lo, hi = ranges[c]
        allowed[:, j] = (periods >= max(lo, pmin)) & (periods <= hi)
    return periods, np.asarray(chain_of), np.asarray(beat_of), np.asarray(prev), allowed


def decode_meters(beat_act, downbeat_act, fps: float, meters=("4/4", "3/4", "6/8"), bpm: float | None = None,
                  tempo_hint: float | None = None, tempo_band: float | None = TEMPO_BAND,
                  transition_lambda: float = TRANSITION_LAMBDA, obs_window: int = OBS_WINDOW,
                  meter_choice: str = "hint") -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """``{meter: (beat frames, beat in bar, score)}``: the Viterbi path of each meter on its own and the score
    that :func:`choose_meter` compares (before the meter prior).  See :func:`decode`.

    With a ``tempo_hint`` (and a ``tempo_band``), ``meter_choice`` says where the hint applies: ``"hint"``,
    every meter's tempo is within the band (the scores compared are the banded paths'); ``"free"``, each
    meter is scored on its whole tempo range (the rule tracker's tempo does not hold in 3/4 and 6/8, it is
    often 3:2 off there) and the hint only sets the 4/4 path's tempo.  All the chains run in one pass."""
    b, d = np.asarray(beat_act, dtype=np.float64), np.asarray(downbeat_act, dtype=np.float64)
    if obs_window > 0:
        b, d = _max_filter(b, int(obs_window)), _max_filter(d, int(obs_window))
    b = np.clip(b, FLOOR, 1 - FLOOR)
    d = np.clip(np.minimum(d, b - FLOOR), FLOOR, 1 - FLOOR)
    if meter_choice not in ("hint", "free"):
        raise ValueError(f"meter_choice must be 'hint' or 'free', got {meter_choice!r}")
    hinted = bpm is None and tempo_hint is not None and tempo_band is not None and tempo_hint > 0
    chains = []
    for m in meters:
        lo, hi = METER_BPM[m]
        if bpm is not None:
            lo, hi = bpm * (1 - TEMPO_TOLERANCE), bpm * (1 + TEMPO_TOLERANCE)
        elif hinted and meter_choice == "hint":  # the hint counts quarter notes; 6/8 tracks dotted quarters
            centre = tempo_hint / QUARTERS_PER_BEAT[m]
            lo, hi = centre * (1 - tempo_band), centre * (1 + tempo_band)
        chains.append((m, lo, hi))
    extra = hinted and meter_choice == "free" and PRIOR_METER in meters
    if extra:  # the 4/4 path at the hint's tempo
        chains.append((PRIOR_METER, tempo_hint * (1 - tempo_band), tempo_hint * (1 + tempo_band)))
    res = _viterbi(b, d, fps, chains, transition_lambda)
    out = {m: res[i] for i, m in enumerate(meters)}
    if extra:
        out[PRIOR_METER] = (res[-1][0], res[-1][1], out[PRIOR_METER][2])
    return out


def _autocorr(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation of ``x`` less its mean at lags ``0 .. max_lag`` (each lag's sum over the frames that
    overlap divided by their number; 1 at lag 0; zeros when ``x`` is constant)."""
    x = np.asarray(x, dtype=np.float64) - float(np.mean(x))
    n = len(x)
    f = np.fft.rfft(x, 2 * n)
    r = np.fft.irfft(f * np.conj(f), 2 * n)[: max_lag + 1] / np.maximum(n - np.arange(max_lag + 1), 1)
    return r / r[0] if r[0] > 1e-12 else np.zeros_like(r)


def tempo_salience(beat_act, downbeat_act, fps: float, prior_bpm: float = TEMPO_PRIOR_BPM,
                   prior_sd: float = TEMPO_PRIOR_SD, prior_weight: float = TEMPO_PRIOR_WEIGHT,
                   downbeat_weight: float = TEMPO_DOWNBEAT_WEIGHT, half_weight: float = TEMPO_HALF_WEIGHT,
                   bpm_range=TEMPO_RANGE, step: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """``(bpms, salience)``: how well each beat tempo in ``bpm_range`` (steps of ``step`` bpm) explains the
    learned activations, the autocorrelation approach of Böck & Davies' TCN tempo: the beat activation's
    autocorrelation at the beat period, plus ``downbeat_weight`` times the downbeat activation's at four beat
    periods (the bar of 4/4: a double tempo puts the bar at 8 beats), less ``half_weight`` times its
    autocorrelation at half the period (at half the true tempo every other activation peak falls there; every
    multiple of the true period correlates, this term is what tells the beat from two beats), less a log-normal
    tempo prior
    ``0.05 * prior_weight * ((log bpm - log prior_bpm) / prior_sd) ** 2`` (GMD train's tempi).  Periods are
    read between frames by linear interpolation; a lag past the activation's end reads 0."""
    b = np.asarray(beat_act, dtype=np.float64)
    d = np.asarray(downbeat_act, dtype=np.float64)
    bpms = np.arange(bpm_range[0], bpm_range[1] + step / 2, step)
    lags = fps * 60.0 / bpms
    max_lag = max(min(int(np.ceil(4 * lags.max())) + 1, len(b) - 1), 1)
    rb, rd = _autocorr(b, max_lag), _autocorr(d, max_lag)

    def at(r, lag):
        i = np.floor(lag).astype(np.int64)
        inside = i + 1 < len(r)
        i = np.clip(i, 0, len(r) - 2) if len(r) > 1 else np.zeros_like(i)
        w = lag - i
        return np.where(inside, r[i] * (1 - w) + r[np.minimum(i + 1, len(r) - 1)] * w, 0.0)

    sal = at(rb, lags) + downbeat_weight * at(rd, 4 * lags) - half_weight * at(rb, lags / 2)
    sal -= 0.05 * prior_weight * ((np.log(bpms) - np.log(prior_bpm)) / prior_sd) ** 2
    return bpms, sal


def activation_tempo(beat_act, downbeat_act, fps: float, **kw) -> float:
    """The beat tempo (bpm) that the learned activations say (the maximum of :func:`tempo_salience`; ``kw``
    its settings): the tempo hint of :func:`decode_meters` when the beat model sets the tempo (round 4)."""
    bpms, sal = tempo_salience(beat_act, downbeat_act, fps, **kw)
    return float(bpms[int(np.argmax(sal))])


def _max_filter(x: np.ndarray, w: int) -> np.ndarray:
    """Running maximum of ``x`` over ``t - w .. t + w`` (edges: the frames that exist)."""
    pad = np.pad(x, w, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(pad, 2 * w + 1).max(axis=1)


def choose_meter(paths: dict, meter_prior: float = METER_PRIOR, meter_penalty: float = METER_PENALTY) -> str:
    """The meter of :func:`decode_meters`' paths with the best score + log prior: a meter other than 4/4 pays
    ``meter_prior`` + ``meter_penalty`` per beat of its path (4/4 first on a tie)."""
    order = sorted(paths, key=lambda m: m != PRIOR_METER)

    def total(m):
        frames, _, score = paths[m]
        return score - (0.0 if m == PRIOR_METER else meter_prior + meter_penalty * len(frames))

    return max(order, key=total)


def decode(beat_act, downbeat_act, fps: float, meters=("4/4", "3/4", "6/8"), bpm: float | None = None,
           meter: str | None = None, transition_lambda: float = TRANSITION_LAMBDA,
           meter_penalty: float = METER_PENALTY, obs_window: int = OBS_WINDOW, meter_prior: float = METER_PRIOR,
           tempo_hint: float | None = None, tempo_band: float | None = TEMPO_BAND, meter_choice: str = "hint"
           ) -> tuple[np.ndarray, np.ndarray, str]:
    """Viterbi path of the bar pointer (see the module docstring).

    ``beat_act``, ``downbeat_act``: ``(T,)`` probabilities at ``fps`` frames per second.  ``bpm``: a known
    tracked-beat tempo (periods within :data:`TEMPO_TOLERANCE` of it); ``tempo_hint``: a guessed one (periods
    within ``tempo_band`` of it; ``tempo_band`` None: the hint is ignored); ``meter``: a known meter (one of
    :data:`METER_BEATS`).  Returns ``(beat frames (B,) int, beat in bar (B,) int (0 = downbeat), meter)``;
    empty arrays when ``T`` is shorter than two beats.
    """
    if meter is not None:
        if meter not in METER_BEATS:
            raise ValueError(f"meter must be one of {tuple(METER_BEATS)}, got {meter!r}")
        meters = (meter,)
    paths = decode_meters(beat_act, downbeat_act, fps, meters, bpm, tempo_hint, tempo_band, transition_lambda,
                          obs_window, meter_choice)
    m = choose_meter(paths, meter_prior, meter_penalty)
    if not np.isfinite(paths[m][2]):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), meters[0]
    return paths[m][0], paths[m][1], m


def _viterbi(b, d, fps, chains, transition_lambda):
    """``[(frames, beat in bar, path score)]``, one per chain of :func:`_states` (one pass for all)."""
    T = len(b)
    periods, chain_of, beat_of, prevk, allowed = _states(chains, fps)
    nP, K = allowed.shape
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), -np.inf)
    if T < 2 * periods[0] + 1:
        return [empty for _ in chains]
    nb = np.log1p(-b)
    s_down = (np.log(d) - nb).astype(np.float32)
    s_beat = (np.log(np.maximum(b - d, FLOOR)) - nb).astype(np.float32)
    is_down = beat_of == 0
    obs = np.where(is_down[None, :], s_down[:, None], s_beat[:, None])  # (T, K)
    neg = np.float32(-np.inf)
    block_allowed = np.where(allowed, np.float32(0.0), neg)  # (nP, K)
    # tempo moves to a neighbouring period at a beat: P' = P + j, j in -1, 0, 1
    shifts = (-1, 0, 1)
    pidx = np.arange(nP)
    cost = {j: np.where((pidx + j >= 0) & (pidx + j < nP),
                        transition_lambda * np.abs(np.log(periods / periods[np.clip(pidx + j, 0, nP - 1)])),
                        np.inf).astype(np.float32)[None, :, None] for j in shifts}
    # E[t, P, k]: the best way to *arrive* at position k with period P from a beat at frame t
    # (max over the previous period P' = P + j of D[t, P', prev(k)] minus the tempo change cost).
    # Memory stays small on long files: E is read at most the longest period back, so it lives in a ring of
    # R frames; D is kept only for the last beat's frames (the tail); the back-pointers (int8) for every frame.
    step = int(periods[0])
    R = int(periods[-1]) + step
    E = np.full((R * nP, K), neg, dtype=np.float32)
    argE = np.zeros((T * nP, K), dtype=np.int8)
    back_start = np.zeros((T, nP), dtype=bool)
    ends = np.arange(max(T - int(periods[-1]), 0), T)  # the frames the last beat can be on
    tail = np.full((len(ends), nP, K), neg, dtype=np.float32)
    for s in range(0, T, step):
        t = np.arange(s, min(s + step, T))
        src = t[:, None] - periods[None, :]  # (B, nP): frame of the previous beat (all before s: period >= step)
        start = src < 0  # no room for a previous beat: a path may start here
        arrive = E.take((np.maximum(src, 0) % R) * nP + pidx[None, :], axis=0)  # (B, nP, K)
        arrive[start] = 0.0
        back_start[t] = start
        Dt = arrive + obs[t][:, None, :] + block_allowed[None]
        in_tail = t >= ends[0] if len(ends) else np.zeros(len(t), dtype=bool)
        tail[t[in_tail] - ends[0]] = Dt[in_tail]
        Dp = Dt[:, :, prevk]  # D at the previous position of each k
        best = Dp - cost[0]
        arg = np.zeros(best.shape, dtype=np.int8)
        for j in (-1, 1):  # P' = P + j
            cand = np.full(best.shape, neg, dtype=np.float32)
            if j < 0:
                cand[:, 1:] = Dp[:, :-1]
            else:
                cand[:, :-1] = Dp[:, 1:]
            cand -= cost[j]
            better = cand > best
            best = np.where(better, cand, best)
            arg[better] = j
        E[((t[:, None] % R) * nP + pidx[None, :]).ravel()] = best.reshape(-1, K)
        argE[(t[:, None] * nP + pidx[None, :]).ravel()] = arg.reshape(-1, K)
    # the last beat: the next one would fall after the end
    tail = np.where((ends[:, None] + periods[None, :] >= T)[:, :, None], tail, neg)
    out = []
    for c in range(len(chains)):
        tc = np.where((chain_of == c)[None, None, :], tail, neg)
        i = int(np.argmax(tc))
        ti, pi, ki = np.unravel_index(i, tc.shape)
        t, p, k = int(ends[ti]), int(pi), int(ki)
        score = float(tc.flat[i])
        if not np.isfinite(score):
            out.append(empty)
            continue
        frames, pos = [], []
        while True:
            frames.append(t)
            pos.append(int(beat_of[k]))
            if back_start[t, p]:
                break
            src = t - int(periods[p])
            j = int(argE[src * nP + p, k])
            t, p, k = src, p + j, int(prevk[k])
        out.append((np.asarray(frames[::-1], dtype=np.int64), np.asarray(pos[::-1], dtype=np.int64), score))
    return out


def refine(frames: np.ndarray, beat_act: np.ndarray, radius: int = 2, window: int = 0) -> np.ndarray:
    """Fractional beat frames: each beat moved to the activation's peak within ``window`` frames (the decoder's
    beat window: the path may sit anywhere in it), then to the centroid within ``radius`` frames of that peak."""
    a = np.asarray(beat_act, dtype=np.float64)
    out = np.asarray(frames, dtype=np.float64).copy()
    for i, f in enumerate(frames):
        f = int(f)
        if window > 0:
            lo, hi = max(f - window, 0), min(f + window + 1, len(a))
            f = lo + int(np.argmax(a[lo:hi]))
        lo, hi = max(f - radius, 0), min(f + radius + 1, len(a))
        w = a[lo:hi]
        if w.sum() > 0:
            out[i] = float((np.arange(lo, hi) * w).sum() / w.sum())
    return out
