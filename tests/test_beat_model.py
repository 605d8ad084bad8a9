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


def test_band_channels_read_the_audio_at_the_beat_frames():
    from drumscribe.core.timebase import FrameClock

    feat = FrameClock(sample_rate=22050, hop_length=512)  # the drum model's rate (43.07 frames per second)
    n = feat.to_frames(10.0) + 1
    logmel = np.full((n, 128), -5.0, np.float32)
    hit = feat.to_frames(4.0)
    logmel[hit:, :16] = 1.0  # a bass note from 4 s on: the lowest band's energy rises, its flux jumps there
    means = beat_model.band_means(logmel)
    assert means.shape == (n, beat_model.N_BANDS) and means[hit, 0] == 1.0 and means[hit, 1] == -5.0
    x = beat_model.band_channels(means, feat, beat_model.CLOCK.to_frames(10.0) + 1)
    nb = beat_model.N_BANDS
    assert x.shape == (501, 2 * nb)
    flux = x[:, nb]
    assert abs(int(np.argmax(flux)) - beat_model.CLOCK.to_frames(4.0)) <= 1 and flux.max() > 1.0
    assert np.allclose(x[:, nb + 1:], 0.0) and np.allclose(x[:, 1:nb], 0.0)  # flat bands: median 0, no flux
    # played 1.25x slower (the training's tempo augmentation), the note arrives at 5 s
    slow = beat_model.band_channels(means, feat, beat_model.CLOCK.to_frames(12.5) + 1, stretch=1.25)
    assert abs(int(np.argmax(slow[:, nb])) - beat_model.CLOCK.to_frames(5.0)) <= 1


