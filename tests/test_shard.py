"""`transcribe IN_DIR OUT_DIR --shard K/N`: N uncoordinated runs share a folder, each file done exactly once.

Two shards run as two processes at the same time; a Dask local cluster of two workers runs the example in
``scripts/scale_out_dask.py`` (skipped where dask.distributed is not installed: the ``scale`` extra).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drumscribe.cli import main
from drumscribe.core.errors import ConfigError
from drumscribe.core.shard import in_shard, parse_shard, shard_of

ROOT = Path(__file__).resolve().parents[1]
EGMD = ROOT / "tests" / "fixtures" / "egmd_tiny"


def _folder(tmp_path) -> tuple[Path, list[Path]]:
    """Eight short drum recordings in nested folders (the fixture's four WAVs, twice, renamed)."""
    src = sorted(EGMD.rglob("*.wav"))
    inp = tmp_path / "in"
    files = []
    for i in range(8):
        dst = inp / f"set{i % 3}" / f"take{i}.wav"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src[i % len(src)], dst)
        files.append(dst)
    return inp, files


def _outputs(out: Path) -> set[str]:
    return {str(p.relative_to(out).with_suffix("")) for p in out.rglob("*.mid")}


def test_parse_shard_is_one_based_and_refuses_the_rest():
    assert parse_shard("1/1") == (1, 1) and parse_shard("3/4") == (3, 4)
    for bad in ("0/4", "5/4", "4", "a/b", "1/0", "-1/2", "2/2/2"):
        with pytest.raises(ConfigError, match="--shard"):
            parse_shard(bad)


def test_shards_partition_any_file_list_stably():
    names = [f"album{i // 10}/track {i:03d}.flac" for i in range(200)]
    for n in (1, 2, 3, 7):
        shards = [shard_of(x, n) for x in names]
        assert set(shards) <= set(range(1, n + 1))
        assert all(sum(in_shard(Path("/r") / x, Path("/r"), (k, n)) for k in range(1, n + 1)) == 1 for x in names)
    # the hash is SHA-1 of the relative POSIX path: the same on every machine and in every process
    assert shard_of("set1/take3.wav", 4) == 4 and shard_of(Path("set1") / "take3.wav", 4) == 4  # pinned
    code = "from drumscribe.core.shard import shard_of; print(shard_of('set1/take3.wav', 4), shard_of('a.wav', 97))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.split() == [str(shard_of("set1/take3.wav", 4)), str(shard_of("a.wav", 97))]


def test_two_shards_on_two_processes_do_every_file_once(tmp_path):
    inp, files = _folder(tmp_path)
    every = {str(f.relative_to(inp).with_suffix("")) for f in files}
    cmd = [sys.executable, "-m", "drumscribe", "transcribe", str(inp)]
    # each shard into its own folder, at the same time: disjoint, and together every file
    procs = [subprocess.Popen([*cmd, str(tmp_path / f"out{k}"), "--shard", f"{k}/2", "--threads", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (1, 2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    one, two = _outputs(tmp_path / "out1"), _outputs(tmp_path / "out2")
    assert one and two and not one & two and one | two == every
    assert all(f"of {len(x)} (shard {k}/2 of 8)" in o[0] for k, x, o in ((1, one, outs[0]), (2, two, outs[1])))
    # both shards into one folder at the same time: every file once; a shard run again does nothing
    procs = [subprocess.Popen([*cmd, str(tmp_path / "out"), "--shard", f"{k}/2", "--threads", "1", "--quiet"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (1, 2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and not any(o[1] for o in outs), outs
    assert _outputs(tmp_path / "out") == every
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*.mid")}
    assert main(["transcribe", str(inp), str(tmp_path / "out"), "--shard", "2/2", "--threads", "1"]) == 0
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*.mid")} == stamps


def test_shard_is_refused_for_one_file_and_when_malformed(tmp_path, capsys):
    inp, files = _folder(tmp_path)
    assert main(["transcribe", str(files[0]), str(tmp_path / "x.mid"), "--shard", "1/2"]) == 2
    assert "only when INPUT is a folder" in capsys.readouterr().err
    assert main(["transcribe", str(inp), str(tmp_path / "o"), "--shard", "3/2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--shard" in err and not (tmp_path / "o").exists()


def test_dask_example_runs_two_workers_on_this_machine(tmp_path):
    pytest.importorskip("dask.distributed", reason="dask.distributed not installed (the scale extra)")
    inp, files = _folder(tmp_path)
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "scale_out_dask.py"), str(inp), str(tmp_path / "out"),
                        "--workers", "2"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _outputs(tmp_path / "out") == {str(f.relative_to(inp).with_suffix("")) for f in files}
    assert r.stdout.count("exit 0") == 2 and "2 shards in" in r.stdout
