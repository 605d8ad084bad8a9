"""Learned beat and downbeat activations from transcribed drum events (ONNX Runtime + numpy; no torch).

The beat network is small (a dilated temporal convolution network, about 20 k parameters, trained by
``scripts/train_beats.py``; the torch side is :mod:`drumscribe.training.beat_net`).  It reads the drum
*events* of a transcription, not the drum network's raw activations: the events are what every caller of
:func:`~drumscribe.transcription.beats.track_events` has (MIDI files, the API, charts), and a decoded,
threshold-tuned event list changes far less than raw probabilities when the drum model is retrained.

Input (:func:`event_features`): ``(frames, C)`` float32 at :data:`FPS` frames per second, one channel per
drum class named in the model's sidecar (``input_classes``; a class the transcriber does not have stays
zero, a class the beat model does not know is ignored): each hit adds ``velocity / 127`` at its nearest
frame.  Output (:meth:`BeatNet.activations`): ``(frames, 2)`` probabilities of a beat and of a downbeat
at each frame (a downbeat is a beat too).  A model whose sidecar has ``input_bands`` (round 3) also hears the
audio: after the event channels come :func:`band_channels` of the drum model's log-mel features (collected by
``transcribe_audio`` as ``Transcription.beat_audio``); without audio they are zero.

The shipped model is ``pretrained/beats-default.onnx`` with its sidecar ``beats-default.json`` (format
:data:`SIDECAR_FORMAT`: frame rate, input classes, what it was trained on, and the decoder settings
chosen with it).  :func:`load_default` returns None when the file is absent, and the rule tracker runs.
"""

from __future__ import annotations

import json
import warnings
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from drumscribe.core.errors import DrumscribeError
from drumscribe.core.timebase import FrameClock

FPS = 50  # beat-model frames per second (20 ms: well inside mir_eval's +-70 ms beat window)
CLOCK = FrameClock(sample_rate=FPS, hop_length=1)
DEFAULT_STEM = "beats-default"
SIDECAR_FORMAT = "drumscribe-beat-model"


class BeatModelError(DrumscribeError):
    """A beat model file is missing, corrupt or inconsistent with its sidecar."""


def default_path() -> Path:
    """The bundled beat model's ONNX file."""
    return Path(__file__).resolve().parents[1] / "pretrained" / f"{DEFAULT_STEM}.onnx"


def event_features(times, classes, velocities, class_names: Sequence[str], duration: float,
                   input_classes: Sequence[str]) -> np.ndarray:
    """``(frames, len(input_classes))`` float32 event map at :data:`FPS` (see the module docstring).

    ``times`` seconds, ``classes`` indices into ``class_names``, ``velocities`` 1-127; ``frames`` covers
    ``[0, duration]`` (``CLOCK.to_frames(duration) + 1``).
    """
    n = int(CLOCK.to_frames(max(float(duration), 0.0))) + 1
    out = np.zeros((n, len(input_classes)), dtype=np.float32)
    times = np.asarray(times, dtype=np.float64)
    if not len(times):
        return out
    col = {name: i for i, name in enumerate(input_classes)}
    chan = np.array([col.get(class_names[int(c)], -1) for c in np.asarray(classes)], dtype=np.int64)
    keep = chan >= 0
    f = np.clip(CLOCK.to_frames(times[keep]), 0, n - 1)
    np.add.at(out, (np.atleast_1d(f), chan[keep]), np.asarray(velocities, dtype=np.float32)[keep] / 127.0)
    return out


N_BANDS = 8  # spectral bands of the audio input (round 3): the drum model's log-mel bins in 8 equal groups


def band_means(logmel: np.ndarray, n_bands: int = N_BANDS) -> np.ndarray:
    """``(frames, n_bands)`` float32: the drum model's log-mel features (``(frames, n_mels)`` at its own frame
    rate, :func:`drumscribe.audio.features.compute_features`; the first resolution when several are stacked)
    averaged over ``n_bands`` equal groups of mel bins (low to high: the lowest holds the bass)."""
    x = np.asarray(logmel, dtype=np.float32)
    n = (x.shape[1] // n_bands) * n_bands
    return x[:, :n].reshape(len(x), n_bands, -1).mean(-1)


class BeatAudio(NamedTuple):
    """The audio input a beat model that hears it is handed: the :func:`band_means` of the drum model's
    features, their clock, and :func:`band_feature_params` of the settings they were computed with (None:
    not known, as in a cache built before the settings were recorded)."""

    means: np.ndarray
    clock: FrameClock
    features: dict | None = None


def band_feature_params(audio_cfg) -> dict:
    """The feature settings the band means depend on: the drum model's first log-mel resolution
    (:func:`drumscribe.audio.features.feature_params` without the stacked window lengths, which
    :func:`band_means` never reads).  A beat model's sidecar records them (``audio_features``)."""
    from drumscribe.audio.features import feature_params

    params = feature_params(audio_cfg)
    params.pop("stack_n_ffts", None)
    return params


def band_channels(means: np.ndarray, feature_clock: FrameClock, n_frames: int, stretch: float = 1.0) -> np.ndarray:
    """``(n_frames, 2 * bands)`` float32 audio input of the beat network at :data:`FPS`: each band's log energy
    less its median over the file (/5) and its positive change from the previous feature frame (spectral flux,
    /2: bass notes, chord changes and hits), read at the beat frames' times (``stretch``: the audio played
    ``stretch`` times slower, the training's tempo augmentation) by linear interpolation between feature
    frames; times past the features' end read the last frame."""
    m = np.asarray(means, dtype=np.float32)
    if not len(m):
        return np.zeros((n_frames, 2 * (m.shape[1] if m.ndim == 2 else N_BANDS)), np.float32)
    energy = (m - np.median(m, axis=0)) / 5.0
    flux = np.maximum(np.diff(m, axis=0, prepend=m[:1]), 0.0) / 2.0
    src = np.concatenate([energy, flux], axis=1)
    pos = feature_clock.frame_rate * CLOCK.to_seconds(np.arange(n_frames)) / float(stretch)  # feature frames
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, len(src) - 1)
    i1 = np.clip(i0 + 1, 0, len(src) - 1)
    w = np.clip(pos - np.floor(pos), 0.0, 1.0)[:, None].astype(np.float32)
    return (src[i0] * (1 - w) + src[i1] * w).astype(np.float32)


