"""Drum events + beat map -> a Clone Hero / YARG song folder (``notes.mid``, ``song.ini``, ``song.ogg``).

Format (the community's ``.mid`` chart format, as documented in TheNathannator/GuitarGame_ChartFormats:
``doc/FileFormats/.mid/Standard/Drums.md``, ``.../Core Infrastructure.md``, ``doc/FileFormats/song.ini``):

* track 0: the tempo map and time signatures of the :class:`~drumscribe.transcription.beats.BeatMap`
  (one ``set_tempo`` per beat; the first downbeat starts bar 1, so the game's measure lines are the
  detected bar lines), at :data:`TICKS_PER_BEAT` (480, the format's usual resolution);
* ``PART DRUMS``: 4-lane pro drums on all four difficulties (:data:`DIFFICULTY_BASE` + :data:`LANE_OFFSET`),
  cymbals by default, toms marked by :data:`TOM_MARKER` notes; 2x kick (note 95) where the kick is
  doubled (:data:`DOUBLE_KICK_QUARTERS`); accents (velocity 127) and ghosts (velocity 1) from the played
  velocity (:data:`ACCENT_RATIO`, :data:`GHOST_RATIO`), switched on by the ``[ENABLE_CHART_DYNAMICS]`` event;
* ``BEAT``: note 12 on each downbeat, 13 on the other beats; ``EVENTS``: ``[music_start]``,
  ``[music_end]``, ``[end]``.

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
from pathlib import Path
from typing import Sequence

import numpy as np

from drumscribe.core.drums import ARTICULATION_PARENT

TICKS_PER_BEAT = 480
NOTE_TICKS = 60  # length of a chart note (1/32 note); tom markers cover the same span
TRACK_DRUMS, TRACK_BEAT, TRACK_EVENTS = "PART DRUMS", "BEAT", "EVENTS"
DIFFICULTIES = ("expert", "hard", "medium", "easy")
DIFFICULTY_BASE: dict[str, int] = {"expert": 96, "hard": 84, "medium": 72, "easy": 60}  # + LANE_OFFSET
LANE_OFFSET: dict[str, int] = {"kick": 0, "red": 1, "yellow": 2, "blue": 3, "green": 4}
PADS = ("red", "yellow", "blue", "green")
EXPERT_PLUS_KICK = 95
TOM_MARKER: dict[str, int] = {"yellow": 110, "blue": 111, "green": 112}
BEAT_NOTES = {"downbeat": 12, "beat": 13}
DYNAMICS_EVENT = "[ENABLE_CHART_DYNAMICS]"
ACCENT_VELOCITY, GHOST_VELOCITY, NORMAL_VELOCITY = 127, 1, 100
ACCENT_RATIO, GHOST_RATIO = 1.25, 0.6  # relative to the median velocity of the lane
DOUBLE_KICK_QUARTERS = 0.25  # a kick a 1/16 note (or less) after the previous one needs the second pedal
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
    return _double_kicks(out)


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


def _double_kicks(notes: list[ChartNote]) -> list[ChartNote]:
    """A kick :data:`DOUBLE_KICK_QUARTERS` or less after a single-pedal kick is a 2x kick (so a run of
    sixteenths alternates the feet: single, 2x, single, 2x)."""
    gap = DOUBLE_KICK_QUARTERS * TICKS_PER_BEAT
    out, prev, prev_dbl = [], None, False
    for n in notes:
        if n.lane == "kick":
            dbl = prev is not None and n.tick - prev <= gap + 1 and not prev_dbl
            prev, prev_dbl = n.tick, dbl
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
        pads = sorted((n for n in group if n.lane != "kick" and on(t, red.hand_grid)), key=lambda n: _priority(n.source))
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


def notes_mid_bytes(events, class_names: Sequence[str], beat_map, duration: float) -> bytes:
    """``notes.mid`` (bytes): tempo map, ``PART DRUMS``, ``BEAT``, ``EVENTS`` (see the module docstring)."""
    from drumscribe.transcription.midi_out import Note, midi_file_bytes

    levels = chart_difficulties(events, class_names, beat_map)
    # (tick, pitch, velocity, length in ticks) per track; converted to seconds in one call per track
    drums, markers = [], set()
    for d, gems in levels.items():
        for g in gems:
            pitch = (EXPERT_PLUS_KICK if g.double_kick else DIFFICULTY_BASE[d]) if g.lane == "kick" \
                else DIFFICULTY_BASE[d] + LANE_OFFSET[g.lane]
            drums.append((g.tick, pitch, g.velocity, NOTE_TICKS))
            if not g.cymbal and g.lane in TOM_MARKER:
                markers.add((g.tick, TOM_MARKER[g.lane]))
    drums += [(t, p, NORMAL_VELOCITY, NOTE_TICKS) for t, p in sorted(markers)]
    qpb = beat_map.quarters_per_beat
    beat_notes = []
    end_q = float(beat_map.to_quarters(duration))
    for i, q in enumerate(beat_map.quarters):
        if q > end_q:
            break
        kind = "downbeat" if (i - beat_map.downbeat_index) % beat_map.beats_per_bar == 0 else "beat"
        beat_notes.append((int(round(q * TICKS_PER_BEAT)), BEAT_NOTES[kind], NORMAL_VELOCITY, TICKS_PER_BEAT // 4))

    def notes(rows):
        if not rows:
            return []
        a = np.asarray(rows, dtype=np.float64)
        on = beat_map.to_seconds(a[:, 0] / TICKS_PER_BEAT)
        off = beat_map.to_seconds((a[:, 0] + a[:, 3]) / TICKS_PER_BEAT)
        return [Note(float(t), int(p), int(v), float(e - t)) for t, p, v, e in zip(on, a[:, 1], a[:, 2], off)]

    first = min((g.tick for g in levels["expert"]), default=0)
    start = float(beat_map.to_seconds(max(first - int(qpb * TICKS_PER_BEAT), 0) / TICKS_PER_BEAT))
    events_text = [(start, "[music_start]"), (float(duration), "[music_end]"), (float(duration), "[end]")]
    return midi_file_bytes([(TRACK_DRUMS, notes(drums), [(0.0, DYNAMICS_EVENT)]), (TRACK_BEAT, notes(beat_notes)),
                            (TRACK_EVENTS, [], events_text)], beat_map, ticks_per_beat=TICKS_PER_BEAT, channel=0)


def difficulty_rating(events, duration: float) -> int:
    """``diff_drums`` 0-6 from the Expert note density (notes per second: <2, <3, <4, <5.5, <7, <9, more)."""
    nps = len(events) / max(duration, 1e-9)
    return int(np.searchsorted([2.0, 3.0, 4.0, 5.5, 7.0, 9.0], nps, side="right"))


def song_tags(audio_path: str | Path) -> tuple[str, str]:
    """(name, artist): the file's title/artist tags, else ``Artist - Title`` from the file name, else (stem, "Unknown")."""
    name = artist = ""
    try:
        import soundfile as sf

        with sf.SoundFile(str(audio_path)) as f:
            meta = f.copy_metadata()
        name, artist = meta.get("title", "").strip(), meta.get("artist", "").strip()
    except Exception:  # not readable by libsndfile, or no tags
        pass
    stem = Path(audio_path).stem
    if not name:
        if " - " in stem:
            a, b = stem.split(" - ", 1)
            artist, name = artist or a.strip(), b.strip()
        else:
            name = stem
    return name, artist or "Unknown"


