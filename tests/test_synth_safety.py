"""`drumscribe synth` keeps a dataset a unit (issue 34): the record covers the kit folders, a user's files are
never replaced, an untrusted kit index.csv is refused in one line, and two renders never share a folder.

Every case runs the CLI (``main(argv)``) and checks the exit status, the one-line message and the files.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drumscribe.cli import main
from drumscribe.synth import kits as kitmod

FIX = Path(__file__).parent / "fixtures" / "real_kit"
BASE = ["synth", "--no-progress", "--seed", "3", "--max-seconds", "2", "--performances", "1", "--kits-per-performance", "1"]


@pytest.fixture(autouse=True)
def no_kit_dirs():
    kitmod.set_kit_dirs([])
    yield
    kitmod.set_kit_dirs([])


def _files(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in (".wav", ".midi", ".csv")}


def _refused(capsys, argv, *words) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return err


def _kit_copy(tmp_path) -> Path:
    dst = tmp_path / "kitdir"
    shutil.copytree(FIX, dst)
    return dst


# ------------------------------------------------------------------ the record covers the kit folders
def test_a_rerun_with_no_or_another_kit_dir_is_refused_and_changes_nothing(tmp_path, capsys):
    """The kit folder's real impulse responses decided the reverb: without it, or with another, a re-run
    would call the files complete and rewrite their CSV rows with other settings."""
    out, kd = tmp_path / "set", _kit_copy(tmp_path)
    same = [*BASE, "--out", str(out), "--kits", "procedural:1", "--reverb", "--realism-prob", "1", "--real-ir", "1"]
    assert main([*same, "--kit-dir", str(kd)]) == 0
    before = _files(out)
    kitmod.set_kit_dirs([])  # a fresh process: no kit folder (main() keeps the last one in DRUMSCRIBE_KIT_DIRS)
    _refused(capsys, same, "--kit-dir", str(out))
    other = tmp_path / "other"
    shutil.copytree(kd, other)
    _refused(capsys, [*same, "--kit-dir", str(other)], "--kit-dir")
    assert _files(out) == before
    assert main([*same, "--kit-dir", str(kd)]) == 0  # the same folder again: resumed, nothing changed
    assert _files(out) == before


def test_a_kit_dir_whose_index_changed_is_refused(tmp_path, capsys):
    out, kd = tmp_path / "set", _kit_copy(tmp_path)
    argv = [*BASE, "--out", str(out), "--kits", "real:fixture-multimic", "--kit-dir", str(kd)]
    assert main(argv) == 0
    before = _files(out)
    index = kd / "index.csv"
    index.write_text(index.read_text().replace("-10.58", "-4.00", 1))  # a louder layer: other renders
    _refused(capsys, argv, "--kit-dir", "index_md5")
    assert _files(out) == before


# ------------------------------------------------------------------ a user's files
@pytest.mark.parametrize("name", ["take1.wav", "drummer5/session1/1_rock-groove1_120_beat_4-4_1.wav", "song.mid"])
def test_a_render_into_a_folder_without_a_record_never_replaces_a_users_file(tmp_path, capsys, name):
    out = tmp_path / "mine"
    mine = out / name
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"RIFF my recording")
    _refused(capsys, [*BASE, "--out", str(out), "--kits", "procedural:1"], str(out), ".drumscribe-synth.json")
    assert mine.read_bytes() == b"RIFF my recording"
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == [Path(name).name]


# ------------------------------------------------------------------ an untrusted index.csv
def _set_row(index: Path, row: int, column: str, value: str) -> None:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(index.read_text())))
    rows[row - 1][column] = value
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    index.write_text(buf.getvalue())


@pytest.mark.parametrize("row, column, value, words", [
    (3, "peak_dbfs", "loud", ["row 3", "column peak_dbfs"]),
    (5, "velocity_layer", "1.5x", ["row 5", "column velocity_layer"]),
    (2, "seconds", "nan", ["row 2", "column seconds"]),
    (4, "path", "kits/fixture-multimic/kick/hit/v09_1/close.flac", ["row 4", "column path", "no such file"]),
    (1, "path", "../../../../etc/passwd", ["row 1", "column path", "outside the folder"]),
])
def test_a_malformed_kit_index_is_refused_in_one_line_naming_file_row_and_column(tmp_path, capsys, row, column, value, words):
    kd = _kit_copy(tmp_path)
    _set_row(kd / "index.csv", row, column, value)
    out = tmp_path / "set"
    _refused(capsys, [*BASE, "--out", str(out), "--kit-dir", str(kd), "--kits", "real:fixture-multimic"],
             str(kd / "index.csv"), *words)
    assert not out.exists()


def test_a_kit_index_of_random_bytes_is_refused_in_one_line(tmp_path, capsys):
    kd = _kit_copy(tmp_path)
    (kd / "index.csv").write_bytes(bytes(range(256)) * 8)
    _refused(capsys, [*BASE, "--out", str(tmp_path / "set"), "--kit-dir", str(kd), "--real-kits", "1"],
             str(kd / "index.csv"))
    _refused(capsys, ["synth", "--kit-dir", str(kd), "--list-kits"], str(kd / "index.csv"))


def test_real_kits_with_an_empty_index_are_refused_before_any_work(tmp_path, capsys):
    kd = tmp_path / "empty"
    kd.mkdir()
    (kd / "index.csv").write_text((FIX / "index.csv").read_text().splitlines()[0] + "\n")
    out = tmp_path / "set"
    _refused(capsys, [*BASE, "--out", str(out), "--kit-dir", str(kd), "--real-kits", "1"], "--real-kits", "real")
    _refused(capsys, [*BASE, "--out", str(out), "--real-kits", "0.5"], "--real-kits", "--kit-dir")
    assert not out.exists()


# ------------------------------------------------------------------ one run per folder
def test_a_second_render_into_a_folder_being_written_is_refused(tmp_path, capsys):
    out = tmp_path / "set"
    out.mkdir()
    holder = subprocess.Popen(  # another process holds the folder, as a render in progress does
        [sys.executable, "-c", "import sys; from pathlib import Path\n"
         "from drumscribe.synth.record import folder_lock\n"
         f"with folder_lock(Path({str(out)!r})):\n    print('held', flush=True)\n    sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        _refused(capsys, [*BASE, "--out", str(out), "--kits", "procedural:1"], "another", str(out))
        assert _files(out) == {}
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert main([*BASE, "--out", str(out), "--kits", "procedural:1"]) == 0  # the lock died with its holder
    assert any(p.suffix == ".wav" for p in out.rglob("*"))
