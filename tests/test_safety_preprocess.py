"""Issue 14, cases 9 and 11: one `preprocess` per cache folder, temp files of live writers survive, a
killed parent takes its workers with it, a CSV row pointing at a missing file fails the run."""

import os
import signal
import subprocess
import sys
import time

import numpy as np

from drumscribe.cli import main

from conftest import CONFIGS


def _args(cfg, *extra):
    args = ["preprocess", "--config", str(CONFIGS / "medium_test_config.yaml"), "--quiet", *extra]
    for k in ("egmd_root", "processed_root", "splits_dir"):
        args += ["--set", f"data.{k}={getattr(cfg.data, k)}"]
    return args


def test_second_run_on_the_same_cache_refuses_in_one_line(toy_copy, make_cfg, capsys):
    from drumscribe.dataset.cache import cache_lock

    cfg = make_cfg(toy_copy)
    root = cfg.data.processed_root
    os.makedirs(root, exist_ok=True)
    with cache_lock(root):  # a first run holds the folder
        rc = main(_args(cfg))
    err = capsys.readouterr().err
    assert rc == 2
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and "in use by another drumscribe preprocess" in lines[0] and f"pid {os.getpid()}" in err
    assert not os.path.exists(cfg.data.splits_dir)  # nothing written by the refused run
    assert main(_args(cfg)) == 0  # free again once the first one ends


def test_only_dead_writers_temp_files_are_removed(tmp_path):
    from drumscribe.core.atomic import writer_tag
    from drumscribe.dataset.cache import ARRAYS, write_item

    host = writer_tag().rsplit("-", 1)[0]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        entry = tmp_path / "a.h5"
        live_tmp = tmp_path / f".a.h5.tmp-{host}-{live.pid}-0123abcd"
        dead_tmp = tmp_path / f".a.h5.tmp-{host}-{dead.pid}-0123abcd"
        other_host = tmp_path / f".a.h5.tmp-elsewhere-{dead.pid}-0123abcd"
        for p in (live_tmp, dead_tmp, other_host):
            p.write_bytes(b"half written")
        arrays = {n: np.zeros((3, 2), np.float32) for n in ARRAYS}
        write_item(entry, arrays, {"cache_key": "k"})
        assert entry.is_file()
        assert live_tmp.exists(), "a live writer's temp file was deleted"
        assert other_host.exists(), "another host's temp file was deleted"
        assert not dead_tmp.exists(), "a dead writer's temp file was kept"
    finally:
        live.kill()
        live.wait()


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_killed_parent_leaves_no_workers(toy_root, tmp_path, make_cfg):
    if not os.path.exists("/proc/self/task"):
        import pytest

        pytest.skip("needs Linux /proc")
    import shutil

    import soundfile as sf

    # two 10-minute recordings keep both workers busy for seconds
    data = tmp_path / "long"
    data.mkdir()
    midi = sorted(toy_root.rglob("*.midi"))[0]
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        sf.write(data / f"{name}.wav", (0.1 * rng.standard_normal(22050 * 600)).astype(np.float32), 22050,
                 subtype="PCM_16")
        shutil.copy(midi, data / f"{name}.midi")
    cfg = make_cfg(data)
    cache = tmp_path / "processed"
    cmd = [sys.executable, "-m", "drumscribe", *_args(cfg, "--num-workers", "2")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers = []
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        workers = [c for c in _children(proc.pid) if _alive(c)]
        if len(workers) >= 2:
            break
        time.sleep(0.05)
    assert len(workers) >= 2, "the pool never started"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(2.0)
    left = [w for w in workers if _alive(w)]
    for w in left:  # clean up before failing
        os.kill(w, signal.SIGKILL)
    assert not left, f"workers {left} outlived the killed parent"
    assert not list(cache.rglob("*.h5")), "a worker went on writing after its parent was killed"


def test_csv_row_pointing_at_a_missing_file_exits_nonzero(toy_copy, make_cfg, capsys):
    (toy_copy / "drummer1/session1/1_rock_120_beat_4-4_1.wav").unlink()
    cfg = make_cfg(toy_copy)
    rc = main(_args(cfg))
    out = capsys.readouterr().out
    assert rc == 1
    assert "listed in the CSV but missing" in out and "1_rock_120_beat_4-4_1.wav" in out
    assert "processed 7" in out  # the others were still cached
