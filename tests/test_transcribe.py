"""inference.py and `drumscribe transcribe`: streaming = whole file, stitching, bad inputs, folder mode."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from drumscribe.cli import main
from drumscribe.audio.features import compute_features
from drumscribe.audio.features import iter_feature_blocks
from drumscribe.audio.io import iter_array_blocks, iter_audio_blocks
from drumscribe.transcription.inference import predict_features
from drumscribe.core.timebase import FrameClock
from drumscribe.dataset.toy import render_events, toy_performance, write_midi

from eval_helpers import fake_checkpoint, small_config

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def long_audio():
    cfg = small_config()
    sr = cfg.audio.sample_rate
    y = render_events(toy_performance(45.0, seed=7), 45.0, seed=7, sr=sr)
    return cfg, y, compute_features(y, cfg.audio)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory, long_audio):
    cfg, _, feats = long_audio
    return fake_checkpoint(tmp_path_factory.mktemp("ck") / "m.ckpt", cfg, features=feats)


def test_streamed_features_equal_whole_file(long_audio):
    cfg, y, whole = long_audio
    for block, chunk in ((7777, 100), (22050 * 10, 431), (1000, 7)):
        st = np.concatenate(list(iter_feature_blocks(iter_array_blocks(y, block), cfg.audio, chunk_frames=chunk)))
        assert st.shape == whole.shape
        assert np.abs(st - whole).max() < 1e-4


def test_resampled_stream_close_to_one_shot(tmp_path, long_audio):
    from drumscribe.audio.io import load_audio

    cfg, y, _ = long_audio
    path = tmp_path / "x44.wav"
    y44 = render_events(toy_performance(8.0, seed=2), 8.0, seed=2, sr=44100)
    sf.write(path, np.stack([y44, 0.5 * y44], axis=1), 44100, subtype="FLOAT")
    streamed = np.concatenate(list(iter_audio_blocks(path, cfg.audio.sample_rate, block_s=1.3)))
    whole = load_audio(path, cfg.audio.sample_rate)
    assert abs(len(streamed) - len(whole)) <= 1
    n = min(len(streamed), len(whole))
    assert np.abs(streamed[:n] - whole[:n]).max() < 1e-3


def test_windowed_inference_equals_single_pass_away_from_edges(long_audio, ckpt):
    from drumscribe.training.checkpoint import load_bundle

    cfg, _, feats = long_audio
    bundle = load_bundle(ckpt)
    clock = FrameClock.from_config(cfg.audio)
    ref, _ = predict_features(bundle.model, feats, clock, window_s=None)
    for window, overlap, batch in ((8.0, 3.0, 8), (6.0, 2.0, 1), (20.0, 3.0, 8)):
        out, _ = predict_features(bundle.model, feats, clock, window, overlap, batch)
        assert out.shape == ref.shape
        assert np.abs(out - ref).max() < 1e-4, (window, overlap)
    assert ref.std() > 1e-3  # not a constant output


def _wav(path, seconds=3.0, seed=1, sr=44100):
    ev = toy_performance(seconds, seed)
    sf.write(path, render_events(ev, seconds, seed, sr=sr), sr)
    return ev


def test_transcribe_file_outputs(tmp_path, ckpt):
    _wav(tmp_path / "a.wav")
    assert main(["transcribe", str(tmp_path / "a.wav"), str(tmp_path / "a.mid"), "--checkpoint", str(ckpt),
                 "--threshold", "0.2", "--plot", str(tmp_path / "a.png")]) == 0
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(tmp_path / "a.mid"))
    assert pm.instruments and pm.instruments[0].is_drum and pm.instruments[0].notes
    assert (tmp_path / "a.png").stat().st_size > 1000
    assert main(["transcribe", str(tmp_path / "a.wav"), str(tmp_path / "a.json"), "--checkpoint", str(ckpt),
                 "--threshold", "0.2", "--velocity", "fixed"]) == 0
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["events"] and {e["velocity"] for e in data["events"]} == {80}
    assert main(["transcribe", str(tmp_path / "a.wav"), str(tmp_path / "a.txt"), "--checkpoint", str(ckpt),
                 "--format", "csv"]) == 0
    assert (tmp_path / "a.txt").read_text().startswith("time,class,name,note,velocity,strength")
    assert not list(tmp_path.glob(".*tmp*"))


def test_silent_audio_gives_empty_valid_midi(tmp_path, ckpt, capsys):
    sf.write(tmp_path / "s.wav", np.zeros((22050, 2), dtype=np.float32), 22050)
    assert main(["transcribe", str(tmp_path / "s.wav"), str(tmp_path / "s.mid"), "--checkpoint", str(ckpt),
                 "--threshold", "0.01"]) == 0
    assert "silent" in capsys.readouterr().err
    from drumscribe.dataset.targets import read_drum_notes

    assert len(read_drum_notes(tmp_path / "s.mid", allow_empty=True).times) == 0


def test_corrupt_and_missing_inputs(tmp_path, ckpt, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt nonsense")
    assert main(["transcribe", str(bad), str(tmp_path / "o.mid"), "--checkpoint", str(ckpt)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.wav" in err
    assert main(["transcribe", str(tmp_path / "nope.wav"), str(tmp_path / "o.mid"), "--checkpoint", str(ckpt)]) != 0
    assert "nope.wav" in capsys.readouterr().err
    _wav(tmp_path / "a.wav")
    assert main(["transcribe", str(tmp_path / "a.wav"), str(tmp_path / "o.mid"),
                 "--checkpoint", str(tmp_path / "missing.ckpt")]) != 0
    err = capsys.readouterr().err
    assert "missing.ckpt" in err and "not found" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.mid").exists()


def test_folder_mode_continues_past_a_bad_file(tmp_path, ckpt, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    _wav(src / "a.wav")
    _wav(src / "sub" / "b.flac", seconds=2.0, sr=48000)
    (src / "c.wav").write_bytes(b"not audio at all")
    rc = main(["transcribe", str(src), str(tmp_path / "out"), "--checkpoint", str(ckpt), "--quiet"])
    assert rc != 0
    assert (tmp_path / "out" / "a.mid").is_file() and (tmp_path / "out" / "sub" / "b.mid").is_file()
    assert not (tmp_path / "out" / "c.mid").exists()
    assert "c.wav" in capsys.readouterr().err


def test_scripts_shim(tmp_path, ckpt):
    import subprocess
    import sys

    from eval_helpers import ROOT

    _wav(tmp_path / "a.wav", seconds=1.0)
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "transcribe.py"), str(tmp_path / "a.wav"),
                        str(tmp_path / "a.mid"), "--checkpoint", str(ckpt), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.mid").is_file()