def network_input(times, classes, velocities, class_names: Sequence[str], duration: float, input_classes,
                  n_bands: int = 0, audio=None, stretch: float = 1.0) -> np.ndarray:
    """``(frames, C [+ 2 n_bands])`` input of the beat network: the :func:`event_features` map, then (``n_bands``
    > 0) the audio's :func:`band_channels` from ``audio`` (a :class:`BeatAudio`, or ``(band_means,
    feature_clock)``), or zeros without audio (a MIDI file, an event list, an oracle training item)."""
    x = event_features(times, classes, velocities, class_names, duration, input_classes)
    if not n_bands:
        return x
    if audio is None:
        a = np.zeros((len(x), 2 * n_bands), np.float32)
    else:
        a = band_channels(audio[0], audio[1], len(x), stretch)
    return np.concatenate([x, a], axis=1)


class BeatNet:
    """An ONNX beat network and its sidecar (``X.onnx`` + ``X.json``).

    ``meta``: the sidecar dict (``fps``, ``input_classes``, ``decoder`` settings, ``training``).
    """

    def __init__(self, path: str | Path):
        import onnxruntime as ort

        self.path = Path(path)
        side = self.path.with_suffix(".json")
        try:
            self.meta = json.loads(side.read_text())
        except (OSError, ValueError) as exc:
            raise BeatModelError(f"{side}: beat model sidecar not readable ({exc})") from None
        if self.meta.get("format") != SIDECAR_FORMAT or int(self.meta.get("fps", 0)) != FPS:
            raise BeatModelError(f"{side}: not a {SIDECAR_FORMAT} sidecar at {FPS} fps")
        self.input_classes = list(self.meta["input_classes"])
        self.input_bands = int(self.meta.get("input_bands", 0))  # round 3: audio bands beside the events
        # the drum model's feature settings the bands were trained on (band_feature_params; absent in sidecars
        # written before they were recorded: then any bands are taken as they come)
        self.audio_features = self.meta.get("audio_features")
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=so, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise BeatModelError(f"{self.path}: not a readable ONNX model ({type(exc).__name__}: {exc})") from None
        self.input_name = self.session.get_inputs()[0].name

    @property
    def decoder(self) -> dict:
        """Decoder settings chosen with this model (keyword arguments of ``bar_tracker.decode``)."""
        return dict(self.meta.get("decoder", {}))

    def activations(self, features: np.ndarray) -> np.ndarray:
        """``(frames, 2)`` float32 beat and downbeat probabilities of ``(frames, C)`` features."""
        x = np.asarray(features, dtype=np.float32)[None]
        return np.asarray(self.session.run(None, {self.input_name: x})[0][0], dtype=np.float32)

    def activations_of_events(self, times, classes, velocities, class_names, duration, audio=None) -> np.ndarray:
        """Activations of a transcription's events; ``audio``: ``(band_means, feature_clock)`` of its audio
        (:func:`band_means` of the drum model's features, their clock) for a model with ``input_bands``; without
        it (a MIDI file, an event list) the audio channels stay zero, as on the oracle items it was trained on.
        Bands computed with other feature settings than the model's (a drum model with other mel settings,
        :attr:`audio_features`) mean nothing to it: they are left out the same way, with one warning."""
        return self.activations(network_input(times, classes, velocities, class_names, duration,
                                              self.input_classes, self.input_bands, self.heard(audio)))

    def heard(self, audio):
        """``audio`` where its feature settings are the model's (or either is not known), else None."""
        features = getattr(audio, "features", None)  # None too for no audio, or a plain (means, clock) pair
        # dicts of numbers and strings: 11025 == 11025.0 as a sidecar reads it back
        if features is None or self.audio_features is None or features == self.audio_features:
            return audio
        warnings.warn(f"{self.path.name}: its audio bands were trained on other feature settings than this drum "
                      "model's; the beats are tracked from the drum hits alone", stacklevel=3)
        return None


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> BeatNet:
    return BeatNet(path)


def load(path: str | Path) -> BeatNet:
    """The :class:`BeatNet` at ``path`` (kept in memory; re-read when the file changes)."""
    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError:
        raise BeatModelError(f"{p}: no such beat model") from None
    return _load(str(p), mtime)


def load_default() -> BeatNet | None:
    """The bundled beat model, or None when it is not installed (or onnxruntime is missing)."""
    p = default_path()
    if not p.exists() or not p.with_suffix(".json").exists():
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    return load(p)
