"""Helpers for the evaluation/transcription tests: tiny configs, fake Lightning-format checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["model.conv_filters=[4,8]", "model.hidden_size=8", "model.num_gru_layers=1"]


def small_config(extra=()):
    from drumscribe.core.config import load_config

    return load_config(ROOT / "configs" / "medium_test_config.yaml", list(SMALL) + list(extra))


def fake_checkpoint(path: Path, cfg, seed: int = 0, features: np.ndarray | None = None, thresholds=None) -> Path:
    """A checkpoint in the Lightning layout `checkpoint.load_bundle` reads (random weights).

    ``features``: if given, the input BatchNorm's running statistics are set from them, as
    training would (a trained model sees normalised inputs).
    """
    import torch

    from drumscribe.transcription.bundle import make_meta
    from drumscribe.training.model import build_model

    torch.manual_seed(seed)
    model = build_model(cfg).eval()
    if features is not None:
        with torch.no_grad():
            model.input_norm.running_mean.copy_(torch.from_numpy(features.mean(0)))
            model.input_norm.running_var.copy_(torch.from_numpy(features.var(0) + 1e-3))
    ckpt = {
        "epoch": 1, "global_step": 2, "pytorch-lightning_version": "2.6",
        "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
        "hyper_parameters": {"config": cfg.to_dict()},
        "drumscribe": make_meta(cfg, thresholds),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    return path
