"""End-to-end training on toy data: fast_dev_run per config (through the CLI), learning, resume,
checkpoint names, checkpoint -> bundle -> safetensors round trip."""

import re
import sys
from pathlib import Path

import pytest
import torch

from drumscribe.training.checkpoint import export_bundle, load_bundle
from drumscribe.cli import main
from drumscribe.core.config import load_config
from drumscribe.training.module import HardwareFallbackWarning, fit

sys.path.insert(0, str(Path(__file__).parent))
from train_helpers import CONFIGS, FAST_AUDIO, TINY_MODEL, build_toy_cache, read_history  # noqa: E402

torch.set_num_threads(1)
QUIET = dict(enable_progress_bar=False, enable_model_summary=False)


@pytest.fixture(scope="module")
def fast_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast")
    return root, build_toy_cache(root, FAST_AUDIO + TINY_MODEL, n_performances=4, seconds=3.0)


@pytest.mark.parametrize("name", ["default_config", "test_config", "medium_test_config"])
def test_fast_dev_run_each_config_via_cli(tmp_path, name, capsys):
    # a toy cache made with the config's own audio front end and note mapping (22050 Hz, 128 mels)
    root = tmp_path
    ov = build_toy_cache(root, [], config=name, n_performances=2, seconds=2.0)
    sets = [a for o in ov for a in ("--set", o)] + ["--set", "training.window_seconds=1.0"]
    with pytest.warns(HardwareFallbackWarning, match="CPU"):
        rc = main(["train", "--config", str(CONFIGS[name]), "--fast-dev-run", "--no-progress", *sets])
    assert rc == 0
    assert not (root / "ckpt").exists() or not list((root / "ckpt").glob("*.ckpt"))  # fast_dev_run saves nothing


def test_cli_errors_are_one_line(tmp_path, capsys):
    rc = main(["train", "--config", str(CONFIGS["test_config"]), "--set", f"data.splits_dir={tmp_path}",
               "--set", f"data.processed_root={tmp_path}"])
    assert rc == 2
    assert "split file not found" in capsys.readouterr().err
    rc = main(["train", "--config", str(CONFIGS["test_config"]), "--resume", str(tmp_path / "none.ckpt"),
               "--set", f"data.splits_dir={tmp_path}"])
    assert rc == 2
    rc = main(["train", "--config", str(CONFIGS["test_config"]), "--resume", str(tmp_path / "a.ckpt"),
               "--init-from", "default"])
    assert rc == 2 and "--init-from and --resume" in capsys.readouterr().err


def _cfg(ov, *extra):
    return load_config(CONFIGS["test_config"], list(ov) + ["logging.logger=none", "training.window_seconds=2.0",
                                                            "training.batch_size=2", *extra])


def test_short_training_learns(fast_cache, tmp_path):
    root, ov = fast_cache
    cfg = _cfg(ov, "training.num_epochs=150", "training.learning_rate=0.01", "training.scheduler=none",
               f"checkpoint.dirpath={tmp_path / 'ck'}", f"logging.save_dir={tmp_path / 'logs'}",
               "checkpoint.save_top_k=1")
    r = fit(cfg, log=lambda *a: None, **QUIET)
    rows = read_history(r.history_path)
    assert len(rows) == 150 and [int(x["epoch"]) for x in rows] == list(range(150))
    first = sum(float(x["train_loss"]) for x in rows[:5]) / 5
    last = sum(float(x["train_loss"]) for x in rows[-5:]) / 5
    assert last < 0.5 * first
    best_f1 = max(float(x["val_f1_micro"]) for x in rows[-10:])
    assert best_f1 > 0.5, rows[-1]
    # the trained checkpoint round-trips through load_bundle and a shipped safetensors model
    b = load_bundle(r.last_checkpoint)
    st, _ = export_bundle(r.last_checkpoint, tmp_path / "ship" / "model")
    b2 = load_bundle(st)
    x = torch.randn(2, 50, cfg.audio.n_mels) - 8
    r.module.model.eval()
    with torch.no_grad():
        ref = r.module.model(x).onset_logits
        assert torch.equal(b.model(x).onset_logits, ref)
        assert torch.equal(b2.model(x).onset_logits, ref)
    assert b2.thresholds == cfg.thresholds() and b2.class_names == cfg.class_names


