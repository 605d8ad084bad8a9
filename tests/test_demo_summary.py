"""`drumscribe demo` prints a compact summary (issue 32: `./run demo` at most 25 lines on a fresh machine, 4 of
them set-up): at most 20 lines at 80 columns, with what was transcribed, hits per drum, the F1 against the
clip's truth, the tempo/meter and every file written; the tables behind `--verbose`."""

from __future__ import annotations

import re

import mido
import pytest

from drumscribe.cli import main
from drumscribe.commands.demo import DEMO_CLIP, DEMO_TRUTH, hit_table, score_against_truth

pytestmark = pytest.mark.skipif(not DEMO_CLIP.exists(), reason="demo clip not in this checkout")
MAX_LINES, WIDTH = 20, 80


def _demo(capsys, *extra) -> list[str]:
    assert main(["demo", "--threads", "1", *extra]) == 0
    return capsys.readouterr().out.rstrip("\n").split("\n")


def test_demo_prints_a_compact_summary_of_at_most_20_lines(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", str(WIDTH))  # rich wraps at this width, as on an 80-column terminal
    lines = _demo(capsys, "--out", "outputs/demo")  # the default folder's shape (relative, as ./run demo)
    assert len(lines) <= MAX_LINES, lines
    assert max(len(line) for line in lines) <= WIDTH
    text = "\n".join(lines)
    assert DEMO_CLIP.name in lines[0] and "16.0 s" in lines[0]
    for name in ("demo_clip.mid", "demo_clip.png", "demo_clip.html"):  # every file written, by its path
        assert f"outputs/demo/{name}" in text and (tmp_path / "outputs/demo" / name).is_file()
    assert "outputs/demo/demo_clip.musicxml" in text or "no drum score" in text
    files = lines[lines.index("wrote:") + 1:-1]  # one line per file, path and what it is (nothing wrapped)
    assert len(files) == 4 and all(re.fullmatch(r"  \S+  \(.+\)", f) for f in files), files
    # the hits per drum are the MIDI file's notes
    mid = mido.MidiFile(tmp_path / "outputs/demo/demo_clip.mid")
    notes = [m for t in mid.tracks for m in t if m.type == "note_on" and m.velocity > 0]
    header = next(line for line in lines if line.split()[-1:] == ["all"]).split()
    hits = dict(zip(header, next(line for line in lines if line.startswith("hits ")).split()[1:]))
    assert int(hits["all"]) == len(notes) and int(hits["kick"]) == sum(m.note == 36 for m in notes)
    # the F1 line is the scorer's micro F1 of these events against the clip's truth
    import drumscribe
    from drumscribe.api import load_for_transcription

    bundle, _ = load_for_transcription(None, [], None, threads=1)
    res = score_against_truth(bundle, drumscribe.transcribe(DEMO_CLIP).events, DEMO_TRUTH)
    f1 = [line for line in lines if "ground truth" in line]
    assert len(f1) == 1 and re.search(r"micro F1 (\d\.\d{3})", f1[0]).group(1) == f"{res['micro']['f1']:.3f}"
    assert re.search(r"^tempo \d+\.\d bpm, \d+/\d+, \d+ bars$", text, re.M)
    assert "first hits found" not in text and "--verbose" in lines[-1]


def test_verbose_adds_the_tables(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    lines = _demo(capsys, "--out", "v", "--verbose")
    text = "\n".join(lines)
    assert len(lines) > MAX_LINES and "first hits found" in text and "precision" in text
    assert "micro F1" in text and "v/demo_clip.mid" in text and not lines[-1].endswith("--verbose")


def test_the_hit_table_is_cut_into_blocks_that_fit_the_width():
    names = [f"drum_{i}" for i in range(20)]
    lines = hit_table(names, [("hits", [str(i) for i in range(20)])], width=40)
    assert max(len(line) for line in lines) <= 40 and len(lines) % 2 == 0 and len(lines) > 2
    cells = " ".join(lines[1::2]).split()
    assert [c for c in cells if c != "hits"] == [str(i) for i in range(20)]
