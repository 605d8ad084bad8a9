"""midi_out.py: the one MIDI writer (tempo map, time signatures, exact or quantised notes), JSON/CSV columns."""

import csv
import io
import json

import numpy as np
import pretty_midi
import pytest

from drumscribe.transcription.beats import BeatMap, track_events
from drumscribe.core.config import load_config
from drumscribe.core.drums import CLASSES
from drumscribe.transcription.decoding import Event
from drumscribe.transcription.midi_out import Note, QUANTIZE_STEPS, events_bytes, midi_bytes, write_events, write_midi

from beat_helpers import drifting_beats, groove

CFG = load_config("configs/default_config.yaml")


@pytest.fixture(scope="module")
def performance():
    ref = drifting_beats(95.0, 105.0, 24.0)
    events, down = groove(ref, seed=2)
    return events, track_events(events, CLASSES, 24.0), ref


def test_midi_carries_tempo_map_and_exact_onsets(tmp_path, performance):
    events, bm, _ = performance
    out = write_events(tmp_path / "a.mid", events, CLASSES, CFG.midi, beat_map=bm)
    pm = pretty_midi.PrettyMIDI(str(out))
    times, tempi = pm.get_tempo_changes()
    assert len(tempi) > 10 and not np.allclose(tempi, 120.0)  # a real, changing tempo map
    assert 90 < np.median(tempi) < 110
    assert [(t.numerator, t.denominator) for t in pm.time_signature_changes][-1] == (4, 4)
    # bars line up: the DAW's downbeats are the tracked downbeats
    dbs = pm.get_downbeats()
    want = bm.downbeats[bm.downbeats < pm.get_end_time()]
    assert np.allclose(dbs[-len(want):], want, atol=0.003)
    notes = sorted((n.start, n.pitch) for n in pm.instruments[0].notes)
    got = np.array([n[0] for n in notes])
    exp = np.sort([e.time for e in events])
    assert pm.instruments[0].is_drum and np.abs(got - exp).max() < 0.003  # onsets as detected, within a tick


def test_quantize_snaps_to_the_beat_grid(tmp_path, performance):
    events, bm, _ = performance
    out = write_events(tmp_path / "q.mid", events, CLASSES, CFG.midi, beat_map=bm, quantize="1/16")
    pm = pretty_midi.PrettyMIDI(str(out))
    q = bm.to_quarters([n.start for n in pm.instruments[0].notes])
    step = QUANTIZE_STEPS["1/16"]
    assert np.abs(q / step - np.round(q / step)).max() < 0.02
    played = bm.to_quarters([e.time for e in events])
    assert np.abs(played / step - np.round(played / step)).max() > 0.05  # the input was not on the grid


def test_json_and_csv_gain_bar_beat_and_quantized_time(tmp_path, performance):
    events, bm, _ = performance
    doc = json.loads(write_events(tmp_path / "e.json", events, CLASSES, CFG.midi, duration=24.0, beat_map=bm,
                                  quantize="1/8").read_text())
    assert doc["tempo"]["meter"] == "4/4" and 90 < doc["tempo"]["bpm"] < 110
    ev = doc["events"]
    assert len(ev) == len(events) and {"bar", "beat", "quantized_time"} <= set(ev[0])
    assert all(0.95 <= e["beat"] < 5.0 for e in ev)  # a hit up to 1/32 beat early counts as on the beat
    assert ev[0]["time"] == pytest.approx(events[0].time, abs=1e-6)
    rows = list(csv.DictReader(open(write_events(tmp_path / "e.csv", events, CLASSES, CFG.midi, beat_map=bm))))
    assert len(rows) == len(events) and "bar" in rows[0] and "quantized_time" not in rows[0]
    bars = [int(r["bar"]) for r in rows]
    assert bars == sorted(bars) and bars[-1] >= 9


def test_generic_writer_without_beat_map(tmp_path):
    path = write_midi(tmp_path / "n.mid", [("drums", [Note(0.5, 36, 100), Note(1.0, 38, 90, duration=0.25)])],
                      tempo_bpm=90.0)
    pm = pretty_midi.PrettyMIDI(str(path))
    assert pm.get_tempo_changes()[1][0] == pytest.approx(90.0, abs=0.01)
    n = sorted(pm.instruments[0].notes, key=lambda x: x.start)
    assert n[0].start == pytest.approx(0.5, abs=1e-3) and n[1].end - n[1].start == pytest.approx(0.25, abs=1e-3)


def test_constant_map_quantize_rejects_unknown(performance):
    from drumscribe.transcription.midi_out import quantized_times

    events, _, _ = performance
    bm = BeatMap.constant(120.0, 10.0)
    q = quantized_times(events, bm, "1/8t") * 6  # 120 bpm: a triplet eighth is 1/6 s
    assert np.allclose(q, np.round(q), atol=1e-6)
    assert quantized_times(events, bm, "off") is None
    with pytest.raises(ValueError, match="quantize"):
        quantized_times(events, bm, "1/12")


def test_per_drum_tracks_hold_the_same_events(tmp_path, performance):
    """--midi-tracks per-drum: one named track per class present, channel 10, the same notes as the single track."""
    import mido

    events, bm, _ = performance
    cfg = CFG.midi
    single = mido.MidiFile(file=io.BytesIO(midi_bytes(events, CLASSES, cfg, bm)))
    per = mido.MidiFile(file=io.BytesIO(midi_bytes(events, CLASSES, cfg, bm, tracks="per-drum")))
    present = [c for i, c in enumerate(CLASSES) if any(e.cls == i for e in events)]
    assert [t.name for t in per.tracks[1:]] == present

    def ons(tracks):
        out, now = [], 0
        for m in mido.merge_tracks(tracks):
            now += m.time
            if m.type == "note_on" and m.velocity > 0:
                assert m.channel == 9
                out.append((now, m.note, m.velocity))
        return sorted(out)

    assert ons(per.tracks) == ons(single.tracks)


def test_articulations_get_their_general_midi_notes_and_fold_to_8():
    from drumscribe.core.drums import ARTICULATION_GM, ARTICULATION_PARENT, GM_OUTPUT

    cfg = CFG.midi
    events = [Event(0.1 * (i + 1), CLASSES.index(ARTICULATION_PARENT[a]), 90, 0.9, a)
              for i, a in enumerate(ARTICULATION_GM)]
    doc = json.loads(events_bytes(events, CLASSES, cfg, "json"))
    assert [r["note"] for r in doc["events"]] == list(ARTICULATION_GM.values())
    assert [r["rimshot"] for r in doc["events"]] == [a == "rimshot" for a in ARTICULATION_GM]
    folded = json.loads(events_bytes(events, CLASSES, cfg, "json", fold=True))
    assert [r["note"] for r in folded["events"]] == [GM_OUTPUT[ARTICULATION_PARENT[a]] for a in ARTICULATION_GM]
    assert "articulation" not in folded["events"][0]
    plain = json.loads(events_bytes([Event(0.1, 0, 90, 0.9)], CLASSES, cfg, "json"))
    assert "articulation" not in plain["events"][0]  # today's 8-class model: outputs unchanged
    header = events_bytes(events, CLASSES, cfg, "csv").decode().splitlines()[0]
    assert header.endswith("articulation,rimshot")
