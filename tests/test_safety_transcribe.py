"""Issue 14, cases 1-5: `drumscribe transcribe` never loses a user's file and answers mistakes in one line."""

import errno
import hashlib
import os

import numpy as np
import pytest
import soundfile as sf
import torch

from drumscribe.cli import main
from drumscribe.dataset.toy import render_events, toy_performance

from eval_helpers import fake_checkpoint, small_config

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return str(fake_checkpoint(tmp_path_factory.mktemp("ck") / "m.ckpt", small_config()))


def _wav(path, seconds=2.0, seed=1, sr=22050, fmt=None):
    sf.write(path, render_events(toy_performance(seconds, seed), seconds, seed, sr=sr), sr, format=fmt)
    return path


def _digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _run(capsys, *argv):
    rc = main(["transcribe", *map(str, argv), "--quiet"])
    out = capsys.readouterr()
    return rc, out.err


def _one_line(err):
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- 1. the output is the input / an audio file

def test_output_same_as_input_is_refused(tmp_path, ckpt, capsys):
    take = _wav(tmp_path / "take.wav")
    before = _digest(take)
    rc, err = _run(capsys, take, take, "--checkpoint", ckpt)
    assert rc == 2 and "is the input" in _one_line(err)
    assert _digest(take) == before
    # through a symbolic link, and a hard link, too
    (tmp_path / "link.mid").symlink_to(take)
    os.link(take, tmp_path / "hard.mid")
    for out in ("link.mid", "hard.mid"):
        rc, err = _run(capsys, take, tmp_path / out, "--checkpoint", ckpt, "--overwrite")
        assert rc == 2 and "is the input" in _one_line(err)
    assert _digest(take) == before
    # a plot path pointing at the input is refused as well
    rc, err = _run(capsys, take, tmp_path / "new.mid", "--plot", take, "--checkpoint", ckpt)
    assert rc == 2 and "is the input" in err and not (tmp_path / "new.mid").exists()
    assert _digest(take) == before


def test_existing_audio_output_is_refused_even_with_overwrite(tmp_path, ckpt, capsys):
    take = _wav(tmp_path / "take.wav")
    other = _wav(tmp_path / "other.flac", seed=2, fmt="FLAC")
    before = _digest(other)
    rc, err = _run(capsys, take, other, "--checkpoint", ckpt, "--overwrite")
    assert rc == 2 and "existing audio file" in _one_line(err)
    assert _digest(other) == before
    rc, err = _run(capsys, take, tmp_path / "new.wav", "--checkpoint", ckpt)  # a MIDI file named .wav
    assert rc == 2 and "audio file name" in _one_line(err) and not (tmp_path / "new.wav").exists()


# ---------------------------------------------------------------- 2. existing outputs need --overwrite

def test_single_file_existing_output_is_skipped_without_overwrite(tmp_path, ckpt, capsys):
    take = _wav(tmp_path / "take.wav")
    gt = tmp_path / "take.mid"
    gt.write_bytes(b"hand-made ground truth")
    rc, err = _run(capsys, take, gt, "--checkpoint", ckpt)
    assert rc == 0 and "skipped" in _one_line(err) and "--overwrite" in err
    assert gt.read_bytes() == b"hand-made ground truth"
    rc, err = _run(capsys, take, gt, "--checkpoint", ckpt, "--overwrite")
    assert rc == 0 and gt.read_bytes()[:4] == b"MThd"


def test_folder_in_place_keeps_existing_midi(tmp_path, ckpt, capsys):
    gt = tmp_path / "gt"
    gt.mkdir()
    _wav(gt / "a.wav", seed=1)
    _wav(gt / "b.wav", seed=2)
    (gt / "a.mid").write_bytes(b"hand-made")
    rc = main(["transcribe", str(gt), str(gt), "--checkpoint", ckpt])
    out = capsys.readouterr()
    assert rc == 0
    assert (gt / "a.mid").read_bytes() == b"hand-made"
    assert (gt / "b.mid").read_bytes()[:4] == b"MThd"
    assert "skipped" in out.err and "a.mid exists" in out.err
    assert "1 of 2 files transcribed" in out.out and "1 skipped" in out.out
    rc = main(["transcribe", str(gt), str(gt), "--checkpoint", ckpt, "--overwrite", "--quiet"])
    assert rc == 0 and (gt / "a.mid").read_bytes()[:4] == b"MThd"


