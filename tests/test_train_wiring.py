"""Every config key group reaches its behaviour (optimizer, scheduler, trainer, callbacks, logger,
loader, augmentation, loss), plus data-layer errors and transforms."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import EarlyStopping

from drumscribe.training import augment
from drumscribe.core.config import load_config
from drumscribe.training.data import EvalItems, TrainWindows, make_dataloaders, soften
from drumscribe.core.errors import CacheError
from drumscribe.training.module import (AtomicModelCheckpoint, DrumscribeModule, HardwareFallbackWarning, build_callbacks,
                                 build_logger, build_trainer, last_checkpoint_name, resolve_hardware)

sys.path.insert(0, str(Path(__file__).parent))
from train_helpers import CONFIGS, FAST_AUDIO, TINY_MODEL, build_toy_cache  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("wiring")
    return root, build_toy_cache(root, FAST_AUDIO + TINY_MODEL, n_performances=2, seconds=2.0)


def cfg_of(toy, *extra, name="test_config"):
    return load_config(CONFIGS[name], list(toy[1]) + list(extra))


def test_optimizer_and_scheduler(toy):
    m = DrumscribeModule(cfg_of(toy, "training.optimizer=AdamW", "training.learning_rate=0.003",
                                "training.weight_decay=0.02", "training.scheduler_patience=7",
                                "training.scheduler_factor=0.25"))
    conf = m.configure_optimizers()
    opt, sch = conf["optimizer"], conf["lr_scheduler"]
    assert isinstance(opt, torch.optim.AdamW)
    assert opt.param_groups[0]["lr"] == 0.003 and opt.param_groups[0]["weight_decay"] == 0.02
    assert sch["monitor"] == "val_loss" and sch["scheduler"].patience == 7 and sch["scheduler"].factor == 0.25
    m2 = DrumscribeModule(cfg_of(toy, "training.scheduler=none"))
    assert isinstance(m2.configure_optimizers(), torch.optim.Adam)


def test_trainer_clip_accumulate_precision_and_cpu_fallback(toy):
    cfg = cfg_of(toy, "training.gradient_clip_val=0.7", "training.accumulate_grad_batches=3",
                 "training.num_epochs=5", "logging.log_every_n_steps=3")
    with pytest.warns(HardwareFallbackWarning) as rec:
        tr = build_trainer(cfg, enable_progress_bar=False)
    assert len([w for w in rec if issubclass(w.category, HardwareFallbackWarning)]) == 1  # ONE warning
    assert "no CUDA device" in str(rec[0].message) and "16-mixed" in str(rec[0].message)
    assert tr.gradient_clip_val == 0.7 and tr.gradient_clip_algorithm == "norm"
    assert tr.accumulate_grad_batches == 3 and tr.max_epochs == 5 and tr.log_every_n_steps == 3
    assert type(tr.accelerator).__name__ == "CPUAccelerator" and tr.num_devices == 1
    assert tr.precision in ("bf16-mixed", "32-true")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr32 = build_trainer(cfg_of(toy, "training.precision='32'", "hardware.accelerator=cpu"), enable_progress_bar=False)
    assert tr32.precision == "32-true"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_precision_passthrough(toy):
    hw = resolve_hardware(cfg_of(toy))
    assert hw.accelerator == "gpu" and hw.precision == "16-mixed" and hw.devices == [0]


def test_early_stopping_present_or_absent(toy):
    on = build_callbacks(cfg_of(toy, "early_stopping.enabled=true", "early_stopping.patience=9",
                                "early_stopping.mode=max", "early_stopping.monitor=val_f1"))
    es = [c for c in on if isinstance(c, EarlyStopping)]
    assert len(es) == 1 and es[0].patience == 9 and es[0].mode == "max" and es[0].monitor == "val_f1"
    off = build_callbacks(cfg_of(toy, "early_stopping.enabled=false"))
    assert not [c for c in off if isinstance(c, EarlyStopping)]


def test_checkpoint_callback_params(toy, tmp_path):
    cbs = build_callbacks(cfg_of(toy, f"checkpoint.dirpath={tmp_path}", "checkpoint.save_top_k=5",
                                 "checkpoint.mode=max", "checkpoint.monitor=val_f1", "checkpoint.save_last=false",
                                 "checkpoint.filename=run-{epoch:02d}-{val_f1:.3f}"))
    (ck,) = [c for c in cbs if isinstance(c, AtomicModelCheckpoint)]
    assert Path(ck.dirpath) == tmp_path and ck.save_top_k == 5 and ck.mode == "max" and ck.monitor == "val_f1"
    assert ck.save_last is False and ck.filename == "run-{epoch:02d}-{val_f1:.3f}"
    assert ck.CHECKPOINT_NAME_LAST == "run-last"
    assert last_checkpoint_name("medium-test-{epoch:02d}-{val_loss:.4f}") == "medium-test-last"
    assert last_checkpoint_name("test-{epoch:02d}-{val_loss:.4f}") == "test-last"
    assert last_checkpoint_name("{epoch}") == "last"


def test_logger_dir(toy, tmp_path):
    lg = build_logger(cfg_of(toy, f"logging.save_dir={tmp_path}", "logging.experiment_name=exp1"))
    assert type(lg).__name__ == "TensorBoardLogger" and Path(lg.log_dir).parent == tmp_path / "exp1"
    assert build_logger(cfg_of(toy, "logging.logger=none")) is False
    assert type(build_logger(cfg_of(toy, "logging.logger=csv"))).__name__ == "CSVLogger"


def test_num_workers_and_batch_size_in_loaders(toy):
    tl, vl = make_dataloaders(cfg_of(toy, "hardware.num_workers=2", "training.batch_size=3"))
    assert tl.num_workers == 2 and vl.num_workers == 2 and tl.batch_size == 3
    assert vl.batch_size == 1  # whole files in validation
    _, vl2 = make_dataloaders(cfg_of(toy, "training.val_window_seconds=1.0", "training.batch_size=3"))
    assert vl2.batch_size == 3


def test_loss_class_weights_and_masking(toy):
    cfg = cfg_of(toy, "loss.class_weights=[1,0,0,0,0,0,0,0]")
    m = DrumscribeModule(cfg)
    B, T, C = 2, 6, cfg.n_classes
    logits = torch.randn(B, T, C)
    batch = {"onsets": (torch.rand(B, T, C) < 0.3).float(), "mask": torch.ones(B, T)}
    out = type("O", (), {"onset_logits": logits, "velocity_logits": None})
    loss, _ = m.compute_loss(batch, out)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(logits[..., 0], batch["onsets"][..., 0], reduction="sum")
    assert torch.allclose(loss, ref / (B * T * C))
    # padded frames do not count
    batch["mask"][:, 3:] = 0
    changed = logits.clone()
    changed[:, 3:] = 100.0
    a, _ = m.compute_loss(batch, out)
    b, _ = m.compute_loss(batch, type("O", (), {"onset_logits": changed, "velocity_logits": None}))
    assert torch.allclose(a, b)


def test_focal_loss_matches_its_formula_and_downweights_easy_frames(toy):
    cfg = cfg_of(toy, "loss.type=FocalLoss", "loss.focal_gamma=2")
    m = DrumscribeModule(cfg)
    B, T, C = 2, 5, cfg.n_classes
    logits = torch.randn(B, T, C) * 3
    target = (torch.rand(B, T, C) < 0.3).float()
    batch = {"onsets": target, "mask": torch.ones(B, T)}
    out = type("O", (), {"onset_logits": logits, "velocity_logits": None})
    loss, _ = m.compute_loss(batch, out)
    p = torch.sigmoid(logits)
    p_t = torch.where(target > 0, p, 1 - p)
    ref = -(1 - p_t) ** 2 * torch.log(p_t)
    assert torch.allclose(loss, ref.mean(), rtol=1e-4)
    # gamma 0 is plain BCE
    plain, _ = DrumscribeModule(cfg_of(toy)).compute_loss(batch, out)
    zero, _ = DrumscribeModule(cfg_of(toy, "loss.type=FocalLoss", "loss.focal_gamma=0")).compute_loss(batch, out)
    assert torch.allclose(plain, zero)
    assert loss < plain  # every element is scaled by (1 - p_t)**2 < 1


def test_missing_cache_file_names_it(toy, tmp_path):
    cfg = cfg_of(toy)
    from drumscribe.dataset.splits import read_split, write_split

    rels = read_split(cfg.data.splits_dir, "train")
    splits = tmp_path / "splits"
    write_split(splits, "train", rels + ["drummerX/gone_1.wav", "drummerX/gone_2.wav"])
    bad = cfg_of(toy, f"data.splits_dir={splits}")
    with pytest.raises(CacheError, match=r"split 'train': 2 of 4 .*drummerX/gone_1\.wav"):
        TrainWindows(bad)
    stale = cfg_of(toy, "audio.fmin=40")  # another feature config -> stale entries
    with pytest.raises(CacheError, match="another feature config"):
        EvalItems(stale, "val")


def test_augmentation_off_leaves_data_untouched_on_changes_it(toy):
    off = cfg_of(toy, "augmentation.enabled=false", "augmentation.noise_prob=1.0", "augmentation.pitch_shift_prob=1.0")
    ds = TrainWindows(off)
    torch.manual_seed(0)
    item = ds[0]
    f = ds.entries[0].array("features")
    n = f.shape[0]
    # locate the window in the cached features: it must be an exact slice
    w = min(ds.window, n)
    starts = [s for s in range(n - w + 1) if np.array_equal(f[s:s + w], item["features"][:w])]
    assert starts, "window with augmentation off is not an exact slice of the cache"
    on = cfg_of(toy, "augmentation.enabled=true", "augmentation.noise_prob=1.0", "augmentation.volume_scale_prob=1.0")
    ds_on = TrainWindows(on)
    torch.manual_seed(0)
    assert not np.array_equal(ds_on[0]["features"], item["features"])


def test_time_stretch_keeps_targets_aligned():
    T, M, C = 40, 6, 2
    feats = np.full((T, M), -13.0, np.float32)
    on = np.zeros((T, C), np.uint8)
    for f in (5, 17, 30):
        feats[f] = 0.0
        on[f, f % 2] = 1
    vel = on.astype(np.float32) * 0.5
    mask = np.ones(T, np.float32)
    for rate in (0.8, 1.25):
        out_len = 40
        f2, on2, v2, m2 = augment.time_stretch(feats, on, vel, mask, rate, out_len)
        assert f2.shape == (out_len, M) and on2.shape == (out_len, C) and m2.shape == (out_len,)
        for fr, c in zip(*np.nonzero(on2)):
            assert f2[fr].max() >= -6.5  # energy at (or interpolated into) the moved onset frame
            assert v2[fr, c] == 0.5
        expected = sorted(int(round(f * rate)) for f in (5, 17, 30) if round(f * rate) < out_len)
        assert sorted(np.nonzero(on2)[0].tolist()) == expected


def test_feature_augmentations_behave():
    rng = np.random.default_rng(0)
    x = rng.normal(-6, 2, (30, 10)).astype(np.float32)
    assert np.allclose(augment.volume(x, 10.0) - x, np.log(10.0))
    s = augment.pitch_shift(x, 2)
    assert np.array_equal(s[:, 2:], x[:, :-2])
    r = augment.reverb(x, 0.023, 0.5, 0.3)
    assert np.all(r >= x - 1e-5)  # reverb only adds energy
    nz = augment.add_noise(x, 20.0, rng)
    assert np.all(nz >= x - 1e-5) and not np.array_equal(nz, x)


def test_soft_targets():
    on = np.zeros((6, 1), np.uint8)
    on[2, 0] = 1
    assert soften(on, 0.0)[:, 0].tolist() == [0, 0, 1, 0, 0, 0]
    assert soften(on, 0.3)[:, 0].tolist() == pytest.approx([0, 0.3, 1, 0.3, 0, 0])


def test_epoch_windows_sets_the_epoch_length_and_draws_from_every_file(toy):
    full = TrainWindows(cfg_of(toy))
    assert len(full) == full.index.shape[0]
    short = TrainWindows(cfg_of(toy, "training.epoch_windows=7"))
    assert len(short) == 7
    torch.manual_seed(0)
    item = short[0]
    assert item["features"].shape[0] == short.window
    with pytest.raises(Exception, match="training.epoch_windows"):
        cfg_of(toy, "training.epoch_windows=0")


def test_init_from_copies_weights_and_refuses_another_shape(toy, tmp_path):
    from drumscribe.training.checkpoint import export_bundle
    from drumscribe.transcription.bundle import make_meta
    from drumscribe.core.errors import ConfigError
    from drumscribe.training.module import init_weights_from

    cfg = cfg_of(toy)
    torch.manual_seed(1)
    src = DrumscribeModule(cfg)
    ckpt = tmp_path / "src.ckpt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in src.model.state_dict().items()},
                "drumscribe": make_meta(cfg)}, ckpt)
    st, _ = export_bundle(ckpt, tmp_path / "bundle")
    for source in (ckpt, st):
        torch.manual_seed(2)
        dst = DrumscribeModule(cfg)
        assert not torch.equal(dst.model.onset_head.weight, src.model.onset_head.weight)
        init_weights_from(dst, source, log=lambda *_: None)
        for k, v in src.model.state_dict().items():
            assert torch.equal(dst.model.state_dict()[k], v), k
    other = DrumscribeModule(cfg_of(toy, "model.hidden_size=4"))
    with pytest.raises(ConfigError, match="model.hidden_size"):
        init_weights_from(other, ckpt, log=lambda *_: None)
