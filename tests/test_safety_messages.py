"""Issue 34, messages: a binary ``--config`` in every command that takes one, errors through a read-only file
system naming the user's path (never a hidden temp file), a valid ``.onnx`` model given to ``tune``/``report``,
``evaluate --split`` given twice, a NaN/inf history in ``report``, a FIFO input to ``transcribe``."""

import builtins
import errno
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drumscribe.cli import main
from drumscribe.core.atomic import TMP_MARK
from drumscribe.dataset.toy import make_toy_egmd, render_events, toy_performance

sys.path.insert(0, str(Path(__file__).parent))
from eval_helpers import fake_checkpoint, small_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = ROOT / "src" / "drumscribe" / "pretrained"


def _run(capsys, *argv):
    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip() and "warning" not in x.lower()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return fake_checkpoint(tmp_path_factory.mktemp("m") / "m.ckpt", small_config())


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return make_toy_egmd(tmp_path_factory.mktemp("toy") / "songs", n_performances=2, kits_per_performance=1,
                         seconds=2.0, seed=0)


@pytest.fixture
def onnx_model(tmp_path):
    for suffix in (".onnx", ".json"):
        (tmp_path / f"model{suffix}").write_bytes((PRETRAINED / f"drumscribe-default{suffix}").read_bytes())
    return tmp_path / "model.onnx"


# ---------------------------------------------------------------- --config given a binary file

def _config_cases(tmp, ckpt):
    ev = tmp / "ev.json"
    ev.write_text(json.dumps({"micro": {"f1": 0.4}}))
    return {
        "preprocess": [],
        "train": [],
        "evaluate": ["--checkpoint", ckpt, "--split", "val"],
        "tune": ["--checkpoint", ckpt, "--dry-run"],
        "report": ["--eval", ev],
    }


@pytest.mark.parametrize("command", ["preprocess", "train", "evaluate", "tune", "report"])
@pytest.mark.parametrize("content", [bytes(range(256)) * 8, b"\x00\x01\x02binary\xff\xfe", b"[" * 5000],
                         ids=["random-bytes", "binary", "too-deep"])
def test_binary_config_is_one_line(tmp_path, capsys, ckpt, command, content):
    bad = tmp_path / "config.yaml"
    bad.write_bytes(content)
    rc, _, err = _run(capsys, command, "--config", bad, *_config_cases(tmp_path, ckpt)[command])
    assert rc == 2, err
    assert "config.yaml" in _one_line(err)


def test_config_folder_is_called_a_folder(tmp_path, capsys):
    rc, _, err = _run(capsys, "train", "--config", tmp_path)
    assert rc == 2 and "is a folder" in _one_line(err)


# ---------------------------------------------------------------- a read-only file system names the user's path

@contextmanager
def read_only(folder: Path):
    """The OS answers EROFS for every write under ``folder`` (creating, replacing, removing), as a read-only
    mount does (for root too, unlike chmod)."""
    folder = os.path.abspath(folder)

    def inside(p) -> bool:
        try:
            return os.path.abspath(os.fsdecode(p)).startswith(folder + os.sep)
        except TypeError:  # a file descriptor
            return False

    def refuse(p):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(p))

    real = {"open": builtins.open, "os_open": os.open, "unlink": os.unlink, "replace": os.replace,
            "mkdir": os.mkdir, "rename": os.rename}

    def open_(file, mode="r", *a, **k):
        if inside(file) and any(c in mode for c in "wax+"):
            refuse(file)
        return real["open"](file, mode, *a, **k)

    def os_open(path, flags, *a, **k):
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse(path)
        return real["os_open"](path, flags, *a, **k)

    def guard(name):
        def f(path, *a, **k):
            if inside(path):
                refuse(path)
            return real[name](path, *a, **k)
        return f

    builtins.open, os.open = open_, os_open
    os.unlink, os.replace, os.mkdir, os.rename = guard("unlink"), guard("replace"), guard("mkdir"), guard("rename")
    try:
        yield
    finally:
        builtins.open, os.open = real["open"], real["os_open"]
        os.unlink, os.replace, os.mkdir, os.rename = real["unlink"], real["replace"], real["mkdir"], real["rename"]


def _no_temp_named(text: str):
    assert TMP_MARK not in text and "/." not in text, text


def test_api_writers_name_the_users_path_on_a_read_only_fs(tmp_path):
    import drumscribe

    y = render_events(toy_performance(2.0, 1), 2.0, 1, sr=22050).astype(np.float32)
    t = drumscribe.transcribe(0.5 * y / np.abs(y).max(), 22050)
    ro = tmp_path / "ro"
    ro.mkdir()
    for write, name in ((t.to_midi, "out.mid"), (t.to_json, "out.json"), (t.to_csv, "out.csv")):
        with read_only(ro), pytest.raises(OSError) as e:
            write(ro / name)
        assert e.value.filename == str(ro / name), e.value
        _no_temp_named(str(e.value))
    assert list(ro.iterdir()) == []


def test_plot_writer_names_the_users_path_on_a_read_only_fs(tmp_path):
    from drumscribe.transcription.plotting import piano_roll

    ro = tmp_path / "ro"
    ro.mkdir()
    onsets = [np.array([0.5, 1.0])] + [np.array([])] * 7
    with read_only(ro), pytest.raises(OSError) as e:
        piano_roll(ro / "roll.png", [f"c{i}" for i in range(8)], onsets, None, np.zeros((100, 8), np.float32), 50.0)
    assert e.value.filename == str(ro / "roll.png")
    _no_temp_named(str(e.value))


