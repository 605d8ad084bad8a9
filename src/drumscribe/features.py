"""Log-mel features.

``compute_features(audio, audio_cfg)`` -> float32 array ``(n_frames, n_mels)``
with ``n_frames = 1 + len(audio) // hop_length`` (see :mod:`drumscribe.timebase`).
"""

from __future__ import annotations

import numpy as np

LOG_EPS = 1e-6


def feature_params(audio_cfg) -> dict:
    """Everything that determines the features (goes into the cache hash)."""
    return {
        "kind": "logmel-v1",
        "sample_rate": int(audio_cfg.sample_rate),
        "n_fft": int(audio_cfg.n_fft),
        "hop_length": int(audio_cfg.hop_length),
        "n_mels": int(audio_cfg.n_mels),
        "fmin": float(audio_cfg.fmin),
        "fmax": None if audio_cfg.fmax is None else float(audio_cfg.fmax),
        "log_eps": LOG_EPS,
    }


_MEL_CACHE: dict = {}


def _mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> np.ndarray:
    key = (sr, n_fft, n_mels, fmin, fmax)
    if key not in _MEL_CACHE:
        import librosa

        _MEL_CACHE[key] = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).astype(np.float32)
    return _MEL_CACHE[key]


def compute_features(audio: np.ndarray, audio_cfg) -> np.ndarray:
    """Log-mel power spectrogram, ``(n_frames, n_mels)`` float32.

    ``audio``: mono float32 at ``audio_cfg.sample_rate``.  Frames are centred
    with zero padding of ``n_fft // 2`` at both ends, so frame ``i`` is centred
    on sample ``i * hop`` and the output of a chunk that carries ``n_fft // 2``
    samples of real context on each side equals the whole-file output.
    """
    import librosa

    n_fft, hop = int(audio_cfg.n_fft), int(audio_cfg.hop_length)
    audio = np.asarray(audio, dtype=np.float32)
    if audio.shape[0] < 1:
        return np.zeros((1, int(audio_cfg.n_mels)), dtype=np.float32) + np.log(LOG_EPS)
    stft = librosa.stft(audio, n_fft=n_fft, hop_length=hop, center=True, pad_mode="constant")
    power = (np.abs(stft) ** 2).astype(np.float32)
    mel = _mel_basis(int(audio_cfg.sample_rate), n_fft, int(audio_cfg.n_mels), float(audio_cfg.fmin), audio_cfg.fmax) @ power
    return np.log(mel + LOG_EPS).T.astype(np.float32, copy=False)