# ---------------------------------------------------------------- 3. two inputs never share one output

def test_colliding_inputs_get_distinct_outputs(tmp_path, ckpt, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _wav(src / "take.wav", seed=1)
    _wav(src / "take.flac", seed=2, fmt="FLAC")
    _wav(src / "solo.wav", seed=3)
    rc = main(["transcribe", str(src), str(tmp_path / "out"), "--checkpoint", ckpt, "--format", "json"])
    out = capsys.readouterr().out
    assert rc == 0 and "3 of 3 files transcribed" in out
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["solo.json", "take.flac.json", "take.wav.json"]
    import json

    a = json.loads((tmp_path / "out" / "take.wav.json").read_text())
    b = json.loads((tmp_path / "out" / "take.flac.json").read_text())
    assert a["events"] != b["events"]  # each file holds its own transcription


# ---------------------------------------------------------------- 4. OS errors while writing

def test_output_under_a_file_is_one_line_exit_1(tmp_path, ckpt, capsys):
    take = _wav(tmp_path / "take.wav")
    (tmp_path / "afile").write_text("x")
    rc, err = _run(capsys, take, tmp_path / "afile" / "take.mid", "--checkpoint", ckpt)
    assert rc == 1 and "afile" in _one_line(err) and "not a folder" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_one_line_exit_1(tmp_path, ckpt, capsys):
    take = _wav(tmp_path / "take.wav")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        rc, err = _run(capsys, take, ro / "take.mid", "--checkpoint", ckpt)
    finally:
        ro.chmod(0o755)
    assert rc == 1 and "ro" in _one_line(err)


def test_full_disk_is_one_line_exit_1(tmp_path, ckpt, capsys, monkeypatch):
    take = _wav(tmp_path / "take.wav")
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    rc, err = _run(capsys, take, tmp_path / "take.mid", "--checkpoint", ckpt)
    monkeypatch.setattr(os, "fsync", real_fsync)
    line = _one_line(err)
    assert rc == 1 and "take.mid" in line and "No space left" in line
    assert not (tmp_path / "take.mid").exists() and not list(tmp_path.glob(".take.mid*"))


def test_folder_mode_continues_after_a_write_error(tmp_path, ckpt, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    _wav(src / "a.wav", seed=1)
    _wav(src / "sub" / "b.wav", seed=2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where the sub-folder should be")
    rc = main(["transcribe", str(src), str(out), "--checkpoint", ckpt])
    cap = capsys.readouterr()
    assert rc == 1
    assert (out / "a.mid").read_bytes()[:4] == b"MThd"
    assert "Traceback" not in cap.err and "sub" in cap.err and "not a folder" in cap.err
    assert "1 of 2 files transcribed" in cap.out and "1 failed" in cap.out


# ---------------------------------------------------------------- 5. option validation

@pytest.mark.parametrize("opts, words", [
    (["--window", "-1"], "--window"),
    (["--window", "0.1"], "--window"),
    (["--window", "nan"], "--window"),
    (["--overlap", "25"], "--overlap"),
    (["--window", "4", "--overlap", "4"], "--overlap"),
    (["--overlap", "-1"], "--overlap"),
    (["--threads", "0"], "--threads"),
    (["--threads", "-2"], "--threads"),
    (["--device", "nonsense"], "--device"),
])
def test_bad_options_are_refused(tmp_path, ckpt, capsys, opts, words):
    take = _wav(tmp_path / "take.wav")
    rc, err = _run(capsys, take, tmp_path / "t.mid", "--checkpoint", ckpt, *opts)
    assert rc == 2 and words in _one_line(err)
    assert not (tmp_path / "t.mid").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_one_line(tmp_path, ckpt, capsys):
    take = _wav(tmp_path / "take.wav")
    rc, err = _run(capsys, take, tmp_path / "t.mid", "--checkpoint", ckpt, "--device", "cuda")
    assert rc == 2 and "no CUDA GPU" in _one_line(err)


def test_valid_window_options_still_work(tmp_path, ckpt, capsys):
    take = _wav(tmp_path / "take.wav")
    rc, err = _run(capsys, take, tmp_path / "t.mid", "--checkpoint", ckpt, "--window", "2", "--overlap", "0.5",
                   "--threads", "1")
    assert rc == 0 and (tmp_path / "t.mid").read_bytes()[:4] == b"MThd"
