"""The articulation output rule (issue 28): a transcription writes an articulation by default only where the
model showed it right (postprocessing.written_articulations, decided by scripts/articulation_gate.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from drumscribe.core.errors import ConfigError
from drumscribe.transcription.decoding import Event, fold_articulations, written_articulations

ROOT = Path(__file__).resolve().parents[1]


def _cfg(extra=()):
    from drumscribe.core.config import load_config
    from eval_helpers import SMALL

    return load_config(ROOT / "configs" / "default_config.yaml", list(SMALL) + list(extra))


def test_views_of_the_written_articulations():
    cfg = _cfg(["postprocessing.written_articulations=[hihat_open,ride_bell]"])
    assert written_articulations(cfg) == ["hihat_open", "ride_bell"]  # in the model's output order
    assert written_articulations(cfg, "all") == list(cfg.model.articulations)
    assert written_articulations(cfg, "none") == []
    assert written_articulations(_cfg()) == []  # nothing shown: the plain drums
    with pytest.raises(ValueError):
        written_articulations(cfg, "some")
    with pytest.raises(ConfigError, match="written_articulations"):
        _cfg(["postprocessing.written_articulations=[cowbell]"])


def test_fold_keeps_only_the_written_ones():
    ev = [Event(1.0, 2, 90, 0.9, "hihat_open"), Event(1.5, 2, 80, 0.8, "hihat_pedal"), Event(2.0, 1, 70, 0.7, "")]
    out = fold_articulations(ev, ["hihat_open"])
    assert [e.articulation for e in out] == ["hihat_open", "", ""]
    assert [(e.time, e.cls, e.velocity) for e in out] == [(e.time, e.cls, e.velocity) for e in ev]


def test_transcribe_writes_an_unproven_articulation_as_its_drum(tmp_path):
    """The same model and audio: by default (no articulation shown) no articulation note; --classes all
    writes what the outputs say."""
    pytest.importorskip("torch")
    from eval_helpers import fake_checkpoint

    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.transcription.inference import transcribe_audio

    cfg = _cfg(["postprocessing.articulation_thresholds=[0.01,0.01,0.01,0.01,0.01]"])
    bundle = load_bundle(fake_checkpoint(tmp_path / "m.ckpt", cfg, seed=2))
    rng = np.random.default_rng(0)
    audio = np.zeros(22050 * 4, np.float32)
    for t in np.arange(0.25, 3.8, 0.25):
        i = int(t * 22050)
        audio[i:i + 2000] += rng.standard_normal(2000).astype(np.float32) * np.exp(-np.arange(2000) / 300)
    th = [0.02] * 8  # a random network: low thresholds so that there are hits with articulations
    every = transcribe_audio(bundle, audio, sample_rate=22050, thresholds=th, articulations="all").events
    shown = transcribe_audio(bundle, audio, sample_rate=22050, thresholds=th).events
    none = transcribe_audio(bundle, audio, sample_rate=22050, thresholds=th, articulations="none").events
    assert any(e.articulation for e in every)
    assert not any(e.articulation for e in shown) and not any(e.articulation for e in none)
    assert [(e.time, e.cls) for e in shown] == [(e.time, e.cls) for e in every]
    bundle.config.postprocessing.written_articulations = [next(e.articulation for e in every if e.articulation)]
    kept = transcribe_audio(bundle, audio, sample_rate=22050, thresholds=th).events
    assert {e.articulation for e in kept} - {""} == set(bundle.config.postprocessing.written_articulations)


def _gate():
    spec = importlib.util.spec_from_file_location("articulation_gate", ROOT / "scripts" / "articulation_gate.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["articulation_gate"] = mod
    spec.loader.exec_module(mod)
    return mod


def _res(files):
    return {"files": [{"file": name, "articulations": arts} for name, arts in files]}


def test_gate_needs_precision_on_real_songs_each_left_out_and_on_gmd():
    g = _gate()
    c = lambda tp, fp, fn=0: {"tp": tp, "fp": fp, "fn": fn}  # noqa: E731
    real = [_res([("Beatles_drums", {"a": c(9, 1), "b": c(9, 1), "c": c(0, 0, 3)}),
                  ("Punk_drums", {"a": c(9, 1), "b": c(2, 6), "c": c(0, 0, 2)})]),
            _res([("Beatles_multitrack_sum", {"a": c(8, 1), "b": c(20, 1), "c": c(0, 0, 3)})])]
    gmd = [_res([("x", {"a": c(90, 10), "b": c(90, 10), "c": c(5, 1)})])]
    t = g.gate(real, gmd, ["a", "b", "c"], 0.8)
    assert t["a"]["written"]
    # b: 31 of 39 overall (0.79 < 0.8) and without Beatles only 2 of 8
    assert not t["b"]["written"] and t["b"]["real_loso"]["Beatles"] == pytest.approx(0.25)
    assert not t["c"]["written"]  # never written on the real songs: nothing shown
    from drumscribe.evaluation.realdev import song_of

    assert song_of("Country1_multitrack_sum.wav") == song_of("Country1_drums") == "Country1"
