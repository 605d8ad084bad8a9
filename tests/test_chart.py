"""chart.py, chart_sections.py, chart_text.py: the chart model, read back with independent readers (mido,
pretty_midi, scan-chart)."""

import io

import mido
import numpy as np
import pytest
import soundfile as sf

from drumscribe.core.drums import CLASSES
from drumscribe.transcription.beats import track_events
from drumscribe.transcription.chart import (
    BEAT_NOTES, DIFFICULTIES, DIFFICULTY_BASE, DYNAMICS_EVENT, EXPERT_PLUS_KICK, LANE_OFFSET,
    TICKS_PER_BEAT, TOM_MARKER, FILL_NOTES, STAR_POWER_NOTE, build_chart, chart_difficulties, notes_mid_bytes)
from drumscribe.transcription.chart import ACCENT_VELOCITY as ACCENT, GHOST_VELOCITY as GHOST
from drumscribe.transcription.decoding import Event

from beat_helpers import groove, steady_beats

TOM = CLASSES.index("hi_tom")
KICK = CLASSES.index("kick")


@pytest.fixture()
def song():
    ref = steady_beats(120.0, 20.0, offset=0.5)
    events, down = groove(ref, seed=4)
    # a tom fill (sixteenths) in the bar before a downbeat, and a doubled kick
    d0 = down[3]
    fill = [Event(float(d0 - 0.5 + k * 0.125), TOM, 90, 0.9) for k in range(4)]
    kicks = [Event(float(down[2] + 0.1), KICK, 100, 0.9)]  # 100 ms after the downbeat kick: a second pedal
    events = sorted(events + fill + kicks, key=lambda e: (e.time, e.cls))
    return events, track_events(events, CLASSES, 20.0)


def _read(data):
    return mido.MidiFile(file=io.BytesIO(data))


def test_notes_mid_tracks_ranges_tom_markers_and_dynamics(song):
    events, bm = song
    mf = _read(notes_mid_bytes(build_chart(events, CLASSES, bm, 20.0)))
    names = [t.name for t in mf.tracks]
    assert names[1:] == ["PART DRUMS", "BEAT", "EVENTS"] and mf.ticks_per_beat == TICKS_PER_BEAT
    drums = mf.tracks[1]
    assert any(m.type == "text" and m.text == DYNAMICS_EVENT for m in drums)
    ons, now = [], 0
    for m in drums:
        now += m.time
        if m.type == "note_on" and m.velocity > 0:
            ons.append((now, m.note, m.velocity))
    pitches = {p for _, p, _ in ons}
    ranges = {d: range(DIFFICULTY_BASE[d], DIFFICULTY_BASE[d] + 5) for d in DIFFICULTIES}
    allowed = set().union(*ranges.values()) | set(TOM_MARKER.values()) | {EXPERT_PLUS_KICK, STAR_POWER_NOTE} | \
        set(FILL_NOTES)
    assert pitches <= allowed
    for d in DIFFICULTIES:  # every difficulty has notes
        assert pitches & set(ranges[d])
    # the hi_tom fill is yellow *tom*: a yellow tom marker at each of its Expert ticks; hi-hats stay cymbals
    yellow = DIFFICULTY_BASE["expert"] + LANE_OFFSET["yellow"]
    markers = {t for t, p, _ in ons if p == TOM_MARKER["yellow"]}
    expert_yellow = {t for t, p, _ in ons if p == yellow}
    assert markers and markers < expert_yellow
    assert EXPERT_PLUS_KICK in pitches  # the doubled kick
    assert {v for _, _, v in ons} <= {1, 100, 127}


def test_measure_lines_follow_the_tempo_map(song):
    events, bm = song
    mf = _read(notes_mid_bytes(build_chart(events, CLASSES, bm, 20.0)))
    now, sigs, beats = 0, [], []
    for m in mf.tracks[0]:
        now += m.time
        if m.type == "time_signature":
            sigs.append((now, m.numerator))
    now = 0
    for m in mf.tracks[2]:
        now += m.time
        if m.type == "note_on" and m.velocity > 0:
            beats.append((now, m.note))
    bar_start = sigs[-1][0]  # the first full bar (after a pickup, if any)
    downs = [t for t, n in beats if n == BEAT_NOTES["downbeat"]]
    assert bar_start in downs
    assert all((t - bar_start) % (4 * TICKS_PER_BEAT) == 0 for t in downs if t >= bar_start)
    # the game's bar lines (through the file's own tempo map) are the beat map's downbeats
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(io.BytesIO(notes_mid_bytes(build_chart(events, CLASSES, bm, 20.0))))
    got = pm.get_downbeats()
    want = bm.downbeats[bm.downbeats <= 19.0]
    assert all(np.min(np.abs(got - t)) < 0.01 for t in want)


