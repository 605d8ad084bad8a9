"""Issue 14, cases 4, 7, 11: `evaluate` and `report` check destinations before working, score what they can
read, and reject nonsense options, each in one line."""

import json
import shutil

import pytest
import torch

from drumscribe.cli import main

from eval_helpers import fake_checkpoint, small_config

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return str(fake_checkpoint(tmp_path_factory.mktemp("ck") / "m.ckpt", small_config()))


@pytest.fixture
def pairs(toy_root, tmp_path):
    """4 audio+MIDI pairs (2 performances x 2 kits, 3 s each) in a folder of their own."""
    dst = tmp_path / "pairs"
    shutil.copytree(toy_root / "drummer1", dst)
    return dst


def _lines(err):
    return [x for x in err.splitlines() if x.strip()]


def _no_work(monkeypatch):
    """Make the model pass fail loudly: a destination error must come before it."""
    import drumscribe.evaluation.evaluate as ev

    def boom(*a, **k):
        raise AssertionError("the evaluation ran before the destination was checked")

    monkeypatch.setattr(ev, "predict_items", boom)


# ---------------------------------------------------------------- 4. destinations checked before the work

def test_evaluate_output_under_a_file_fails_before_work(pairs, ckpt, tmp_path, capsys, monkeypatch):
    (tmp_path / "afile").write_text("x")
    _no_work(monkeypatch)
    rc = main(["evaluate", "--checkpoint", ckpt, "--split", str(pairs), "--output", str(tmp_path / "afile" / "r.json")])
    err = capsys.readouterr().err
    assert rc == 1 and len(_lines(err)) == 1 and "afile" in err and "Traceback" not in err


def test_evaluate_output_that_is_a_folder_fails_before_work(pairs, ckpt, tmp_path, capsys, monkeypatch):
    _no_work(monkeypatch)
    rc = main(["evaluate", "--checkpoint", ckpt, "--split", str(pairs), "--output", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and len(_lines(err)) == 1 and "is a folder" in err


def test_evaluate_plot_folder_under_a_file_fails_before_work(pairs, ckpt, tmp_path, capsys, monkeypatch):
    (tmp_path / "afile").write_text("x")
    _no_work(monkeypatch)
    rc = main(["evaluate", "--checkpoint", ckpt, "--split", str(pairs), "--plot", str(tmp_path / "afile" / "plots")])
    err = capsys.readouterr().err
    assert rc == 1 and len(_lines(err)) == 1 and "afile" in err


def _report_run(tmp_path):
    import csv

    run = tmp_path / "run"
    run.mkdir()
    with open(run / "metrics_history.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["epoch", "val_loss"])
        w.writeheader()
        for e, v in enumerate((0.5, 0.4, 0.3)):
            w.writerow({"epoch": e, "val_loss": v})
    (run / "eval_results.json").write_text(json.dumps({"micro": {"f1": 0.4}, "per_class": {}}))
    return run


def test_report_json_destination_checked_first(tmp_path, capsys, monkeypatch):
    run = _report_run(tmp_path)
    (tmp_path / "afile").write_text("x")
    import drumscribe.evaluation.report as rep

    monkeypatch.setattr(rep, "decide", lambda *a, **k: (_ for _ in ()).throw(AssertionError("decided first")))
    rc = main(["report", "--run", str(run), "--json", str(tmp_path / "afile" / "d.json")])
    err = capsys.readouterr().err
    assert rc == 1 and len(_lines(err)) == 1 and "afile" in err and "Traceback" not in err


# ---------------------------------------------------------------- 7. raw folders

def test_evaluate_folder_leaves_out_an_unreadable_file(pairs, ckpt, tmp_path):
    import subprocess
    import sys

    bad = sorted(pairs.rglob("*.wav"))[0]
    bad.write_bytes(b"RIFF\x00\x00garbage")
    out = tmp_path / "r.json"
    p = subprocess.run([sys.executable, "-m", "drumscribe", "evaluate", "--checkpoint", ckpt, "--split", str(pairs),
                        "--output", str(out)], capture_output=True, text=True, timeout=300)
    err = p.stderr
    assert p.returncode == 0, err
    r = json.loads(out.read_text())
    assert r["n_files"] == 3 and bad.name not in {f["file"] for f in r["files"]}
    warn = [x for x in _lines(err) if "warning" in x]
    assert len(warn) == 1 and bad.name in warn[0] and "left out" in warn[0]
    assert "Traceback" not in err and "UserWarning" not in err


def test_evaluate_folder_without_midi_is_one_line(pairs, ckpt, capsys):
    for m in list(pairs.rglob("*.midi")) + list(pairs.rglob("*.mid")):
        m.unlink()
    rc = main(["evaluate", "--checkpoint", ckpt, "--split", str(pairs)])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(_lines(err)) == 1 and "no audio+MIDI pairs" in err and "4 audio files" in err


# ---------------------------------------------------------------- 11. report --epochs

@pytest.mark.parametrize("n", ["-4", "0"])
def test_report_rejects_nonpositive_epochs(tmp_path, capsys, n):
    run = _report_run(tmp_path)
    rc = main(["report", "--run", str(run), "--epochs", n])
    err = capsys.readouterr().err
    assert rc == 2 and len(_lines(err)) == 1 and "--epochs" in err
