"""bar_tracker.py (the bar-pointer Viterbi) and beat_model.py's event map, on hand-made activations (issue 30)."""

import numpy as np
import pytest

from drumscribe.core.drums import CLASSES
from drumscribe.transcription import bar_tracker
from drumscribe.transcription.beat_model import FPS, event_features
from drumscribe.transcription.beats import beat_map_from_activations


def activation(n_frames, period, per_bar, first=7, down_at=0, noise=0.0, seed=0, down_strength=0.7):
    """Beat peaks every ``period`` frames from ``first``; every ``per_bar``-th (from index ``down_at``) a downbeat."""
    rng = np.random.default_rng(seed)
    b = np.full(n_frames, 0.02) + noise * rng.random(n_frames)
    d = np.full(n_frames, 0.01) + 0.5 * noise * rng.random(n_frames)
    fr = np.arange(first, n_frames, period)
    b[fr] = 0.8
    d[fr[down_at::per_bar]] = down_strength
    return b, d, fr, fr[down_at::per_bar]


@pytest.mark.parametrize("period, per_bar, meter, down_at", [(25, 4, "4/4", 3), (22, 3, "3/4", 1), (36, 2, "6/8", 0),
                                                             (15, 4, "4/4", 2)])
def test_viterbi_recovers_beats_downbeats_and_meter(period, per_bar, meter, down_at):
    b, d, beats, downs = activation(3000, period, per_bar, down_at=down_at, noise=0.1)
    frames, pos, m = bar_tracker.decode(b, d, FPS, obs_window=0)  # one-frame peaks: no beat region
    assert m == meter
    assert np.array_equal(frames, beats)
    assert np.array_equal(frames[pos == 0], downs)


def test_tempo_drift_is_followed():
    # period 24 -> 28 frames over the file: the pointer changes tempo at beats, one period step at a time
    per = np.linspace(24, 28, 120)
    fr = np.round(10 + np.r_[0, np.cumsum(per)]).astype(int)
    n = fr[-1] + 20
    b, d = np.full(n, 0.02), np.full(n, 0.01)
    b[fr], d[fr[::4]] = 0.8, 0.7
    frames, pos, m = bar_tracker.decode(b, d, FPS)
    assert m == "4/4"
    assert len(frames) == len(fr)
    assert np.max(np.abs(frames - fr)) <= 2
    assert np.array_equal(pos[::4], np.zeros(len(pos[::4]), int))


def test_no_bar_evidence_gives_the_4_4_prior():
    b, d, beats, _ = activation(3000, 25, 1, down_strength=0.01)  # beats, but no downbeat anywhere
    _, _, m = bar_tracker.decode(b, d, FPS)
    assert m == "4/4"


def test_weak_other_meter_evidence_stays_4_4_strong_wins():
    b, d, _, _ = activation(3000, 25, 3, down_strength=0.2)
    d_weak = np.where(d > 0.015, 0.03, d)  # a hint of 3/4 (barely above the floor)
    assert bar_tracker.decode(b, d_weak, FPS, obs_window=0)[2] == "4/4"
    assert bar_tracker.decode(b, d, FPS, obs_window=0)[2] == "3/4"


def test_meter_and_tempo_overrides():
    b, d, beats, _ = activation(3000, 25, 3)
    frames, pos, m = bar_tracker.decode(b, d, FPS, meter="4/4")
    assert m == "4/4" and set(pos.tolist()) == {0, 1, 2, 3}
    # a tempo given at half the played one: every other beat
    frames, _, _ = bar_tracker.decode(b, d, FPS, bpm=60.0 * FPS / 50)
    assert np.median(np.diff(frames)) == 50
    with pytest.raises(ValueError, match="meter"):
        bar_tracker.decode(b, d, FPS, meter="7/8")


def test_too_short_gives_no_beats():
    frames, pos, _ = bar_tracker.decode(np.full(10, 0.5), np.full(10, 0.1), FPS)
    assert len(frames) == 0 and len(pos) == 0


def test_refine_moves_to_the_centroid():
    a = np.zeros(50)
    a[20], a[21] = 1.0, 1.0
    assert bar_tracker.refine(np.array([20]), a)[0] == pytest.approx(20.5)