def test_each_difficulty_is_a_reduction_of_the_one_above(song):
    events, bm = song
    levels = chart_difficulties(events, CLASSES, bm)
    key = lambda n: (n.tick, n.lane)  # noqa: E731
    for hi, lo in zip(DIFFICULTIES, DIFFICULTIES[1:]):
        assert {key(n) for n in levels[lo]} <= {key(n) for n in levels[hi]}
        assert len(levels[lo]) <= len(levels[hi])
    assert len(levels["easy"]) < len(levels["expert"])
    for d, most in (("hard", 2), ("medium", 2), ("easy", 1)):
        per_tick = {}
        for n in levels[d]:
            per_tick.setdefault(n.tick, []).append(n)
        assert max(sum(1 for n in g if n.lane != "kick") for g in per_tick.values()) <= most
    assert not any(n.double_kick for d in DIFFICULTIES[1:] for n in levels[d])


def test_articulations_take_their_lanes():
    bm = track_events([], CLASSES, 4.0, bpm=120.0)
    hh, sn, ride = (CLASSES.index(c) for c in ("hihat", "snare", "ride"))
    events = [Event(0.0, hh, 90, 0.9, "hihat_open"), Event(0.5, hh, 90, 0.9, "hihat_pedal"),
              Event(1.0, sn, 90, 0.9, "cross_stick"), Event(1.5, ride, 90, 0.9, "ride_bell")]
    ex = chart_difficulties(events, CLASSES, bm)["expert"]
    assert [(n.lane, n.cymbal, n.source) for n in ex] == [
        ("yellow", True, "hihat_open"), ("red", False, "cross_stick"), ("blue", True, "ride_bell")]


def _kicks(events_times, bpm):
    bm = track_events([], CLASSES, 10.0, bpm=bpm)
    ev = [Event(float(t), KICK, 100, 0.9) for t in events_times]
    return [n for n in chart_difficulties(ev, CLASSES, bm)["expert"] if n.lane == "kick"]


def test_two_pedal_kicks_by_an_absolute_gap():
    from drumscribe.transcription.chart import DOUBLE_KICK_GAP_S

    # 60 bpm: a sixteenth doublet is 250 ms apart, one foot plays it -> both stay single-pedal Expert kicks
    slow = _kicks([1.0, 1.25, 3.0, 3.25], 60.0)
    assert len(slow) == 4 and not any(n.double_kick for n in slow)
    # 180 bpm sixteenths (83 ms): the run alternates single, 2x, single, 2x
    fast = _kicks([1.0 + k * 60 / 180 / 4 for k in range(8)], 180.0)
    assert [n.double_kick for n in fast] == [False, True] * 4
    assert 0.083 < DOUBLE_KICK_GAP_S < 0.25


def test_lead_in_shifts_the_chart_and_keeps_the_bar_lines(song):
    from drumscribe.transcription.chart import LEAD_IN_S, first_sound, lead_in_needed, shift_beat_map

    events, bm = song
    audio = np.zeros((44100 * 3, 2), np.float32)
    audio[int(0.3 * 44100):] = 0.1
    assert abs(first_sound(audio, 44100) - 0.3) < 1e-3
    pad = lead_in_needed(0.3)
    assert pad == pytest.approx(LEAD_IN_S - 0.3) and lead_in_needed(LEAD_IN_S + 1) == 0
    moved = shift_beat_map(bm, pad)
    assert moved.beats[0] == 0.0 and moved.meter == bm.meter
    assert np.allclose(moved.downbeats[-len(bm.downbeats):], bm.downbeats + pad)
    chart = build_chart(events, CLASSES, bm, 20.0, pad)
    first = chart.seconds(min(g.tick for g in chart.levels["expert"]))
    assert first >= min(e.time for e in events) + pad - 0.02 >= LEAD_IN_S - 0.3 - 0.02


