"""Issue 29: velocities from each hit's level in the audio (transcription/levels.py, postprocessing.velocity_levels)."""

import json
import shutil

import numpy as np
import pytest

from test_timing_metrics import NAMES, SR, _hits


def _kick_env(times, amps):
    from drumscribe.transcription.refine import envelopes_of

    y = sum(_hits([t], freq=60.0, amp=a, seed=i) for i, (t, a) in enumerate(zip(times, amps)))
    return envelopes_of([y], SR, NAMES)


def test_velocities_follow_each_hits_band_level():
    from drumscribe.transcription.decoding import Event
    from drumscribe.transcription.levels import relevel_events

    times = [0.2, 0.5, 0.8, 1.1, 1.4, 1.7]
    amps = [0.1, 0.2, 0.4, 0.8, 0.4, 0.2]  # each doubling +6 dB
    env = _kick_env(times, amps)
    kicks = [Event(t + 0.007, 0, 70, 0.9, "") for t in times]  # frame times, the head's flat 70
    snares = [Event(t, 1, 60 + i, 0.8) for i, t in enumerate((0.3, 0.9, 1.5))]  # fewer than MIN_HITS
    hats = [Event(t, 2, 50 + i, 0.7) for i, t in enumerate((0.25, 0.55, 0.85, 1.15, 1.45))]  # no coefficients
    events = sorted(kicks + snares + hats, key=lambda e: e.time)
    out = relevel_events(events, env, NAMES, {"kick": [2.0, 0.0], "snare": [2.0, 0.0]})
    assert [(e.time, e.cls, e.strength, e.articulation) for e in out] == \
        [(e.time, e.cls, e.strength, e.articulation) for e in events]  # only velocities change
    got = {e.time: e.velocity for e in out}
    assert [got[e.time] for e in snares] == [60, 61, 62] and [got[e.time] for e in hats] == [50, 51, 52, 53, 54]
    kv = np.array([got[e.time] for e in kicks], dtype=float)
    # 2 velocity units per dB: 6 dB per doubling -> about 12 per step, around the head's median (70)
    steps = np.diff(kv[:4])
    assert np.all(np.abs(steps - 2.0 * 20 * np.log10(2)) <= 1.5), kv
    assert kv[2] == kv[4] and kv[1] == kv[5]  # equal amplitudes, equal velocities
    assert np.median(kv) == pytest.approx(70, abs=1)


def test_head_weight_scales_the_heads_own_contrast():
    from drumscribe.transcription.levels import contrast_velocities

    head = np.array([60, 70, 80, 90, 100])
    levels = np.array([-20.0, -10.0, -30.0, -25.0, -15.0])
    np.testing.assert_array_equal(contrast_velocities(head, levels, 0.0, 1.0), head)
    np.testing.assert_array_equal(contrast_velocities(head, levels, 0.0, 0.5), [70, 75, 80, 85, 90])
    np.testing.assert_array_equal(contrast_velocities(head, levels, 10.0, 0.0), [80, 127, 1, 30, 127])


def test_velocity_levels_are_validated():
    from drumscribe.core.config import load_config
    from drumscribe.core.errors import ConfigError

    from conftest import CONFIGS

    cfg = CONFIGS / "default_config.yaml"
    assert load_config(cfg).postprocessing.velocity_levels == {}  # the plan's pipeline: the head's velocities
    with pytest.raises(ConfigError, match="postprocessing.velocity_levels"):
        load_config(cfg, ["postprocessing.velocity_levels={kick: [1.0]}"])
    with pytest.raises(ConfigError, match="postprocessing.velocity_levels"):
        load_config(cfg, ["postprocessing.velocity_levels={tabla: [1.0, 0.5]}"])
    ok = load_config(cfg, ["postprocessing.velocity_levels={kick: [2, 0.5]}"])
    assert ok.postprocessing.velocity_levels == {"kick": [2.0, 0.5]}


def test_tuning_keeps_the_fitted_levels(tmp_path):
    """Saving tuned thresholds with their decoding settings leaves a model's fitted velocity levels alone."""
    from drumscribe.training.checkpoint import save_thresholds
    from drumscribe.transcription.bundle import default_model_path

    src = default_model_path()
    model = tmp_path / src.name
    shutil.copyfile(src.with_suffix(".json"), model.with_suffix(".json"))
    shutil.copyfile(src, model)
    levels = {"kick": [2.5, 0.5]}
    meta = json.loads(model.with_suffix(".json").read_text())
    save_thresholds(model, meta["thresholds"], {"velocity_levels": levels})
    save_thresholds(model, [0.3] * len(meta["thresholds"]), {"onset_refine": "none"})
    meta = json.loads(model.with_suffix(".json").read_text())
    assert meta["config"]["postprocessing"]["velocity_levels"] == levels and meta["thresholds"][0] == 0.3
    with pytest.raises(ValueError, match="not decoding settings"):
        save_thresholds(model, meta["thresholds"], {"learning_rate": 1.0})


def test_evaluate_without_audio_scores_the_heads_velocities_and_says_so_once():
    """A cache entry whose audio is gone: the model's levels cannot be measured; the head's velocities are
    scored, with one warning for the whole run (not one per file)."""
    import warnings

    from drumscribe.api import load_model
    from drumscribe.evaluation.evaluate import EvalItem, Prediction, evaluate_predictions

    bundle = load_model(threads=1)
    cfg = bundle.config
    assert cfg.postprocessing.velocity_levels
    n, frames = len(bundle.class_names), 200
    onset = np.zeros((frames, bundle.model.n_outputs), np.float32)
    onset[20::40, 0] = 0.9  # five kicks
    vel = np.full((frames, 2 * n if cfg.model.offset_head else n), 0.5, np.float32)
    times = np.arange(20, frames, 40) * 512 / 22050
    items = [EvalItem(f"f{i}", np.zeros((frames, 128), np.float32), times, np.zeros(len(times), np.int64),
                      note_velocities=np.full(len(times), 64.0)) for i in range(2)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = evaluate_predictions([Prediction(it, onset, vel) for it in items], cfg, bundle.class_names,
                                   bundle.thresholds)
    said = [str(w.message) for w in caught if "without their audio" in str(w.message)]
    assert said == [said[0]] and said[0].startswith("2 of 2 files")
    assert res["micro"]["tp"] == 10