def test_a_model_that_hears_the_audio_runs_without_it(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from drumscribe.training.beat_net import BeatTCN, export_onnx, load_widened, predict

    torch.manual_seed(0)
    old = BeatTCN(len(CLASSES), channels=6, dilations=(1, 2))
    wide = BeatTCN(len(CLASSES) + 2 * beat_model.N_BANDS, channels=6, dilations=(1, 2))
    load_widened(wide, old.state_dict())  # audio channels at zero weight: the old model's answer
    ev = np.random.default_rng(2).random((200, len(CLASSES))).astype(np.float32)
    audio = np.random.default_rng(3).random((200, 2 * beat_model.N_BANDS)).astype(np.float32)
    assert np.allclose(predict(wide, np.concatenate([ev, audio], 1)), predict(old, ev), atol=1e-6)
    side = {"format": beat_model.SIDECAR_FORMAT, "fps": beat_model.FPS, "input_classes": list(CLASSES),
            "input_bands": beat_model.N_BANDS, "decoder": {}, "training": {"command": "test"}}
    with torch.no_grad():
        wide.inp.weight[:, len(CLASSES):] += 0.5  # now it listens
    export_onnx(wide, tmp_path / "w.onnx", side)
    net = beat_model.BeatNet(tmp_path / "w.onnx")
    t, c, v = np.array([0.5, 1.0, 1.5]), np.array([0, 1, 0]), np.array([100, 90, 80])
    deaf = net.activations_of_events(t, c, v, CLASSES, 3.98)  # a MIDI file: no audio, the audio channels are zero
    x = beat_model.event_features(t, c, v, CLASSES, 3.98, CLASSES)
    assert deaf.shape == (200, 2) and np.allclose(deaf, predict(wide, np.concatenate([x, 0 * audio], 1)), atol=1e-5)
    from drumscribe.core.timebase import FrameClock

    feat = FrameClock(sample_rate=22050, hop_length=512)
    means = np.random.default_rng(4).normal(size=(feat.to_frames(3.98) + 1, beat_model.N_BANDS)).astype(np.float32)
    heard = net.activations_of_events(t, c, v, CLASSES, 3.98, audio=(means, feat))
    assert not np.allclose(heard, deaf, atol=1e-3)
    assert np.allclose(heard, predict(wide, np.concatenate([x, beat_model.band_channels(means, feat, 200)], 1)),
                       atol=1e-5)


@shipped
def test_the_transcription_path_hands_the_audio_bands_that_training_reads(tmp_path):
    """transcribe_audio collects the band means while it streams the features; they equal the training cache's
    (beat_data.cached_bands: the whole-file features), and the shipped model hears them."""
    from pathlib import Path

    from drumscribe.training.beat_data import cached_bands
    from drumscribe.transcription.inference import transcribe_audio
    from drumscribe.transcription.onnx_runtime import default_onnx_path, load_onnx_bundle

    wav = next((Path(__file__).parent / "fixtures" / "egmd_tiny").rglob("*.wav"))
    bundle = load_onnx_bundle(default_onnx_path(), threads=1)
    tr = transcribe_audio(bundle, wav)
    means, clock, features = tr.beat_audio
    assert features == beat_model.band_feature_params(bundle.config.audio)
    assert clock == tr.clock and len(means) == len(tr.onset_probs) and means.shape[1] == beat_model.N_BANDS
    cached = cached_bands(bundle, wav, tmp_path)
    assert np.allclose(means, cached, atol=1e-4)
    assert np.allclose(cached_bands(bundle, wav, tmp_path), cached, atol=0.01)  # read back (float16)
    net = beat_model.load_default()
    assert net.input_bands == beat_model.N_BANDS
    t, c, v = events_to_arrays(tr.events)
    names = bundle.class_names
    heard = net.activations_of_events(t, c, v, names, tr.duration, audio=tr.beat_audio)
    deaf = net.activations_of_events(t, c, v, names, tr.duration)
    assert heard.shape == deaf.shape and not np.allclose(heard, deaf, atol=1e-3)
    # the shipped beat model was trained on the shipped drum model's feature settings
    assert net.audio_features == features


def test_bands_of_other_feature_settings_are_left_out_with_one_warning(tmp_path):
    """A drum model with other mel settings hands bands the beat network never learned: it tracks from the
    hits alone (as for a MIDI file) and says so; bands of its own settings, or of unknown ones, are heard."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from drumscribe.core.config import AudioConfig
    from drumscribe.core.timebase import FrameClock
    from drumscribe.training.beat_net import BeatTCN, export_onnx

    ours = beat_model.band_feature_params(AudioConfig(sample_rate=22050, n_fft=2048, hop_length=512, n_mels=128,
                                                      fmax=11025, stack_n_ffts=[1024]))
    assert "stack_n_ffts" not in ours  # the bands read the first resolution only
    other = beat_model.band_feature_params(AudioConfig(sample_rate=44100, n_fft=2048, hop_length=441, n_mels=128))
    torch.manual_seed(0)
    net_t = BeatTCN(len(CLASSES) + 2 * beat_model.N_BANDS, channels=6, dilations=(1, 2))
    with torch.no_grad():
        net_t.inp.weight[:, len(CLASSES):] += 0.5  # it listens
    side = {"format": beat_model.SIDECAR_FORMAT, "fps": beat_model.FPS, "input_classes": CLASSES,
            "input_bands": beat_model.N_BANDS, "decoder": {}, "training": {"command": "test"},
            "audio_features": json.loads(json.dumps(ours))}  # as a sidecar reads back
    export_onnx(net_t, tmp_path / "b.onnx", side)
    net = beat_model.BeatNet(tmp_path / "b.onnx")
    t, c, v = np.array([0.5, 1.0, 1.5]), np.array([0, 1, 0]), np.array([100, 90, 80])
    feat = FrameClock(sample_rate=22050, hop_length=512)
    means = np.random.default_rng(5).normal(size=(feat.to_frames(3.98) + 1, beat_model.N_BANDS)).astype(np.float32)
    deaf = net.activations_of_events(t, c, v, CLASSES, 3.98)
    heard = net.activations_of_events(t, c, v, CLASSES, 3.98, audio=beat_model.BeatAudio(means, feat, ours))
    assert not np.allclose(heard, deaf, atol=1e-3)
    unknown = net.activations_of_events(t, c, v, CLASSES, 3.98, audio=(means, feat))
    assert np.allclose(unknown, heard)
    with pytest.warns(UserWarning, match="b.onnx: its audio bands were trained on other feature settings"):
        mismatched = net.activations_of_events(t, c, v, CLASSES, 3.98, audio=beat_model.BeatAudio(means, feat, other))
    assert np.allclose(mismatched, deaf)
