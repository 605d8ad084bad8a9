"""decoding.py on hand-made activations: thresholds, intervals, neighbours, plateaus, edges, velocity."""

import numpy as np
import pytest

from drumscribe.transcription.decoding import DecodeSettings, Event, decode, events_by_class, pick_peaks, strength_to_velocity
from drumscribe.core.timebase import FrameClock

CLOCK = FrameClock(100, 1)  # 100 frames per second: frame f <-> f / 100 s


def pick_onsets(probs, clock, thresholds, min_onset_interval_s=0.0, peak_min_distance_frames=0):
    """(times, strengths) per class through the one entry point, decode()."""
    ev = decode(probs, DecodeSettings(clock, thresholds, min_onset_interval_s, peak_min_distance_frames))
    n = np.asarray(probs).shape[1]
    return events_by_class(ev, n), [np.array([e.strength for e in ev if e.cls == c]) for c in range(n)]


def test_threshold_is_inclusive_and_per_class():
    p = np.zeros((10, 2))
    p[3, 0] = 0.5
    p[6, 1] = 0.49
    times, strengths = pick_onsets(p, CLOCK, [0.5, 0.5])
    assert times[0].tolist() == [0.03] and strengths[0].tolist() == [0.5]
    assert times[1].size == 0
    times, _ = pick_onsets(p, CLOCK, [0.6, 0.4])
    assert times[0].size == 0 and times[1].tolist() == [0.06]
    with pytest.raises(ValueError, match="thresholds"):
        pick_onsets(p, CLOCK, [0.5, 0.5, 0.5])


def test_local_maximum_within_peak_min_distance():
    a = np.array([0, 0.6, 0.2, 0.9, 0.1, 0, 0, 0.7, 0])
    # d=0: every local maximum above threshold
    assert pick_peaks(a, 0.5, 0).frames.tolist() == [1, 3, 7]
    # d=2: 0.6 at frame 1 is within 2 frames of 0.9 -> not a local max
    assert pick_peaks(a, 0.5, 2).frames.tolist() == [3, 7]


def test_min_interval_keeps_the_stronger_peak():
    a = np.zeros(30)
    a[[5, 8, 20]] = [0.6, 0.9, 0.7]
    pk = pick_peaks(a, 0.5, 0, min_interval_frames=5)
    assert pk.frames.tolist() == [8, 20] and pk.strengths.tolist() == [0.9, 0.7]
    # in seconds through pick_onsets: 50 ms at 100 fps = 5 frames
    times, _ = pick_onsets(a[:, None], CLOCK, 0.5, min_onset_interval_s=0.05)
    assert times[0].tolist() == [0.08, 0.2]
    # exactly the minimum interval apart: both kept
    b = np.zeros(30)
    b[[5, 10]] = [0.8, 0.9]
    assert pick_peaks(b, 0.5, 0, 5).frames.tolist() == [5, 10]
    # equal strengths: the earlier one wins
    c = np.zeros(30)
    c[[5, 7]] = 0.8
    assert pick_peaks(c, 0.5, 0, 5).frames.tolist() == [5]


def test_chain_of_peaks_greedy_by_strength():
    a = np.zeros(30)
    a[[4, 8, 12]] = [0.6, 0.9, 0.6]  # 4 and 12 are each within 5 of 8, but 8 apart from each other
    assert pick_peaks(a, 0.5, 0, 5).frames.tolist() == [8]


def test_plateau_is_one_peak_at_its_centre():
    a = np.array([0, 0.2, 0.8, 0.8, 0.8, 0.2, 0, 0.7, 0.7, 0])
    pk = pick_peaks(a, 0.5, 1)
    assert pk.frames.tolist() == [3.0, 7.5]
    assert pk.index.tolist() == [3, 7]
    times, _ = pick_onsets(a[:, None], CLOCK, 0.5, 0.0, 1)
    assert times[0] == pytest.approx([0.03, 0.075])


def test_edges_count():
    a = np.array([0.9, 0.1, 0, 0, 0.2, 0.95])
    assert pick_peaks(a, 0.5, 2).frames.tolist() == [0, 5]
    assert pick_peaks(np.array([0.7]), 0.5, 2).frames.tolist() == [0]
    assert pick_peaks(np.zeros(0), 0.5, 2).frames.size == 0
    assert pick_peaks(np.full(5, 0.9), 0.5, 2).frames.tolist() == [2.0]  # all-plateau: centre


def test_parabolic_interpolation_moves_towards_the_heavier_neighbour():
    a = np.array([0, 0.2, 0.6, 1.0, 0.8, 0.1, 0])
    pk = pick_peaks(a, 0.5, 1, interpolate=True)
    # delta = 0.5 (0.6 - 0.8) / (0.6 - 2 + 0.8) = 0.1666..
    assert pk.frames[0] == pytest.approx(3 + 1 / 6)
    sym = np.array([0, 0.5, 1.0, 0.5, 0])
    assert pick_peaks(sym, 0.5, 1, interpolate=True).frames.tolist() == [2.0]
    edge = np.array([1.0, 0.5, 0])
    assert pick_peaks(edge, 0.5, 1, interpolate=True).frames.tolist() == [0.0]


