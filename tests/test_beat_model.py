"""The learned beat tracker (issue 30): the shipped beat network on hand-made grooves, the training pieces,
and the torch -> ONNX export read back by the light runtime."""

import json

import mir_eval
import numpy as np
import pytest

from drumscribe.core.drums import CLASSES
from drumscribe.transcription import beat_model
from drumscribe.transcription.beats import track_events, track_learned
from drumscribe.transcription.decoding import events_to_arrays

from beat_helpers import groove, steady_beats

shipped = pytest.mark.skipif(beat_model.load_default() is None, reason="no bundled beat model")


@shipped
def test_sidecar_names_its_training_and_decoder():
    net = beat_model.load_default()
    assert net.meta["format"] == beat_model.SIDECAR_FORMAT and net.meta["fps"] == beat_model.FPS
    assert set(net.decoder) == {"transition_lambda", "obs_window", "tempo_band", "meter_choice", "meter_prior",
                                "meter_penalty"}
    assert "train_beats.py" in net.meta["training"]["command"]
    assert beat_model.default_path().stat().st_size < 1_000_000


@shipped
@pytest.mark.parametrize("bpm, start_beat", [(96.0, 0), (124.0, 2)])
def test_learned_tracker_on_a_rock_groove(bpm, start_beat):
    ref = steady_beats(bpm, 40.0, offset=0.5)
    events, down = groove(ref, seed=int(bpm), start_beat=start_beat)
    bm = track_events(events, CLASSES, 40.0)  # the learned tracker (the model is installed)
    assert bm.meter == "4/4"
    assert abs(bm.bpm - bpm) / bpm < 0.04
    f = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(bm.beats[bm.beats <= 40]))
    assert f > 0.9
    fd = mir_eval.beat.f_measure(down, bm.downbeats[bm.downbeats <= 40.0], 0.07)
    assert fd > 0.85


@shipped
def test_learned_tracker_honours_meter_and_tempo():
    ref = steady_beats(110.0, 30.0, offset=0.3)
    events, _ = groove(ref, seed=3)
    t, c, v = events_to_arrays(events)
    bm = track_learned(t, c, v, CLASSES, 30.0, meter="3/4")
    assert bm.meter == "3/4"
    bm = track_learned(t, c, v, CLASSES, 30.0, bpm=55.0)
    assert abs(bm.bpm - 55.0) / 55.0 < 0.05
    with pytest.raises(ValueError, match="meter"):
        track_learned(t, c, v, CLASSES, 30.0, meter="7/8")


def test_targets_and_augment():
    from drumscribe.training.beat_data import augment, targets

    item = {"t": np.array([0.5, 1.0, 1.5]), "c": np.array([0, 1, 0]), "v": np.array([100, 90, 80]),
            "duration": 2.0, "beats": np.array([0.5, 1.0, 1.5]), "downbeats": np.array([0.5]),
            "meter": "4/4", "source": "x"}
    y = targets(item, 101)
    assert y[25, 0] == 1 and y[24, 0] == 0.5 and y[26, 0] == 0.5 and y[25, 1] == 1 and y[50, 1] == 0
    assert y[:, 0].sum() == pytest.approx(3 * 2.0)
    a = augment(item, np.random.default_rng(0), stretch=(1.2, 1.2), drop=0.0)
    assert np.allclose(a["beats"], item["beats"] * 1.2) and np.allclose(a["t"], item["t"] * 1.2)
    assert a["duration"] == pytest.approx(2.4)


def test_export_round_trip_matches_torch(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from drumscribe.training.beat_net import BeatTCN, export_onnx, predict

    torch.manual_seed(0)
    net = BeatTCN(len(CLASSES), channels=6, dilations=(1, 2, 4))
    side = {"format": beat_model.SIDECAR_FORMAT, "fps": beat_model.FPS, "input_classes": list(CLASSES),
            "decoder": {"transition_lambda": 30.0, "meter_penalty": 0.3}, "training": {"command": "test"}}
    export_onnx(net, tmp_path / "b.onnx", side)
    loaded = beat_model.BeatNet(tmp_path / "b.onnx")
    assert json.loads((tmp_path / "b.json").read_text())["fps"] == beat_model.FPS
    x = np.random.default_rng(1).random((321, len(CLASSES))).astype(np.float32)
    assert np.allclose(loaded.activations(x), predict(net, x), atol=1e-5)
    assert loaded.decoder == {"transition_lambda": 30.0, "meter_penalty": 0.3}


def test_a_broken_sidecar_is_one_error(tmp_path):
    (tmp_path / "b.onnx").write_bytes(b"not onnx")
    (tmp_path / "b.json").write_text("{}")
    with pytest.raises(beat_model.BeatModelError, match="b.json"):
        beat_model.BeatNet(tmp_path / "b.onnx")
