"""Drum events + beat map -> a Clone Hero / YARG drum chart (:class:`Chart`: four difficulties in ticks, on the
tempo map of the audio after its lead-in) and its ``notes.mid``.  Sections, Star Power and fills:
:mod:`~drumscribe.transcription.chart_sections`; ``notes.chart``: :mod:`~drumscribe.transcription.chart_text`; the
song folder (audio, ``song.ini``, the folder as a unit): :mod:`~drumscribe.transcription.chart_folder`; the format's
numbers (resolution, note numbers, velocities, event texts): :mod:`~drumscribe.transcription.chart_format`.

Format (the community's ``.mid`` chart format, as documented in TheNathannator/GuitarGame_ChartFormats:
``mid-format/Tracks/Drums.md``, ``mid-format/Tracks/Global-Events.md``, ``song-ini/Standard-Tags.md``):

* track 0: the tempo map and time signatures of the :class:`~drumscribe.transcription.beats.BeatMap`
  (one ``set_tempo`` per beat; the first downbeat starts bar 1, so the game's measure lines are the
  detected bar lines), at :data:`TICKS_PER_BEAT` (480, the format's usual resolution);
* ``PART DRUMS``: 4-lane pro drums on all four difficulties (:data:`DIFFICULTY_BASE` + :data:`LANE_OFFSET`),
  cymbals by default, toms marked by :data:`TOM_MARKER` notes; 2x kick (note 95) where the kick is
  faster than one foot plays (:data:`DOUBLE_KICK_GAP_S`); accents (velocity 127) and ghosts (velocity 1) from the played
  velocity (:data:`ACCENT_RATIO`, :data:`GHOST_RATIO`), switched on by the ``[ENABLE_CHART_DYNAMICS]`` event;
  Star Power (:data:`STAR_POWER_NOTE`) and fills (:data:`FILL_NOTES`, all five);
* ``BEAT``: note 12 on each downbeat, 13 on the other beats; ``EVENTS``: ``[section <name>]``, ``[music_start]``,
  ``[music_end]``, ``[end]`` (inside the audio, after the last gem).

Lead-in (:data:`LEAD_IN_S`): the audio gets silence in front so that its first sound is that late, and the chart
is shifted by the same amount (:func:`shift_beat_map`: whole beats added in front, the bar lines kept).

Lanes (:data:`LANES`, class or articulation -> (lane, is cymbal)): kick -> kick; snare, cross-stick, rim
shot -> red; hi-hat (closed, open) -> yellow cymbal; ride, ride bell -> blue cymbal; crash -> green
cymbal; high / mid / low tom -> yellow / blue / green tom.  A pedal hi-hat has no lane (a foot, and not
the kick) and is left out.  Two hands: at most two pads per tick (:data:`HAND_PRIORITY` decides).

Lower difficulties (:data:`REDUCTIONS`) are reductions of the level above, the way charters reduce:
hands and kicks kept only on a coarser grid of the bar (Hard: eighths, Medium: eighths with the kick on
quarters, Easy: quarters with the kick on half notes), the kick thinned first (a minimum gap), fewer
simultaneous pads (Medium: one pad with a kick, Easy: one pad, with or without the kick).  Each level's notes are a
subset of the level above's (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from drumscribe.core.drums import ARTICULATION_PARENT
from drumscribe.transcription.chart_format import (
    ACCENT_VELOCITY, BEAT_NOTES, DIFFICULTIES, DIFFICULTY_BASE, DYNAMICS_EVENT, EXPERT_PLUS_KICK, FILL_NOTES,
    GHOST_VELOCITY, LANE_OFFSET, NORMAL_VELOCITY, NOTE_TICKS, PADS, SECTION_EVENT, STAR_POWER_NOTE, TICKS_PER_BEAT,
    TOM_MARKER, TRACK_BEAT, TRACK_DRUMS, TRACK_EVENTS)
from drumscribe.transcription.chart_sections import place_phrases

ACCENT_RATIO, GHOST_RATIO = 1.25, 0.6  # relative to the median velocity of the lane
DOUBLE_KICK_GAP_S = 0.175  # a kick closer than this to the previous single-pedal kick needs the second pedal (5.7/s)
# drum class / articulation -> (lane, is a cymbal); None: no lane
LANES: dict[str, tuple[str, bool] | None] = {
    "kick": ("kick", False), "snare": ("red", False), "hihat": ("yellow", True), "ride": ("blue", True),
    "crash": ("green", True), "hi_tom": ("yellow", False), "mid_tom": ("blue", False), "low_tom": ("green", False),
    "hihat_open": ("yellow", True), "hihat_pedal": None, "cross_stick": ("red", False), "rimshot": ("red", False),
    "ride_bell": ("blue", True),
}
# which pad wins when more than two hands (or a cymbal and a tom of one colour) fall on one tick
HAND_PRIORITY = ("crash", "snare", "hi_tom", "mid_tom", "low_tom", "hihat", "ride")


@dataclass(frozen=True)
class Reduction:
    """One difficulty below Expert: pads kept on multiples of ``hand_grid`` quarters, kicks on ``kick_grid``
    with at least ``kick_gap`` quarters between them; at most ``max_pads`` pads per tick, ``pads_with_kick``
    when the kick plays too (``max_notes`` notes in all)."""

    hand_grid: float
    kick_grid: float
    kick_gap: float
    max_pads: int
    pads_with_kick: int
    max_notes: int


REDUCTIONS: dict[str, Reduction] = {
    "hard": Reduction(0.5, 0.5, 0.5, 2, 2, 3),
    "medium": Reduction(0.5, 1.0, 1.0, 2, 1, 2),
    "easy": Reduction(1.0, 2.0, 2.0, 1, 1, 2),
}
EXPERT_MAX_PADS = 2


@dataclass(frozen=True)
class ChartNote:
    """One gem: ``tick``, ``lane`` (a :data:`LANE_OFFSET` key), ``cymbal``, ``velocity`` (dynamics), ``source``
    (the class or articulation), ``double_kick`` (Expert+ only)."""

    tick: int
    lane: str
    cymbal: bool
    velocity: int
    source: str
    double_kick: bool = False


def _priority(source: str) -> int:
    base = ARTICULATION_PARENT.get(source, source)
    return HAND_PRIORITY.index(base) if base in HAND_PRIORITY else len(HAND_PRIORITY)


def expert_notes(events, class_names: Sequence[str], beat_map) -> list[ChartNote]:
    """Expert gems: every event on its lane, snapped to 1/16 or 1/8-triplet of ``beat_map`` (the score's
    grid), one gem per lane and tick, at most :data:`EXPERT_MAX_PADS` pads per tick."""
    from drumscribe.transcription.score import grid_positions

    if not events:
        return []
    times = np.array([e.time for e in events], dtype=np.float64)
    qpb = beat_map.quarters_per_beat
    pos = grid_positions(times, beat_map)
    ticks = [int(round((b + k / d) * qpb * TICKS_PER_BEAT)) for b, k, d in pos]
    raw: dict[tuple[int, str], tuple] = {}
    for e, t in zip(events, ticks):
        source = e.articulation or class_names[e.cls]
        lane = LANES.get(source) or (LANES.get(class_names[e.cls]) if not e.articulation else None)
        if lane is None:
            continue
        key = (max(t, 0), lane[0])
        old = raw.get(key)
        if old is None or _priority(source) < _priority(old[1]) or \
                (_priority(source) == _priority(old[1]) and e.velocity > old[2]):
            raw[key] = (lane[1], source, int(e.velocity))
    by_tick: dict[int, list[ChartNote]] = {}
    for (t, lane), (cym, source, vel) in raw.items():
        by_tick.setdefault(t, []).append(ChartNote(t, lane, cym, vel, source))
    out: list[ChartNote] = []
    for t in sorted(by_tick):
        notes = by_tick[t]
        kicks = [n for n in notes if n.lane == "kick"]
        pads = sorted((n for n in notes if n.lane != "kick"), key=lambda n: _priority(n.source))[:EXPERT_MAX_PADS]
        out += kicks + sorted(pads, key=lambda n: LANE_OFFSET[n.lane])
    out = _dynamics(out)
    return _double_kicks(out, lambda ticks: beat_map.to_seconds(ticks / TICKS_PER_BEAT))


def _dynamics(notes: list[ChartNote]) -> list[ChartNote]:
    """Pads louder / quieter than their lane's median velocity become accents / ghosts; the rest 100."""
    med = {lane: float(np.median([n.velocity for n in notes if n.lane == lane]))
           for lane in PADS if any(n.lane == lane for n in notes)}
    out = []
    for n in notes:
        v = NORMAL_VELOCITY
        if n.lane in med:
            if n.velocity >= ACCENT_RATIO * med[n.lane] and n.velocity >= 96:
                v = ACCENT_VELOCITY
            elif n.velocity <= GHOST_RATIO * med[n.lane]:
                v = GHOST_VELOCITY
        out.append(ChartNote(n.tick, n.lane, n.cymbal, v, n.source, n.double_kick))
    return out


