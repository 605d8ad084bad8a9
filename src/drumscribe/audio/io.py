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

from drumscribe.core.errors import AudioError

from drumscribe.core.filetypes import AUDIO_EXTENSIONS, AUDIO_SUFFIXES  # noqa: F401 (their home: core/filetypes.py)

SILENCE_PEAK = 1e-4  # peak amplitude below which a file counts as silent (-80 dBFS)


def load_audio(path: str | Path, sample_rate: int, fmax: float | None = None) -> np.ndarray:
    """Read ``path``, mix to mono, resample to ``sample_rate``.

    Returns float32 samples in [-1, 1], shape ``(n_samples,)``.
    Raises :class:`AudioError` (naming the file) when it is missing, unreadable,
    corrupt or has no samples.
    """
    import soundfile as sf

    path = check_audio_path(path)
    try:
        info = sf.info(str(path))
    except Exception:
        info = None
    check = AudioChecker(path)  # truncated / low rate / clipped: one warning line each
    header_done = info is not None
    if info is not None:
        check_file_rate(path, info.samplerate)  # before reading: a 1 Hz header would resample for hours
        check.warn_header(int(info.samplerate), sample_rate, fmax, int(info.frames))
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile: unknown format, truncated header, ...
        data, sr = _load_with_librosa(path, exc)
        check_file_rate(path, sr)
    if data.size == 0 or data.shape[0] == 0:
        raise AudioError(f"{path}: audio file has no samples")
    mono = mix_to_mono(data) if data.ndim == 2 else data
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{path}: audio contains NaN or infinite samples")
    if not header_done:
        check.warn_header(int(sr), sample_rate, fmax, mono.shape[0])
    check.update(mono)
    check.warn_content()
    return resample(mono.astype(np.float32, copy=False), int(sr), sample_rate)


def check_audio_path(path: str | Path) -> Path:
    """``path`` as a :class:`Path` when it is a regular file; else an :class:`AudioError` saying what it is
    (missing, a folder, a FIFO/socket/device: reading one would block or never end)."""
    import stat

    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise AudioError(f"{path}: audio file not found") from None
    except OSError as exc:
        from drumscribe.core.errors import os_error_line

        raise AudioError(f"cannot read audio: {os_error_line(exc, path)}") from None
    if stat.S_ISDIR(mode):
        raise AudioError(f"{path}: is a folder, not an audio file")
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise AudioError(f"{path}: is {kind}, not an audio file; save the audio to a file first")
    return path


def check_file_rate(path: Path, sample_rate) -> None:
    """An :class:`AudioError` naming ``path`` when its header's sample rate is outside the range table's
    ``sample_rate`` (:data:`drumscribe.core.options.RANGES`): refused before any sample is read."""
    from drumscribe.core.options import range_for

    r = range_for("audio", "sample_rate")
    if not r.accepts(sample_rate):
        raise AudioError(f"{path}: its header gives a sample rate of {sample_rate} Hz, which {r.describe()} "
                         "(a damaged or mislabelled file?)")


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


def mix_to_mono(data: np.ndarray) -> np.ndarray:
    """``(samples, channels)`` -> ``(samples,)`` float32 channel mean.

    Equal to ``data.mean(axis=1)`` (channels added in order, then divided; numpy sums fewer
    than 8 values in order) but summed column by column, which is about 10x faster than
    numpy's reduction over a short axis.
    """
    data = np.asarray(data, dtype=np.float32)
    if data.shape[1] == 1:
        return data[:, 0]
    if data.shape[1] >= 8:
        return data.mean(axis=1)
    acc = data[:, 0].copy()
    for c in range(1, data.shape[1]):
        acc += data[:, c]
    acc /= np.float32(data.shape[1])
    return acc


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """High-quality resampling with soxr; no-op when the rates match."""
    if orig_sr == target_sr:
        return audio
    import soxr

    return soxr.resample(audio, orig_sr, target_sr, quality="HQ").astype(np.float32, copy=False)


def is_silent(audio: np.ndarray) -> bool:
    return audio.size == 0 or float(np.max(np.abs(audio))) < SILENCE_PEAK


AUDIO_BLOCK_S = 10.0


def iter_audio_blocks(path: str | Path, sample_rate: int, block_s: float = AUDIO_BLOCK_S,
                      fmax: float | None = None) -> Iterator[np.ndarray]:
    """Mono float32 blocks of ``path`` resampled to ``sample_rate`` (streamed; memory flat in the length).

    Raises :class:`AudioError` naming the file when it is missing, unreadable,
    corrupt, empty or holds NaN/inf.  Formats libsndfile cannot read are
    decoded whole through :func:`load_audio`.
    """
    import soundfile as sf

    path = check_audio_path(path)
    try:
        fh = sf.SoundFile(str(path))
    except Exception:
        y = load_audio(path, sample_rate, fmax)  # raises AudioError naming the file
        step = max(int(block_s * sample_rate), 1)
        for i in range(0, len(y), step):
            yield y[i:i + step]
        return
    with fh:
        in_sr = int(fh.samplerate)
        check_file_rate(path, in_sr)  # before any work (a 1 Hz header: 98 hours of resampling)
        check = AudioChecker(path)
        check.warn_header(in_sr, sample_rate, fmax, int(fh.frames))  # truncated / low rate: before any work
        stream = None
        if in_sr != sample_rate:
            import soxr

            stream = soxr.ResampleStream(in_sr, sample_rate, 1, dtype="float32", quality="HQ")
        n_read = 0
        try:
            for block in fh.blocks(blocksize=max(int(block_s * in_sr), 1), dtype="float32", always_2d=True):
                mono = mix_to_mono(block)
                if not np.all(np.isfinite(mono)):
                    raise AudioError(f"{path}: audio contains NaN or infinite samples")
                check.update(mono)
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
        check.warn_content()  # clipped / beyond full scale: one line each
        if stream is not None:
            tail = stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            if tail.size:
                yield np.asarray(tail, dtype=np.float32)


