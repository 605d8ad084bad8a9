"""A :class:`~drumscribe.transcription.chart.Chart` as ``notes.chart`` (Moonscraper's text format), with the same
content as ``notes.mid``.

Format (TheNathannator/GuitarGame_ChartFormats, ``chart-format/Format-Overview.md`` and ``Tracks/Drums.md``):
``[Song]`` (``Resolution`` = :data:`~drumscribe.transcription.chart_format.TICKS_PER_BEAT`, ``Offset = 0``, the stream
name), ``[SyncTrack]`` (``TS numerator exponent`` and ``B`` tempo in milli-BPM at each beat), ``[Events]``
(``E "section <name>"``, ``music_start``/``music_end``/``end``) and one ``[<Difficulty>Drums]`` track per level:
``N 0`` kick (``N 32`` 2x kick), ``N 1-4`` red/yellow/blue/green, ``N 66-68`` the cymbal modifiers (in .chart
a pad is a tom unless marked: the reverse of .mid), ``N 34-37`` accents, ``N 40-43`` ghosts, ``S 2`` Star Power,
``S 64`` the drum fill (activation) phrase, whose end tick is included (it ends on the activation gem).
"""

from __future__ import annotations

import math

from drumscribe.core.sanitize import clean_name
from drumscribe.transcription.chart_format import ACCENT_VELOCITY, GHOST_VELOCITY, LANE_OFFSET, TICKS_PER_BEAT

TRACK_NAMES = {"expert": "ExpertDrums", "hard": "HardDrums", "medium": "MediumDrums", "easy": "EasyDrums"}
KICK, DOUBLE_KICK = 0, 32
CYMBAL_MODIFIER = {"yellow": 66, "blue": 67, "green": 68}
ACCENT_BASE, GHOST_BASE = 33, 39  # + the lane's number (red 1 .. green 4)
STAR_POWER, FILL = 2, 64


def _quote(text: str) -> str:
    return '"' + clean_name(text) + '"'


def chart_text(chart, name: str, artist: str, audio_name: str, tags: dict | None = None) -> str:
    """The ``notes.chart`` text (``\\r\\n`` line ends, as Moonscraper writes them)."""
    bm = chart.beat_map
    song = [("Name", _quote(name)), ("Artist", _quote(artist)), ("Charter", _quote("drumscribe"))]
    for key, tag in (("Album", "album"), ("Genre", "genre")):
        if (tags or {}).get(tag):
            song.append((key, _quote(tags[tag])))
    if (tags or {}).get("year"):
        song.append(("Year", _quote(", " + clean_name(tags["year"]))))  # the format's legacy ", 2024"
    song += [("Offset", "0"), ("Resolution", str(TICKS_PER_BEAT)), ("Player2", "bass"), ("Difficulty", "0"),
             ("PreviewStart", f"{chart.preview_ms / 1000:.3f}"), ("PreviewEnd", "0"), ("MediaType", '"cd"'),
             ("MusicStream", _quote(audio_name))]
    sync = []
    for q, n, d in bm.time_signatures():
        exp = int(round(math.log2(d)))
        sync.append((int(round(q * TICKS_PER_BEAT)), 0, f"TS {n}" + ("" if exp == 2 else f" {exp}")))
    for q, us in bm.tempo_changes():
        sync.append((int(round(q * TICKS_PER_BEAT)), 1, f"B {int(round(60e9 / us))}"))
    events = [(t, f'E "section {clean_name(n)}"') for t, n in chart.sections]
    events += [(chart.start_tick, 'E "music_start"'), (chart.end_tick, 'E "music_end"'), (chart.end_tick, 'E "end"')]
    lines = ["[Song]", "{"] + [f"  {k} = {v}" for k, v in song] + ["}", "[SyncTrack]", "{"]
    lines += [f"  {t} = {text}" for t, _, text in sorted(sync)] + ["}", "[Events]", "{"]
    lines += [f"  {t} = {text}" for t, text in sorted(events, key=lambda e: e[0])] + ["}"]
    for d, gems in chart.levels.items():
        rows = []
        for g in gems:
            if g.lane == "kick":
                rows.append((g.tick, 0, f"N {DOUBLE_KICK if g.double_kick else KICK} 0"))
                continue
            k = LANE_OFFSET[g.lane]
            rows.append((g.tick, 0, f"N {k} 0"))
            if g.cymbal and g.lane in CYMBAL_MODIFIER:
                rows.append((g.tick, 0, f"N {CYMBAL_MODIFIER[g.lane]} 0"))
            if g.velocity == ACCENT_VELOCITY:
                rows.append((g.tick, 0, f"N {ACCENT_BASE + k} 0"))
            elif g.velocity == GHOST_VELOCITY:
                rows.append((g.tick, 0, f"N {GHOST_BASE + k} 0"))
        rows += [(t, 1, f"S {STAR_POWER} {n}") for t, n in chart.star_power]
        rows += [(t, 1, f"S {FILL} {n}") for t, n in chart.fills]
        rows.sort(key=lambda r: (r[0], r[1]))
        lines += [f"[{TRACK_NAMES[d]}]", "{"] + [f"  {t} = {text}" for t, _, text in rows] + ["}"]
    return "\r\n".join(lines) + "\r\n"


def chart_bytes(chart, name: str, artist: str, audio_name: str, tags: dict | None = None) -> bytes:
    """``notes.chart`` as UTF-8 with a byte-order mark (what Moonscraper writes)."""
    return b"\xef\xbb\xbf" + chart_text(chart, name, artist, audio_name, tags).encode("utf-8")