def _structured_song(bars_a=16, bars_b=16, repeats=2, bpm=120.0):
    """Verse (hi-hat eighths, kick 1/3, snare 2/4) and chorus (ride quarters, kicks on eighths, crash on each
    phrase's downbeat), a tom fill in the bar before every chorus."""
    hh, sn, rd, cr, lt = (CLASSES.index(c) for c in ("hihat", "snare", "ride", "crash", "low_tom"))
    beat = 60.0 / bpm
    ev, bar = [], 0
    for _ in range(repeats):
        for part, n in (("a", bars_a), ("b", bars_b)):
            for k in range(n):
                t0 = (bar + k) * 4 * beat
                last = k == n - 1 and part == "a"
                for e in range(8):
                    t = t0 + e * beat / 2
                    if last and e >= 4:  # the fill
                        ev.append(Event(t, lt, 100, 0.9))
                        ev.append(Event(t + beat / 4, lt, 90, 0.9))
                        continue
                    if part == "a":
                        ev.append(Event(t, hh, 80, 0.9))
                        if e in (0, 4):
                            ev.append(Event(t, KICK, 100, 0.9))
                    else:
                        if e % 2 == 0:
                            ev.append(Event(t, rd, 80, 0.9))
                        ev.append(Event(t, KICK, 100, 0.9))
                    if e in (2, 6):
                        ev.append(Event(t, sn, 100, 0.9))
                if part == "b" and k % 4 == 0:
                    ev.append(Event(t0, cr, 110, 0.9))
            bar += n
    duration = bar * 4 * beat + 2.0
    return sorted(ev, key=lambda e: (e.time, e.cls)), duration, bpm


def test_sections_star_power_and_fills_follow_the_structure():
    from drumscribe.transcription.chart_sections import MIN_SECTION_BARS

    events, duration, bpm = _structured_song()
    from drumscribe.transcription.beats import BeatMap

    bm = BeatMap.constant(bpm, duration)  # the played grid: this test is about sections, not beat tracking
    chart = build_chart(events, CLASSES, bm, duration, 0.0)
    per_bar = int(round(bm.quarters_per_bar * TICKS_PER_BEAT))
    starts = [t for t, _ in chart.sections]
    assert [n for _, n in chart.sections] == [f"Part {i + 1}" for i in range(len(starts))]
    assert len(starts) >= 4 and min(np.diff(starts)) >= MIN_SECTION_BARS * per_bar
    # each chorus (after 16 bars of verse) starts a section
    first = starts[0]
    for b in (16, 48):
        assert first + b * per_bar in starts
    gems = chart.levels["expert"]
    at = {}
    for g in gems:
        at.setdefault(g.tick, set()).add((g.lane, g.cymbal))
    assert chart.fills
    for t, n in chart.fills:  # a fill ends on a crash or kick downbeat that starts a section
        end = t + n
        assert end in starts and (("green", True) in at[end] or any(la == "kick" for la, _ in at[end]))
    for t, n in chart.star_power:  # phrases have gems, are not inside a fill nor in the bar before one
        assert sum(1 for tick in at if t <= tick < t + n) >= 4
        for ft, fn in chart.fills:
            assert t + n <= ft - per_bar + per_bar // 8 or t >= ft + fn + per_bar  # not on the activation bar
    sp = [t for t, _ in chart.star_power]
    assert len(sp) >= 4 and sp[-1] - sp[0] > 0.6 * (gems[-1].tick - gems[0].tick)  # spread over the song
    assert chart.preview_ms > 0


def test_chart_text_has_the_same_gems_as_notes_mid(song):
    from drumscribe.transcription.chart_text import chart_text

    events, bm = song
    chart = build_chart(events, CLASSES, bm, 20.0, 1.0)
    text = chart_text(chart, "A\nSong", "[x]", "song.opus")
    lines = text.split("\r\n")
    assert 'Name = "A Song"' in "\n".join(lines) and "[x]" not in text.split("[SyncTrack]")[0]
    sections = [ln for ln in lines if '"section ' in ln]
    assert len(sections) == len(chart.sections) >= 1
    expert = text.split("[ExpertDrums]")[1].split("}")[0]
    gem_lines = [ln for ln in expert.splitlines() if " = N " in ln and int(ln.split()[3]) in (0, 1, 2, 3, 4, 32)]
    assert len(gem_lines) == len(chart.levels["expert"])
    cym = sum(1 for ln in expert.splitlines() if " = N " in ln and int(ln.split()[3]) in (66, 67, 68))
    assert cym == sum(1 for g in chart.levels["expert"] if g.cymbal)


