"""The base install (``pip install drumscribe``, no extras) transcribes: no torch, Lightning, numba, librosa,
scipy.signal/ndimage or music21 on that path, and the path works when they are not installed at all."""

import io
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src/drumscribe/data/demo/demo_clip.flac"
# what `pip install drumscribe` does not bring, or what transcription must not pay for at start-up
ABSENT = ("torch", "lightning", "pytorch_lightning", "numba", "librosa", "music21", "h5py", "matplotlib",
          "tensorboard", "onnx", "safetensors")
NOT_IMPORTED = ABSENT + ("scipy.signal", "scipy.ndimage", "rich")

BLOCKER = f"""
import sys
class _NotInstalled:
    '''Import hook: the base install's site-packages, i.e. these packages are missing.'''
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {ABSENT!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _NotInstalled())
"""


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + code], capture_output=True, text=True, cwd=cwd)


def test_cli_and_api_work_without_training_packages(tmp_path):
    """`drumscribe transcribe x.flac x.mid` and `drumscribe.transcribe(...)` with torch & co. uninstallable."""
    out = tmp_path / "demo.mid"
    code = f"""
from drumscribe.cli import main
rc = main(["transcribe", {str(DEMO)!r}, {str(out)!r}, "--quiet"])
assert rc == 0, rc
import drumscribe
t = drumscribe.transcribe({str(DEMO)!r})
assert len(t.events) > 100, len(t.events)
t.to_midi({str(tmp_path / "api.mid")!r})
print(sorted(m for m in {NOT_IMPORTED!r} if m in sys.modules))
"""
    r = _run(code, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout
    assert out.read_bytes()[:4] == b"MThd"
    assert (tmp_path / "api.mid").read_bytes()[:4] == b"MThd"


def test_training_command_without_extra_names_the_extra(tmp_path):
    """A training command on the base install: one line naming `pip install "drumscribe[train]"`, exit 2."""
    code = """
from drumscribe.cli import main
sys.exit(main(["export", "--checkpoint", "x.ckpt", "x.onnx"]))
"""
    r = _run(code, tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install "drumscribe[train]"' in lines[0], r.stderr


def test_midi_writer_output_is_valid_for_mido_with_checks():
    """The MIDI writer skips mido's per-message checks for speed: its bytes parse (checks on) and re-save
    to the same bytes, and an out-of-range note is still refused."""
    mido = pytest.importorskip("mido")
    import numpy as np

    from drumscribe.transcription.beats import BeatMap
    from drumscribe.transcription.midi_out import Note, midi_file_bytes

    rng = np.random.default_rng(0)
    t = np.sort(rng.random(500) * 60.0)
    notes = [Note(float(x), int(p), int(v)) for x, p, v in zip(t, rng.choice([36, 38, 42, 49], 500),
                                                               rng.integers(-5, 140, 500))]
    for bm in (None, BeatMap.constant(97.0, 60.0)):
        for midi_type in (0, 1):
            data = midi_file_bytes([("drums", notes)], bm, midi_type=midi_type)
            mf = mido.MidiFile(file=io.BytesIO(data))  # parsing runs mido's checks on every message
            ons = [m for tr in mf.tracks for m in tr if m.type == "note_on"]
            assert len(ons) == 500 and all(1 <= m.velocity <= 127 for m in ons)
            buf = io.BytesIO()
            mf.save(file=buf)
            assert buf.getvalue() == data
    with pytest.raises(ValueError, match="out of range"):
        midi_file_bytes([("drums", [Note(1.0, 128, 100)])])
