"""PyAV (Opus) is the ``chart`` extra, not the base install: a chart export without it writes ``song.ogg``
(Vorbis through libsndfile) and says in one line which extra gives Opus; with it, ``song.opus`` and no line."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import soundfile as sf

from drumscribe.cli import main
from drumscribe.transcription.chart_folder import OPUS_EXTRA

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src/drumscribe/data/demo/demo_clip.flac"
pytestmark = pytest.mark.skipif(not DEMO.exists(), reason="demo clip not in this checkout")


def _clip(tmp_path, seconds=6.0):
    x, sr = sf.read(DEMO, always_2d=True)
    out = tmp_path / "clip.wav"
    sf.write(out, x[: int(seconds * sr)], sr)
    return out, seconds


def _chart(inp, out):
    return main(["transcribe", str(inp), str(out), "--format", "chart", "--threads", "1", "--quiet"])


def test_without_pyav_the_folder_gets_vorbis_and_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` fails: the base install
    clip, seconds = _clip(tmp_path)
    assert _chart(clip, tmp_path / "song") == 0
    names = sorted(p.name for p in (tmp_path / "song").iterdir())
    assert "song.ogg" in names and "song.opus" not in names
    info = sf.info(tmp_path / "song" / "song.ogg")
    assert (info.format, info.subtype) == ("OGG", "VORBIS")
    assert info.duration >= seconds  # the whole clip, with its lead-in
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert f'pip install "drumscribe[{OPUS_EXTRA}]"' in err[0] and "song.ogg" in err[0] and "Opus" in err[0]


def test_with_pyav_the_folder_gets_opus_and_no_line(tmp_path, capsys):
    pytest.importorskip("av")
    clip, _ = _clip(tmp_path)
    assert _chart(clip, tmp_path / "song") == 0
    assert (tmp_path / "song" / "song.opus").read_bytes()[:4] == b"OggS"
    assert not (tmp_path / "song" / "song.ogg").exists()
    assert "drumscribe[" not in capsys.readouterr().err


def test_pyav_is_the_chart_extra_which_run_installs_and_not_a_base_dependency():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name = lambda req: re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower()  # noqa: E731
    assert "av" not in {name(r) for r in project["dependencies"]}
    assert "av" in {name(r) for r in project["optional-dependencies"][OPUS_EXTRA]}
    pip_line = [line for line in (ROOT / "run").read_text().splitlines() if "pip install -q -e" in line]
    assert len(pip_line) == 1 and re.search(rf"\[[a-z,]*\b{OPUS_EXTRA}\b[a-z,]*\]", pip_line[0]), pip_line
