"""Issue 29: onset timing and velocity figures (metrics.TimingScorer, evaluate's JSON and tables) and the
signal-measured sub-frame onsets (transcription/refine.py, postprocessing.onset_refine)."""

import json
from pathlib import Path

import numpy as np
import pytest

from drumscribe.evaluation.metrics import TimingScorer, matched_pairs, offset_stats, velocity_stats

NAMES = ["kick", "snare", "hihat", "hi_tom", "mid_tom", "low_tom", "crash", "ride"]
FIXTURE = Path(__file__).parent / "fixtures" / "gmd_heldout" / "clean"


def _empty():
    return [np.zeros(0) for _ in NAMES]


def test_offsets_f1_windows_and_scatter_on_hand_made_events():
    ref, est = _empty(), _empty()
    ref[0] = np.array([1.0, 2.0, 3.0])
    est[0] = np.array([1.004, 2.006, 3.010, 5.0])  # +4, +6, +10 ms and a false alarm
    ref[1] = np.array([1.5])
    est[1] = np.array([1.475])  # -25 ms: matched at ±50 and ±30, not at ±20
    sc = TimingScorer(NAMES, 0.05)
    sc.add(ref, est)
    r = sc.result()
    kick = r["per_class"]["kick"]
    assert kick["n"] == 3
    assert kick["mean_offset_ms"] == pytest.approx(20 / 3)
    assert kick["mae_ms"] == pytest.approx(20 / 3)
    assert kick["median_offset_ms"] == pytest.approx(6.0)
    assert kick["scatter_ms"] == pytest.approx(np.std([-2.0, 0.0, 4.0]))  # after the file's kick median
    assert r["per_class"]["snare"]["mean_offset_ms"] == pytest.approx(-25.0)
    assert r["per_class"]["hihat"]["n"] == 0 and r["per_class"]["hihat"]["scatter_ms"] is None
    # overall: every matched hit; the scatter after the file's median over all of them (+4)
    o = r["overall"]
    assert o["n"] == 4 and o["mean_offset_ms"] == pytest.approx((4 + 6 + 10 - 25) / 4)
    assert o["mae_ms"] == pytest.approx((4 + 6 + 10 + 25) / 4)
    assert o["scatter_ms"] == pytest.approx(np.std([4 - 5.0, 6 - 5.0, 10 - 5.0, -25 - 5.0]))
    # F1 at each window from independent matchings, the one formula (Counts)
    f = r["f1"]
    assert set(f) == {"0.02", "0.03", "0.05"}
    assert (f["0.05"]["micro"]["tp"], f["0.03"]["micro"]["tp"], f["0.02"]["micro"]["tp"]) == (4, 4, 3)
    assert f["0.02"]["per_class"]["snare"]["f1"] == 0.0 and f["0.03"]["per_class"]["snare"]["f1"] == 1.0
    assert f["0.05"]["micro"]["f1"] == pytest.approx(2 * (4 / 5) * 1.0 / (4 / 5 + 1.0))
    assert r["velocity"] is None  # no velocities given


def test_scatter_removes_each_files_median_but_mae_does_not():
    sc = TimingScorer(NAMES, 0.05)
    for shift in (0.008, -0.012):  # two files, each with its own constant offset
        ref, est = _empty(), _empty()
        ref[2] = np.arange(10) * 0.25
        est[2] = ref[2] + shift
        sc.add(ref, est)
    r = sc.result()["per_class"]["hihat"]
    assert r["scatter_ms"] == pytest.approx(0.0, abs=1e-9) and r["robust_scatter_ms"] == pytest.approx(0.0, abs=1e-9)
    assert r["mae_ms"] == pytest.approx(10.0) and r["mean_offset_ms"] == pytest.approx(-2.0)


def test_velocity_figures_and_constant_truth_is_not_scored():
    ref, est, rv, ev = _empty(), _empty(), _empty(), _empty()
    ref[1] = np.array([0.5, 1.0, 1.5, 2.0, 2.5])
    est[1] = ref[1][::-1] + 0.01  # given out of order: velocities must follow their times
    rv[1] = np.array([20, 35, 80, 110, 127])
    ev[1] = np.array([120, 105, 90, 60, 30])  # aligned with est as given: [30, 60, 90, 105, 120] once sorted
    sc = TimingScorer(NAMES, 0.05)
    sc.add(ref, est, rv, ev)
    v = sc.result()["velocity"]
    written = np.array([30, 60, 90, 105, 120])
    assert v["n"] == 5 and v["files"] == 1
    assert v["pearson"] == pytest.approx(np.corrcoef(rv[1], written)[0, 1])
    assert v["mae"] == pytest.approx(np.abs(rv[1] - written).mean())
    assert (v["ghost_n"], v["ghost_recall"]) == (2, 0.5)  # 20 -> 30 (< 50), 35 -> 60 (not)
    assert (v["accent_n"], v["accent_recall"]) == (2, 1.0)  # 110 -> 105, 127 -> 120
    assert set(v["per_class"]) == {"snare"}
    # real-dev style truth: every velocity 100 -> no velocity figures
    sc2 = TimingScorer(NAMES, 0.05)
    sc2.add(ref, est, [np.full(len(r), 100) for r in ref], ev)
    assert sc2.result()["velocity"] is None
    assert velocity_stats(np.array([64]), np.array([64]))["pearson"] is None
    assert offset_stats(np.zeros(0), np.zeros(0))["mae_ms"] is None