# ------------------------------------------------------------------ input checks (one warning line each)

CLIP_LEVEL = 0.999  # |sample| at or above this counts as full scale
CLIP_RUN = 3  # consecutive full-scale samples that make a clipped spot
CLIP_MIN_SPOTS = 10  # clipped spots before the file is reported
OVER_FULL_SCALE = 2.0  # peak above this (+6 dBFS, float files) is "far beyond full scale"


class AudioChecker:
    """Running checks over a file's mono blocks at its own rate (before resampling); :meth:`warn_all`
    issues one ``UserWarning`` line per problem, each naming the file:

    * truncated: a WAV header declares more sample frames than the file holds;
    * sample rate too low: half the file's rate is below the top of the model's mel range
      (``fmax``, default half the model's rate), so the upper bands are empty;
    * clipped (``CLIP_MIN_SPOTS`` runs of ``CLIP_RUN`` samples at full scale) or far beyond full
      scale (peak above ``OVER_FULL_SCALE``, float files).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.peak = 0.0
        self.clip_spots = 0

    def update(self, mono: np.ndarray) -> None:
        if mono.size == 0:
            return
        a = np.abs(mono)
        self.peak = max(self.peak, float(a.max()))
        full = a >= CLIP_LEVEL
        if full.sum() >= CLIP_RUN:
            run = full[: len(full) - CLIP_RUN + 1].copy()
            for k in range(1, CLIP_RUN):
                run &= full[k: len(full) - CLIP_RUN + 1 + k]
            starts = run & ~np.concatenate([[False], run[:-1]])
            self.clip_spots += int(starts.sum())

    def messages(self, in_sr: int, target_sr: int, fmax: float | None = None, n_frames: int | None = None) -> list[str]:
        return self.header_messages(in_sr, target_sr, fmax, n_frames) + self.content_messages()

    def header_messages(self, in_sr: int, target_sr: int, fmax: float | None = None,
                        n_frames: int | None = None) -> list[str]:
        """What the header and the file's size tell (truncated, sample rate too low): known before any work."""
        out = []
        declared = wav_declared_frames(self.path)
        if declared is not None and n_frames is not None and declared > n_frames:
            out.append(f"{self.path}: truncated: the header declares {declared / in_sr:.2f} s but the file holds "
                       f"{n_frames / in_sr:.2f} s (transcribing what is there)")
        top = float(fmax) if fmax else target_sr / 2
        if in_sr / 2 < top - 1e-6:
            out.append(f"{self.path}: sample rate {in_sr} Hz holds nothing above {in_sr / 2:g} Hz, but the model's "
                       f"mel bands reach {top:g} Hz; expect wrong or missing hits (use {int(2 * top)} Hz or more)")
        return out

    def content_messages(self) -> list[str]:
        """What the samples tell (clipped, far beyond full scale): known after the blocks were :meth:`update`-d."""
        out = []
        if self.peak > OVER_FULL_SCALE:
            out.append(f"{self.path}: peak {self.peak:.1f} is far beyond full scale "
                       f"({20 * np.log10(self.peak):+.0f} dBFS); normalise the file")
        elif self.clip_spots >= CLIP_MIN_SPOTS:
            out.append(f"{self.path}: clipped ({self.clip_spots} runs of full-scale samples); hits may be misread")
        return out

    def warn_all(self, in_sr: int, target_sr: int, fmax: float | None = None, n_frames: int | None = None) -> None:
        self._warn(self.messages(in_sr, target_sr, fmax, n_frames))

    def warn_header(self, in_sr: int, target_sr: int, fmax: float | None = None, n_frames: int | None = None) -> None:
        self._warn(self.header_messages(in_sr, target_sr, fmax, n_frames))

    def warn_content(self) -> None:
        self._warn(self.content_messages())

    @staticmethod
    def _warn(lines) -> None:
        import warnings

        for m in lines:
            warnings.warn(m, UserWarning, stacklevel=4)


def wav_declared_frames(path: str | Path) -> int | None:
    """Sample frames a RIFF/WAVE header's ``data`` chunk declares (None: not a WAV, or a streaming size)."""
    import struct

    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            block_align = None
            while True:
                ch = fh.read(8)
                if len(ch) < 8:
                    return None
                cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
                if cid == b"fmt ":
                    fmt = fh.read(size)
                    if len(fmt) >= 14:
                        block_align = struct.unpack("<H", fmt[12:14])[0]
                    if size % 2:
                        fh.seek(1, 1)
                elif cid == b"data":
                    if not block_align or size in (0, 0xFFFFFFFF):
                        return None
                    return size // block_align
                else:
                    fh.seek(size + (size % 2), 1)
    except OSError:
        return None


def iter_array_blocks(audio: np.ndarray, block: int) -> Iterator[np.ndarray]:
    """An in-memory mono signal as blocks of ``block`` samples (the array twin of :func:`iter_audio_blocks`)."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    for i in range(0, audio.shape[0], max(block, 1)):
        yield audio[i:i + block]