def _double_kicks(notes: list[ChartNote], seconds) -> list[ChartNote]:
    """A kick less than :data:`DOUBLE_KICK_GAP_S` after a single-pedal kick is a 2x kick (so a run of fast
    kicks alternates the feet: single, 2x, single, 2x).  ``seconds``: tick -> seconds (the chart's tempo map).
    An absolute gap, not a note value: at 60 bpm a sixteenth doublet (250 ms) is one foot's work and stays on
    Expert; the format notes reserve 2x kick for kicks "faster than around 5-6 kicks per second"."""
    kicks = [n.tick for n in notes if n.lane == "kick"]
    when = dict(zip(kicks, np.atleast_1d(seconds(np.asarray(kicks, dtype=np.float64))))) if kicks else {}
    out, prev, prev_dbl = [], None, False
    for n in notes:
        if n.lane == "kick":
            t = float(when[n.tick])
            dbl = prev is not None and t - prev < DOUBLE_KICK_GAP_S and not prev_dbl
            prev, prev_dbl = t, dbl
            n = ChartNote(n.tick, n.lane, n.cymbal, n.velocity, n.source, dbl)
        out.append(n)
    return out


def reduce_notes(notes: list[ChartNote], red: Reduction) -> list[ChartNote]:
    """The next difficulty down: a subset of ``notes`` (see :data:`REDUCTIONS`)."""
    def on(tick, grid):
        step = grid * TICKS_PER_BEAT
        return abs(tick / step - round(tick / step)) * step <= 1

    out: list[ChartNote] = []
    last_kick = None
    by_tick: dict[int, list[ChartNote]] = {}
    for n in notes:
        by_tick.setdefault(n.tick, []).append(n)
    for t in sorted(by_tick):
        group = by_tick[t]
        kick = [n for n in group if n.lane == "kick" and not n.double_kick and on(t, red.kick_grid)
                and (last_kick is None or t - last_kick >= red.kick_gap * TICKS_PER_BEAT - 1)]
        pads = sorted((n for n in group if n.lane != "kick" and on(t, red.hand_grid)),
                      key=lambda n: _priority(n.source))
        limit = red.pads_with_kick if kick else red.max_pads
        if kick and len(pads) > red.pads_with_kick and red.pads_with_kick < red.max_pads:
            # the kick is thinned first: the hands keep their notes and the kick goes
            kick, limit = [], red.max_pads
        pads = pads[:max(min(limit, red.max_notes - len(kick)), 0)]
        if kick:
            last_kick = t
        out += kick + sorted(pads, key=lambda n: LANE_OFFSET[n.lane])
    return out