def test_decode_events_and_velocities():
    p = np.zeros((50, 3))
    p[10, 0] = 0.5
    p[10, 2] = 1.0
    p[30, 1] = 0.75
    ev = decode(p, DecodeSettings(CLOCK, 0.4))
    assert [(e.time, e.cls) for e in ev] == [(0.1, 0), (0.1, 2), (0.3, 1)]
    assert [e.velocity for e in ev] == [64, 127, 95]  # strength * 127, rounded
    vel = np.zeros_like(p)
    vel[10, 0], vel[10, 2], vel[30, 1] = 0.1, 0.0, 0.5
    assert [e.velocity for e in decode(p, DecodeSettings(CLOCK, 0.4), velocity_probs=vel)] == [13, 1, 64]  # head; clipped to >= 1
    assert {e.velocity for e in decode(p, DecodeSettings(CLOCK, 0.4, default_velocity=80, velocity_source="fixed"))} == {80}
    with pytest.raises(ValueError, match="velocity head"):
        decode(p, DecodeSettings(CLOCK, 0.4, velocity_source="head"))
    assert events_by_class(ev, 3)[2].tolist() == [0.1]
    assert strength_to_velocity([0.0, 0.5, 2.0]).tolist() == [1, 64, 127]
    assert isinstance(ev[0], Event)


def test_subframe_timing_measured_on_toy_activations():
    """The measurement behind interpolate=False being the default (see docs/evaluation.md)."""
    rng = np.random.default_rng(0)
    clock = FrameClock(22050, 512)
    true = np.sort(rng.uniform(0.5, 29.5, 200))
    n = clock.n_frames(30 * 22050)
    centre = true * clock.frame_rate
    f = np.arange(n)[:, None]
    # a model trained on hard targets at round(t * fps): activation peaks on that frame,
    # with smaller, symmetric neighbours (sub-frame position not encoded)
    hard = np.exp(-0.5 * ((f - np.rint(centre)) / 0.7) ** 2).max(axis=1)
    # an ideal model whose activation is a bump centred on the true time
    soft = np.exp(-0.5 * ((f - centre) / 0.7) ** 2).max(axis=1)
    errs = {}
    for name, act in (("hard", hard), ("soft", soft)):
        for interp in (False, True):
            t = clock.to_seconds(pick_peaks(act, 0.3, 1, interpolate=interp).frames)
            errs[name, interp] = np.abs(np.sort(t)[:, None] - true[None, :]).min(axis=1).mean()
    assert errs["soft", True] < errs["soft", False]  # helps when the activation carries the timing
    assert errs["hard", True] == pytest.approx(errs["hard", False], abs=1e-9)  # no change otherwise
    assert errs["hard", False] < 0.25 * clock.frame_duration + 0.002  # quantisation only, ~ hop/4


def test_settings_from_config_are_the_configs():
    from drumscribe.core.config import load_config

    from eval_helpers import ROOT

    cfg = load_config(ROOT / "configs" / "medium_test_config.yaml",
                      ["postprocessing.min_onset_interval=0.03", "postprocessing.peak_min_distance=3",
                       "midi.default_velocity=90"])
    s = DecodeSettings.from_config(cfg)
    assert s.clock == FrameClock.from_config(cfg.audio)
    assert s.thresholds == tuple(cfg.thresholds())
    assert (s.min_onset_interval, s.peak_min_distance, s.default_velocity) == (0.03, 3, 90)
    assert DecodeSettings.from_config(cfg, [0.2] * cfg.n_classes).thresholds == (0.2,) * cfg.n_classes
    assert s.with_thresholds(0.7).thresholds == 0.7 and s.with_thresholds(0.7).peak_min_distance == 3
    with pytest.raises(ValueError, match="velocity source"):
        DecodeSettings(CLOCK, 0.5, velocity_source="loud")
    # the settings reach the peak picker: two peaks 2 frames apart are one event with distance 3
    p = np.zeros((40, cfg.n_classes))
    p[[10, 12], 0] = [0.9, 0.8]
    assert len(decode(p, s)) == 1 and len(decode(p, DecodeSettings(s.clock, 0.5))) == 2


