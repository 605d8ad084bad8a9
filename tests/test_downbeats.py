"""Downbeats and tempo level on rendered grooves with known bar lines (beats.py, issue 22)."""

import mir_eval
import numpy as np

from drumscribe.core.drums import CLASSES
from drumscribe.transcription.beats import track_events
from drumscribe.transcription.decoding import Event

from beat_helpers import steady_beats

K, S, H, T, C = (CLASSES.index(n) for n in ("kick", "snare", "hihat", "low_tom", "crash"))


def song(ref, start_beat=0, fills=True, crash_every=4):
    """Kick on 1 and 3, snare on 2 and 4 (a 2-beat pattern: bar phase 1 and 3 look alike), hi-hat eighths;
    with ``fills`` a tom/snare sixteenth fill in beat 4 of every 4th bar, then a crash on the 1."""
    ev = []
    for i, b in enumerate(ref[:-1]):
        pos, bar = (i + start_beat) % 4, (i + start_beat) // 4
        p = ref[i + 1] - b
        ev += [Event(b, H, 80, 0.9), Event(b + p / 2, H, 60, 0.9)]
        ev.append(Event(b, K if pos in (0, 2) else S, 105, 0.9))
        if fills and pos == 3 and bar % 4 == 3:
            ev += [Event(b + k * p / 4, T if k % 2 else S, 95, 0.9) for k in range(1, 4)]
        if pos == 0 and bar % crash_every == 0 and bar > 0:
            ev.append(Event(b, C, 110, 0.9))
    ev.sort(key=lambda e: (e.time, e.cls))
    down = ref[[i for i in range(len(ref)) if (i + start_beat) % 4 == 0]]
    return ev, down


def f(ref, est):
    return mir_eval.beat.f_measure(mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(est))


def test_fill_into_a_crash_marks_the_one():
    ref = steady_beats(112.0, 40.0, offset=0.3)
    events, down = song(ref, start_beat=2)  # starts on beat 3 (a pickup of 2 beats)
    bm = track_events(events, CLASSES, 40.0)
    assert bm.meter == "4/4"
    assert f(down, bm.downbeats[bm.downbeats <= 40.0]) > 0.9


def test_song_start_decides_a_plain_two_beat_groove():
    """No fills, no crash: kick 1+3, snare 2+4 repeat every 2 beats; the song's first beat is the 1."""
    ref = steady_beats(109.0, 35.0, offset=0.07)
    events, down = song(ref, fills=False, crash_every=10 ** 6)
    bm = track_events(events, CLASSES, 35.0)
    assert f(down, bm.downbeats[bm.downbeats <= 35.0]) > 0.9


def test_backbeat_tracked_at_half_tempo_is_doubled():
    """Beats at 75 bpm on a 150-bpm rock beat (snare on every tracked beat, kicks half-way): doubled.
    A back-beat at the right tempo (snare on every other beat) and a 95-bpm baiao-like snare on every "and"
    (doubled it would pass DOUBLE_MAX_BPM) are left alone."""
    from drumscribe.transcription.beats import CLOCK, fix_half_tempo

    true = steady_beats(150.0, 20.0, offset=0.4)
    n = CLOCK.n_frames(2100)
    kick, snare = np.zeros(n), np.zeros(n)
    snare[CLOCK.to_frames(true[1::2])] = 1.0  # beats 2 and 4
    kick[CLOCK.to_frames(true[0::2])] = 1.0
    tracked = true[1::2]  # the tracker locked onto the snare at half tempo
    doubled = fix_half_tempo(tracked, {"kick": kick, "snare": snare})
    assert len(doubled) == 2 * len(tracked) - 1
    assert np.allclose(doubled, true[1:len(doubled) + 1], atol=0.011)
    assert fix_half_tempo(true, {"kick": kick, "snare": snare}) is true  # right tempo: unchanged
    slow = steady_beats(95.0, 20.0, offset=0.4)
    k2, s2 = np.zeros(n), np.zeros(n)
    k2[CLOCK.to_frames(slow)] = 1.0
    s2[CLOCK.to_frames(slow[:-1] + np.diff(slow) / 2)] = 1.0
    assert fix_half_tempo(slow, {"kick": k2, "snare": s2}) is slow