def test_tune_on_a_read_only_fs_is_refused_before_work_naming_the_model(tmp_path, capsys, ckpt, toy):
    ro = tmp_path / "ro"
    ro.mkdir()
    model = ro / "m.ckpt"
    model.write_bytes(ckpt.read_bytes())
    with read_only(ro):
        rc, out, err = _run(capsys, "tune", "--checkpoint", model, "--split", toy)
    assert rc == 1, err
    line = _one_line(err)
    assert str(ro) in line and "Read-only" in line
    _no_temp_named(line)
    assert "threshold" not in out.lower()  # refused before the tuning ran
    assert model.read_bytes() == ckpt.read_bytes()


# ---------------------------------------------------------------- a valid .onnx model is not "corrupt"

def test_tune_calls_an_onnx_model_what_it_is(capsys, onnx_model, toy):
    before = onnx_model.with_suffix(".json").read_bytes()
    rc, _, err = _run(capsys, "tune", "--checkpoint", onnx_model, "--split", toy)
    assert rc == 2
    line = _one_line(err)
    assert "corrupt" not in line and "ONNX" in line and ".ckpt" in line
    assert onnx_model.with_suffix(".json").read_bytes() == before


def test_export_and_init_from_call_an_onnx_model_what_it_is(tmp_path, onnx_model):
    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.transcription.bundle import CheckpointError

    with pytest.raises(CheckpointError) as e:
        load_bundle(onnx_model)  # what export, report and train --init-from read a model with
    assert "corrupt" not in str(e.value) and "ONNX" in str(e.value)


def test_report_reads_an_onnx_models_config(tmp_path, capsys, onnx_model):
    ev = tmp_path / "ev.json"
    ev.write_text(json.dumps({"micro": {"f1": 0.4}, "per_class": {}}))
    hist = tmp_path / "h.csv"
    hist.write_text("epoch,train_loss,val_loss\n0,0.5,0.4\n1,0.4,0.3\n")
    rc, out, err = _run(capsys, "report", "--checkpoint", onnx_model, "--eval", ev, "--history", hist)
    assert rc == 0, err
    assert "corrupt" not in err + out
    cfg = json.loads(onnx_model.with_suffix(".json").read_text())["config"]
    assert f"{cfg['training']['num_epochs']} epochs" in out  # the configured epochs came from the ONNX sidecar


# ---------------------------------------------------------------- evaluate --split twice

def test_evaluate_two_splits_are_refused_not_dropped(tmp_path, capsys, ckpt, toy):
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "--checkpoint", str(ckpt), "--split", "val", "--split", str(toy),
              "--output", str(tmp_path / "r.json")])
    assert e.value.code == 2
    line = _one_line(capsys.readouterr().err)
    assert "--split" in line and "val" in line and str(toy) in line
    assert not (tmp_path / "r.json").exists()


# ---------------------------------------------------------------- NaN/inf losses: diverged, not plateaued

@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_nonfinite_history_is_diverged(tmp_path, capsys, bad):
    ev = tmp_path / "ev.json"
    ev.write_text(json.dumps({"micro": {"f1": 0.2}, "per_class": {}}))
    hist = tmp_path / "h.csv"
    rows = ["epoch,train_loss,val_loss", "0,0.5,0.4", "1,0.45,0.38"] + [f"{e},{bad},{bad}" for e in range(2, 9)]
    hist.write_text("\n".join(rows) + "\n")
    rc, out, err = _run(capsys, "report", "--history", hist, "--eval", ev, "--epochs", "9",
                        "--json", tmp_path / "d.json")
    assert rc == 0, err
    d = json.loads((tmp_path / "d.json").read_text())
    assert d["row"] == "diverged" and d["label"] == "Diverged"
    assert "Plateaued" not in out and "Diverged" in out
    assert "epoch 2" in " ".join(d["reasons"])


def test_all_nan_history_is_diverged_not_unreadable(tmp_path):
    from drumscribe.evaluation.report import decide, load_history

    hist = tmp_path / "h.csv"
    hist.write_text("epoch,train_loss,val_loss\n0,nan,nan\n1,nan,nan\n")
    assert decide(load_history(hist), {"micro": {"f1": 0.5}}).row == "diverged"


def test_train_loss_alone_going_nan_is_diverged():
    from drumscribe.evaluation.report import decide

    rows = [{"epoch": e, "train_loss": "nan" if e == 3 else 0.5 - e / 100, "val_loss": 0.5 - e / 100}
            for e in range(8)]
    assert decide(rows, {"micro": {"f1": 0.5}}).row == "diverged"


# ---------------------------------------------------------------- a FIFO input

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_input_is_called_a_fifo(tmp_path, capsys):
    fifo = tmp_path / "live.wav"
    os.mkfifo(fifo)
    rc, _, err = _run(capsys, "transcribe", fifo, tmp_path / "o.mid")
    assert rc == 2
    line = _one_line(err)
    assert "FIFO" in line and "no audio files" not in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("flag", ["--eval", "--history"])
def test_report_fifo_or_folder_inputs_are_called_what_they_are(tmp_path, capsys, flag):
    """The twins of the FIFO input: report's --eval/--history given a FIFO or a folder are not "not found"."""
    ev = tmp_path / "ev.json"
    ev.write_text(json.dumps({"micro": {"f1": 0.4}}))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for bad, words in ((fifo, "FIFO"), (tmp_path, "is a folder")):
        args = ["--eval", bad, "--history", tmp_path / "none.csv"] if flag == "--eval" else ["--eval", ev, "--history", bad]
        rc, _, err = _run(capsys, "report", *args)
        assert rc == 2
        line = _one_line(err)
        assert words in line and "not found" not in line, line
