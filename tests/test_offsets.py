"""Learned sub-frame onset offsets (model.offset_head, issue 29): targets from the exact note times, the
loss, init from a model without them, decoding, ONNX."""

from __future__ import annotations

import numpy as np
import pytest

from drumscribe.core.errors import ConfigError
from drumscribe.core.timebase import OFFSET_REACH_FRAMES, FrameClock, offset_from_prob, offset_to_prob


def _cfg(extra=()):
    from drumscribe.core.config import load_config
    from eval_helpers import ROOT, SMALL

    return load_config(ROOT / "configs" / "default_config.yaml", list(SMALL) + list(extra))


def test_offset_encoding_round_trips_and_clips():
    x = np.array([-1.5, -0.3, 0.0, 0.49, 1.5])
    assert np.allclose(offset_from_prob(offset_to_prob(x)), x)
    assert offset_to_prob(5.0) == 1.0 and offset_to_prob(-5.0) == 0.0
    assert offset_from_prob(0.5) == 0.0


def test_offset_targets_cover_the_onset_frame_and_its_neighbours():
    from drumscribe.dataset.targets import offset_targets

    off, mask = offset_targets(np.array([10.3, 20.5, 21.2, 0.1]), np.array([0, 1, 1, 2]), 30, 3)
    assert mask[:, 0].nonzero()[0].tolist() == [9, 10, 11]
    assert off[9:12, 0] == pytest.approx([1.3, 0.3, -0.7])
    # two onsets of one class 0.7 frames apart: each frame takes the nearer one
    assert off[20, 1] == pytest.approx(0.5) and off[21, 1] == pytest.approx(0.2) and off[22, 1] == pytest.approx(-0.8)
    assert mask[:, 2].nonzero()[0].tolist() == [0, 1]  # clipped at the window's start
    assert np.all(np.abs(off[mask > 0]) <= OFFSET_REACH_FRAMES)
    assert off[mask == 0].sum() == 0


def test_config_needs_the_velocity_head():
    assert _cfg(["model.offset_head=true"]).model.offset_head
    with pytest.raises(ConfigError, match="model.offset_head"):
        _cfg(["model.offset_head=true", "model.velocity_head=false"])


def test_decoding_places_each_hit_at_its_learned_offset():
    from drumscribe.transcription.decoding import DecodeSettings, decode

    cfg = _cfg()
    clock = FrameClock.from_config(cfg.audio)
    n = cfg.model.n_classes
    probs = np.zeros((200, cfg.n_outputs), np.float32)
    probs[50, 0] = probs[120, 2] = 0.9
    vel = np.full((200, n), 0.5, np.float32)
    settings = DecodeSettings.from_config(cfg, [0.5] * n)
    plain = decode(probs, settings, vel)
    offsets = np.full((200, n), 0.5, np.float32)
    offsets[50, 0] = offset_to_prob(0.4)
    offsets[120, 2] = offset_to_prob(-0.25)
    moved = decode(probs, settings, np.concatenate([vel, offsets], axis=1))
    assert [e.time for e in plain] == pytest.approx([clock.to_seconds(50), clock.to_seconds(120)])
    assert [e.time for e in moved] == pytest.approx([clock.to_seconds(50.4), clock.to_seconds(119.75)])
    assert [e.velocity for e in moved] == [e.velocity for e in plain]
    with pytest.raises(ValueError, match="velocity_probs"):
        decode(probs, settings, np.zeros((200, 3 * n), np.float32))


def test_init_from_a_model_without_offsets_keeps_its_outputs_and_starts_at_the_frame(tmp_path):
    torch = pytest.importorskip("torch")
    from eval_helpers import fake_checkpoint

    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.training.module import DrumscribeModule, init_weights_from

    ckpt = fake_checkpoint(tmp_path / "m.ckpt", _cfg(), seed=3)
    src = load_bundle(ckpt).model.eval()
    mod = DrumscribeModule(_cfg(["model.offset_head=true"]))
    init_weights_from(mod, ckpt, log=lambda *_: None)
    x = torch.randn(2, 40, src.n_features)
    with torch.no_grad():
        a, b = src(x), mod.model.eval()(x)
    n = src.n_classes
    assert torch.allclose(a.onset_logits, b.onset_logits, atol=1e-5)
    assert b.velocity_logits.shape[-1] == 2 * n
    assert torch.allclose(a.velocity_logits, b.velocity_logits[..., :n], atol=1e-5)
    assert torch.all(b.velocity_logits[..., n:] == 0)  # offset 0: the frame centre, as before
    with pytest.raises(ConfigError, match="offset head"):  # and not back
        ck2 = fake_checkpoint(tmp_path / "o.ckpt", _cfg(["model.offset_head=true"]), seed=3)
        init_weights_from(DrumscribeModule(_cfg()), ck2, log=lambda *_: None)


def test_training_learns_offsets_from_the_note_times(tmp_path):
    """A few steps on the toy cache: the batches carry offset targets and the offset loss falls."""
    torch = pytest.importorskip("torch")
    from train_helpers import build_toy_cache

    from drumscribe.core.config import load_config
    from drumscribe.training.data import TrainWindows, collate
    from drumscribe.training.module import DrumscribeModule
    from train_helpers import CONFIGS

    ov = build_toy_cache(tmp_path, ["model.offset_head=true", "model.velocity_head=true",
                                    "augmentation.time_stretch_prob=1.0"], n_performances=2, seconds=4.0)
    cfg = load_config(CONFIGS["test_config"], ov)
    ds = TrainWindows(cfg, "train")
    torch.manual_seed(0)
    batch = collate([ds[i % len(ds)] for i in range(6)])
    assert batch["offsets"].shape == batch["onset_hard"][..., :cfg.model.n_classes].shape
    om = batch["offset_mask"]
    assert om.sum() > 0
    # every hard onset frame of a drum has an offset target within half a frame (+ the stretch's rounding)
    hard = batch["onset_hard"][..., :cfg.model.n_classes] > 0
    assert torch.all(om[hard] == 1)
    assert float(batch["offsets"][hard].abs().max()) <= 0.5 * 1.25 + 0.5 + 1e-5
    mod = DrumscribeModule(cfg)
    opt = torch.optim.Adam(mod.model.parameters(), lr=1e-2)
    n = cfg.model.n_classes

    def offset_err():
        with torch.no_grad():
            out = mod.model(batch["features"])
        pred = OFFSET_REACH_FRAMES * (2 * torch.sigmoid(out.velocity_logits[..., n:]) - 1)
        return float(((pred - batch["offsets"]).abs() * om).sum() / om.sum())

    before = offset_err()
    mod.model.train()
    for _ in range(60):
        opt.zero_grad()
        loss, _ = mod.compute_loss(batch, mod.model(batch["features"]))
        loss.backward()
        opt.step()
    mod.model.eval()
    assert offset_err() < 0.8 * before
