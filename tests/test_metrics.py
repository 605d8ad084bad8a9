"""metrics.py against hand counts and mir_eval; the MIDI round trip truth -> decode -> MIDI -> F1 = 1."""

import numpy as np
import pytest

from drumscribe.evaluation.metrics import Counts, OnsetScorer, frame_counts, match_onsets, merge_groups, summarize

NAMES = ["kick", "snare", "hihat", "hi_tom", "mid_tom", "low_tom", "crash", "ride"]


def test_hand_counted_example():
    ref = [np.array([1.0, 2.0, 3.0]), np.array([1.5]), np.array([]), np.array([0.5, 0.6]),
           np.array([]), np.array([]), np.array([4.0]), np.array([])]
    est = [np.array([1.04, 2.06, 3.0, 5.0]),  # 1.04 ok, 2.06 outside 50 ms, 3.0 ok, 5.0 FP -> TP2 FP2 FN1
           np.array([1.5]),  # TP1
           np.array([0.2]),  # FP1 (no support)
           np.array([0.55]),  # one estimate, two refs within 50 ms -> TP1 FN1 (one-to-one)
           np.array([]), np.array([]), np.array([]),  # crash: FN1
           np.array([])]
    sc = OnsetScorer(NAMES, 0.05)
    sc.add(ref, est)
    r = sc.result()
    pc = r["per_class"]
    assert (pc["kick"]["tp"], pc["kick"]["fp"], pc["kick"]["fn"]) == (2, 2, 1)
    assert pc["kick"]["precision"] == 0.5 and pc["kick"]["recall"] == pytest.approx(2 / 3)
    assert pc["kick"]["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert (pc["snare"]["tp"], pc["hihat"]["fp"], pc["hi_tom"]["tp"], pc["hi_tom"]["fn"]) == (1, 1, 1, 1)
    assert pc["crash"] == {"precision": 1.0, "recall": 0.0, "f1": 0.0, "support": 1, "tp": 0, "fp": 0, "fn": 1}
    # micro: TP 4, FP 3, FN 3
    assert (r["micro"]["tp"], r["micro"]["fp"], r["micro"]["fn"]) == (4, 3, 3)
    assert r["micro"]["f1"] == pytest.approx(8 / 14)
    # macro over the 4 classes with support (kick, snare, hi_tom, crash); hihat (support 0) excluded
    f1s = [pc[n]["f1"] for n in ("kick", "snare", "hi_tom", "crash")]
    assert r["macro"]["n_classes"] == 4 and r["macro"]["f1"] == pytest.approx(np.mean(f1s))
    # 5-class view: toms merged (hi_tom), cymbals (crash)
    five = r["five_class"]["per_class"]
    assert list(five) == ["kick", "snare", "toms", "hihat", "cymbals"]
    assert (five["toms"]["tp"], five["toms"]["fn"], five["cymbals"]["fn"]) == (1, 1, 1)


def test_same_as_mir_eval():
    import mir_eval

    rng = np.random.default_rng(1)
    for _ in range(20):
        ref = np.sort(rng.uniform(0, 10, rng.integers(1, 40)))
        est = np.sort(np.concatenate([ref + rng.normal(0, 0.035, ref.size), rng.uniform(0, 10, rng.integers(0, 10))]))
        c = match_onsets(ref, est, 0.05)
        f, p, r = mir_eval.onset.f_measure(ref, est, window=0.05)
        assert (c.f1, c.precision, c.recall) == pytest.approx((f, p, r))


def test_merged_view_counts_tom_confusions_as_correct():
    ref = [np.array([])] * 3 + [np.array([1.0]), np.array([]), np.array([]), np.array([2.0]), np.array([])]
    est = [np.array([])] * 3 + [np.array([]), np.array([1.01]), np.array([]), np.array([]), np.array([2.0])]
    sc = OnsetScorer(NAMES)
    sc.add(ref, est)
    r = sc.result()
    assert r["micro"]["f1"] == 0.0
    assert r["five_class"]["micro"]["f1"] == 1.0
    # crash + ride hit at once are two onsets in the merged list; both must be found
    merged = merge_groups([np.array([1.0])] * 8, NAMES)
    assert [m.size for m in merged] == [1, 1, 3, 1, 2]


def test_empty_conventions_and_frame_counts():
    assert Counts(0, 0, 0).f1 == 1.0 and Counts(0, 3, 0).precision == 0.0 and Counts(0, 0, 2).precision == 1.0
    s = summarize([Counts(0, 0, 0)], ["kick"])
    assert s["macro"]["n_classes"] == 0
    probs = np.array([[0.9, 0.1], [0.2, 0.6], [0.7, 0.0]])
    tgt = np.array([[1, 0], [0, 0], [0, 1]])
    fc = frame_counts(probs, tgt, [0.5, 0.5])
    assert [(c.tp, c.fp, c.fn) for c in fc] == [(1, 1, 0), (0, 1, 1)]


def test_midi_round_trip_scores_perfectly(tmp_path):
    """truth MIDI -> perfect activations -> decode -> write MIDI -> read -> evaluate: F1 = 1."""
    from drumscribe.core.config import load_config
    from drumscribe.dataset.targets import onset_roll
    from drumscribe.transcription.decoding import DecodeSettings, decode
    from drumscribe.dataset.targets import make_targets, onsets_by_class, read_drum_notes
    from drumscribe.transcription.midi_out import write_events
    from drumscribe.core.timebase import FrameClock
    from drumscribe.dataset.toy import toy_performance, write_midi

    from eval_helpers import ROOT

    cfg = load_config(ROOT / "configs" / "medium_test_config.yaml")
    clock = FrameClock.from_config(cfg.audio)
    events = toy_performance(12.0, seed=5)
    truth_path = tmp_path / "truth.midi"
    write_midi(truth_path, events)
    n_frames = clock.n_frames(12 * cfg.audio.sample_rate)
    t = make_targets(read_drum_notes(truth_path), n_frames, clock, cfg.egmd_midi_mapping, cfg.n_classes)
    probs = onset_roll(t.note_times, t.note_classes, n_frames, cfg.n_classes, clock).astype(np.float32)
    decoded = decode(probs, DecodeSettings.from_config(cfg))
    out = tmp_path / "out.mid"
    write_events(out, decoded, cfg.class_names, cfg.midi)
    back = read_drum_notes(out)
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(out))
    assert len(pm.instruments) == 1 and pm.instruments[0].is_drum
    assert pm.get_tempo_changes()[1][0] == pytest.approx(cfg.midi.tempo_bpm)
    t2 = make_targets(back, n_frames, clock, cfg.egmd_midi_mapping, cfg.n_classes)
    sc = OnsetScorer(cfg.class_names)
    sc.add(onsets_by_class(t.note_times, t.note_classes, cfg.n_classes),
           onsets_by_class(t2.note_times, t2.note_classes, cfg.n_classes))
    r = sc.result()
    assert r["micro"]["f1"] == 1.0 and r["micro"]["support"] == len(events)
    assert all(d["f1"] == 1.0 for d in r["per_class"].values())