def test_within_file_pearson_removes_each_files_level():
    # two files whose written velocities follow the playing inside each file, but the second file was
    # recorded 40 velocity steps hotter: the pooled Pearson suffers, the within-file one does not
    sc = TimingScorer(NAMES, 0.05)
    times = np.array([0.5, 1.0, 1.5, 2.0])
    for true, written in (([30, 60, 90, 120], [10, 20, 30, 40]), ([84, 63, 42, 21], [88, 81, 74, 67])):
        ref, est, rv, ev = _empty(), _empty(), _empty(), _empty()
        ref[0], est[0] = times, times + 0.005
        rv[0], ev[0] = np.array(true), np.array(written)
        sc.add(ref, est, rv, ev)
    v = sc.result()["velocity"]
    assert v["pearson_within_file"] == pytest.approx(1.0)
    assert v["per_class"]["kick"]["pearson_within_file"] == pytest.approx(1.0)
    assert v["pearson"] < 0.2  # pooled: the second file's level hides the playing
    # a written velocity that moves against the playing inside a file is caught the same way
    sc2 = TimingScorer(NAMES, 0.05)
    ref, est, rv, ev = _empty(), _empty(), _empty(), _empty()
    ref[0], est[0], rv[0], ev[0] = times, times, np.array([30, 60, 90, 120]), np.array([120, 90, 60, 30])
    sc2.add(ref, est, rv, ev)
    assert sc2.result()["velocity"]["pearson_within_file"] == pytest.approx(-1.0)


def test_matched_pairs_is_mir_evals_matching():
    import mir_eval

    rng = np.random.default_rng(0)
    ref = np.sort(rng.uniform(0, 10, 40))
    kept = ref[rng.random(40) < 0.8]
    est = np.sort(kept + rng.normal(0, 0.02, kept.size))
    i, j = matched_pairs(ref, est, 0.05)
    assert sorted(zip(i.tolist(), j.tolist())) == sorted(mir_eval.util.match_events(ref, est, 0.05))


# ------------------------------------------------------------------ refine.py

SR = 22050


def _hits(times, sr=SR, seconds=3.0, freq=None, amp=0.5, seed=0):
    """Decaying noise bursts (or sines at ``freq``) starting exactly at ``times``."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(seconds * sr))
    n = int(0.15 * sr)
    decay = np.exp(-np.arange(n) / (0.03 * sr))
    for t in times:
        s = int(round(t * sr))
        src = np.sin(2 * np.pi * freq * np.arange(n) / sr) if freq else rng.normal(0, 1, n)
        seg = amp * decay * src
        y[s:s + n] += seg[:max(0, min(n, y.size - s))]
    return y.astype(np.float32)


def test_band_envelopes_do_not_depend_on_the_block_sizes():
    from drumscribe.transcription.refine import BandEnvelopes, envelopes_of

    y = _hits([0.3, 1.1, 2.0])
    whole = envelopes_of([y], SR, NAMES)
    tracker = BandEnvelopes(SR, NAMES)
    for a, b in zip(range(0, y.size, 4097), range(4097, y.size + 4097, 4097)):
        tracker.feed(y[a:b])
    blocks = tracker.finish()
    assert whole.db.shape == blocks.db.shape == (1 + (y.size - 1) // 22, len(NAMES))
    np.testing.assert_allclose(whole.db, blocks.db, atol=1e-3)
    assert whole.hop_s == pytest.approx(22 / SR)


def test_refine_moves_frame_times_to_the_attacks_with_guards():
    from drumscribe.transcription.decoding import Event
    from drumscribe.transcription.refine import MAX_SHIFT_S, envelopes_of, refine_events

    truth = np.array([0.3137, 0.8021, 1.4555, 2.1003])
    y = _hits(truth)  # broadband: every band sees the attacks
    env = envelopes_of([y], SR, NAMES)
    frame_times = truth + np.array([0.011, -0.009, 0.006, -0.011])  # where a 23 ms frame grid puts them
    events = [Event(float(t), 1, 90 + i, 0.9, "rimshot" if i == 0 else "") for i, t in enumerate(frame_times)]
    out = refine_events(events, env)
    assert [(e.cls, e.velocity, e.strength, e.articulation) for e in out] == \
        [(e.cls, e.velocity, e.strength, e.articulation) for e in events]  # only the time changes
    err = np.array([e.time for e in out]) - truth
    assert np.abs(err).max() < 0.002, err
    assert np.abs(frame_times - truth).mean() > 3 * np.abs(err).mean()
    # no attack near (silence): the frame time is kept; never a move beyond MAX_SHIFT_S
    quiet = [Event(2.8, 1, 80, 0.9), Event(1.4555 + 0.045, 1, 80, 0.9)]
    kept = refine_events(quiet, env)
    assert [e.time for e in kept] == [1.4555 + 0.045, 2.8]  # sorted by time
    assert all(abs(a.time - b.time) <= MAX_SHIFT_S for a, b in zip(refine_events(events, env), events))


def test_refine_uses_each_class_band():
    """A kick (low sine) and a hi-hat (noise) 8 ms apart: each class's onset goes to its own sound."""
    from drumscribe.transcription.decoding import Event
    from drumscribe.transcription.refine import envelopes_of, refine_events

    from scipy.signal import butter, sosfilt

    kick = _hits([1.0], freq=60.0, amp=0.8)
    hat = sosfilt(butter(4, 7000, "highpass", fs=SR, output="sos"), _hits([1.008], seed=1, amp=0.3))
    env = envelopes_of([kick + hat.astype(np.float32)], SR, NAMES)
    out = refine_events([Event(1.0116, 0, 100, 0.9), Event(1.0116, 2, 100, 0.9)], env)
    t = {e.cls: e.time for e in out}
    assert abs(t[0] - 1.0) < 0.004 and abs(t[2] - 1.008) < 0.002, t


