"""Issue 34, the API and the long-input guards: the Python API checks its arguments with the CLI's range table
(sample rate, threads, device, ``overwrite`` a bool, paths) and an audio header whose sample rate is outside
that table is refused in one line before any work (a 700 kB WAV claiming 1 Hz would resample for hours)."""

import os
import struct
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import soundfile as sf

import drumscribe
from drumscribe.audio.io import iter_audio_blocks, load_audio
from drumscribe.core.errors import DrumscribeError
from drumscribe.core.options import RANGES
from drumscribe.dataset.toy import render_events, toy_performance

SR = 22050


@pytest.fixture(scope="module")
def model():
    return drumscribe.load_model()  # the bundled ONNX model


@pytest.fixture(scope="module")
def clip():
    y = render_events(toy_performance(2.0, 3), 2.0, 3, sr=SR).astype(np.float32)
    return 0.5 * y / np.abs(y).max()


@pytest.fixture(scope="module")
def result(model, clip):
    return drumscribe.transcribe(clip, SR, model=model)


def _one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


# ---------------------------------------------------------------- sample rates: the CLI's range table

@pytest.mark.parametrize("rate", [1, 999, 10**12, 768_001])
def test_array_sample_rate_outside_the_table_is_refused(model, clip, rate):
    t0 = time.perf_counter()
    with pytest.raises(DrumscribeError) as e:
        drumscribe.transcribe(clip[:200], rate, model=model)  # short: without the check 1 Hz still ends
    assert _one_line(e).startswith("sample_rate ")
    assert time.perf_counter() - t0 < 5  # refused before any work (1 Hz used to run the resampler out of memory)


def test_sample_rate_range_is_the_tables(model, clip):
    r = RANGES["sample_rate"]
    with pytest.raises(DrumscribeError) as e:
        drumscribe.transcribe(clip[:200], 1, model=model)
    assert r.describe() in str(e.value)
    for ok in (int(r.lo), 8000, np.int64(44100), 44100.0, int(r.hi)):
        drumscribe.transcribe(clip[:2000], ok, model=model)  # accepted


# ---------------------------------------------------------------- threads, device

@pytest.mark.parametrize("threads", [1025])
def test_threads_above_the_clis_cap_are_refused(threads):
    # (4096 threads took 259 s to start before this check; a million never ended)
    with pytest.raises(DrumscribeError) as e:
        drumscribe.load_model(threads=threads)
    assert _one_line(e).startswith("threads ") and RANGES["threads"].describe() in str(e.value)
    drumscribe.load_model(threads=2)  # within the cap


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CUDA GPU is present here")
@pytest.mark.parametrize("backend", [None, "torch"])
def test_cuda_without_a_gpu_is_one_line(backend):
    with pytest.raises(DrumscribeError) as e:
        drumscribe.load_model(device="cuda", backend=backend)
    assert "no CUDA GPU" in _one_line(e) and "device='cpu'" in str(e.value)


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "", None, 3])
def test_unknown_device_is_one_line(device):
    with pytest.raises(DrumscribeError) as e:
        drumscribe.load_model(device=device, backend="torch")
    assert _one_line(e).startswith("device ")


def test_runtime_settings_with_a_loaded_model_are_refused_not_ignored(model, clip):
    for kwargs in ({"threads": 2}, {"device": "cuda"}, {"backend": "torch"}):
        with pytest.raises(DrumscribeError) as e:
            drumscribe.transcribe(clip, SR, model=model, **kwargs)
        assert "load_model()" in _one_line(e)


# ---------------------------------------------------------------- paths

