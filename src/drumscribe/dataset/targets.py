"""MIDI in: drum notes and frame targets.  (MIDI *out* lives in ``midi_out``.)"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drumscribe.core.errors import MidiError
from drumscribe.core.timebase import FrameClock


@dataclass
class DrumNotes:
    """Note onsets of one file, sorted by time.

    times: seconds ``(N,)`` float64; pitches: MIDI note ``(N,)`` int; velocities: 1-127 ``(N,)`` int.
    """

    times: np.ndarray
    pitches: np.ndarray
    velocities: np.ndarray


def read_drum_notes(path: str | Path, allow_empty: bool = False) -> DrumNotes:
    """All note-on events of a MIDI file (every track; tempo map honoured)."""
    import pretty_midi

    path = Path(path)
    if not path.is_file():
        raise MidiError(f"{path}: MIDI file not found")
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:
        raise MidiError(f"{path}: cannot read MIDI ({type(exc).__name__}: {exc})") from None
    notes = [(n.start, n.pitch, n.velocity) for inst in pm.instruments for n in inst.notes]
    if not notes and not allow_empty:
        raise MidiError(f"{path}: MIDI file contains no notes")
    notes.sort()
    arr = np.array(notes, dtype=np.float64).reshape(-1, 3)
    return DrumNotes(arr[:, 0], arr[:, 1].astype(np.int64), arr[:, 2].astype(np.int64))


@dataclass
class Targets:
    """Frame targets for one file.

    onsets: ``(n_frames, n_classes + n_articulations)`` uint8, 1 where a class has an onset; the
    articulation columns (``articulations`` of :func:`make_targets`) are 1 where a note plays that
    articulation (its drum's column is 1 there too: an open hi-hat is a hi-hat hit).
    velocities: ``(n_frames, n_classes)`` float32, MIDI velocity / 127 at onsets.
    note_times / note_classes / note_velocities: the exact mapped onsets
    (seconds, class index, MIDI velocity), used for evaluation; note_pitches: the truth note of
    each (E-GMD's TD number: which articulation, :func:`drumscribe.core.drums.articulation_of`).
    unmapped: note number -> count of notes outside the mapping (reported, not used).
    beyond_audio: notes starting after the end of the audio (dropped, reported).
    """

    onsets: np.ndarray
    velocities: np.ndarray
    note_times: np.ndarray
    note_classes: np.ndarray
    note_velocities: np.ndarray
    note_pitches: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    unmapped: Counter = field(default_factory=Counter)
    beyond_audio: int = 0


def onset_roll(note_times: np.ndarray, note_classes: np.ndarray, n_frames: int, n_classes: int,
               clock: FrameClock) -> np.ndarray:
    """Frame-wise onset targets ``(n_frames, n_classes)`` uint8 from exact onsets (as the cache's ``onsets``)."""
    roll = np.zeros((n_frames, n_classes), dtype=np.uint8)
    if len(note_times):
        f = np.clip(clock.to_frames(np.asarray(note_times)), 0, n_frames - 1)
        roll[np.asarray(f).reshape(-1), np.asarray(note_classes).reshape(-1)] = 1
    return roll


def articulation_roll(note_times: np.ndarray, note_pitches: np.ndarray, articulations, n_frames: int,
                      clock: FrameClock) -> np.ndarray:
    """Frame targets ``(n_frames, len(articulations))`` uint8 of the notes playing each articulation
    (the TD note -> articulation table of :mod:`drumscribe.core.drums`)."""
    from drumscribe.core.drums import articulation_of

    arts = [articulation_of(p) for p in np.asarray(note_pitches).reshape(-1)]
    col = {a: j for j, a in enumerate(articulations)}
    sel = [i for i, a in enumerate(arts) if a in col]
    return onset_roll(np.asarray(note_times)[sel], np.asarray([col[arts[i]] for i in sel], np.int64),
                      n_frames, len(articulations), clock)


def make_targets(notes: DrumNotes, n_frames: int, clock: FrameClock, mapping: dict[int, int], n_classes: int,
                 articulations=()) -> Targets:
    """Targets of one file; ``articulations`` (names, model output order) add their columns to ``onsets``."""
    vel = np.zeros((n_frames, n_classes), dtype=np.float32)
    unmapped: Counter = Counter()
    times, classes, vels, pitches = [], [], [], []
    beyond = 0
    duration = clock.to_seconds(n_frames - 1) + 0.5 * clock.frame_duration
    for t, p, v in zip(notes.times, notes.pitches, notes.velocities):
        cls = mapping.get(int(p))
        if cls is None:
            unmapped[int(p)] += 1
            continue
        if t < 0 or t > duration:
            beyond += 1
            continue
        f = min(clock.to_frames(t), n_frames - 1)
        vel[f, cls] = max(vel[f, cls], v / 127.0)
        times.append(t)
        classes.append(cls)
        vels.append(v)
        pitches.append(int(p))
    note_times = np.asarray(times, dtype=np.float64)
    note_classes = np.asarray(classes, dtype=np.int64)
    note_pitches = np.asarray(pitches, dtype=np.int64)
    onsets = onset_roll(note_times, note_classes, n_frames, n_classes, clock)
    if len(articulations):
        onsets = np.concatenate([onsets, articulation_roll(note_times, note_pitches, articulations, n_frames, clock)], axis=1)
    return Targets(
        onsets=onsets,
        velocities=vel,
        note_times=note_times,
        note_classes=note_classes,
        note_velocities=np.asarray(vels, dtype=np.int64),
        note_pitches=note_pitches,
        unmapped=unmapped,
        beyond_audio=beyond,
    )


def offset_targets(positions: np.ndarray, classes: np.ndarray, n_frames: int, n_classes: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Sub-frame onset targets of a window: ``positions`` (fractional frame of each onset, e.g.
    ``t * frame_rate - window_start``; after time stretching, scaled with it) and ``classes`` ->
    ``(offsets, mask)``, both ``(n_frames, n_classes)`` float32.  Every frame ``f`` within
    :data:`~drumscribe.core.timebase.OFFSET_REACH_FRAMES` of an onset of class ``c`` gets
    ``offsets[f, c] = position - f`` (the nearest onset when two are that close) and ``mask[f, c] = 1``."""
    from drumscribe.core.timebase import OFFSET_REACH_FRAMES

    offsets = np.zeros((n_frames, n_classes), dtype=np.float32)
    dist = np.full((n_frames, n_classes), np.inf)
    reach = int(np.floor(OFFSET_REACH_FRAMES))
    for pos, c in zip(np.asarray(positions, dtype=np.float64).reshape(-1), np.asarray(classes).reshape(-1)):
        c = int(c)
        if not 0 <= c < n_classes:
            continue
        centre = int(np.rint(pos))
        for f in range(centre - reach, centre + reach + 1):
            d = pos - f
            if 0 <= f < n_frames and abs(d) <= OFFSET_REACH_FRAMES and abs(d) < dist[f, c]:
                dist[f, c] = abs(d)
                offsets[f, c] = d
    return offsets, np.isfinite(dist).astype(np.float32)


def onsets_by_class(note_times: np.ndarray, note_classes: np.ndarray, n_classes: int) -> list[np.ndarray]:
    """Split flat (time, class) arrays into one sorted time array per class."""
    return [np.sort(note_times[note_classes == c]) for c in range(n_classes)]
