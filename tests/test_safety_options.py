"""Issue 23, items 2-5: every option checked before work (one line, exit 2), a model whose sidecar disagrees
with its graph refused at load, the Python API refusing what the CLI refuses, and no report from no history."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import drumscribe
from drumscribe.cli import main
from drumscribe.dataset.toy import render_events, toy_performance

from eval_helpers import fake_checkpoint, small_config

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = ROOT / "src/drumscribe/pretrained"
FIXTURE_WAV = ROOT / "tests/fixtures/egmd_tiny/drummer1/session1/1_latin-fill1_125_fill_4-4_1.wav"


def _lines(err):
    return [x for x in err.splitlines() if x.strip()]


def _one_line(err):
    lines = _lines(err)
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return str(fake_checkpoint(tmp_path_factory.mktemp("ck") / "m.ckpt", small_config()))


@pytest.fixture
def take(tmp_path):
    sr = 22050
    sf.write(tmp_path / "take.wav", render_events(toy_performance(2.0, 1), 2.0, 1, sr=sr), sr)
    return tmp_path / "take.wav"


# ---------------------------------------------------------------- 2. options, checked before any work

@pytest.mark.parametrize("tempo", ["-120", "nan", "1e9", "0", "inf", "19", "401"])
def test_bad_tempo_is_refused(take, ckpt, tmp_path, capsys, tempo):
    rc = main(["transcribe", str(take), str(tmp_path / "o.mid"), "--checkpoint", ckpt, "--quiet", "--tempo", tempo])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and "--tempo" in line and "20" in line and "400" in line
    assert not (tmp_path / "o.mid").exists()


@pytest.mark.parametrize("tempo", ["20", "97", "400"])
def test_a_sane_tempo_is_accepted(take, ckpt, tmp_path, capsys, tempo):
    out = tmp_path / "o.json"
    assert main(["transcribe", str(take), str(out), "--checkpoint", ckpt, "--quiet", "--tempo", tempo]) == 0
    assert json.loads(out.read_text())["tempo"]["bpm"] > 0


@pytest.mark.parametrize("plot", ["out.txt", "o.mid"])
def test_bad_plot_name_is_refused_before_the_midi_is_written(take, ckpt, tmp_path, capsys, plot):
    rc = main(["transcribe", str(take), str(tmp_path / "o.mid"), "--checkpoint", ckpt, "--quiet",
               "--plot", str(tmp_path / plot)])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and plot in line
    assert not (tmp_path / "o.mid").exists() and not (tmp_path / "out.txt").exists()


def test_unknown_output_extension_is_refused(take, ckpt, tmp_path, capsys):
    rc = main(["transcribe", str(take), str(tmp_path / "out.txt"), "--checkpoint", ckpt, "--quiet"])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and "out.txt" in line and ".mid" in line and "--format" in line
    assert not (tmp_path / "out.txt").exists()
    # an explicit --format is the user's choice of content
    assert main(["transcribe", str(take), str(tmp_path / "out.txt"), "--checkpoint", ckpt, "--quiet",
                 "--format", "json"]) == 0
    assert "events" in json.loads((tmp_path / "out.txt").read_text())


@pytest.mark.parametrize("opts, flag", [
    (["--max-seconds", "-1"], "--max-seconds"),
    (["--max-seconds", "nan"], "--max-seconds"),
    (["--backing-ratio", "10", "-10"], "--backing-ratio"),
    (["--backing-ratio", "nan", "3"], "--backing-ratio"),
    (["--hours", "-2"], "--hours"),
    (["--performances", "0"], "--performances"),
    (["--kits-per-performance", "0"], "--kits-per-performance"),
    (["--seed", "-1"], "--seed"),
    (["--realism-prob", "nan"], "--realism-prob"),
])
def test_bad_synth_options_are_refused(tmp_path, capsys, opts, flag):
    out = tmp_path / "s"
    rc = main(["synth", "--out", str(out), "--kits", "procedural:1", "--kits-per-performance", "1",
               "--no-progress", "--realism", *opts])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and flag in line
    assert not out.exists() or not list(out.rglob("*.wav"))


@pytest.mark.parametrize("argv, flag", [
    (["demo", "--threads", "0"], "--threads"),
    (["evaluate", "--threads", "0"], "--threads"),
    (["evaluate", "--tolerance", "nan"], "--tolerance"),
    (["evaluate", "--plot-files", "0"], "--plot-files"),
    (["tune", "--checkpoint", "x.ckpt", "--tolerance", "-1"], "--tolerance"),
    (["tune", "--checkpoint", "x.ckpt", "--threads", "0"], "--threads"),
])
def test_other_commands_check_their_numbers(tmp_path, capsys, argv, flag):
    if argv[0] == "demo":
        argv = [*argv, "--out", str(tmp_path / "d")]
    rc = main(argv)
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and flag in line
    assert not (tmp_path / "d").exists()


# ---------------------------------------------------------------- 3. a sidecar that disagrees with its graph

def _bad_onnx(tmp_path, edit):
    model = tmp_path / "bad.onnx"
    shutil.copy(PRETRAINED / "drumscribe-default.onnx", model)
    meta = json.loads((PRETRAINED / "drumscribe-default.json").read_text())
    edit(meta)
    model.with_suffix(".json").write_text(json.dumps(meta))
    return model


def _fewer_names(meta):
    meta["class_names"] = meta["class_names"][:6]


def _fewer_classes(meta):  # a consistent 7-class sidecar on an 8-output graph
    names = meta["class_names"][:7]
    meta["class_names"] = names
    meta["thresholds"] = meta["thresholds"][:7]
    meta["config"]["model"]["n_classes"] = 7
    meta["config"]["midi"]["drum_names"] = names
    meta["config"]["midi"]["gm_mapping"] = {k: v for k, v in meta["config"]["midi"]["gm_mapping"].items() if k in names}


@pytest.mark.parametrize("edit", [_fewer_names, _fewer_classes])
def test_sidecar_disagreeing_with_the_graph_is_refused_at_load(tmp_path, capsys, edit):
    model = _bad_onnx(tmp_path, edit)
    out = tmp_path / "o.mid"
    rc = main(["transcribe", str(FIXTURE_WAV), str(out), "--checkpoint", str(model), "--quiet"])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and "bad" in line and "class" in line and not out.exists()
    rc = main(["demo", "--checkpoint", str(model), "--out", str(tmp_path / "d")])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and "bad" in line
    with pytest.raises(drumscribe.api.DrumscribeError, match="class"):
        drumscribe.load_model(model)


# ---------------------------------------------------------------- 4. the Python API refuses what the CLI refuses

@pytest.fixture(scope="module")
def model():
    return drumscribe.load_model(threads=1)


@pytest.fixture(scope="module")
def clip():
    y, sr = sf.read(str(FIXTURE_WAV), dtype="float32", always_2d=True)
    return y, sr


@pytest.mark.parametrize("audio, words", [
    (None, "audio"),
    (42, "audio"),
    (np.zeros(0, dtype=np.float32), "empty"),
    (np.array([0.1, np.nan, 0.2] * 1000, dtype=np.float32), "NaN"),
    (np.array([0.1, np.inf, 0.2] * 1000, dtype=np.float32), "NaN"),
    (np.zeros((2, 3, 4000), dtype=np.float32), "shape"),
    (np.array([True, False] * 1000), "dtype"),
    (["not", "audio"], "audio"),
])
def test_api_refuses_bad_audio_naming_the_argument(model, audio, words):
    with pytest.raises(drumscribe.api.DrumscribeError, match=words) as e:
        drumscribe.transcribe(audio, 44100, model=model)
    assert "audio" in str(e.value)


def test_api_refuses_channels_first(model, clip):
    y, sr = clip
    stereo = np.repeat(y[:, :1], 2, axis=1)
    with pytest.raises(drumscribe.api.DrumscribeError, match=r"channels.*samples"):
        drumscribe.transcribe(stereo.T, sr, model=model)


@pytest.mark.parametrize("sr", [0, -44100, float("nan"), 0.5, "44100"])
def test_api_refuses_bad_sample_rates(model, clip, sr):
    with pytest.raises(drumscribe.api.DrumscribeError, match="sample_rate"):
        drumscribe.transcribe(clip[0], sr, model=model)


def test_api_scales_integer_audio(model, clip):
    """int16 samples are full scale at 32768 (as a WAV reader gives them): the same events as float audio."""
    y, sr = clip
    ref = drumscribe.transcribe(y, sr, model=model)
    pcm = np.round(np.clip(y, -1, 1) * 32767).astype(np.int16)
    got = drumscribe.transcribe(pcm, sr, model=model)
    assert len(ref.events) > 10 and len(got.events) == len(ref.events)
    got32 = drumscribe.transcribe(pcm.astype(np.int32) << 16, sr, model=model)
    assert len(got32.events) == len(ref.events)


def test_api_other_arguments(model, clip):
    with pytest.raises(drumscribe.api.DrumscribeError, match="velocity"):
        drumscribe.transcribe(clip[0], clip[1], model=model, velocity="loud")
    with pytest.raises(drumscribe.api.DrumscribeError, match="threshold"):
        drumscribe.transcribe(clip[0], clip[1], model=model, threshold=float("nan"))
    with pytest.raises(drumscribe.api.DrumscribeError, match="threads"):
        drumscribe.load_model(threads=0)


# ---------------------------------------------------------------- 5. no report from no history

def test_report_from_a_file_without_history_columns_is_an_error(tmp_path, capsys):
    (tmp_path / "h.csv").write_text("name,value\na,1\nb,2\n")
    (tmp_path / "e.json").write_text(json.dumps({"micro": {"f1": 0.5}, "per_class": {}}))
    rc = main(["report", "--history", str(tmp_path / "h.csv"), "--eval", str(tmp_path / "e.json"), "--epochs", "2"])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and "h.csv" in line and "val_loss" in line and "Plateau" not in line