def chart_difficulties(events, class_names: Sequence[str], beat_map) -> dict[str, list[ChartNote]]:
    """``{difficulty: gems}`` for :data:`DIFFICULTIES`, each level reduced from the one above."""
    levels = {"expert": expert_notes(events, class_names, beat_map)}
    prev = levels["expert"]
    for d in DIFFICULTIES[1:]:
        prev = reduce_notes(prev, REDUCTIONS[d])
        levels[d] = prev
    return levels


# ------------------------------------------------------------------ the whole chart (one model, two file formats)

LEAD_IN_S = 2.5  # the audio starts with at least this much silence before its first sound (Moonscraper's preset)
SILENCE_LEVEL = 10 ** (-50 / 20)  # a sample this loud (-50 dBFS) or louder is "sound"
# diff_drums tiers (0-6): Expert note groups (a chord is one) per second of the played span
DIFF_TIERS_NPS = (2.0, 3.0, 4.0, 5.5, 7.0, 9.0)
END_MARGIN_S = 0.05
FILL_END_TICKS = 30  # a fill note ends this far after its activation gem (the next gem is >= 80 ticks later)


@dataclass(frozen=True)
class Chart:
    """Everything a song folder's chart holds, in ticks (:data:`TICKS_PER_BEAT`), audio time shifted by ``lead_in``.

    ``levels``: ``{difficulty: gems}``; ``beat_map``: the tempo map of the padded audio; ``duration``: seconds
    of the padded audio; ``sections``: ``[(tick, name)]``; ``star_power`` / ``fills``: ``[(tick, length)]``;
    ``preview_ms``: where the game's preview starts."""

    levels: dict
    beat_map: object
    duration: float
    lead_in: float
    sections: tuple = ()
    star_power: tuple = ()
    fills: tuple = ()
    preview_ms: int = 0

    def seconds(self, ticks):
        return self.beat_map.to_seconds(np.asarray(ticks, dtype=np.float64) / TICKS_PER_BEAT)

    @property
    def end_tick(self) -> int:
        """``[music_end]``/``[end]``: :data:`END_MARGIN_S` before the audio ends (an end event past the audio is
        ignored by the games), never before the last gem."""
        end = int(np.floor(float(self.beat_map.to_quarters(self.duration - END_MARGIN_S)) * TICKS_PER_BEAT))
        return max([end] + [g.tick + NOTE_TICKS for g in self.levels["expert"][-1:]])

    @property
    def start_tick(self) -> int:
        """``[music_start]``: a beat before the first gem."""
        first = min((g.tick for g in self.levels["expert"]), default=0)
        return max(first - int(self.beat_map.quarters_per_beat * TICKS_PER_BEAT), 0)