def test_onset_refine_is_validated():
    from drumscribe.core.config import load_config
    from drumscribe.core.errors import ConfigError

    from conftest import CONFIGS

    with pytest.raises(ConfigError, match="postprocessing.onset_refine"):
        load_config(CONFIGS / "default_config.yaml", ["postprocessing.onset_refine=yes"])
    assert load_config(CONFIGS / "default_config.yaml").postprocessing.onset_refine == "none"


# ------------------------------------------------------------------ through the bundled model

def test_evaluate_prints_and_writes_timing_and_velocity(tmp_path, capsys):
    from drumscribe.cli import main

    out = {}
    for mode in ("none", "signal"):
        out[mode] = tmp_path / f"{mode}.json"
        assert main(["evaluate", "--split", str(FIXTURE), "--set", f"postprocessing.onset_refine={mode}",
                     "--threads", "1", "--output", str(out[mode])]) == 0
    text = capsys.readouterr().out
    assert "Onset timing" in text and "Velocity of the matched hits" in text
    r = {m: json.loads(p.read_text()) for m, p in out.items()}
    for m in r:
        tm = r[m]["timing"]
        assert tm["f1"]["0.05"]["micro"]["f1"] == pytest.approx(r[m]["micro"]["f1"])  # one F1
        assert tm["f1"]["0.02"]["micro"]["f1"] <= tm["f1"]["0.03"]["micro"]["f1"] <= tm["f1"]["0.05"]["micro"]["f1"]
        assert tm["overall"]["n"] == r[m]["micro"]["tp"]
        assert tm["velocity"]["files"] == 3 and tm["velocity"]["n"] == tm["overall"]["n"]
        assert r[m]["decoding"]["onset_refine"] == m
    # the measured attacks: the same hits (±50 ms), much closer to the truth than the frame grid
    assert r["signal"]["micro"]["tp"] >= r["none"]["micro"]["tp"] - 2
    assert r["signal"]["timing"]["overall"]["mae_ms"] < 0.8 * r["none"]["timing"]["overall"]["mae_ms"]


def test_transcribe_writes_what_evaluate_measures():
    from drumscribe.api import load_model
    from drumscribe.evaluation.evaluate import folder_items, predict_items, refined
    from drumscribe.transcription.decoding import DecodeSettings, decode
    from drumscribe.transcription.inference import transcribe_audio

    bundle = load_model(threads=1)
    bundle.config.postprocessing.onset_refine = "signal"
    item = next(folder_items(bundle.config, FIXTURE))
    pred = predict_items(bundle, [item])[0]
    settings = DecodeSettings.from_config(bundle.config, bundle.thresholds)
    frame_events = decode(pred.onset_probs, settings, pred.velocity_probs)
    evaluated = refined(frame_events, item, bundle.config, bundle.class_names)
    written = transcribe_audio(bundle, FIXTURE / item.name).events
    assert len(written) == len(evaluated) == len(frame_events) > 10
    np.testing.assert_allclose([e.time for e in written], [e.time for e in evaluated], atol=1e-6)
    # the shipped model's velocities come from each hit's level (postprocessing.velocity_levels): the same
    # in what is written and what is scored, and not the head's own values
    assert bundle.config.postprocessing.velocity_levels
    assert [e.velocity for e in written] == [e.velocity for e in evaluated]
    bundle.config.postprocessing.onset_refine = "none"  # the frame times kept: hit by hit against the head
    levelled = refined(frame_events, item, bundle.config, bundle.class_names)
    assert [e.time for e in levelled] == [e.time for e in frame_events]
    assert sum(a.velocity != b.velocity for a, b in zip(levelled, frame_events)) > 5
    frames = np.array([e.time for e in evaluated]) / settings.clock.frame_duration
    off_grid = np.abs(frames * 2 - np.rint(frames * 2)) > 1e-6  # not on a frame (or plateau half-frame)
    assert off_grid.mean() > 0.5
