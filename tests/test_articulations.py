"""Articulation outputs (open/pedal hi-hat, cross-stick, rim shot, ride bell): targets, config, decoding,
init from an 8-class model, scoring, threshold tuning, cache, ONNX.  Issue "Bundled model v5"."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drumscribe.core import drums
from drumscribe.core.errors import ConfigError
from drumscribe.core.timebase import FrameClock

ALL = "[" + ",".join(drums.ARTICULATION_CLASSES) + "]"


def _small(extra=()):
    """A tiny network on the default config (E-GMD's TD note map: every articulation note mapped)."""
    from drumscribe.core.config import load_config
    from eval_helpers import ROOT, SMALL

    return load_config(ROOT / "configs" / "default_config.yaml", list(SMALL) + list(extra))


def _cfg(extra=()):
    return _small([f"model.articulations={ALL}", *extra])


def _notes(times, pitches):
    from drumscribe.dataset.targets import DrumNotes

    return DrumNotes(np.asarray(times, float), np.asarray(pitches, np.int64), np.full(len(times), 100, np.int64))


def test_targets_add_one_column_per_articulation_and_keep_the_drum():
    from drumscribe.dataset.targets import make_targets

    cfg = _cfg()
    clock = FrameClock.from_config(cfg.audio)
    notes = _notes([0.5, 1.0, 1.5, 2.0, 2.5, 3.0], [42, 46, 37, 53, 40, 44])
    plain = make_targets(notes, 400, clock, cfg.egmd_midi_mapping, cfg.n_classes)
    tg = make_targets(notes, 400, clock, cfg.egmd_midi_mapping, cfg.n_classes, cfg.articulations)
    assert plain.onsets.shape == (400, 8) and tg.onsets.shape == (400, 8 + 5)
    assert np.array_equal(tg.onsets[:, :8], plain.onsets)  # the drums' targets are unchanged
    assert tg.note_pitches.tolist() == [42, 46, 37, 53, 40, 44]
    for t, pitch in zip(notes.times, notes.pitches):
        f = clock.to_frames(t)
        art = drums.articulation_of(pitch)
        row = tg.onsets[f, 8:]
        if art:
            assert row.tolist() == [int(a == art) for a in cfg.articulations]
            assert tg.onsets[f, cfg.class_names.index(drums.ARTICULATION_PARENT[art])] == 1
        else:
            assert row.sum() == 0  # closed hi-hat 42: no articulation
    assert tg.onsets[:, 8:].sum() == 5


def test_config_checks_articulation_names_parents_and_thresholds():
    assert _cfg().n_outputs == 13 and _cfg().articulation_thresholds() == [0.5] * 5
    with pytest.raises(ConfigError, match="unknown articulation"):
        _cfg(["model.articulations=[hihat_half_open]"])
    with pytest.raises(ConfigError, match="lists a name twice"):
        _small(["model.articulations=[ride_bell,ride_bell]"])
    with pytest.raises(ConfigError, match="articulation_thresholds"):
        _cfg(["postprocessing.articulation_thresholds=[0.5,0.5]"])
    with pytest.raises(ConfigError, match="loss.class_weights"):
        _cfg(["loss.class_weights=[1,1,1]"])
    assert len(_cfg(["loss.class_weights=[1,1,1,1,1,1,1,1,2,2,2,2,2]"]).loss.class_weights) == 13


def _probs(n=300):
    return np.zeros((n, 13))


def test_decode_gives_articulations_to_parent_hits_only_and_keeps_the_drum_events():
    from drumscribe.transcription.decoding import DecodeSettings, decode

    cfg = _cfg(["postprocessing.articulation_thresholds=[0.5,0.5,0.5,0.5,0.5]"])
    s = DecodeSettings.from_config(cfg, [0.5] * 8)
    hh, sn, ride = (cfg.class_names.index(c) for c in ("hihat", "snare", "ride"))
    col = {a: 8 + i for i, a in enumerate(cfg.articulations)}
    p = _probs()
    p[50, hh] = p[100, hh] = p[150, sn] = p[200, ride] = 0.9
    p[51, col["hihat_open"]] = 0.8            # next frame: still this hit's
    p[100, col["hihat_open"]] = 0.6
    p[100, col["hihat_pedal"]] = 0.7          # the higher of two wins
    p[150, col["cross_stick"]] = 0.4          # below its threshold: plain snare
    p[250, col["ride_bell"]] = 0.99           # no ride hit there: no event of its own
    p[200, col["cross_stick"]] = 0.99         # another drum's articulation: ignored on a ride hit
    ev = decode(p, s)
    assert [(e.cls, e.articulation) for e in ev] == [(hh, "hihat_open"), (hh, "hihat_pedal"), (sn, ""), (ride, "")]
    plain = DecodeSettings.from_config(_cfg_plain(), [0.5] * 8)
    ev8 = decode(p[:, :8], plain)
    assert [(e.time, e.cls, e.velocity) for e in ev8] == [(e.time, e.cls, e.velocity) for e in ev]
    with pytest.raises(ValueError):
        decode(p[:, :4], s)


def _cfg_plain():
    return _small(["model.articulations=[]"])


def test_init_from_an_8_class_model_keeps_its_drum_outputs(tmp_path):
    torch = pytest.importorskip("torch")
    from eval_helpers import fake_checkpoint

    from drumscribe.training.module import NEW_ARTICULATION_BIAS, DrumscribeModule, init_weights_from

    plain = _cfg_plain()
    ckpt = fake_checkpoint(tmp_path / "m.ckpt", plain, seed=4)
    from drumscribe.training.checkpoint import load_bundle

    src = load_bundle(ckpt).model.eval()
    mod = DrumscribeModule(_cfg())
    init_weights_from(mod, ckpt, log=lambda *_: None)
    x = torch.randn(2, 40, plain.audio.n_mels)
    with torch.no_grad():
        a = src(x).onset_logits
        b = mod.model.eval()(x).onset_logits
    assert b.shape[-1] == 13
    assert torch.allclose(a, b[..., :8], atol=1e-5)
    for j, art in enumerate(mod.cfg.articulations):
        parent = plain.class_names.index(drums.ARTICULATION_PARENT[art])
        assert torch.allclose(b[..., 8 + j], a[..., parent] + NEW_ARTICULATION_BIAS, atol=1e-5)
    # any other model difference is still refused
    with pytest.raises(ConfigError, match="hidden_size"):
        init_weights_from(DrumscribeModule(_cfg(["model.hidden_size=12"])), ckpt, log=lambda *_: None)


def test_evaluation_scores_each_articulation_from_the_truth_notes():
    from drumscribe.evaluation.evaluate import EvalItem, Prediction, evaluate_predictions

    cfg = _cfg()
    clock = FrameClock.from_config(cfg.audio)
    hh = cfg.class_names.index("hihat")
    times = np.array([1.0, 2.0, 3.0])
    item = EvalItem("a", np.zeros((300, cfg.audio.n_mels), np.float32), times, np.full(3, hh), None,
                    np.array([46, 46, 42]))
    p = _probs()
    col = 8 + cfg.articulations.index("hihat_open")
    for t in times:
        p[clock.to_frames(t), hh] = 0.9
    p[clock.to_frames(1.0), col] = 0.9  # the first open hi-hat found; the second one missed
    p[clock.to_frames(3.0), col] = 0.9  # the closed one called open: a false alarm
    res = evaluate_predictions([Prediction(item, p, None)], cfg, cfg.class_names, [0.5] * 8)
    oh = res["articulations"]["hihat_open"]
    assert (oh["tp"], oh["fp"], oh["fn"]) == (1, 1, 1) and oh["f1"] == pytest.approx(0.5)
    assert res["articulations"]["cross_stick"]["support"] == 0
    assert res["per_class"]["hihat"]["f1"] == 1.0  # the drum view is not touched by articulations
    assert res["articulations_scored_files"] == 1
    # without truth notes nothing is scored
    item2 = EvalItem("b", item.features, times, item.note_classes, None, None)
    assert evaluate_predictions([Prediction(item2, p, None)], cfg, cfg.class_names, [0.5] * 8)["articulations_scored_files"] == 0


def test_articulation_thresholds_are_tuned_on_their_own_f1():
    from drumscribe.evaluation.evaluate import EvalItem, Prediction
    from drumscribe.evaluation.tuning import tune_articulation_thresholds

    cfg = _cfg()
    clock = FrameClock.from_config(cfg.audio)
    hh = cfg.class_names.index("hihat")
    col = 8 + cfg.articulations.index("hihat_open")
    times = np.arange(1, 9, dtype=float)
    pitches = np.array([46, 42] * 4)
    p = _probs(500)
    for t, pitch in zip(times, pitches):
        f = clock.to_frames(t)
        p[f, hh] = 0.9
        p[f, col] = 0.62 if pitch == 46 else 0.3  # open ones above 0.3, closed ones at it
    item = EvalItem("a", np.zeros((500, cfg.audio.n_mels), np.float32), times, np.full(8, hh), None, pitches)
    th, details = tune_articulation_thresholds([Prediction(item, p, None)], cfg, [0.5] * 8)
    d = details[cfg.articulations.index("hihat_open")]
    assert d["tuned"] and d["after_f1"] == 1.0 and 0.3 < th[cfg.articulations.index("hihat_open")] <= 0.62
    assert not details[cfg.articulations.index("cross_stick")]["tuned"]  # no support: kept


def test_time_stretch_moves_articulation_targets_without_velocities():
    from drumscribe.training.augment import time_stretch

    on = np.zeros((100, 13), np.uint8)
    vel = np.zeros((100, 8), np.float32)
    on[10, 2] = on[10, 8] = 1
    vel[10, 2] = 0.7
    feats, on2, vel2, m = time_stretch(np.zeros((100, 4), np.float32), on, vel, np.ones(100, np.float32), 1.5, 120)
    assert on2.shape == (120, 13) and vel2.shape == (120, 8)
    assert on2[15, 2] == 1 and on2[15, 8] == 1 and vel2[15, 2] == pytest.approx(0.7)


def test_preprocess_writes_articulation_targets_and_pitches_under_their_own_key(toy_copy, tmp_path):
    from drumscribe.cli import main
    from drumscribe.dataset.cache import cache_key, cache_path, read_item
    from drumscribe.dataset.splits import read_split
    from drumscribe.dataset.targets import read_drum_notes

    base = [f"data.egmd_root={toy_copy}", f"data.processed_root={tmp_path / 'p'}", f"data.splits_dir={tmp_path / 'p/s'}"]
    cfg = _small(base + [f"model.articulations={ALL}"])
    assert cache_key(cfg) != cache_key(_small(base + ["model.articulations=[]"]))  # an 8-class run is never served these targets
    # the toy performances play closed hi-hats only: give one file an open hi-hat and a cross-stick
    import pretty_midi

    midi = sorted(toy_copy.rglob("*.midi"))[0]
    pm = pretty_midi.PrettyMIDI(str(midi))
    pm.instruments[0].notes += [pretty_midi.Note(100, 46, 1.0, 1.1), pretty_midi.Note(100, 37, 2.0, 2.1)]
    pm.write(str(midi))
    sets = [a for b in base + [f"model.articulations={ALL}"] for a in ("--set", b)]
    assert main(["preprocess", "--config", "configs/default_config.yaml", *sets, "--quiet", "--num-workers", "1"]) == 0
    rels = [r for s in ("train", "val", "test") for r in read_split(cfg.data.splits_dir, s)]
    rel = next(r for r in rels if (toy_copy / r).with_suffix(".midi") == midi)
    item = read_item(cache_path(cfg.data.processed_root, rel), ("onsets", "note_times", "note_pitches", "note_classes"))
    assert item["onsets"].shape[1] == 13
    assert sorted(item["note_pitches"].tolist()) == sorted(read_drum_notes(midi).pitches.tolist())
    clock = FrameClock.from_config(cfg.audio)
    col = {a: 8 + i for i, a in enumerate(cfg.articulations)}
    assert item["onsets"][clock.to_frames(1.0), col["hihat_open"]] == 1
    assert item["onsets"][clock.to_frames(2.0), col["cross_stick"]] == 1
    assert item["onsets"][:, 8:].sum() == 2


def test_onnx_export_of_an_articulation_model_round_trips(tmp_path):
    pytest.importorskip("torch")
    from eval_helpers import fake_checkpoint

    from drumscribe.audio.features import compute_features
    from drumscribe.cli import main
    from drumscribe.dataset.toy import render_events, toy_performance
    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.transcription.inference import predict_features, transcribe_audio
    from drumscribe.transcription.onnx_runtime import load_onnx_bundle

    cfg = _cfg()
    y = render_events(toy_performance(8.0, seed=5), 8.0, seed=5, sr=cfg.audio.sample_rate)
    feats = compute_features(y, cfg.audio)
    ckpt = fake_checkpoint(tmp_path / "m.ckpt", cfg, features=feats, thresholds=[0.3] * 8)
    out = tmp_path / "m.onnx"
    assert main(["export", "--checkpoint", str(ckpt), str(out)]) == 0
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["config"]["model"]["articulations"] == list(drums.ARTICULATION_CLASSES)
    ob = load_onnx_bundle(out)
    assert ob.model.n_outputs == 13
    clock = FrameClock.from_config(cfg.audio)
    ref, _ = predict_features(load_bundle(ckpt).model, feats, clock, 4.0, 1.0)
    got, _ = predict_features(ob.model, feats, clock, 4.0, 1.0)
    assert got.shape == (feats.shape[0], 13) and np.abs(ref - got).max() < 1e-4
    tr = transcribe_audio(ob, y, sample_rate=cfg.audio.sample_rate, thresholds=0.2)
    assert tr.onset_probs.shape[1] == 13 and len(tr.thresholds) == 8
    assert all(e.articulation == "" or drums.ARTICULATION_PARENT[e.articulation] == cfg.class_names[e.cls]
               for e in tr.events)