def test_beat_map_from_activations_has_the_downbeats():
    b, d, beats, downs = activation(2000, 25, 4, first=30, down_at=1)
    bm = beat_map_from_activations(np.stack([b, d], 1), 2000 / FPS)
    assert bm.meter == "4/4"
    assert bm.beats[0] == 0.0 and bm.beats[-1] >= 2000 / FPS - 0.5
    got = bm.downbeats[(bm.downbeats > 0.3) & (bm.downbeats < 39.0)]
    want = downs / FPS
    assert len(got) == len(want[want < 39.0])
    assert np.max(np.abs(got - want[want < 39.0])) < 0.03


def test_event_features_map_classes_by_name():
    names = ["snare", "kick", "cowbell"]
    x = event_features([0.0, 0.5, 0.51, 1.0], [0, 1, 1, 2], [127, 64, 64, 100], names, 2.0, CLASSES)
    assert x.shape == (2 * FPS + 1, len(CLASSES))
    k, s = CLASSES.index("kick"), CLASSES.index("snare")
    assert x[0, s] == pytest.approx(1.0)
    assert x[25, k] + x[26, k] == pytest.approx(128 / 127)  # two kicks at 0.50 and 0.51 s
    assert x.sum() == pytest.approx(1.0 + 128 / 127)  # the cowbell (not an input class) is dropped


def test_a_tempo_hint_is_followed_within_its_band_and_keeps_its_level():
    # a drift of 90 -> 115 bpm (period 33 -> 26 frames): within a 20 % band around the middle tempo it is
    # followed beat by beat; the double tempo (an octave away) is outside the band around the hint
    per = np.linspace(33.3, 26.1, 110)
    fr = np.round(10 + np.r_[0, np.cumsum(per)]).astype(int)
    n = fr[-1] + 20
    b, d = np.full(n, 0.02), np.full(n, 0.01)
    b[fr], d[fr[::4]] = 0.8, 0.7
    b[np.round(0.5 * (fr[:-1] + fr[1:])).astype(int)] = 0.5  # strong off-beats: the double tempo is tempting
    frames, pos, m = bar_tracker.decode(b, d, FPS, tempo_hint=102.0, tempo_band=0.2)
    assert m == "4/4" and len(frames) == len(fr) and np.max(np.abs(frames - fr)) <= 2
    frames, _, _ = bar_tracker.decode(b, d, FPS, tempo_hint=102.0, tempo_band=0.05)  # too narrow to follow
    assert np.max(np.abs(frames[:5] - fr[:5])) > 2 or len(frames) != len(fr)
    assert np.median(np.diff(bar_tracker.decode(b, d, FPS, tempo_hint=204.0, tempo_band=0.2)[0])) < 17


def test_meter_prior_is_a_log_prior_per_file():
    b, d, _, _ = activation(3000, 25, 3, down_strength=0.2)
    paths = bar_tracker.decode_meters(b, d, FPS, obs_window=0)
    margin = paths["3/4"][2] - paths["4/4"][2]
    assert margin > 0 and set(paths) == {"4/4", "3/4", "6/8"}
    assert bar_tracker.choose_meter(paths, meter_prior=margin - 1.0) == "3/4"
    assert bar_tracker.choose_meter(paths, meter_prior=margin + 1.0) == "4/4"
    per_beat = (margin + 1.0) / len(paths["3/4"][0])
    assert bar_tracker.choose_meter(paths, meter_prior=0.0, meter_penalty=per_beat) == "4/4"
    assert bar_tracker.decode(b, d, FPS, obs_window=0, meter_prior=margin + 1.0)[2] == "4/4"


def test_beat_window_tolerates_timing_spread():
    # beats played +-2 frames around the grid: with a window the path keeps a steady period and the
    # downbeats; refine() puts each beat back on its peak
    rng = np.random.default_rng(3)
    grid = np.arange(20, 2900, 25)
    fr = grid + rng.integers(-2, 3, len(grid))
    b, d = np.full(3000, 0.02), np.full(3000, 0.01)
    b[fr], d[fr[::4]] = 0.8, 0.7
    frames, pos, m = bar_tracker.decode(b[:2920], d[:2920], FPS, obs_window=2, transition_lambda=300.0)
    assert m == "4/4" and len(frames) == len(fr)
    assert np.array_equal(frames[pos == 0], frames[::4])
    assert np.max(np.abs(bar_tracker.refine(frames, b) - fr)) < 0.5


