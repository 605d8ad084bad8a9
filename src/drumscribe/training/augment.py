"""Training-time augmentation on cached log-mel windows (numpy only, no torch).

Applied by :class:`drumscribe.training.data.TrainWindows` to training windows only, and
only when ``augmentation.enabled`` is true; with it off the windows are exactly
the cached arrays (tested).  Each transform fires independently with its
``*_prob``:

==================  =========================================================
time_stretch_prob   resample the *frame axis* by a rate r in [0.8, 1.25]
                    (log-uniform); onset/velocity targets are moved to
                    ``round(frame * r)`` and the padding mask is resampled too,
                    so audio and targets stay aligned.  The dataset reads
                    ``ceil(window / r)`` source frames so the output is exactly
                    one window long.
pitch_shift_prob    shift the mel bins by +-1 or +-2 bins (edge bins repeated).
volume_scale_prob   gain of -6..+6 dB: a constant added in the log domain
                    (``log(10**(dB/10))``, features are log power).
reverb_prob         smear energy forward in time in the *power* domain:
                    ``tail[t] = a * (tail[t-1] + P[t-1])``, ``a = exp(-hop/T60*6.9)``
                    with T60 in 0.2..1.0 s, ``P' = P + wet * (1-a) * tail``,
                    wet in 0.1..0.5.
noise_prob          add noise power at 10..30 dB below the window's mean power
                    (chi-square fluctuating, a random spectral tilt).
==================  =========================================================

With stacked resolutions (``audio.stack_n_ffts``) pitch shift and noise tilt act on each
resolution's mel bins alike (the window is viewed as ``(frames, resolutions, n_mels)``).

Features are ``log(mel_power + 1e-6)`` (:mod:`drumscribe.audio.features`), so the
power domain is ``exp(features)``; results are floored at that epsilon.
"""

from __future__ import annotations

import math

import numpy as np

from drumscribe.audio.features import LOG_EPS

STRETCH_RANGE = (0.8, 1.25)
PITCH_SHIFTS = (-2, -1, 1, 2)
GAIN_DB = (-6.0, 6.0)
T60_S = (0.2, 1.0)
REVERB_WET = (0.1, 0.5)
NOISE_SNR_DB = (10.0, 30.0)


def time_stretch(features: np.ndarray, onsets: np.ndarray, velocities: np.ndarray, mask: np.ndarray,
                 rate: float, out_len: int):
    """Resample the frame axis by ``rate`` (>1 = slower/longer) to exactly ``out_len`` frames.

    Output frame ``i`` reads source position ``i / rate`` (linear interpolation
    for features, nearest for the mask); a source onset at frame ``f`` moves to
    ``round(f * rate)`` (dropped if that is outside the window).  ``onsets`` may have more columns
    than ``velocities`` (the articulation targets after the drums).
    """
    n = features.shape[0]
    pos = np.arange(out_len, dtype=np.float64) / rate
    lo = np.clip(np.floor(pos).astype(np.int64), 0, max(n - 1, 0))
    hi = np.clip(lo + 1, 0, max(n - 1, 0))
    w = (pos - np.floor(pos))[:, None].astype(np.float32)
    feats = (1 - w) * features[lo] + w * features[hi]
    valid_src = pos <= n - 1 + 1e-9
    m = mask[np.clip(np.rint(pos).astype(np.int64), 0, max(n - 1, 0))] * valid_src
    new_on = np.zeros((out_len, onsets.shape[1]), dtype=onsets.dtype)
    new_vel = np.zeros((out_len, velocities.shape[1]), dtype=velocities.dtype)
    fr, cl = np.nonzero(onsets)
    nf = np.rint(fr * rate).astype(np.int64)
    keep = nf < out_len
    new_on[nf[keep], cl[keep]] = onsets[fr[keep], cl[keep]]
    drum = keep & (cl < velocities.shape[1])  # articulation columns of ``onsets`` carry no velocity
    np.maximum.at(new_vel, (nf[drum], cl[drum]), velocities[fr[drum], cl[drum]])
    return feats.astype(np.float32), new_on, new_vel, m.astype(mask.dtype)


def pitch_shift(features: np.ndarray, shift: int) -> np.ndarray:
    """Move energy ``shift`` mel bins up (>0) or down (<0); vacated bins repeat the edge bin."""
    if shift == 0:
        return features
    out = np.empty_like(features)  # the last axis holds the mel bins
    if shift > 0:
        out[..., shift:] = features[..., :-shift]
        out[..., :shift] = features[..., :1]
    else:
        s = -shift
        out[..., :-s] = features[..., s:]
        out[..., -s:] = features[..., -1:]
    return out


def volume(features: np.ndarray, gain_db: float) -> np.ndarray:
    return features + np.float32(math.log(10.0 ** (gain_db / 10.0)))


def _floor_log(power: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(power, LOG_EPS)).astype(np.float32)


def reverb(features: np.ndarray, frame_duration: float, t60: float, wet: float) -> np.ndarray:
    """Exponentially decaying forward smear of the power spectrogram (a cheap late-reverb model)."""
    power = np.exp(features.astype(np.float64))
    a = math.exp(-6.9078 * frame_duration / t60)  # -60 dB after t60 seconds
    from scipy.signal import lfilter

    tail = lfilter([0.0, a], [1.0, -a], power, axis=0)  # tail[t] = a * (tail[t-1] + P[t-1])
    return _floor_log(power + wet * (1 - a) * tail)


def add_noise(features: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    power = np.exp(features.astype(np.float64))
    level = power.mean() * 10.0 ** (-snr_db / 10.0)
    tilt = np.linspace(0, rng.uniform(-1.0, 1.0), features.shape[-1])  # over the mel bins
    shape = np.exp(tilt)
    shape /= shape.mean()
    noise = level * shape * rng.chisquare(2, size=power.shape) / 2.0
    return _floor_log(power + noise)


class Augmenter:
    """Draws and applies the configured augmentations.  ``aug_cfg``: ``cfg.augmentation``."""

    def __init__(self, aug_cfg, frame_duration: float, n_mels: int | None = None):
        self.cfg = aug_cfg
        self.frame_duration = float(frame_duration)
        self.n_mels = n_mels  # mel bins per resolution (None: the whole frame is one resolution)

    @property
    def enabled(self) -> bool:
        return bool(self.cfg.enabled)

    def draw_stretch(self, rng: np.random.Generator) -> float | None:
        """A stretch rate for the next window, or None (decided before reading it)."""
        if not self.enabled or rng.random() >= self.cfg.time_stretch_prob:
            return None
        lo, hi = STRETCH_RANGE
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))

    def apply_features(self, features: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Pitch, volume, reverb and noise (each with its probability) on a (frames, features) window."""
        if not self.enabled:
            return features
        shape = features.shape
        if self.n_mels and shape[1] != self.n_mels:  # stacked resolutions: (frames, R, n_mels)
            features = features.reshape(shape[0], -1, self.n_mels)
        c = self.cfg
        if rng.random() < c.pitch_shift_prob:
            features = pitch_shift(features, int(rng.choice(PITCH_SHIFTS)))
        if rng.random() < c.volume_scale_prob:
            features = volume(features, rng.uniform(*GAIN_DB))
        if rng.random() < c.reverb_prob:
            features = reverb(features, self.frame_duration, rng.uniform(*T60_S), rng.uniform(*REVERB_WET))
        if rng.random() < c.noise_prob:
            features = add_noise(features, rng.uniform(*NOISE_SNR_DB), rng)
        return features.reshape(shape).astype(np.float32, copy=False)
