"""Audio loading: any common format, sample rate and channel count -> mono float32.

Two readers, one behaviour: :func:`iter_audio_blocks` streams a file in blocks
(``soundfile`` + a streaming ``soxr`` resampler; what transcription and
preprocessing use, so memory stays flat), :func:`load_audio` reads it whole.
Only numpy, soundfile and soxr are needed; librosa (``[train]`` extra) is tried
only for formats libsndfile cannot read (some mp3/m4a through audioread).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

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
        import librosa
    except ImportError:
        raise AudioError(f"{path}: cannot read audio ({first_error})") from None
    try:
        import warnings

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


AUDIO_BLOCK_S = 10.0


def iter_audio_blocks(path: str | Path, sample_rate: int, block_s: float = AUDIO_BLOCK_S) -> Iterator[np.ndarray]:
    """Mono float32 blocks of ``path`` resampled to ``sample_rate`` (streamed; memory flat in the length).

    Raises :class:`AudioError` naming the file when it is missing, unreadable,
    corrupt, empty or holds NaN/inf.  Formats libsndfile cannot read are
    decoded whole through :func:`load_audio`.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found")
    try:
        fh = sf.SoundFile(str(path))
    except Exception:
        y = load_audio(path, sample_rate)  # raises AudioError naming the file
        step = max(int(block_s * sample_rate), 1)
        for i in range(0, len(y), step):
            yield y[i:i + step]
        return
    with fh:
        in_sr = int(fh.samplerate)
        stream = None
        if in_sr != sample_rate:
            import soxr

            stream = soxr.ResampleStream(in_sr, sample_rate, 1, dtype="float32", quality="HQ")
        n_read = 0
        try:
            for block in fh.blocks(blocksize=max(int(block_s * in_sr), 1), dtype="float32", always_2d=True):
                mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
                if not np.all(np.isfinite(mono)):
                    raise AudioError(f"{path}: audio contains NaN or infinite samples")
                n_read += mono.shape[0]
                out = stream.resample_chunk(np.ascontiguousarray(mono), last=False) if stream else mono
                if out.size:
                    yield np.asarray(out, dtype=np.float32)
        except AudioError:
            raise
        except Exception as exc:  # truncated / corrupt data
            raise AudioError(f"{path}: cannot read audio ({type(exc).__name__}: {exc})") from None
        if n_read == 0:
            raise AudioError(f"{path}: audio file has no samples")
        if stream is not None:
            tail = stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            if tail.size:
                yield np.asarray(tail, dtype=np.float32)