def test_exclusive_group_keeps_the_strongest_member_per_hit():
    """Rule 4: two classes of one group firing on one hit become the likelier one; hits further apart
    than the minimum interval, and classes outside the group, are untouched."""
    p = np.zeros((100, 4))
    p[10, 0], p[11, 1] = 0.6, 0.8    # one hit heard as class 0 and class 1: class 1 is stronger
    p[40, 0], p[40, 1] = 0.9, 0.9    # a tie: the earlier frame, then the lower class
    p[70, 0], p[78, 1] = 0.7, 0.7    # 80 ms apart: two hits
    p[11, 2] = 0.9                   # class 2 is in no group: kept beside the group's peak
    p[[30, 31], 3] = [0.9, 0.0]
    p[31, 1] = 0.5                   # class 3 is in the group: a weaker class-1 peak one frame later goes
    grouped = DecodeSettings(CLOCK, 0.3, 0.05, 0, exclusive_groups=((0, 1, 3),))
    got = sorted((round(e.time, 2), e.cls) for e in decode(p, grouped))
    assert got == [(0.11, 1), (0.11, 2), (0.3, 3), (0.4, 0), (0.7, 0), (0.78, 1)]
    plain = sorted((round(e.time, 2), e.cls) for e in decode(p, DecodeSettings(CLOCK, 0.3, 0.05, 0)))
    assert len(plain) == 9 and set(got) <= set(plain)
    # a chain: A(0.9) suppresses B(0.8) 40 ms later; C(0.7) 40 ms after B is 80 ms from A and stays
    q = np.zeros((100, 2))
    q[10, 0], q[14, 1], q[18, 0] = 0.9, 0.8, 0.7
    got = sorted((round(e.time, 2), e.cls) for e in decode(q, DecodeSettings(CLOCK, 0.3, 0.05, 0, exclusive_groups=((0, 1),))))
    assert got == [(0.1, 0), (0.18, 0)]


def test_exclusive_weights_rank_a_grouped_class_up():
    """``exclusive_weights``: peaks compete by strength x weight; the reported strength is unchanged,
    and a weight on a class in no group changes nothing."""
    p = np.zeros((100, 3))
    p[10, 0], p[11, 1] = 0.6, 0.4    # one hit: class 0 stronger, but class 1 weighted x2 wins (0.8 > 0.6)
    p[40, 0], p[40, 1] = 0.9, 0.3    # 0.9 > 0.6: class 0 still wins
    p[11, 2] = 0.5                   # class 2 in no group
    weighted = DecodeSettings(CLOCK, 0.2, 0.05, 0, exclusive_groups=((0, 1),), exclusive_weights=(1.0, 2.0, 5.0))
    got = sorted((round(e.time, 2), e.cls, round(e.strength, 2)) for e in decode(p, weighted))
    assert got == [(0.11, 1, 0.4), (0.11, 2, 0.5), (0.4, 0, 0.9)]
    plain = DecodeSettings(CLOCK, 0.2, 0.05, 0, exclusive_groups=((0, 1),))
    assert sorted((round(e.time, 2), e.cls) for e in decode(p, plain)) == [(0.1, 0), (0.11, 2), (0.4, 0)]


def test_exclusive_weights_from_config_and_validation():
    from drumscribe.core.config import load_config
    from drumscribe.core.errors import ConfigError

    from eval_helpers import ROOT

    base = ROOT / "configs" / "default_config.yaml"
    cfg = load_config(base, ["postprocessing.exclusive_groups=[[hi_tom,mid_tom,low_tom]]",
                             "postprocessing.exclusive_weights={mid_tom: 2.5}"])
    s = DecodeSettings.from_config(cfg)
    assert s.exclusive_weights == (1, 1, 1, 1, 2.5, 1, 1, 1) and s.group_weights((3, 4, 5)) == [1, 2.5, 1]
    # turning the groups off keeps a config with weights valid (they then do nothing)
    off = load_config(base, ["postprocessing.exclusive_groups=[]", "postprocessing.exclusive_weights={mid_tom: 2.5}"])
    assert DecodeSettings.from_config(off).exclusive_groups == ()
    for bad, msg in (("{gong: 2}", "'gong' is not a class"), ("{mid_tom: 0}", "must be positive"),
                     ("{mid_tom: -1}", "must be positive")):
        with pytest.raises(ConfigError, match="postprocessing.exclusive_weights"):
            load_config(base, [f"postprocessing.exclusive_weights={bad}"])


def test_exclusive_groups_from_config_and_validation():
    from drumscribe.core.config import load_config
    from drumscribe.core.errors import ConfigError

    from eval_helpers import ROOT

    base = ROOT / "configs" / "default_config.yaml"
    cfg = load_config(base, ["postprocessing.exclusive_groups=[[hi_tom,mid_tom,low_tom],[crash,ride]]"])
    assert DecodeSettings.from_config(cfg).exclusive_groups == ((3, 4, 5), (6, 7))
    assert DecodeSettings.from_config(load_config(base, ["postprocessing.exclusive_groups=[]"])).exclusive_groups == ()
    for bad, msg in (("[[hi_tom,gong]]", "'gong' is not a class"), ("[[hi_tom]]", "2 or more"),
                     ("[[hi_tom,mid_tom],[mid_tom,low_tom]]", "more than one group")):
        with pytest.raises(ConfigError, match=msg):
            load_config(base, [f"postprocessing.exclusive_groups={bad}"])
