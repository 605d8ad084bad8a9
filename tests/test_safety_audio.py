"""Issue 14, case 10: truncated, low-rate, clipped and over-full-scale audio each give one warning line
naming the file; clean audio gives none."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from drumscribe.audio.io import iter_audio_blocks, load_audio
from drumscribe.dataset.toy import render_events, toy_performance

from eval_helpers import fake_checkpoint, small_config

torch.set_num_threads(1)
SR = 22050


def _drums(seconds=2.0, sr=SR, seed=1):
    return render_events(toy_performance(seconds, seed), seconds, seed, sr=sr).astype(np.float32)


def _messages(path, fmax=None):
    import warnings

    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        list(iter_audio_blocks(path, SR, fmax=fmax))
        load_audio(path, SR, fmax=fmax)
    stream = [str(w.message) for w in rec[: len(rec) // 2]]
    whole = [str(w.message) for w in rec[len(rec) // 2:]]
    assert stream == whole  # both readers say the same
    return stream


def test_clean_audio_gives_no_warning(tmp_path):
    y = _drums()
    sf.write(tmp_path / "ok.wav", 0.5 * y / np.abs(y).max(), SR)
    assert _messages(tmp_path / "ok.wav") == []


def test_truncated_wav(tmp_path):
    sf.write(tmp_path / "full.wav", 0.5 * _drums(), SR, subtype="PCM_16")
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    msgs = _messages(tmp_path / "cut.wav")
    assert len(msgs) == 1 and "cut.wav" in msgs[0] and "truncated" in msgs[0] and "2.00 s" in msgs[0]


def test_low_sample_rate(tmp_path):
    sf.write(tmp_path / "phone.wav", 0.5 * _drums(sr=8000), 8000)
    msgs = _messages(tmp_path / "phone.wav")
    assert len(msgs) == 1 and "phone.wav" in msgs[0] and "8000 Hz" in msgs[0] and "11025" in msgs[0]
    # a 16 kHz file is enough for a model whose mel bands stop at 8 kHz
    sf.write(tmp_path / "wide.wav", 0.5 * _drums(sr=16000), 16000)
    assert _messages(tmp_path / "wide.wav", fmax=8000) == []


def test_clipped_and_beyond_full_scale(tmp_path):
    y = _drums()
    sf.write(tmp_path / "clip.wav", np.clip(4 * y / np.abs(y).max(), -1, 1), SR, subtype="PCM_16")
    msgs = _messages(tmp_path / "clip.wav")
    assert len(msgs) == 1 and "clip.wav" in msgs[0] and "clipped" in msgs[0]
    sf.write(tmp_path / "hot.wav", 8 * y / np.abs(y).max(), SR, subtype="FLOAT")
    msgs = _messages(tmp_path / "hot.wav")
    assert len(msgs) == 1 and "hot.wav" in msgs[0] and "beyond full scale" in msgs[0]


def test_transcribe_prints_one_line_per_problem(tmp_path):
    ckpt = fake_checkpoint(tmp_path / "m.ckpt", small_config())
    sf.write(tmp_path / "phone.wav", 0.5 * _drums(sr=8000), 8000)
    p = subprocess.run([sys.executable, "-m", "drumscribe", "transcribe", str(tmp_path / "phone.wav"),
                        str(tmp_path / "phone.mid"), "--checkpoint", str(ckpt), "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("drumscribe transcribe: warning: ") and "phone.wav" in lines[0]
