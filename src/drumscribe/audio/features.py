"""Log-mel features: the one implementation used by preprocessing (training) and by inference.

``compute_features(audio, audio_cfg)`` -> float32 array ``(n_frames, feature_width(audio_cfg))``
with ``n_frames = 1 + len(audio) // hop_length`` (see :mod:`drumscribe.core.timebase`).
With ``audio.stack_n_ffts`` (e.g. ``[1024, 4096]``) the log-mels of several window lengths
(``n_fft`` first, then each stacked one, same hop and mel bands) are concatenated along the
feature axis; the network reads them as input channels (:func:`feature_ffts`).
``file_features(path, audio_cfg)`` reads, mixes, resamples (streamed soxr) and
computes the features of a file exactly as ``drumscribe transcribe`` does, so the
feature cache holds what inference computes.

numpy only (no librosa, numba or scipy), and equal to what the bundled model was
trained on: librosa's ``stft(center=True, pad_mode="constant")`` with a periodic
Hann window, power ``|X|**2``, a Slaney-style, Slaney-normalised mel filterbank
(librosa's ``filters.mel`` defaults) and ``log(mel + 1e-6)``.  The filterbank is
built in float64 exactly as librosa builds it; the STFT runs in float32 (about
twice as fast), so features differ from librosa's by float32 rounding only
(``tests/test_features.py`` bounds it).  Because the numbers are not bit-identical
to the librosa version, ``feature_params()["kind"]`` changed ("logmel-v1" ->
"logmel-v2"): caches made by the old code are rebuilt, never served.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import numpy as np

LOG_EPS = 1e-6
FEATURE_KIND = "logmel-v2"  # bump whenever the numbers below change at all


def feature_ffts(audio_cfg) -> list[int]:
    """The STFT sizes whose log-mels make the features, in order: ``n_fft``, then ``stack_n_ffts``."""
    return [int(audio_cfg.n_fft), *(int(n) for n in audio_cfg.stack_n_ffts)]


def feature_width(audio_cfg) -> int:
    """Features per frame: ``n_mels`` times the number of stacked resolutions."""
    return int(audio_cfg.n_mels) * len(feature_ffts(audio_cfg))


def feature_params(audio_cfg) -> dict:
    """Everything that determines the features (goes into the cache hash)."""
    params = {
        "kind": FEATURE_KIND,
        "sample_rate": int(audio_cfg.sample_rate),
        "n_fft": int(audio_cfg.n_fft),
        "hop_length": int(audio_cfg.hop_length),
        "n_mels": int(audio_cfg.n_mels),
        "fmin": float(audio_cfg.fmin),
        "fmax": None if audio_cfg.fmax is None else float(audio_cfg.fmax),
        "log_eps": LOG_EPS,
    }
    stack = feature_ffts(audio_cfg)[1:]
    if stack:  # only then: single-resolution caches keep their keys
        params["stack_n_ffts"] = stack
    return params


# ------------------------------------------------------------------ mel filterbank (Slaney, as librosa)

_F_SP = 200.0 / 3  # Slaney mel scale: linear below 1 kHz (66.67 Hz per mel), logarithmic above
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(hz):
    """Slaney mel scale (librosa ``htk=False``)."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / _F_SP
    log_region = hz >= _MIN_LOG_HZ
    return np.where(log_region, _MIN_LOG_MEL + np.log(np.maximum(hz, 1e-300) / _MIN_LOG_HZ) / _LOGSTEP, mel)


def mel_to_hz(mel):
    mel = np.asarray(mel, dtype=np.float64)
    hz = _F_SP * mel
    return np.where(mel >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL)), hz)


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> np.ndarray:
    """``(n_mels, 1 + n_fft // 2)`` float32 triangular filters, Slaney area normalisation."""
    fmax = sr / 2.0 if fmax is None else float(fmax)
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(float(fmin)), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, len(fftfreqs)), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


_CACHE: dict = {}


def _tables(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None):
    """(periodic Hann window float32, transposed filterbank (bins, n_mels) float32), cached."""
    key = (sr, n_fft, n_mels, fmin, fmax)
    if key not in _CACHE:
        n = np.arange(n_fft, dtype=np.float64)
        window = (0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)).astype(np.float32)
        basis_t = np.ascontiguousarray(mel_filterbank(sr, n_fft, n_mels, fmin, fmax).T)
        _CACHE[key] = (window, basis_t)
    return _CACHE[key]


# ------------------------------------------------------------------ features

def compute_features(audio: np.ndarray, audio_cfg) -> np.ndarray:
    """Log-mel power spectrogram, ``(n_frames, feature_width(audio_cfg))`` float32.

    ``audio``: mono float32 at ``audio_cfg.sample_rate``.  Frames are centred
    with zero padding of ``n_fft // 2`` at both ends, so frame ``i`` is centred
    on sample ``i * hop`` and the output of a chunk that carries ``n_fft // 2``
    samples of real context on each side equals the whole-file output.  Stacked
    resolutions (:func:`feature_ffts`) follow each other along the feature axis.
    """
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    ffts = feature_ffts(audio_cfg)
    if len(ffts) == 1:
        return _logmel(audio, audio_cfg, ffts[0])
    return np.concatenate([_logmel(audio, audio_cfg, n) for n in ffts], axis=1)