def lead_in_needed(first_sound_s: float) -> float:
    """Seconds of silence to add in front of audio whose first sound is at ``first_sound_s``."""
    return max(0.0, LEAD_IN_S - float(first_sound_s))


def first_sound(audio: np.ndarray, sample_rate: int) -> float:
    """Seconds to the first sample at :data:`SILENCE_LEVEL` or louder (``audio``: ``(samples, channels)``)."""
    loud = np.flatnonzero(np.max(np.abs(audio), axis=1) >= SILENCE_LEVEL) if audio.size else np.zeros(0)
    return float(loud[0]) / sample_rate if len(loud) else float(len(audio)) / sample_rate


def shift_beat_map(beat_map, pad: float):
    """The beat map of the same performance after ``pad`` seconds of silence in front: whole beats of the first
    beat's length are added before it, and one partial beat from 0 (the grid keeps its bar lines)."""
    from drumscribe.transcription.beats import BeatMap

    if pad <= 0:
        return beat_map
    b = np.asarray(beat_map.beats, dtype=np.float64) + pad
    period = float(b[1] - b[0]) if len(b) > 1 else 0.5
    n = int(np.floor((b[0] - 1e-6) / period))
    front = b[0] - period * np.arange(n, 0, -1)
    lead = [0.0] if (front[0] if n else b[0]) > 1e-6 else []
    beats = np.concatenate([lead, front, b])
    added = len(beats) - len(b)
    return BeatMap(beats, (beat_map.downbeat_index + added) % beat_map.beats_per_bar, beat_map.meter)


def shift_events(events, pad: float):
    from dataclasses import replace

    return [replace(e, time=float(e.time) + pad) for e in events] if pad > 0 else list(events)


