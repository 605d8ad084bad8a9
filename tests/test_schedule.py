"""The cosine learning-rate schedule (issue 28: a long run on a fixed schedule stated in advance)."""

from __future__ import annotations

import pytest

from drumscribe.core.errors import ConfigError


def _cfg(extra=()):
    from drumscribe.core.config import load_config
    from eval_helpers import ROOT, SMALL

    return load_config(ROOT / "configs" / "default_config.yaml", list(SMALL) + list(extra))


def test_cosine_runs_from_the_learning_rate_to_its_floor_over_num_epochs():
    pytest.importorskip("torch")
    from drumscribe.core.config import COSINE_FLOOR
    from drumscribe.training.module import DrumscribeModule

    cfg = _cfg(["training.scheduler=cosine", "training.num_epochs=10", "training.learning_rate=0.001"])
    conf = DrumscribeModule(cfg).configure_optimizers()
    opt, sched = conf["optimizer"], conf["lr_scheduler"]["scheduler"]
    assert "monitor" not in conf["lr_scheduler"]  # it does not listen to the validation loss
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.001)
    assert all(a > b for a, b in zip(lrs, lrs[1:]))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.001 * COSINE_FLOOR)


def test_unknown_scheduler_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="cosine"):
        _cfg(["training.scheduler=step"])


def test_velocity_weight_is_a_checked_config_key():
    assert _cfg().loss.velocity_weight == 0.1  # the weight every model up to v5 trained with
    assert _cfg(["loss.velocity_weight=0.5"]).loss.velocity_weight == 0.5
    with pytest.raises(ConfigError, match="loss.velocity_weight"):
        _cfg(["loss.velocity_weight=-1"])


def test_warmup_ramps_the_scheduled_rate_then_leaves_it(monkeypatch):
    """training.warmup_steps: the first steps of a run (a fine-tune's fresh Adam state) at a linearly rising
    fraction of the scheduler's rate; the scheduler's own rate is left as it was."""
    torch = pytest.importorskip("torch")
    from drumscribe.training.module import DrumscribeModule, warmup_factor

    assert [warmup_factor(s, 4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0
    with pytest.raises(ConfigError, match="training.warmup_steps"):
        _cfg(["training.warmup_steps=-1"])
    cfg = _cfg(["training.scheduler=none", "training.learning_rate=0.001", "training.warmup_steps=4"])
    module = DrumscribeModule(cfg)
    opt = module.configure_optimizers()
    seen = []
    for step in range(6):
        monkeypatch.setattr(DrumscribeModule, "global_step", property(lambda self, s=step: s))

        def closure():
            seen.append(opt.param_groups[0]["lr"])  # the rate the step is taken with
            opt.zero_grad()
            loss = sum((p ** 2).sum() for p in module.parameters())
            loss.backward()
            return loss

        module.optimizer_step(0, step, opt, closure)
        assert opt.param_groups[0]["lr"] == pytest.approx(0.001)  # restored after the step
    assert seen == pytest.approx([0.00025, 0.0005, 0.00075, 0.001, 0.001, 0.001])


def test_frozen_all_but_offsets_trains_only_the_offset_rows():
    """training.frozen=all_but_offsets: a step changes only the velocity head's offset rows; the network
    stays in eval mode (BatchNorm statistics untouched)."""
    torch = pytest.importorskip("torch")
    from drumscribe.training.module import DrumscribeModule

    with pytest.raises(ConfigError, match="training.frozen"):
        _cfg(["training.frozen=all_but_offsets"])  # no offset head
    cfg = _cfg(["model.velocity_head=true", "model.offset_head=true", "training.frozen=all_but_offsets",
                "training.scheduler=none", "training.learning_rate=0.01", "training.weight_decay=0.01"])
    module = DrumscribeModule(cfg)
    module.train()
    assert not module.model.training
    before = {k: v.clone() for k, v in module.model.state_dict().items()}
    opt = module.configure_optimizers()

    def closure():
        opt.zero_grad()
        out = module.model(torch.randn(2, 40, cfg.audio.n_mels) - 7)
        loss = out.onset_logits.sum() + out.velocity_logits.pow(2).sum()
        loss.backward()
        return loss

    for step in range(2):
        module.optimizer_step(0, step, opt, closure)
    after = module.model.state_dict()
    n = cfg.n_classes
    changed = sorted(k for k in after if not torch.equal(after[k], before[k]))
    assert changed == ["velocity_head.bias", "velocity_head.weight"]
    for k in changed:
        assert torch.equal(after[k][:n], before[k][:n]) and not torch.equal(after[k][n:], before[k][n:])
