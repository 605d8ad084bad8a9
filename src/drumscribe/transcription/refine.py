"""Signal-measured sub-frame onset times (``postprocessing.onset_refine: signal``).  numpy only, no torch.

The network decides *that* a drum was hit on a frame (hop 512 at 22.05 kHz: 23.2 ms); this module
measures *when* in the audio, finer than the frame grid.  For each decoded event of class ``c`` at
frame time ``t``:

1. **envelope**: the log energy (dB) of ``c``'s own frequency band (:data:`BANDS`) from short
   Hann-windowed FFT frames (:data:`WINDOW_S`, about 11.6 ms) every :data:`HOP_S` (about 1 ms), each
   frame centred on its time (no filter delay); computed while the audio streams
   (:class:`BandEnvelopes`, ``n_classes`` floats per millisecond, not the audio);
2. **attack**: within ``t ± SEARCH_S`` the steepest rise of the envelope over :data:`RISE_S`;
3. **onset**: the time at which the envelope, going back from that rise, crosses
   ``floor + FRACTION * (peak - floor)`` (``floor``: the lowest level in :data:`FLOOR_S` before the
   rise; ``peak``: the highest in :data:`PEAK_S` after it), linearly interpolated between envelope
   frames, plus :data:`LEAD_S` (the constant that maps that crossing to the hit's start, chosen on
   synthetic GMD *validation* renderings, see ``docs/evaluation.md``);
4. **guards**: the frame time is kept when the rise is below :data:`MIN_RISE_DB` (no clear attack:
   a soft hit under a louder sound), when the steepest rise lies on the search window's edge (the
   attack may be outside it), or when the measured onset is more than :data:`MAX_SHIFT_S` (about
   one frame) from the frame time.

Events keep their class, velocity, strength and articulation; only ``time`` changes (so ``--quantize``
still snaps them, and every F1 at ±50 ms moves by at most the hits that cross its window's edge).
Measured in ``docs/evaluation.md`` ("Onset timing and velocity") and MODEL_CARD.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np

from drumscribe.core.config import ONSET_REFINE_MODES as REFINE_MODES  # the setting's values, one home


HOP_S = 0.001  # envelope hop (seconds)
WINDOW_S = 0.0116  # FFT window (seconds; the nearest power of two in samples)
SEARCH_S = 0.020  # the attack is searched within the frame time ± this
RISE_S = 0.003  # the rise is measured over this span
FLOOR_S = 0.010  # the floor: the lowest level in this span before the rise
PEAK_S = 0.010  # the peak: the highest level in this span after the rise
FRACTION = 0.5  # onset: where the envelope crosses floor + FRACTION * (peak - floor) ...
DROP_DB = 10.0  # ... or peak - DROP_DB when that is higher (a floor of silence would make it early)
MIN_RISE_DB = 3.0  # a smaller rise is no clear attack: the frame time is kept
MAX_SHIFT_S = 0.025  # never move an onset further than this (about one frame)
LEAD_S = 0.001  # added to the measured crossing (see the module docstring)
FLOOR_DB = -120.0  # energies below this (dB re full scale) count as this

# each class's own band (Hz), by class name (drumscribe.core.drums.CLASSES); a name not listed: broadband
BANDS: dict[str, tuple[float, float]] = {
    "kick": (30.0, 250.0),
    "snare": (150.0, 6000.0),
    "hihat": (6000.0, 20000.0),
    "hi_tom": (100.0, 1500.0),
    "mid_tom": (80.0, 1200.0),
    "low_tom": (50.0, 800.0),
    "crash": (4000.0, 20000.0),
    "ride": (3000.0, 20000.0),
}
BROADBAND = (30.0, 20000.0)


@dataclass
class Envelopes:
    """``db``: ``(frames, classes)`` float32 band log energies; frame ``k`` is centred on ``k * hop_s`` seconds."""

    db: np.ndarray
    hop_s: float


class BandEnvelopes:
    """Streaming band envelopes: ``feed(mono block)`` in order, then ``finish()`` -> :class:`Envelopes`.

    Frames equal those of the whole signal zero-padded by half a window on both sides, whatever the
    block sizes."""

    def __init__(self, sample_rate: int, class_names: Sequence[str], bands: dict | None = None,
                 hop_s: float = HOP_S, window_s: float = WINDOW_S):
        self.sr = int(sample_rate)
        self.hop = max(int(round(self.sr * hop_s)), 1)
        self.n_fft = int(2 ** round(np.log2(max(self.sr * window_s, 16))))
        self.half = self.n_fft // 2
        bands = BANDS if bands is None else bands
        freqs = np.fft.rfftfreq(self.n_fft, 1.0 / self.sr)
        w = np.zeros((freqs.size, len(class_names)), dtype=np.float64)
        for c, name in enumerate(class_names):
            lo, hi = bands.get(name, BROADBAND)
            sel = (freqs >= lo) & (freqs <= hi)
            if not sel.any():  # a band narrower than a bin: its nearest bin
                sel[np.argmin(np.abs(freqs - (lo + hi) / 2))] = True
            w[sel, c] = 1.0
        self.weights = w
        self.window = np.hanning(self.n_fft + 2)[1:-1]  # symmetric, no zero end points
        self.buf = np.zeros(self.half, dtype=np.float64)  # the left zero padding
        self.buf_start = -self.half  # global sample index of buf[0]
        self.next_k = 0
        self.n_samples = 0
        self.parts: list[np.ndarray] = []

    def _frames_until(self, last_k: int) -> None:
        if last_k < self.next_k:
            return
        first = self.next_k * self.hop - self.half - self.buf_start
        n = last_k - self.next_k + 1
        view = np.lib.stride_tricks.sliding_window_view(self.buf[first:], self.n_fft)[::self.hop][:n]
        spec = np.abs(np.fft.rfft(view * self.window, axis=1)) ** 2
        energy = spec @ self.weights / (self.n_fft * self.n_fft)
        self.parts.append(np.maximum(10.0 * np.log10(energy + 1e-30), FLOOR_DB).astype(np.float32))
        self.next_k = last_k + 1
        drop = self.next_k * self.hop - self.half - self.buf_start
        if drop > 0:
            self.buf = self.buf[drop:]
            self.buf_start += drop

    def feed(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float64).reshape(-1)
        self.n_samples += block.size
        self.buf = np.concatenate([self.buf, block])
        end = self.buf_start + self.buf.size
        self._frames_until((end - self.half - self.n_fft % 2) // self.hop)

    def finish(self) -> Envelopes:
        self.buf = np.concatenate([self.buf, np.zeros(self.n_fft, dtype=np.float64)])
        self._frames_until(max(self.n_samples - 1, 0) // self.hop)
        db = np.concatenate(self.parts) if self.parts else np.zeros((0, self.weights.shape[1]), np.float32)
        return Envelopes(db, self.hop / self.sr)


def envelopes_of(blocks: Iterable[np.ndarray], sample_rate: int, class_names: Sequence[str],
                 hop_s: float = HOP_S) -> Envelopes:
    """:class:`BandEnvelopes` of a whole stream of mono blocks at ``sample_rate``."""
    tracker = BandEnvelopes(sample_rate, class_names, hop_s=hop_s)
    for b in blocks:
        tracker.feed(b)
    return tracker.finish()


def attack_time(env: np.ndarray, hop_s: float, t: float, *, search_s: float = SEARCH_S, rise_s: float = RISE_S,
                floor_s: float = FLOOR_S, peak_s: float = PEAK_S, fraction: float = FRACTION,
                min_rise_db: float = MIN_RISE_DB, max_shift_s: float = MAX_SHIFT_S,
                lead_s: float = LEAD_S, drop_db: float = DROP_DB) -> float | None:
    """The measured onset (seconds) near ``t`` on one band envelope ``env`` (dB, one frame per ``hop_s``),
    or None when a guard keeps the frame time (see the module docstring)."""
    n = env.shape[0]
    k = max(int(round(rise_s / hop_s)), 1)
    c = int(round(t / hop_s))
    s = int(round(search_s / hop_s))
    lo, hi = max(c - s, k), min(c + s, n - 1)
    if hi - lo < 2:
        return None
    e = env.astype(np.float64)
    rise = e[lo:hi + 1] - e[lo - k:hi + 1 - k]
    i = int(np.argmax(rise))
    if rise[i] < min_rise_db or i == 0 or i == rise.size - 1:
        return None
    top = lo + i  # the rise ends here
    f0 = max(top - k - int(round(floor_s / hop_s)), 0)
    floor = e[f0:top - k + 1].min()
    peak = e[top:min(top + int(round(peak_s / hop_s)) + 1, n)].max()
    level = max(floor + fraction * (peak - floor), peak - drop_db)
    m = top
    while m > f0 and e[m - 1] >= level:  # back to the last frame below the level
        m -= 1
    if m == f0 or e[m] == e[m - 1]:
        return None
    crossing = (m - 1) + (level - e[m - 1]) / (e[m] - e[m - 1])
    onset = crossing * hop_s + lead_s
    return None if abs(onset - t) > max_shift_s else float(onset)


def refine_events(events: Sequence, envelopes: Envelopes, **params) -> list:
    """``events`` (:class:`~drumscribe.transcription.decoding.Event`) with each ``time`` replaced by its
    measured onset where the guards allow (:func:`attack_time`; ``params`` override its defaults),
    sorted by (time, class) again."""
    out = []
    for e in events:
        t = attack_time(envelopes.db[:, e.cls], envelopes.hop_s, e.time, **params)
        out.append(e if t is None else replace(e, time=max(t, 0.0)))
    out.sort(key=lambda e: (e.time, e.cls))
    return out


def check_mode(mode: str) -> str:
    if mode not in REFINE_MODES:
        raise ValueError(f"onset refinement must be one of {REFINE_MODES}, got {mode!r}")
    return mode


def file_envelopes(path, audio_cfg, class_names: Sequence[str], hop_s: float = HOP_S) -> Envelopes:
    """:class:`Envelopes` of an audio file, from the very blocks ``transcribe`` streams (mono, the model's rate)."""
    from drumscribe.audio.io import iter_audio_blocks

    sr = int(audio_cfg.sample_rate)
    return envelopes_of(iter_audio_blocks(path, sr, fmax=audio_cfg.fmax), sr, class_names, hop_s)


def tapped(blocks: Iterable[np.ndarray], tracker: BandEnvelopes):
    """The mono ``blocks`` passed on unchanged, each fed to ``tracker`` on the way."""
    for b in blocks:
        tracker.feed(b)
        yield b
