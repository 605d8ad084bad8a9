"""Issue 34, training output: a second fresh ``drumscribe train`` into the same checkpoint folder never replaces
the first run's checkpoints (or its metrics history) without ``--overwrite`` or ``--resume``; a
``checkpoint.dirpath`` (or log folder) that cannot be written is refused before the first step, before the
history is touched; the ``--init-from`` model is never written over."""

import shutil
import sys
from pathlib import Path

import pytest
import torch

from drumscribe.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from test_safety_messages import read_only  # noqa: E402
from train_helpers import CONFIGS, FAST_AUDIO, TINY_MODEL, build_toy_cache  # noqa: E402

torch.set_num_threads(1)
BASE = ["training.window_seconds=1.0", "training.batch_size=2", "training.scheduler=none",
        "checkpoint.filename=t-{epoch:02d}-{val_loss:.4f}", "checkpoint.save_top_k=1", "logging.logger=none"]
HISTORY = Path("logs") / "quick-test-2epoch-20files" / "metrics_history.csv"


def _sets(overrides):
    return [a for o in overrides for a in ("--set", o)]


def _train(capsys, ov, *extra):
    rc = main(["train", "--config", str(CONFIGS["test_config"]), "--no-progress", "--no-tune", "--max-epochs", "1",
               *_sets(ov), *[str(e) for e in extra]])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_line(err):
    lines = [x for x in err.splitlines() if x.strip() and "warning" not in x.lower()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    return build_toy_cache(root, FAST_AUDIO + TINY_MODEL, n_performances=2, seconds=2.0) + BASE


@pytest.fixture
def first_run(cache, tmp_path, capsys):
    """One finished fresh run whose outputs live under ``tmp_path`` -> (overrides, root)."""
    ov = cache + [f"checkpoint.dirpath={tmp_path / 'ckpt'}", f"logging.save_dir={tmp_path / 'logs'}"]
    rc, _, err = _train(capsys, ov)
    assert rc == 0, err
    assert (tmp_path / "ckpt" / "t-last.ckpt").is_file() and (tmp_path / HISTORY).is_file()
    return ov, tmp_path


def test_second_fresh_run_keeps_the_first_runs_checkpoints(first_run, capsys):
    ov, root = first_run
    before = _snapshot(root)
    rc, out, err = _train(capsys, ov)
    assert rc == 2
    line = _one_line(err)
    assert "t-last.ckpt" in line and "--overwrite" in line and "--resume" in line
    assert _snapshot(root) == before  # checkpoints and history byte for byte; no log folder either
    # what is not that run's is no reason to refuse: a fast_dev_run (writes nothing), another prefix and name
    rc, _, err = _train(capsys, ov, "--fast-dev-run")
    assert rc == 0, err
    assert _snapshot(root) == before
    rc, _, err = _train(capsys, ov + ["checkpoint.filename=u-{epoch:02d}", "logging.experiment_name=second"])
    assert rc == 0, err
    assert (root / "ckpt" / "u-last.ckpt").is_file()
    assert {k: v for k, v in _snapshot(root).items() if k in before} == before


def test_second_fresh_run_into_another_folder_keeps_the_first_runs_history(first_run, capsys):
    ov, root = first_run
    history = (root / HISTORY).read_bytes()
    rc, _, err = _train(capsys, ov + [f"checkpoint.dirpath={root / 'other-ckpt'}"])
    assert rc == 2 and "metrics_history.csv" in _one_line(err)
    assert (root / HISTORY).read_bytes() == history
    assert not (root / "other-ckpt").exists()


def test_overwrite_and_resume_may_replace_them(first_run, capsys):
    ov, root = first_run
    last = root / "ckpt" / "t-last.ckpt"
    rc, _, err = _train(capsys, ov, "--resume", last, "--max-epochs", "2")
    assert rc == 0, err
    assert torch.load(last, weights_only=False)["epoch"] == 1  # continued: its second epoch
    rc, _, err = _train(capsys, ov, "--overwrite")
    assert rc == 0, err
    assert torch.load(last, weights_only=False)["epoch"] == 0  # a fresh run, as asked


def test_init_from_model_is_never_written_over(first_run, capsys):
    ov, root = first_run
    source = root / "ckpt" / "t-last.ckpt"
    before = source.read_bytes()
    rc, _, err = _train(capsys, ov, "--init-from", source, "--overwrite")
    assert rc == 2 and "--init-from" in _one_line(err)
    assert source.read_bytes() == before


@pytest.mark.parametrize("where", ["a-file", "under-a-file"])
def test_checkpoint_dirpath_that_is_a_file_is_refused_before_any_work(cache, tmp_path, capsys, where):
    blocker = tmp_path / "ckpt-file"
    blocker.write_text("not a folder")
    dirpath = blocker if where == "a-file" else blocker / "sub"
    (tmp_path / HISTORY).parent.mkdir(parents=True)
    (tmp_path / HISTORY).write_text("epoch,val_loss\n0,0.5\n")  # an earlier run's history: untouched
    ov = cache + [f"checkpoint.dirpath={dirpath}", f"logging.save_dir={tmp_path / 'logs'}"]
    rc, out, err = _train(capsys, ov, "--overwrite")
    assert rc == 2
    line = _one_line(err)
    assert "checkpoint.dirpath" in line and str(blocker) in line
    assert (tmp_path / HISTORY).read_text() == "epoch,val_loss\n0,0.5\n"
    assert sorted(p.name for p in (tmp_path / "logs" / HISTORY.parent.name).iterdir()) == ["metrics_history.csv"]
    assert "Epoch" not in out


def test_unwritable_checkpoint_dirpath_is_refused_before_any_work(cache, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ov = cache + [f"checkpoint.dirpath={ro / 'ckpt'}", f"logging.save_dir={tmp_path / 'logs'}"]
    with read_only(ro):
        rc, _, err = _train(capsys, ov)
    assert rc == 2
    line = _one_line(err)
    assert "checkpoint.dirpath" in line and str(ro) in line
    assert not (tmp_path / "logs").exists()  # no history, no log folder


def test_unwritable_log_folder_is_refused_before_any_work(cache, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ov = cache + [f"checkpoint.dirpath={tmp_path / 'ckpt'}", f"logging.save_dir={ro / 'logs'}"]
    with read_only(ro):
        rc, _, err = _train(capsys, ov)
    assert rc == 2 and "logging.save_dir" in _one_line(err)
    assert not (tmp_path / "ckpt").exists()