def difficulty_rating(gems: Sequence[ChartNote], seconds) -> int:
    """``diff_drums`` 0-6 from the Expert chart (what song.ini's tag means: the difficulty of that track): note
    groups (one per tick) per second over the played span, tiers :data:`DIFF_TIERS_NPS`."""
    ticks = sorted({g.tick for g in gems})
    if len(ticks) < 2:
        return 0
    t0, t1 = (float(x) for x in seconds(np.array([ticks[0], ticks[-1]], dtype=np.float64)))
    nps = len(ticks) / max(t1 - t0, 1.0)
    return int(np.searchsorted(DIFF_TIERS_NPS, nps, side="right"))


def build_chart(events, class_names: Sequence[str], beat_map, duration: float, lead_in: float = 0.0) -> Chart:
    """The chart of ``events`` on ``beat_map`` with ``lead_in`` seconds of silence added in front of the audio:
    four difficulties, sections, Star Power and fills (:mod:`drumscribe.transcription.chart_sections`)."""
    bm = shift_beat_map(beat_map, lead_in)
    levels = chart_difficulties(shift_events(events, lead_in), class_names, bm)
    chart = Chart(levels, bm, float(duration) + lead_in, float(lead_in))
    return place_phrases(chart)


def notes_mid_bytes(chart: Chart) -> bytes:
    """``notes.mid`` (bytes): tempo map, ``PART DRUMS`` (gems, tom markers, Star Power 116, fills 120-124),
    ``BEAT``, ``EVENTS`` (sections, ``[music_start]``, ``[music_end]``, ``[end]``)."""
    from drumscribe.core.sanitize import clean_name
    from drumscribe.transcription.midi_out import Note, midi_file_bytes

    bm = chart.beat_map
    drums, markers = [], set()
    for d, gems in chart.levels.items():
        for g in gems:
            pitch = (EXPERT_PLUS_KICK if g.double_kick else DIFFICULTY_BASE[d]) if g.lane == "kick" \
                else DIFFICULTY_BASE[d] + LANE_OFFSET[g.lane]
            drums.append((g.tick, pitch, g.velocity, NOTE_TICKS))
            if not g.cymbal and g.lane in TOM_MARKER:
                markers.add((g.tick, TOM_MARKER[g.lane]))
    drums += [(t, p, NORMAL_VELOCITY, NOTE_TICKS) for t, p in sorted(markers)]
    drums += [(t, STAR_POWER_NOTE, NORMAL_VELOCITY, n) for t, n in chart.star_power]
    drums += [(t, p, NORMAL_VELOCITY, n + FILL_END_TICKS) for t, n in chart.fills for p in FILL_NOTES]
    beat_notes = []
    end_q = float(bm.to_quarters(chart.duration))
    for i, q in enumerate(bm.quarters):
        if q > end_q:
            break
        kind = "downbeat" if (i - bm.downbeat_index) % bm.beats_per_bar == 0 else "beat"
        beat_notes.append((int(round(q * TICKS_PER_BEAT)), BEAT_NOTES[kind], NORMAL_VELOCITY, TICKS_PER_BEAT // 4))

    def notes(rows):
        if not rows:
            return []
        a = np.asarray(rows, dtype=np.float64)
        on = chart.seconds(a[:, 0])
        off = chart.seconds(a[:, 0] + a[:, 3])
        return [Note(float(t), int(p), int(v), float(e - t)) for t, p, v, e in zip(on, a[:, 1], a[:, 2], off)]

    texts = [(float(chart.seconds(t)), SECTION_EVENT.format(clean_name(name))) for t, name in chart.sections]
    end = float(chart.seconds(chart.end_tick))
    texts += [(float(chart.seconds(chart.start_tick)), "[music_start]"), (end, "[music_end]"), (end, "[end]")]
    return midi_file_bytes([(TRACK_DRUMS, notes(drums), [(0.0, DYNAMICS_EVENT)]), (TRACK_BEAT, notes(beat_notes)),
                            (TRACK_EVENTS, [], texts)], bm, ticks_per_beat=TICKS_PER_BEAT, channel=0)