def test_folder_is_called_a_folder(tmp_path):
    with pytest.raises(DrumscribeError) as e:
        drumscribe.transcribe(tmp_path)
    assert "is a folder" in _one_line(e) and "not found" not in str(e.value)
    with pytest.raises(DrumscribeError) as e:
        drumscribe.transcribe(str(tmp_path / "missing.wav"))
    assert "not found" in str(e.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_called_a_fifo(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(DrumscribeError) as e:
        drumscribe.transcribe(fifo)  # opening it would block until a writer came
    assert "FIFO" in _one_line(e)


def test_to_midi_without_a_path_is_a_clear_error(result):
    with pytest.raises(DrumscribeError) as e:
        result.to_midi(None)
    assert "path" in _one_line(e)
    assert result.to_json().startswith(("{", "["))  # text formats still return their text


@pytest.mark.parametrize("bad", [123, b"out.mid", ""])
def test_writer_path_must_be_a_path(result, tmp_path, bad):
    with pytest.raises(DrumscribeError) as e:
        result.to_midi(bad)
    assert _one_line(e).startswith("path ")


@pytest.mark.parametrize("flag", ["no", "False", 1, [True]])
def test_overwrite_must_be_a_bool(result, tmp_path, flag):
    precious = tmp_path / "precious.mid"
    precious.write_bytes(b"keep me")
    for write in (result.to_midi, result.to_json, result.to_csv):
        with pytest.raises(DrumscribeError) as e:
            write(precious, overwrite=flag)
        assert "overwrite" in _one_line(e)
    assert precious.read_bytes() == b"keep me"
    assert result.to_midi(precious, overwrite=True) == precious  # a real bool still works
    assert precious.read_bytes()[:4] == b"MThd"


# ---------------------------------------------------------------- long-input guards (audio headers)

def _wav_with_rate(path, rate: int, seconds: float = 8.0):
    """A 16-bit mono WAV whose header claims ``rate`` Hz (the samples were written at 22050 Hz)."""
    y = 0.1 * np.random.default_rng(5).standard_normal(int(seconds * SR)).astype(np.float32)
    sf.write(path, y, SR, subtype="PCM_16")
    b = bytearray(path.read_bytes())
    i = b.find(b"fmt ")
    struct.pack_into("<I", b, i + 12, rate)  # sample rate
    struct.pack_into("<I", b, i + 16, min(rate * 2, 2**32 - 1))  # byte rate
    path.write_bytes(bytes(b))
    return path


@pytest.mark.parametrize("rate", [1, 2**31 - 1])
def test_header_rate_outside_the_table_is_refused_by_both_readers(tmp_path, rate):
    wav = _wav_with_rate(tmp_path / "odd.wav", rate, seconds=0.1)  # short: without the guard 1 Hz still ends
    for read in (lambda: list(iter_audio_blocks(wav, SR)), lambda: load_audio(wav, SR)):
        t0 = time.perf_counter()
        with pytest.raises(DrumscribeError) as e:
            read()
        assert "odd.wav" in _one_line(e) and f"{rate} Hz" in str(e.value)
        assert time.perf_counter() - t0 < 5
    with pytest.raises(DrumscribeError):
        drumscribe.transcribe(wav)


def test_cli_refuses_a_1_hz_header_at_once(tmp_path):
    wav = _wav_with_rate(tmp_path / "one-hertz.wav", 1, seconds=16.0)  # 700 kB, 98 hours at 1 Hz
    assert wav.stat().st_size > 650_000
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "drumscribe", "transcribe", str(wav), str(tmp_path / "o.mid")],
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("a 1 Hz header still runs for minutes")
    assert time.perf_counter() - t0 < 60
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "one-hertz.wav" in lines[0] and "1 Hz" in lines[0], proc.stderr
    assert not (tmp_path / "o.mid").exists()


def test_truncated_header_is_warned_before_any_work(tmp_path):
    y = render_events(toy_performance(4.0, 2), 4.0, 2, sr=SR).astype(np.float32)
    sf.write(tmp_path / "full.wav", 0.5 * y / np.abs(y).max(), SR, subtype="PCM_16")
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    blocks = iter_audio_blocks(tmp_path / "cut.wav", SR, block_s=0.5)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        next(blocks)  # the first block: the header's claim is known before it
    assert any("truncated" in str(w.message) and "cut.wav" in str(w.message) for w in rec), [str(w.message) for w in rec]
    blocks.close()


def test_numpy_float32_threshold_is_a_number(model, clip):
    """A twin of the type checks: a numpy float32 (what arrays give) is a threshold like a float, not refused."""
    t = drumscribe.transcribe(clip, SR, model=model, threshold=np.float32(0.3))
    assert t.thresholds == pytest.approx([0.3] * len(t.class_names))


@pytest.mark.parametrize("backend", [None, "torch"])
def test_model_folder_is_called_a_folder(tmp_path, backend):
    """The twin of the audio folder: a folder given as the model is not "model file not found"."""
    with pytest.raises(DrumscribeError) as e:
        drumscribe.load_model(tmp_path, backend=backend)
    assert "is a folder" in _one_line(e) and "not found" not in str(e.value)