def test_clean_text_keeps_values_on_one_line():
    from drumscribe.core.sanitize import MAX_TEXT, clean_name, clean_text

    assert clean_text("Title\n[song2]\r\ncharter = evil") == "Title [song2] charter = evil"
    assert clean_text("\n[song2]") == "song2]"
    assert clean_text("=cmd|x") == "cmd|x" and clean_text("a\u2028b\x00c") == "a b c"
    assert clean_name("[end] a = b") == "(end) a - b"
    assert len(clean_text("x" * 1000)) == MAX_TEXT and clean_text(None) == ""


def test_downmix_keeps_every_channel():
    from drumscribe.transcription.chart_folder import downmix

    x = np.zeros((1000, 8), np.float32)
    x[:, 2:] = 0.5  # the first two channels silent
    y = downmix(x)
    assert y.shape == (1000, 2) and np.all(np.abs(y) > 0.3) and np.max(np.abs(y)) <= 1.0
    odd = downmix(np.full((10, 3), 0.2, np.float32))
    assert odd.shape == (10, 2) and np.allclose(odd, 0.2)


@pytest.mark.parametrize("fmt", ["mid", "chart"])
def test_the_games_parser_reads_every_gem_marker_and_dynamic(tmp_path, song, fmt):
    """scan-chart (Clone Hero's rules) reads back exactly the gems of the chart model: lane, tom/cymbal, 2x kick,
    accent/ghost, on all four difficulties, in .mid and in .chart."""
    from chart_scan import available, check_song_folder

    from drumscribe.transcription.chart_folder import song_audio, write_chart_folder

    if not available():
        pytest.skip("scan-chart (node + build/chartcheck) not installed")
    events, bm = song
    wav = tmp_path / "The Band - A Song.wav"
    x = np.zeros((20 * 22050, 2), np.float32)
    x[22050:] = 0.01 * np.sin(np.arange(len(x) - 22050) / 7.0)[:, None]
    sf.write(wav, x, 22050)
    audio = song_audio(wav)
    chart = build_chart(events, CLASSES, bm, audio[3] - audio[2], audio[2])
    out = tmp_path / "song"
    write_chart_folder(out, wav, chart, {"name": "A Song", "artist": "The Band"}, audio, chart_format=fmt)
    d = check_song_folder(out, missing_ok=("genre", "year", "album"))
    types = {"kick": 12, "red": 13, "yellow": 14, "blue": 15, "green": 16}
    for track in d["tracks"]:
        want = set()
        for g in chart.levels[track["difficulty"]]:
            flags = (8 if g.double_kick else 0) if g.lane == "kick" else (32 if g.cymbal else 16)
            flags |= {ACCENT: 1024, GHOST: 512}.get(g.velocity, 0) if g.lane != "kick" else 0
            want.add((g.tick, types[g.lane], flags))
        got = {(t, ty, fl & (8 | 16 | 32 | 512 | 1024)) for t, ty, fl in track["notes"]}
        assert got == want, track["difficulty"]
        assert [tuple(s) for s in track["starPower"]] == [tuple(s) for s in chart.star_power]
        assert [s[0] for s in track["fills"]] == [s[0] for s in chart.fills]


def test_csv_and_midi_track_names_from_a_model_are_sanitised():
    from types import SimpleNamespace

    from drumscribe.transcription.midi_out import events_bytes

    names = ["kick\n=HYPERLINK(x)", "snare"]
    cfg = SimpleNamespace(gm_mapping={names[0]: 36, "snare": 38}, ticks_per_beat=480, note_duration_ticks=60,
                          tempo_bpm=120.0)
    ev = [Event(0.5, 0, 100, 0.9), Event(1.0, 1, 90, 0.9)]
    text = events_bytes(ev, names, cfg, "csv", 2.0).decode()
    import csv

    assert len(text.strip().splitlines()) == 3  # one line per event: no newline inside a cell
    assert [r["name"] for r in csv.DictReader(io.StringIO(text))] == ["kick =HYPERLINK(x)", "snare"]
    only = events_bytes(ev[:1], ["=cmd|' /C calc'!A0"], SimpleNamespace(gm_mapping={"=cmd|' /C calc'!A0": 36}),
                        "csv", 2.0).decode()
    assert [r["name"] for r in csv.DictReader(io.StringIO(only))] == ["cmd|' /C calc'!A0"]  # no formula
    mf = _read(events_bytes(ev, names, cfg, "midi", 2.0, tracks="per-drum"))
    assert all("\n" not in t.name for t in mf.tracks) and "kick =HYPERLINK(x)" in [t.name for t in mf.tracks]
