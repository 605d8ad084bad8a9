"""The Python API: drumscribe.transcribe / drumscribe.load_model (bundled model, ONNX Runtime)."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import drumscribe

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "drumscribe" / "data" / "demo" / "demo_clip.flac"


@pytest.fixture(scope="module")
def model():
    return drumscribe.load_model(threads=1)


def test_import_is_light():
    code = "import sys, drumscribe; print(sorted(m for m in ('torch', 'onnxruntime', 'lightning', 'librosa', 'scipy') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "[]", (r.stdout, r.stderr)


def test_transcribe_a_path_and_write_every_format(tmp_path, model):
    t = drumscribe.transcribe(str(DEMO), model=model)
    assert t.duration == pytest.approx(16.0, abs=0.1) and len(t.events) > 100
    e = t.events[0]
    assert 0 <= e.cls < len(t.class_names) and 1 <= e.velocity <= 127 and 0 < e.strength <= 1 and e.time >= 0
    assert {t.class_names[x.cls] for x in t.events} >= {"kick", "snare", "hihat"}
    import pretty_midi

    t.to_midi(tmp_path / "demo.mid")
    notes = pretty_midi.PrettyMIDI(str(tmp_path / "demo.mid")).instruments[0].notes
    assert len(notes) == len(t.events) and {n.pitch for n in notes} >= {36, 38, 42}
    js = json.loads(t.to_json())
    assert len(js["events"]) == len(t.events) and js["events"][0]["name"] == t.class_names[e.cls]
    rows = list(csv.DictReader(io.StringIO(t.to_csv())))
    assert len(rows) == len(t.events) and float(rows[0]["time"]) == pytest.approx(e.time, abs=1e-6)


def test_transcribe_an_array_equals_the_file(model):
    """A (samples, channels) array at its own rate gives the events of the same audio read from a file."""
    y, sr = sf.read(str(DEMO), dtype="float32", always_2d=True)
    from_file = drumscribe.transcribe(DEMO, model=model)
    from_array = drumscribe.transcribe(y, sample_rate=sr, model=model)
    assert len(from_array.events) == pytest.approx(len(from_file.events), abs=2)
    a = np.array([(x.cls, x.time) for x in from_file.events])
    b = np.array([(x.cls, x.time) for x in from_array.events])
    n = min(len(a), len(b))
    assert np.mean(np.all(np.isclose(a[:n], b[:n], atol=0.03), axis=1)) > 0.97


def test_threshold_and_errors(model):
    few = drumscribe.transcribe(DEMO, model=model, threshold=0.9)
    many = drumscribe.transcribe(DEMO, model=model, threshold=0.1)
    assert len(few.events) < len(many.events)
    with pytest.raises(drumscribe.api.DrumscribeError, match="threshold"):
        drumscribe.transcribe(DEMO, model=model, threshold=1.5)
    with pytest.raises(drumscribe.api.DrumscribeError, match="nope.wav"):
        drumscribe.transcribe("nope.wav", model=model)
    with pytest.raises(drumscribe.api.DrumscribeError, match="missing.onnx"):
        drumscribe.load_model("missing.onnx")
