"""Model shapes for the three shipped configs and checkpoint/bundle round trips."""

from pathlib import Path

import pytest
import torch

from drumscribe.core.config import load_config
from drumscribe.training.model import DrumTranscriptionCRNN, build_model

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ["default_config.yaml", "test_config.yaml", "medium_test_config.yaml"]


@pytest.mark.parametrize("name", CONFIGS)
def test_output_shapes_for_each_config(name):
    cfg = load_config(ROOT / "configs" / name)
    model = build_model(cfg).eval()
    x = torch.randn(2, 37, cfg.audio.n_mels) - 8.0
    with torch.no_grad():
        out = model(x)
    # the drums, then the articulation outputs (default_config has them); velocity for the drums only
    assert out.onset_logits.shape == (2, 37, cfg.model.n_classes + len(cfg.model.articulations))
    assert (out.velocity_logits is None) == (not cfg.model.velocity_head)
    if out.velocity_logits is not None:
        assert out.velocity_logits.shape == (2, 37, cfg.model.n_classes)


def test_velocity_head_and_time_axis_preserved():
    m = DrumTranscriptionCRNN(n_mels=16, n_classes=3, conv_filters=[4, 8], hidden_size=8,
                              num_gru_layers=1, bidirectional=False, velocity_head=True).eval()
    out = m(torch.randn(1, 5, 16))
    assert out.onset_logits.shape == (1, 5, 3) and out.velocity_logits.shape == (1, 5, 3)
    with pytest.raises(ValueError, match="n_mels|frames"):
        m(torch.randn(1, 5, 15))


def test_input_scale_does_not_matter_after_norm():
    torch.manual_seed(0)
    m = DrumTranscriptionCRNN(n_mels=8, n_classes=2, conv_filters=[4], hidden_size=4, num_gru_layers=1)
    m.train()
    x = torch.randn(4, 10, 8)
    a = m.input_norm(x.transpose(1, 2))
    b = m.input_norm((x * 3 - 13.8).transpose(1, 2))
    assert torch.allclose(a, b, atol=1e-4)
