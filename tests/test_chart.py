"""chart.py: a Clone Hero / YARG song folder read back with independent readers (mido, configparser, soundfile)."""

import configparser
import io

import mido
import numpy as np
import pytest
import soundfile as sf

from drumscribe.core.drums import CLASSES
from drumscribe.transcription.beats import track_events
from drumscribe.transcription.chart import (
    BEAT_NOTES, CHART_FILES, DIFFICULTIES, DIFFICULTY_BASE, DYNAMICS_EVENT, EXPERT_PLUS_KICK, LANE_OFFSET,
    TICKS_PER_BEAT, TOM_MARKER, chart_difficulties, notes_mid_bytes, write_chart_folder)
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
    kicks = [Event(float(down[2] + 0.125), KICK, 100, 0.9)]
    events = sorted(events + fill + kicks, key=lambda e: (e.time, e.cls))
    return events, track_events(events, CLASSES, 20.0)


def _read(data):
    return mido.MidiFile(file=io.BytesIO(data))


def test_notes_mid_tracks_ranges_tom_markers_and_dynamics(song):
    events, bm = song
    mf = _read(notes_mid_bytes(events, CLASSES, bm, 20.0))
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
    allowed = set().union(*ranges.values()) | set(TOM_MARKER.values()) | {EXPERT_PLUS_KICK}
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
    mf = _read(notes_mid_bytes(events, CLASSES, bm, 20.0))
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

    pm = pretty_midi.PrettyMIDI(io.BytesIO(notes_mid_bytes(events, CLASSES, bm, 20.0)))
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


def test_song_folder_files_parse_and_existing_files_are_kept(tmp_path, song):
    from drumscribe.core.outputs import OutputRule

    events, bm = song
    wav = tmp_path / "The Band - A Song.wav"
    sf.write(wav, np.zeros((44100, 2), dtype=np.float32), 44100)
    out = tmp_path / "chart"
    written = write_chart_folder(out, wav, events, CLASSES, bm, 20.0, OutputRule("transcribe", [wav]))
    assert sorted(p.name for p in written) == sorted(CHART_FILES)
    ini = configparser.ConfigParser()
    ini.read(out / "song.ini")
    s = ini["song"]
    assert (s["name"], s["artist"], s["charter"], s["pro_drums"]) == ("A Song", "The Band", "drumscribe", "True")
    assert 0 <= int(s["diff_drums"]) <= 6 and int(s["delay"]) == 0
    info = sf.info(out / "song.ogg")
    assert (info.format, info.subtype, info.channels) == ("OGG", "VORBIS", 2)
    (out / "song.ini").write_text("mine")
    again = write_chart_folder(out, wav, events, CLASSES, bm, 20.0, OutputRule("transcribe", [wav]))
    assert again == [] and (out / "song.ini").read_text() == "mine"
    forced = write_chart_folder(out, wav, events, CLASSES, bm, 20.0, OutputRule("transcribe", [wav], True))
    assert [p.name for p in forced] == ["notes.mid", "song.ini"]  # song.ogg (audio) is never replaced
