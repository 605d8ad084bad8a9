"""Issue 14, cases 6 and 8: `train --resume` checks the checkpoint in one line, applies or reports changed
settings, leaves no empty log folder after a failed start; `--set training.precision=32` is accepted."""

import sys
from pathlib import Path

import pytest
import torch

from drumscribe.cli import main
from drumscribe.core.config import load_config

sys.path.insert(0, str(Path(__file__).parent))
from train_helpers import CONFIGS, FAST_AUDIO, TINY_MODEL, build_toy_cache, read_history  # noqa: E402

torch.set_num_threads(1)
BASE = ["training.window_seconds=1.0", "training.batch_size=2", "training.scheduler=none",
        "checkpoint.filename=t-{epoch:02d}-{val_loss:.4f}", "checkpoint.save_top_k=1", "logging.logger=tensorboard"]


def _sets(overrides):
    return [a for o in overrides for a in ("--set", o)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2-epoch run on 2 toy files; returns (overrides, last checkpoint)."""
    root = tmp_path_factory.mktemp("train")
    ov = build_toy_cache(root, FAST_AUDIO + TINY_MODEL, n_performances=2, seconds=2.0) + BASE
    rc = main(["train", "--config", str(CONFIGS["test_config"]), "--no-progress", "--no-tune",
               "--max-epochs", "2", *_sets(ov)])
    assert rc == 0
    last = root / "ckpt" / "t-last.ckpt"
    assert last.is_file()
    return root, ov, last


def _train(capsys, ov, *extra):
    rc = main(["train", "--config", str(CONFIGS["test_config"]), "--no-progress", "--no-tune", *_sets(ov), *extra])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _versions(root):
    d = root / "logs"
    return sorted(p.relative_to(d).as_posix() for p in d.rglob("version_*")) if d.is_dir() else []


def _one_line(err):
    lines = [x for x in err.splitlines() if x.strip() and "warning" not in x.lower()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- 6. bad checkpoints: one line, no log folder

def test_resume_corrupt_truncated_and_foreign_checkpoints(trained, tmp_path, capsys):
    root, ov, last = trained
    before = _versions(root)
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"\x00garbage" * 100)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    not_training = tmp_path / "weights-only.ckpt"
    ck = torch.load(last, weights_only=False)
    torch.save({k: ck[k] for k in ("state_dict", "drumscribe")}, not_training)
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, other)
    for bad, words in ((corrupt, "corrupt"), (truncated, "truncated.ckpt"), (not_training, "not a training"),
                       (other, "not a drumscribe")):
        rc, _, err = _train(capsys, ov, "--resume", str(bad), "--max-epochs", "3")
        assert rc == 2, (bad, err)
        assert words in _one_line(err), err
    assert _versions(root) == before  # no empty TensorBoard version folder left behind


def test_resume_shipped_model_is_refused(trained, tmp_path, capsys):
    from drumscribe.training.checkpoint import export_bundle

    root, ov, last = trained
    st, _ = export_bundle(last, tmp_path / "ship" / "m")
    rc, _, err = _train(capsys, ov, "--resume", str(st), "--max-epochs", "3")
    assert rc == 2 and "no training state" in _one_line(err)


def test_resume_with_another_architecture_names_the_key(trained, capsys):
    root, ov, last = trained
    before = _versions(root)
    rc, _, err = _train(capsys, ov + ["model.hidden_size=24"], "--resume", str(last), "--max-epochs", "3")
    assert rc == 2 and "model.hidden_size" in _one_line(err)
    rc, _, err = _train(capsys, ov + ["audio.fmin=50"], "--resume", str(last), "--max-epochs", "3")
    assert rc == 2 and "audio.fmin" in _one_line(err)
    assert _versions(root) == before


def test_max_epochs_not_above_done_says_so(trained, capsys):
    root, ov, last = trained
    rc, _, err = _train(capsys, ov, "--resume", str(last), "--max-epochs", "2")
    assert rc == 2 and "already trained 2 epochs" in _one_line(err)


def test_failed_start_leaves_no_empty_version_folder(tmp_path):
    import lightning as L

    from drumscribe.training.module import fit

    ov = build_toy_cache(tmp_path, FAST_AUDIO + TINY_MODEL, n_performances=2, seconds=2.0) + BASE

    class Boom(L.pytorch.Callback):
        def on_train_start(self, trainer, pl_module):
            raise RuntimeError("start failed")

    cfg = load_config(CONFIGS["test_config"], ov + ["training.num_epochs=1"])
    with pytest.raises(RuntimeError, match="start failed"):
        fit(cfg, callbacks=[Boom()], enable_progress_bar=False, log=lambda *a: None)
    assert _versions(tmp_path) == []


# ---------------------------------------------------------------- 6. changed hyperparameters on resume

def test_changed_learning_rate_is_applied_and_reported(trained, tmp_path, capsys):
    root, ov, last = trained
    work = tmp_path / "resumed"
    ov2 = ov + [f"checkpoint.dirpath={work / 'ckpt'}", f"logging.save_dir={work / 'logs'}",
                "training.learning_rate=0.0042", "training.batch_size=1"]
    import shutil

    (work / "ckpt").mkdir(parents=True)
    shutil.copy(last, work / "ckpt" / "t-last.ckpt")
    rc, out, err = _train(capsys, ov2, "--resume", str(work / "ckpt" / "t-last.ckpt"), "--max-epochs", "3")
    assert rc == 0, err
    assert "training.learning_rate changed since the checkpoint (0.001 -> 0.0042): applied" in out
    assert "training.batch_size changed" in out
    rows = read_history(work / "logs" / "quick-test-2epoch-20files" / "metrics_history.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert float(rows[-1]["lr"]) == pytest.approx(0.0042)
    assert float(rows[0]["lr"]) == pytest.approx(0.001)


def test_changed_optimizer_type_is_refused(trained, capsys):
    root, ov, last = trained
    rc, _, err = _train(capsys, ov + ["training.optimizer=AdamW"], "--resume", str(last), "--max-epochs", "3")
    assert rc == 2 and "training.optimizer" in _one_line(err)


# ---------------------------------------------------------------- 8. precision spellings

@pytest.mark.parametrize("value, stored", [("32", "32"), ('"32"', "32"), ("16-mixed", "16-mixed"),
                                           ("bf16-mixed", "bf16-mixed"), ("32-true", "32-true"), ("16", "16")])
def test_precision_spellings_are_accepted(value, stored):
    cfg = load_config(CONFIGS["test_config"], [f"training.precision={value}"])
    assert cfg.training.precision == stored


def test_precision_32_trains_through_the_cli(tmp_path, capsys):
    ov = build_toy_cache(tmp_path, FAST_AUDIO + TINY_MODEL, n_performances=2, seconds=2.0) + BASE
    rc, _, err = _train(capsys, ov + ["training.precision=32", "logging.logger=none"], "--fast-dev-run")
    assert rc == 0, err


def test_unknown_precision_is_one_line(capsys):
    rc = main(["train", "--config", str(CONFIGS["test_config"]), "--set", "training.precision=12"])
    err = capsys.readouterr().err
    assert rc == 2 and "training.precision" in _one_line(err)
