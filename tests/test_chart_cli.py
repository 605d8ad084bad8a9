"""`drumscribe transcribe IN OUT --format chart` / `--midi-tracks per-drum` end to end (bundled model, demo clip)."""

import configparser
from pathlib import Path

import mido
import pytest

from drumscribe.cli import main

DEMO = Path(__file__).resolve().parents[1] / "src/drumscribe/data/demo/demo_clip.flac"
pytestmark = pytest.mark.skipif(not DEMO.exists(), reason="demo clip not in this checkout")


def test_chart_folder_from_the_cli_and_the_overwrite_rule(tmp_path, capsys):
    out = tmp_path / "demo chart"
    assert main(["transcribe", str(DEMO), str(out), "--format", "chart", "--threads", "1", "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["notes.mid", "song.ini", "song.ogg"]
    assert [t.name for t in mido.MidiFile(out / "notes.mid").tracks[1:]] == ["PART DRUMS", "BEAT", "EVENTS"]
    ini = configparser.ConfigParser()
    ini.read(out / "song.ini")
    assert ini["song"]["charter"] == "drumscribe"
    (out / "song.ini").write_text("[song]\nname = mine\n")
    (out / "notes.mid").unlink()
    assert main(["transcribe", str(DEMO), str(out), "--format", "chart", "--threads", "1", "--quiet"]) == 0
    assert "name = mine" in (out / "song.ini").read_text()  # kept: no --overwrite
    assert (out / "notes.mid").exists()
    assert "song.ini exists" in capsys.readouterr().err


def test_per_drum_tracks_from_the_cli(tmp_path):
    one, per = tmp_path / "one.mid", tmp_path / "per.mid"
    assert main(["transcribe", str(DEMO), str(one), "--threads", "1", "--quiet"]) == 0
    assert main(["transcribe", str(DEMO), str(per), "--threads", "1", "--quiet", "--midi-tracks", "per-drum"]) == 0
    a, b = mido.MidiFile(one), mido.MidiFile(per)
    assert [t.name for t in a.tracks[1:]] == ["drums"]
    assert len(b.tracks) > 3 and "kick" in [t.name for t in b.tracks]

    def notes(mf):
        now, out = 0, []
        for m in mido.merge_tracks(mf.tracks):
            now += m.time
            if m.type == "note_on" and m.velocity > 0:
                out.append((now, m.note, m.velocity, m.channel))
        return sorted(out)

    assert notes(a) == notes(b)