def test_checkpoint_names_follow_pattern(fast_cache, tmp_path):
    root, ov = fast_cache
    cfg = _cfg(ov, "training.num_epochs=2", "checkpoint.filename=medium-test-{epoch:02d}-{val_loss:.4f}",
               f"checkpoint.dirpath={tmp_path}", "checkpoint.save_top_k=3", f"logging.save_dir={tmp_path / 'l'}")
    fit(cfg, log=lambda *a: None, **QUIET)
    names = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert "medium-test-last.ckpt" in names
    epochs = [n for n in names if n != "medium-test-last.ckpt"]
    assert len(epochs) == 2 and all(re.fullmatch(r"medium-test-epoch=0[01]-val_loss=\d\.\d{4}\.ckpt", n) for n in epochs)
    assert not [n for n in names if n.startswith(".")]  # no temp files left


class _Crash(Exception):
    pass


class _CrashAt(__import__("lightning").pytorch.Callback):
    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            raise _Crash()


def test_resume_after_interruption_matches_uninterrupted(fast_cache, tmp_path):
    root, ov = fast_cache
    common = ["training.num_epochs=4", "checkpoint.filename=test-{epoch:02d}-{val_loss:.4f}", "checkpoint.save_top_k=1"]
    ref = fit(_cfg(ov, *common, f"checkpoint.dirpath={tmp_path / 'a'}", f"logging.save_dir={tmp_path / 'la'}"),
              log=lambda *a: None, **QUIET)
    cfg = _cfg(ov, *common, f"checkpoint.dirpath={tmp_path / 'b'}", f"logging.save_dir={tmp_path / 'lb'}")
    with pytest.raises(_Crash):
        fit(cfg, callbacks=[_CrashAt(2, 1)], log=lambda *a: None, **QUIET)  # killed mid-epoch 2
    last = tmp_path / "b" / "test-last.ckpt"
    assert torch.load(last, weights_only=False)["epoch"] == 1
    res = fit(cfg, resume=last, log=lambda *a: None, **QUIET)
    assert res.trainer.current_epoch == ref.trainer.current_epoch == 4
    assert res.trainer.global_step == ref.trainer.global_step
    rows = read_history(res.history_path)
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    assert torch.load(last, weights_only=False)["epoch"] == 3


def test_cli_training_tunes_thresholds_into_checkpoints(fast_cache, tmp_path, capsys):
    root, ov = fast_cache
    sets = [a for o in list(ov) + ["logging.logger=none", "training.window_seconds=2.0", "training.batch_size=2",
                                   "training.num_epochs=30", "training.learning_rate=0.01", "training.scheduler=none",
                                   f"checkpoint.dirpath={tmp_path / 'ck'}", f"logging.save_dir={tmp_path / 'l'}",
                                   "checkpoint.save_top_k=1"] for a in ("--set", o)]
    rc = main(["train", "--config", str(CONFIGS["test_config"]), "--no-progress", *sets])
    assert rc == 0
    assert "Per-class thresholds tuned on val" in capsys.readouterr().out
    last = load_bundle(tmp_path / "ck" / "test-last.ckpt")
    assert last.thresholds != [0.5] * 8  # the grid search moved at least one class off the config default
    assert last.config.postprocessing.class_thresholds == last.thresholds
    rc = main(["train", "--config", str(CONFIGS["test_config"]), "--no-progress", "--no-tune", "--overwrite", *sets])
    assert rc == 0  # a second fresh run into the same folder replaces the first only with --overwrite
    assert load_bundle(tmp_path / "ck" / "test-last.ckpt").thresholds == [0.5] * 8
