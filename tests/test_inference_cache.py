"""The fused inference copy of a model must follow in-place weight updates (training validation relies on it)."""

import pytest

torch = pytest.importorskip("torch")


def test_fast_copy_rebuilt_after_weights_change():
    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.training.torch_runner import inference_model

    model = load_bundle(None).model.eval()
    first = inference_model(model)
    assert inference_model(model) is first  # cached while the weights are unchanged
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.5)  # what an optimizer step does: an in-place update
    second = inference_model(model)
    assert second is not first
    fused = second.state_dict()
    checked = [n for n in model.state_dict() if not n.startswith("conv.")]  # conv is fused with BatchNorm
    assert checked
    for name in checked:
        assert torch.equal(model.state_dict()[name], fused[name]), name