def _logmel(audio: np.ndarray, audio_cfg, n_fft: int) -> np.ndarray:
    """One resolution: ``(n_frames, n_mels)`` float32 log-mel with an ``n_fft``-sample window."""
    hop, n_mels = int(audio_cfg.hop_length), int(audio_cfg.n_mels)
    if audio.shape[0] < 1:
        return np.full((1, n_mels), np.log(LOG_EPS), dtype=np.float32)
    window, basis_t = _tables(int(audio_cfg.sample_rate), n_fft, n_mels, float(audio_cfg.fmin),
                              None if audio_cfg.fmax is None else float(audio_cfg.fmax))
    half = n_fft // 2
    padded = np.zeros(audio.shape[0] + 2 * half, dtype=np.float32)
    padded[half:half + audio.shape[0]] = audio
    n_frames = 1 + audio.shape[0] // hop
    frames = np.lib.stride_tricks.as_strided(padded, shape=(n_frames, n_fft),
                                             strides=(hop * padded.strides[0], padded.strides[0]), writeable=False)
    out = np.empty((n_frames, n_mels), dtype=np.float32)
    step = 512  # frames per block: keeps the complex spectrum in cache-sized pieces
    for a in range(0, n_frames, step):
        spec = np.fft.rfft(frames[a:a + step] * window, axis=-1)  # complex64 for float32 input
        power = spec.real * spec.real
        power += spec.imag * spec.imag
        np.matmul(power, basis_t, out=out[a:a + step])
    out += LOG_EPS
    np.log(out, out=out)
    return out


def file_features(path: str | Path, audio_cfg) -> tuple[np.ndarray, int, float]:
    """Features of an audio file as inference computes them: ``(features, n_samples, peak)``.

    ``n_samples`` counts samples at ``audio_cfg.sample_rate``; ``peak`` is the maximum
    absolute sample (for the silence check).  Raises :class:`~drumscribe.core.errors.AudioError`
    naming the file when it is missing, unreadable or empty.
    """
    from drumscribe.audio.io import iter_audio_blocks

    stats = StreamStats()
    blocks = list(iter_feature_blocks(iter_audio_blocks(path, int(audio_cfg.sample_rate), fmax=audio_cfg.fmax), audio_cfg, stats=stats))
    return np.concatenate(blocks), stats.n_samples, stats.peak


# ------------------------------------------------------------------ streaming

FEATURE_CHUNK_S = 10.0  # seconds of audio per computed block of frames


class StreamStats:
    """Running facts about the streamed audio (length, peak) for the summary and the silence check."""

    def __init__(self):
        self.n_samples = 0
        self.peak = 0.0


def iter_feature_blocks(blocks: Iterator[np.ndarray], audio_cfg, chunk_frames: int | None = None,
                        stats: StreamStats | None = None) -> Iterator[np.ndarray]:
    """Feature frames ``(n, feature_width)`` of a stream of audio blocks, in order; equal to the whole-file features."""
    hop, n_fft = int(audio_cfg.hop_length), max(feature_ffts(audio_cfg))
    if chunk_frames is None:
        chunk_frames = max(int(FEATURE_CHUNK_S * audio_cfg.sample_rate / hop), 1)
    pad = int(math.ceil((n_fft // 2) / hop)) * hop  # context, a multiple of hop
    ctx = pad // hop
    buf = np.zeros(pad, dtype=np.float32)  # zeros before the file, as the centred STFT pads
    buf_start = -pad  # global sample index of buf[0]
    next_frame = 0
    stats = stats if stats is not None else StreamStats()

    def emit(a: int, b: int) -> np.ndarray:
        lo = a * hop - pad - buf_start
        hi = (b - 1) * hop + pad - buf_start
        seg = buf[lo:hi]
        feats = compute_features(seg, audio_cfg)
        return feats[ctx:ctx + (b - a)]

    for block in blocks:
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        if block.size == 0:
            continue
        stats.n_samples += block.size
        stats.peak = max(stats.peak, float(np.max(np.abs(block))))
        buf = np.concatenate([buf, block])
        buf_end = buf_start + buf.shape[0]
        # frames f with (f * hop + pad) <= buf_end are computable
        while (next_frame + chunk_frames - 1) * hop + pad <= buf_end:
            b = next_frame + chunk_frames
            yield emit(next_frame, b)
            next_frame = b
            drop = next_frame * hop - pad - buf_start
            buf = buf[drop:]
            buf_start += drop
    n_total = 1 + stats.n_samples // hop
    if next_frame < n_total:
        need = (n_total - 1) * hop + pad - buf_start
        if buf.shape[0] < need:
            buf = np.concatenate([buf, np.zeros(need - buf.shape[0], dtype=np.float32)])
        yield emit(next_frame, n_total)
