"""Audio loading: any common format, sample rate and channel count -> mono float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import AudioError

SILENCE_PEAK = 1e-4  # peak amplitude below which a file counts as silent (-80 dBFS)


def load_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Read ``path``, mix to mono, resample to ``sample_rate``.

    Returns float32 samples in [-1, 1], shape ``(n_samples,)``.
    Raises :class:`AudioError` (naming the file) when it is missing, unreadable,
    corrupt or has no samples.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile: unknown format, truncated header, ...
        data, sr = _load_with_librosa(path, exc)
    if data.size == 0 or data.shape[0] == 0:
        raise AudioError(f"{path}: audio file has no samples")
    mono = data.mean(axis=1) if data.ndim == 2 else data
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{path}: audio contains NaN or infinite samples")
    return resample(mono.astype(np.float32, copy=False), int(sr), sample_rate)


def _load_with_librosa(path: Path, first_error: Exception):
    """Fallback for formats libsndfile cannot read (e.g. some mp3/m4a through audioread)."""
    try:
        import warnings

        import librosa

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y, sr = librosa.load(str(path), sr=None, mono=False)
    except Exception:
        raise AudioError(f"{path}: cannot read audio ({first_error})") from None
    y = np.atleast_2d(y).T  # (n, channels)
    return y, sr


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """High-quality resampling with soxr; no-op when the rates match."""
    if orig_sr == target_sr:
        return audio
    import soxr

    return soxr.resample(audio, orig_sr, target_sr, quality="HQ").astype(np.float32, copy=False)


def is_silent(audio: np.ndarray) -> bool:
    return audio.size == 0 or float(np.max(np.abs(audio))) < SILENCE_PEAK
