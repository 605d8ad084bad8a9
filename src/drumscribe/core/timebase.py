"""Seconds <-> frames, in one place.

Feature frame ``i`` is centred on sample ``i * hop_length`` (librosa's
``center=True``), i.e. on time ``i * hop_length / sample_rate`` seconds.
An onset at ``t`` seconds therefore lands in frame ``round(t * sr / hop)``.
Everything outside the model speaks seconds; everything inside speaks frames;
this module is the only place that converts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FrameClock:
    sample_rate: int
    hop_length: int

    @classmethod
    def from_config(cls, audio_cfg) -> "FrameClock":
        return cls(int(audio_cfg.sample_rate), int(audio_cfg.hop_length))

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return self.sample_rate / self.hop_length

    @property
    def frame_duration(self) -> float:
        """Seconds per frame."""
        return self.hop_length / self.sample_rate

    def to_frames(self, seconds):
        """Seconds (scalar or array) -> nearest frame index (int or int array)."""
        f = np.rint(np.asarray(seconds, dtype=np.float64) * self.sample_rate / self.hop_length).astype(np.int64)
        return int(f) if f.ndim == 0 else f

    def to_seconds(self, frames):
        """Frame index (may be fractional, for sub-frame peaks) -> seconds."""
        s = np.asarray(frames, dtype=np.float64) * self.hop_length / self.sample_rate
        return float(s) if s.ndim == 0 else s

    def n_frames(self, n_samples: int) -> int:
        """Number of feature frames librosa (center=True) makes from ``n_samples`` samples."""
        return 1 + int(n_samples) // self.hop_length

    def seconds_to_samples(self, seconds: float) -> int:
        return int(round(seconds * self.sample_rate))


# ------------------------------------------------------------------ sub-frame onset offsets
# A model with ``model.offset_head`` predicts, per drum class and frame, where inside the frame grid the
# onset lies: ``offset`` frames from the frame's centre, trained on the frames within OFFSET_REACH_FRAMES of
# each true onset (the onset's frame and its neighbours, so a peak one frame off still lands on time).
# The network emits ``sigmoid`` outputs; these two functions are the one encoding of that range.
OFFSET_REACH_FRAMES = 1.5


def offset_from_prob(p):
    """Offset head output in [0, 1] -> offset in frames, in [-OFFSET_REACH_FRAMES, OFFSET_REACH_FRAMES]."""
    return OFFSET_REACH_FRAMES * (2.0 * np.asarray(p, dtype=np.float64) - 1.0)


def offset_to_prob(frames):
    """Offset in frames -> the head's target in [0, 1] (inverse of :func:`offset_from_prob`, clipped)."""
    return np.clip((np.asarray(frames, dtype=np.float64) / OFFSET_REACH_FRAMES + 1.0) / 2.0, 0.0, 1.0)
