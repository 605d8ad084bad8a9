"""Audio -> activations -> events, with memory flat in the audio's length.

Pipeline of :func:`transcribe_audio` (every stage is a generator over blocks):

1. :func:`iter_audio_blocks`: the file is read in blocks (``soundfile``), mixed
   to mono and resampled with a streaming ``soxr`` resampler;
2. :func:`iter_feature_blocks`: log-mel frames are computed chunk by chunk;
   each chunk carries ``ceil(n_fft / 2 / hop) * hop`` samples of real context
   on both sides (zeros beyond the file's ends, as the whole-file STFT pads),
   so the frames equal :func:`drumscribe.audio.features.compute_features` of the
   whole file;
3. :class:`WindowStitcher`: the model runs on overlapping windows of
   ``window_s`` seconds that advance by ``window_s - overlap_s``; window ``k``
   keeps only its centre (from ``overlap/2`` after its start to ``overlap/2``
   before its end; the first window keeps its head, the last its tail), so
   every kept frame sees at least ``overlap/2`` of context on both sides.
   Ready windows of equal length run as one batch (``batch_windows``): the
   GRU then steps ``window`` frames instead of the file's length.

Only the activations ``(frames, classes)`` (a few hundred bytes per second of
audio) grow with the file.  The model is either an ONNX Runtime model
(:mod:`drumscribe.transcription.onnx_runtime`; torch is then never imported) or the torch
network, run under ``torch.inference_mode`` on ``device`` by :mod:`drumscribe.training.torch_runner` (see
:func:`window_runner`); threads are the model's (``drumscribe transcribe --threads``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drumscribe.audio.features import StreamStats, iter_feature_blocks
from drumscribe.audio.io import AUDIO_BLOCK_S, SILENCE_PEAK, iter_array_blocks, iter_audio_blocks, resample
from drumscribe.transcription.beat_model import BeatAudio, band_feature_params, band_means
from drumscribe.transcription.decoding import DecodeSettings, Event, decode, fold_articulations, written_articulations
from drumscribe.core.timebase import FrameClock

DEFAULT_WINDOW_S = 20.0
DEFAULT_OVERLAP_S = 3.0
DEFAULT_BATCH_WINDOWS = 8


# ------------------------------------------------------------------ model windows

class WindowStitcher:
    """Run ``model`` on overlapping windows of a frame stream; emit the stitched activations in order.

    ``feed(features)`` / ``finish()`` return lists of ``(onset_probs, velocity_probs|None)`` blocks,
    each ``(n, n_classes)`` float32.  See the module docstring for the window rule.
    """

    def __init__(self, model, window_frames: int, overlap_frames: int, batch_windows: int = DEFAULT_BATCH_WINDOWS,
                 device: str = "cpu"):
        if window_frames <= overlap_frames:
            raise ValueError("window must be longer than the overlap")
        self.run_windows = window_runner(model, device)
        self.window = int(window_frames)
        self.overlap = int(overlap_frames)
        self.step = self.window - self.overlap
        self.left = self.overlap // 2  # context kept before each window's centre
        self.batch_windows = max(int(batch_windows), 1)
        self.device = device
        self.buf = None  # features from global frame self.buf_start
        self.buf_start = 0
        self.k = 0  # next window index
        self.pending: list[tuple[np.ndarray, int, int, int]] = []  # (features, start, keep_lo, keep_hi)

    def _run(self, windows: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        return self.run_windows(np.stack(windows))

    def _flush(self) -> list[tuple[np.ndarray, np.ndarray | None]]:
        results = []
        i = 0
        while i < len(self.pending):  # batch consecutive windows of equal length
            j = i
            n = self.pending[i][0].shape[0]
            while j < len(self.pending) and j - i < self.batch_windows and self.pending[j][0].shape[0] == n:
                j += 1
            onset, vel = self._run([p[0] for p in self.pending[i:j]])
            for b, (_, start, lo, hi) in enumerate(self.pending[i:j]):
                results.append((onset[b, lo - start:hi - start], None if vel is None else vel[b, lo - start:hi - start]))
            i = j
        self.pending = []
        return results

    def _window_bounds(self, k: int, end: int | None) -> tuple[int, int, int, int]:
        start = k * self.step
        stop = start + self.window if end is None else end
        lo = 0 if k == 0 else start + self.left
        hi = stop if end is not None else start + self.step + self.left
        return start, stop, lo, hi

    def feed(self, feats: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
        feats = np.asarray(feats, dtype=np.float32)
        self.buf = feats if self.buf is None else np.concatenate([self.buf, feats])
        while self.buf_start + self.buf.shape[0] >= (self.k * self.step + self.window):
            start, stop, lo, hi = self._window_bounds(self.k, None)
            self.pending.append((self.buf[start - self.buf_start:stop - self.buf_start], start, lo, hi))
            self.k += 1
            drop = self.k * self.step - self.buf_start
            self.buf = self.buf[drop:]
            self.buf_start += drop
        if len(self.pending) >= self.batch_windows:
            return self._flush()
        return []

    def finish(self) -> list[tuple[np.ndarray, np.ndarray | None]]:
        end = self.buf_start + (0 if self.buf is None else self.buf.shape[0])
        start, stop, lo, hi = self._window_bounds(self.k, end)
        if self.buf is not None and hi > lo and stop > start:
            self.pending.append((self.buf[start - self.buf_start:stop - self.buf_start], start, lo, hi))
        out = self._flush()
        self.buf = None
        return out


def window_runner(model, device: str = "cpu"):
    """``f(windows) -> (onset_probs, velocity_probs|None)`` for a batch ``(B, T, n_mels)`` float32.

    ``model``: anything with ``run_windows`` (an ONNX Runtime :class:`drumscribe.transcription.onnx_runtime.OnnxModel`)
    or with ``window_runner(device)`` (the torch :class:`~drumscribe.training.model.DrumTranscriptionCRNN`, whose
    runner lives in :mod:`drumscribe.training.torch_runner`).  This module never imports torch or the training code.
    """
    if hasattr(model, "run_windows"):
        return model.run_windows
    if hasattr(model, "window_runner"):
        return model.window_runner(device)
    raise TypeError(f"{type(model).__name__}: not a drumscribe model (no run_windows or window_runner)")


def window_frames_for(clock: FrameClock, window_s: float, overlap_s: float) -> tuple[int, int]:
    w = max(int(round(window_s * clock.frame_rate)), 2)
    o = min(max(int(round(overlap_s * clock.frame_rate)), 0), w - 1)
    return w, o


def _concat(blocks: list[tuple[np.ndarray, np.ndarray | None]], n_classes: int) -> tuple[np.ndarray, np.ndarray | None]:
    if not blocks:
        return np.zeros((0, n_classes), dtype=np.float32), None
    onset = np.concatenate([b[0] for b in blocks]).astype(np.float32, copy=False)
    vel = None if blocks[0][1] is None else np.concatenate([b[1] for b in blocks]).astype(np.float32, copy=False)
    return onset, vel


def predict_features(model, features: np.ndarray, clock: FrameClock, window_s: float | None = DEFAULT_WINDOW_S,
                     overlap_s: float = DEFAULT_OVERLAP_S, batch_windows: int = DEFAULT_BATCH_WINDOWS,
                     device: str = "cpu") -> tuple[np.ndarray, np.ndarray | None]:
    """Activations of in-memory features ``(frames, n_mels)`` -> ``(onset_probs, velocity_probs|None)``, ``(frames, classes)``.

    ``window_s=None`` runs one pass over the whole array (the reference the windowed path is tested against).
    """
    n_classes = int(getattr(model, "n_outputs", model.n_classes))  # onset columns: drums + articulations
    if window_s is None:
        st = WindowStitcher(model, max(features.shape[0], 1) + 1, 0, 1, device)  # never fills: one pass in finish()
        return _concat(st.feed(features) + st.finish(), n_classes)
    w, o = window_frames_for(clock, window_s, overlap_s)
    st = WindowStitcher(model, w, o, batch_windows, device)
    blocks = st.feed(features)
    blocks += st.finish()
    return _concat(blocks, n_classes)


# ------------------------------------------------------------------ end to end

@dataclass
class Transcription:
    """Result of :func:`transcribe_audio`.

    ``onset_probs`` / ``velocity_probs``: ``(frames, classes)`` float32 (velocity None without a head);
    ``events``: decoded :class:`~drumscribe.transcription.decoding.Event` list; ``duration``: seconds;
    ``silent``: the audio's peak is below -80 dBFS (then ``events`` is empty).
    """

    onset_probs: np.ndarray
    velocity_probs: np.ndarray | None
    events: list[Event]
    duration: float
    clock: FrameClock
    class_names: list[str]
    thresholds: list[float]
    silent: bool = False
    peak: float = 0.0
    timings: dict = field(default_factory=dict)
    midi_config: object = None  # the model's ``cfg.midi`` (GM notes, ticks, tempo) for the writers below
    source: Path | None = None  # the audio file transcribed (None for an array): never written over
    # band means of the features, their clock and settings: the audio input of a beat model that hears it
    # (drumscribe.transcription.beat_model.BeatAudio; beats.track_events(audio=...))
    beat_audio: BeatAudio | None = None

    # The writers keep the project's overwrite rule (drumscribe.core.outputs): an existing file is replaced
    # only with ``overwrite=True`` (else OutputExistsError naming it); the source audio and any existing audio
    # file never.  Writes are atomic.

    def to_midi(self, path, overwrite: bool = False) -> "Path":
        """Write a General MIDI drum file (see :mod:`drumscribe.transcription.midi_out`); returns the path."""
        if path is None:  # MIDI is binary: there is no text to return (to_json()/to_csv() without a path do that)
            from drumscribe.core.errors import DrumscribeError

            raise DrumscribeError("to_midi: a path is needed (MIDI is a binary file; to_json() and to_csv() "
                                  "return text without one)")
        return self._write(path, "midi", overwrite)

    def to_json(self, path=None, overwrite: bool = False):
        """The events as JSON text (the format of ``drumscribe transcribe --format json``); with ``path``:
        written there, the path returned."""
        return self._write(path, "json", overwrite)

    def to_csv(self, path=None, overwrite: bool = False):
        """The events as CSV text (``time,class,name,note,velocity,strength,...``); with ``path``: written there."""
        return self._write(path, "csv", overwrite)

    def _write(self, path, fmt: str, overwrite: bool):
        from drumscribe.transcription.midi_out import events_bytes

        data = events_bytes(self.events, self.class_names, self.midi_config, fmt, self.duration)
        if path is None:
            return data.decode()
        from drumscribe.core.atomic import atomic_write_bytes
        from drumscribe.core.outputs import guard_api_write

        path = guard_api_write(path, overwrite, self.source)
        atomic_write_bytes(path, data)
        return path


MAX_CHANNELS = 64  # a (samples, channels) array has at most this many columns


def audio_array(audio, sample_rate) -> tuple[np.ndarray, int | None]:
    """``(mono float32 samples, sample_rate)`` of an in-memory ``audio`` argument, checked.

    Accepted: shape ``(samples,)`` or ``(samples, channels)`` (channels are averaged), float samples at
    full scale 1.0, or integer PCM (int8/16/32/64 scaled by their full scale, uint8 centred on 128, as WAV
    readers give them); at least one sample, all finite.  ``sample_rate``: a whole number of Hz within
    :data:`drumscribe.core.options.RANGES` (None: the model's rate).  Anything else is an :class:`~drumscribe.core.errors.AudioError` naming the
    ``audio`` or ``sample_rate`` argument; a ``(channels, samples)`` array is refused (pass ``audio.T``).
    """
    from drumscribe.core.errors import AudioError

    sr = check_sample_rate(sample_rate)
    if audio is None or isinstance(audio, (bytes, bytearray, str, int, float, bool)):
        raise AudioError(f"audio: expected a file path or a (samples,) / (samples, channels) array, "
                         f"got {type(audio).__name__}")
    try:
        arr = np.asarray(audio)
    except (TypeError, ValueError) as exc:
        raise AudioError(f"audio: not an array of samples ({exc})") from None
    if arr.dtype.kind not in "fiu":
        raise AudioError(f"audio: dtype {arr.dtype} is not audio samples (expected float or integer PCM)")
    if arr.ndim == 0:
        raise AudioError("audio: a single number, not an array of samples")
    if arr.ndim > 2:
        raise AudioError(f"audio: shape {arr.shape}; expected (samples,) or (samples, channels)")
    if arr.ndim == 2 and arr.shape[1] > MAX_CHANNELS:
        if arr.shape[0] <= MAX_CHANNELS:
            raise AudioError(f"audio: shape {arr.shape} looks like (channels, samples); pass audio.T, "
                             "shaped (samples, channels)")
        raise AudioError(f"audio: shape {arr.shape}; expected (samples,) or (samples, channels <= {MAX_CHANNELS})")
    if arr.size == 0:
        raise AudioError(f"audio: empty (shape {arr.shape}); nothing to transcribe")
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float32, copy=False)
        if not np.isfinite(arr).all():
            first = int(np.flatnonzero(~np.isfinite(arr.reshape(arr.shape[0], -1)).any(axis=1))[0])
            raise AudioError(f"audio: holds NaN or infinite samples (first at sample {first})")
    elif arr.dtype.kind == "i":
        arr = (arr.astype(np.float64) / float(-np.iinfo(arr.dtype).min)).astype(np.float32)
    else:  # unsigned PCM: silence at the middle code
        mid = float(np.iinfo(arr.dtype).max + 1) / 2.0
        arr = ((arr.astype(np.float64) - mid) / mid).astype(np.float32)
    if arr.ndim == 2:  # (samples, channels)
        arr = arr.mean(axis=1)
    return arr, sr


def check_sample_rate(sample_rate) -> int | None:
    """``sample_rate`` as an int (None stays None) within the CLI's range table (``sample_rate`` in
    :data:`drumscribe.core.options.RANGES`), else a :class:`DrumscribeError` naming it."""
    from drumscribe.core.options import check_argument

    if sample_rate is None:
        return None
    check_argument("sample_rate", sample_rate)
    return int(sample_rate)


def envelope_hop(cfg) -> float:
    """The hop (seconds) of the band envelopes :func:`measured` needs: refined onsets need 1 ms, levels alone 4 ms."""
    from drumscribe.transcription import levels, refine

    return refine.HOP_S if cfg.postprocessing.onset_refine == "signal" else levels.HOP_S


def measured(events: list, envelopes, cfg, class_names, levels: bool = True) -> list:
    """``events`` with what the band ``envelopes`` measure, as ``cfg.postprocessing`` asks: each class's
    velocities from its hits' levels (``velocity_levels``, :mod:`drumscribe.transcription.levels`, at the
    decoded times; only where ``levels``: the velocities are the head's), then each onset moved to its attack
    (``onset_refine=signal``, :mod:`~drumscribe.transcription.refine`)."""
    pp = cfg.postprocessing
    if pp.velocity_levels and levels:
        from drumscribe.transcription.levels import relevel_events

        events = relevel_events(events, envelopes, class_names, pp.velocity_levels)
    if pp.onset_refine == "signal":
        from drumscribe.transcription.refine import refine_events

        events = refine_events(events, envelopes)
    return events


def transcribe_audio(bundle, audio, *, sample_rate: int | None = None, thresholds=None,
                     velocity_source: str = "auto", window_s: float = DEFAULT_WINDOW_S,
                     overlap_s: float = DEFAULT_OVERLAP_S, batch_windows: int = DEFAULT_BATCH_WINDOWS,
                     device: str = "cpu", interpolate: bool = False, articulations: str = "shown") -> Transcription:
    """Transcribe ``audio``: a path (any format, rate and channel count), or an array at ``sample_rate``
    (default the model's rate) as :func:`audio_array` accepts it (shapes, dtypes, checks).

    ``bundle``: a :class:`drumscribe.transcription.bundle.ModelBundle`.  ``thresholds``: None (the bundle's),
    a scalar or one per class.  Decoding settings (minimum interval, peak distance, default
    velocity, ``postprocessing.onset_refine``, the head's velocities set by each hit's level where
    ``postprocessing.velocity_levels`` has coefficients) come from ``bundle.config``.  ``articulations``: ``"shown"`` (the
    articulations shown right for this model, ``postprocessing.written_articulations``), ``"all"`` or
    ``"none"``; the others are written as their drum's plain stroke (:func:`~drumscribe.transcription.decoding.written_articulations`).
    """
    import time

    cfg = bundle.config
    acfg = cfg.audio
    clock = FrameClock.from_config(acfg)
    sr = int(acfg.sample_rate)
    source = None
    if isinstance(audio, (str, Path)):
        check_sample_rate(sample_rate)
        source = Path(audio)
        blocks = iter_audio_blocks(audio, sr, fmax=acfg.fmax)
    else:
        arr, rate = audio_array(audio, sample_rate)
        if rate is not None and rate != sr:
            arr = resample(arr, rate, sr)
        blocks = iter_array_blocks(arr, int(AUDIO_BLOCK_S * sr))
    model = bundle.model
    stats = StreamStats()
    tracker = None
    # the hits' levels set the velocities only where they are the head's (not --velocity fixed/strength)
    levels = bool(cfg.postprocessing.velocity_levels) and velocity_source in ("auto", "head")
    if cfg.postprocessing.onset_refine == "signal" or levels:
        # band envelopes measured as the audio streams past (onset times, hit levels)
        from drumscribe.transcription.refine import BandEnvelopes, tapped

        tracker = BandEnvelopes(sr, bundle.class_names, hop_s=envelope_hop(cfg))
        blocks = tapped(blocks, tracker)
    w, o = window_frames_for(clock, window_s, overlap_s)
    stitcher = WindowStitcher(model, w, o, batch_windows, device)
    out: list = []
    t0 = time.perf_counter()
    t_model = 0.0
    bands = []
    for feats in iter_feature_blocks(blocks, acfg, stats=stats):
        bands.append(band_means(feats[:, :int(acfg.n_mels)]))
        t1 = time.perf_counter()
        out += stitcher.feed(feats)
        t_model += time.perf_counter() - t1
    t1 = time.perf_counter()
    out += stitcher.finish()
    t_model += time.perf_counter() - t1
    onset, vel = _concat(out, int(getattr(model, "n_outputs", len(bundle.class_names))))
    th = bundle.thresholds if thresholds is None else thresholds
    th_list = list(np.broadcast_to(np.asarray(th, dtype=np.float64), (len(bundle.class_names),)).tolist())
    silent = stats.peak < SILENCE_PEAK
    t2 = time.perf_counter()
    events = [] if silent else decode(
        onset, DecodeSettings.from_config(cfg, th_list, velocity_source=velocity_source, interpolate=interpolate), vel)
    if tracker is not None and events:
        events = measured(events, tracker.finish(), cfg, bundle.class_names, levels=levels and vel is not None)
    events = fold_articulations(events, written_articulations(cfg, articulations))
    t3 = time.perf_counter()
    return Transcription(
        onset_probs=onset, velocity_probs=vel, events=events, duration=stats.n_samples / sr, clock=clock,
        class_names=list(bundle.class_names), thresholds=th_list, silent=silent, peak=stats.peak,
        midi_config=cfg.midi, source=source, beat_audio=BeatAudio(np.concatenate(bands), clock, band_feature_params(acfg)) if bands else None,
        timings={"total": t3 - t0, "model": t_model, "features_and_io": (t2 - t0) - t_model, "decode": t3 - t2},
    )
