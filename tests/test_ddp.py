"""Lightning DDP is the training engine: 2 CPU processes (gloo) on the toy cache.

``drumscribe train`` runs with ``hardware.strategy=ddp``, ``accelerator=cpu``, ``devices=2``; Lightning
relaunches the command for rank 1.  A small launcher records, per rank, every file each process
opens for writing or renames into place, so the test sees that only rank 0 writes checkpoints,
history and thresholds; the validation F1 in the history equals a 1-process ``drumscribe evaluate``
of the same checkpoint on the whole validation split (3 files: rank 0 alone sees 2 of them, and
Lightning's DistributedSampler repeats one file to even out the ranks); ``--resume`` continues the run.
About 1 minute on 2 cores.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from train_helpers import CONFIGS, FAST_AUDIO, TINY_MODEL, build_toy_cache, read_history  # noqa: E402

pytestmark = pytest.mark.skipif(not __import__("torch").distributed.is_available(),
                                reason="torch.distributed is not available")

LAUNCHER = '''
import builtins, os, sys
log_dir, argv = sys.argv[1], sys.argv[2:]
rank = os.environ.get("LOCAL_RANK", "0")  # set by Lightning for the processes it launches
log = builtins.open(os.path.join(log_dir, f"writes-rank{rank}.txt"), "a")
_open, _replace = builtins.open, os.replace

def note(path):
    log.write(os.path.abspath(os.fspath(path)) + "\\n")
    log.flush()

def open_(file, mode="r", *a, **k):
    if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in "wax+"):
        note(file)
    return _open(file, mode, *a, **k)

def replace_(src, dst, *a, **k):
    note(dst)
    return _replace(src, dst, *a, **k)

builtins.open, os.replace = open_, replace_
from drumscribe.cli import main
sys.exit(main(argv))
'''

COMMON = ["logging.logger=csv", "training.window_seconds=1.0", "training.batch_size=2",
          "training.learning_rate=0.01", "training.scheduler=none", "training.precision=32",
          "postprocessing.onset_threshold=0.1", "hardware.accelerator=cpu", "hardware.devices=2",
          "hardware.strategy=ddp", "training.num_epochs=1"]


def _train(tmp_path, ov, *args):
    launcher = tmp_path / "launch.py"
    launcher.write_text(LAUNCHER)
    sets = [a for o in ov + COMMON for a in ("--set", o)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("LOCAL_RANK", None)
    proc = subprocess.run([sys.executable, str(launcher), str(tmp_path), "train", "--config",
                           str(CONFIGS["test_config"]), "--no-progress", "--threads", "1", *sets, *args],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _writes(tmp_path, rank: int) -> list[str]:
    f = tmp_path / f"writes-rank{rank}.txt"
    return f.read_text().split() if f.exists() else []


def test_ddp_two_cpu_processes(tmp_path):
    ov = build_toy_cache(tmp_path, FAST_AUDIO + TINY_MODEL, n_performances=3, seconds=3.0)
    ckpt, logs = tmp_path / "ckpt", tmp_path / "logs"
    out = _train(tmp_path, ov)
    assert "GLOBAL_RANK: 1" in out or "Initializing distributed: GLOBAL_RANK: 0, MEMBER: 1/2" in out, out[-2000:]

    # only rank 0 writes checkpoints, the history, logs and the tuned thresholds
    rank0, rank1 = _writes(tmp_path, 0), _writes(tmp_path, 1)
    outputs = (str(ckpt), str(logs))
    assert (tmp_path / "writes-rank1.txt").exists()  # the launcher ran in rank 1
    assert not [p for p in rank1 if p.startswith(outputs)], rank1
    assert str(ckpt / "test-last.ckpt") in rank0
    history = logs / "quick-test-2epoch-20files" / "metrics_history.csv"
    assert str(history) in rank0
    assert out.count("Per-class thresholds tuned on val") == 2  # best + last, by rank 0 only
    assert not [p for p in ckpt.iterdir() if p.name.startswith(".")]  # no temp files left

    # validation metrics are reduced over both ranks, each file once: they equal a 1-process evaluation
    rows = read_history(history)
    assert [int(r["epoch"]) for r in rows] == [0]
    from drumscribe.cli import main

    res_path = tmp_path / "val.json"
    assert main(["evaluate", "--checkpoint", str(ckpt / "test-last.ckpt"), "--split", "val", "--threshold", "0.1",
                 "--output", str(res_path)]) == 0
    res = json.loads(res_path.read_text())
    assert res["n_files"] == 3 and res["micro"]["tp"] > 0
    assert f"{res['micro']['f1']:.6g}" == rows[0]["val_f1_micro"]
    assert f"{res['macro']['f1']:.6g}" == rows[0]["val_f1_macro"]

    # --resume continues the DDP run
    import torch

    (tmp_path / "writes-rank1.txt").unlink()
    out = _train(tmp_path, ov, "--resume", str(ckpt / "test-last.ckpt"), "--max-epochs", "2", "--no-tune")
    assert torch.load(ckpt / "test-last.ckpt", weights_only=False)["epoch"] == 1
    assert [int(r["epoch"]) for r in read_history(history)] == [0, 1]
    assert not [p for p in _writes(tmp_path, 1) if p.startswith(outputs)]