def test_rendered_midi_truth_takes_the_csv_meter(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    from drumscribe.training.beat_data import truth_grid

    pm = pretty_midi.PrettyMIDI(initial_tempo=80.0)  # a render's MIDI: GMD's tempo, written in 4/4
    pm.time_signature_changes = [pretty_midi.TimeSignature(4, 4, 0.0)]
    drums = pretty_midi.Instrument(0, is_drum=True)
    drums.notes.append(pretty_midi.Note(100, 36, 0.0, 0.1))
    drums.notes.append(pretty_midi.Note(100, 36, 11.9, 12.0))
    pm.instruments.append(drums)
    pm.write(str(tmp_path / "x.midi"))
    beats, downs, meter = truth_grid(tmp_path / "x.midi", 12.0)
    assert meter == "4/4" and np.allclose(np.diff(downs), 3.0)
    beats, downs, meter = truth_grid(tmp_path / "x.midi", 12.0, "6-8")
    assert meter == "6/8" and np.allclose(np.diff(beats), 1.125) and np.allclose(np.diff(downs), 2.25)
    beats, downs, meter = truth_grid(tmp_path / "x.midi", 12.0, "3-4")
    assert meter == "3/4" and np.allclose(np.diff(downs), 2.25)


@pytest.mark.parametrize("period, bpm", [(25, 120.0), (20, 150.0), (40, 75.0), (30, 100.0)])
def test_activation_tempo_reads_the_beat_period(period, bpm):
    b, d, _, _ = activation(3000, period, 4, noise=0.1)
    assert bar_tracker.activation_tempo(b, d, FPS) == pytest.approx(bpm, rel=0.02)


def test_activation_tempo_half_weight_tells_the_beat_from_two_beats():
    # beats at 150 bpm, the downbeats every 4: at 75 bpm every other peak is at half the period; the prior (mean
    # 107 bpm) alone leans to 75 when the tempo's own evidence is weak (a flat activation between the peaks)
    b, d, _, _ = activation(3000, 20, 4)
    slow_prior = dict(prior_bpm=75.0, prior_sd=0.2, prior_weight=1.0, downbeat_weight=0.0)
    assert bar_tracker.activation_tempo(b, d, FPS, half_weight=0.0, **slow_prior) == pytest.approx(75.0, rel=0.02)
    assert bar_tracker.activation_tempo(b, d, FPS, half_weight=1.0, **slow_prior) == pytest.approx(150.0, rel=0.02)
    # the downbeat term: at double tempo the bar would be 8 beats, where the downbeats do not repeat
    b2, d2, _, _ = activation(3000, 30, 4, down_strength=0.7)
    bpms, sal = bar_tracker.tempo_salience(b2, d2, FPS, prior_weight=0.0, downbeat_weight=1.0)
    assert sal[np.argmin(np.abs(bpms - 100.0))] > sal[np.argmin(np.abs(bpms - 200.0))] + 0.5


def test_the_activation_tempo_moves_the_band_but_not_a_users_tempo():
    # the beat model's decoder takes its tempo from the activations: a wrong hint (x3/2) is ignored, --tempo is not
    b, d, beats, downs = activation(2000, 25, 4, noise=0.05)
    act = np.stack([b, d], axis=1)
    dec = {"tempo_band": 0.2, "obs_window": 0, "tempo_source": "activation"}
    duration = len(b) / FPS
    bm = beat_map_from_activations(act, duration, decoder=dec, tempo_hint=180.0)
    assert bm.bpm == pytest.approx(120.0, rel=0.02) and bm.meter == "4/4"
    rules = beat_map_from_activations(act, duration, decoder=dict(dec, tempo_source="rules"), tempo_hint=180.0)
    # the rules' x3/2 level: the 4/4 band holds no beat, the 6/8 one (dotted quarters at 180 / 1.5) wins
    assert rules.meter == "6/8" and rules.bpm * rules.quarters_per_beat == pytest.approx(180.0, rel=0.02)
    user = beat_map_from_activations(act, duration, bpm=60.0, decoder=dec, tempo_hint=180.0)
    assert user.bpm == pytest.approx(60.0, rel=0.06)
