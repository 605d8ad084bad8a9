"""Hand-made drum grooves with a known beat grid (for test_beats / test_midi_out / test_score)."""

import numpy as np

from drumscribe.transcription.decoding import Event
from drumscribe.core.drums import CLASSES

KICK, SNARE, HIHAT, CRASH = (CLASSES.index(n) for n in ("kick", "snare", "hihat", "crash"))


def groove(beats: np.ndarray, beats_per_bar: int = 4, jitter: float = 0.008, seed: int = 0, start_beat: int = 0):
    """Rock groove on ``beats`` (seconds): kick on 1 (and 3), snare on the back-beats, hi-hat eighths,
    a crash on every 4th bar's downbeat.  Returns ``(events, downbeats)``; timing jitter +-``jitter`` s."""
    rng = np.random.default_rng(seed)
    ev = []
    for i, b in enumerate(beats[:-1]):
        pos = (i + start_beat) % beats_per_bar
        nxt = beats[i + 1]
        j = lambda: float(rng.uniform(-jitter if b > jitter else 0.0, jitter))  # noqa: E731
        ev.append(Event(b + j(), HIHAT, 80, 0.9))
        ev.append(Event(b + (nxt - b) / 2 + j(), HIHAT, 60, 0.9))
        if pos == 0 or (beats_per_bar == 4 and pos == 2):
            ev.append(Event(b + j(), KICK, 110, 0.9))
        if (beats_per_bar == 4 and pos in (1, 3)) or (beats_per_bar == 3 and pos in (1, 2)):
            ev.append(Event(b + j(), SNARE, 100, 0.9))
        if pos == 0 and ((i + start_beat) // beats_per_bar) % 4 == 0:
            ev.append(Event(b + j(), CRASH, 100, 0.9))
    ev.sort(key=lambda e: (e.time, e.cls))
    down = beats[[i for i in range(len(beats)) if (i + start_beat) % beats_per_bar == 0]]
    return ev, down


def steady_beats(bpm: float, duration: float, offset: float = 0.0) -> np.ndarray:
    return offset + np.arange(0, duration - offset, 60.0 / bpm)


def drifting_beats(bpm0: float, bpm1: float, duration: float) -> np.ndarray:
    """Beats whose tempo moves linearly from ``bpm0`` to ``bpm1`` over ``duration`` seconds."""
    out, t = [0.0], 0.0
    while t < duration:
        bpm = bpm0 + (bpm1 - bpm0) * t / duration
        t += 60.0 / bpm
        out.append(t)
    return np.asarray(out[:-1])