def song_ini_text(name: str, artist: str, diff_drums: int, duration: float, delay_ms: int = 0) -> str:
    lines = ["[song]", f"name = {name}", f"artist = {artist}", "charter = drumscribe", "pro_drums = True",
             f"diff_drums = {diff_drums}", f"delay = {delay_ms}", f"song_length = {int(round(duration * 1000))}",
             "icon = ", "genre = ", ""]
    return "\n".join(lines)


def ogg_bytes(audio_path: str | Path) -> bytes:
    """The audio as OGG Vorbis (libsndfile's encoder), at its own rate and channels; an .ogg input is copied."""
    import io

    import soundfile as sf

    from drumscribe.core.errors import AudioError

    p = Path(audio_path)
    if p.suffix.lower() == ".ogg":
        return p.read_bytes()
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except Exception:
        from drumscribe.audio.io import load_audio

        sr = SONG_OGG_RATE
        data = load_audio(p, sr)[:, None]
    if data.shape[1] > 2:
        data = data[:, :2]
    buf = io.BytesIO()
    try:  # in blocks: libsndfile's Vorbis encoder crashes on one long write (minutes of audio)
        with sf.SoundFile(buf, "w", int(sr), data.shape[1], format="OGG", subtype="VORBIS") as out:
            for i in range(0, len(data), OGG_BLOCK):
                out.write(data[i:i + OGG_BLOCK])
    except Exception as exc:
        raise AudioError(f"{p}: could not encode song.ogg (OGG Vorbis): {exc}") from None
    return buf.getvalue()


CHART_FILES = ("notes.mid", "song.ini", "song.ogg")
OGG_BLOCK = 16384  # frames per write to the OGG Vorbis encoder
SONG_OGG_RATE = 48_000  # song.ogg's rate when the input has to be decoded by the project's loader (44.1 kHz lives in synth only)


def write_chart_folder(folder: str | Path, audio_path: str | Path, events, class_names: Sequence[str], beat_map,
                       duration: float, rule=None) -> list[Path]:
    """Write the song folder (:data:`CHART_FILES`, atomic); returns the files written.

    ``rule``: an :class:`drumscribe.core.outputs.OutputRule` (existing files are kept unless it says
    overwrite, with a notice); an existing ``song.ogg`` is always kept (audio is never written over).
    """
    import sys

    from drumscribe.core.atomic import atomic_write_bytes

    folder = Path(folder)
    written = []
    name, artist = song_tags(audio_path)
    makers = {
        "notes.mid": lambda: notes_mid_bytes(events, class_names, beat_map, duration),
        "song.ini": lambda: song_ini_text(name, artist, difficulty_rating(events, duration), duration).encode(),
        "song.ogg": lambda: ogg_bytes(audio_path),
    }
    for fname in CHART_FILES:
        target = folder / fname
        if fname == "song.ogg" and (target.exists() or target.is_symlink()):
            print(f"drumscribe transcribe: kept {target} (existing audio is never replaced)", file=sys.stderr)
            continue
        if rule is not None and not rule.may_write(target):
            continue
        atomic_write_bytes(target, makers[fname]())
        written.append(target)
    return written
