"""Export a trained model to ONNX (needs the ``[train]`` extra: torch + onnx).

``export_onnx(bundle_or_checkpoint, out_path)`` writes ``OUT.onnx`` (the network, with the
sigmoids applied: outputs are probabilities) and ``OUT.json`` (the sidecar every drumscribe
model carries: config, class names, thresholds, cache key; see :mod:`drumscribe.training.checkpoint`).

Graph contract (what :mod:`drumscribe.transcription.onnx_runtime` relies on):

- input ``features``: float32 ``(batch, frames, feature_width)`` log-mel (:mod:`drumscribe.audio.features`;
  ``n_mels`` times the stacked resolutions);
- output ``onset_probs``: float32 ``(batch, frames, n_classes + n_articulations)``, ``sigmoid(onset_logits)``
  (the drums, then ``model.articulations``);
- output ``velocity_probs`` (only with a velocity head): float32 ``(batch, frames, n_classes)``,
  MIDI velocity / 127.

``batch`` and ``frames`` are dynamic axes.  The exporter is torch's TorchScript-based one
(``dynamo=False``): it maps ``nn.GRU`` (bidirectional, stacked) onto ONNX's ``GRU`` op.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from drumscribe.core.atomic import atomic_write_bytes

OPSET = 17
INPUT_NAME = "features"
ONSET_OUTPUT = "onset_probs"
VELOCITY_OUTPUT = "velocity_probs"


def _wrapper(model):
    import torch

    class Probs(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, features):
            out = self.net(features)
            if out.velocity_logits is None:
                return torch.sigmoid(out.onset_logits)
            return torch.sigmoid(out.onset_logits), torch.sigmoid(out.velocity_logits)

    return Probs(model).eval()


def onnx_bytes(model) -> bytes:
    """The serialized ONNX graph of a :class:`~drumscribe.training.model.DrumTranscriptionCRNN` (eval mode, CPU)."""
    import warnings

    import torch

    model = model.cpu().eval()
    has_vel = model.velocity_head is not None
    outputs = [ONSET_OUTPUT] + ([VELOCITY_OUTPUT] if has_vel else [])
    dummy = torch.zeros(2, 64, model.n_features)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript tracer / GRU batch_first notices
        torch.onnx.export(
            _wrapper(model), (dummy,), buf, input_names=[INPUT_NAME], output_names=outputs,
            dynamic_axes={INPUT_NAME: {0: "batch", 1: "frames"}, **{o: {0: "batch", 1: "frames"} for o in outputs}},
            opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )
    return buf.getvalue()


def export_onnx(bundle_or_ckpt, out_path: str | Path) -> tuple[Path, Path]:
    """Write ``out_path`` (``.onnx``) and its ``.json`` sidecar from a bundle or a checkpoint path.

    Both files are written atomically.  Returns the two paths.
    """
    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.transcription.bundle import ModelBundle, sidecar_meta

    bundle = bundle_or_ckpt if isinstance(bundle_or_ckpt, ModelBundle) else load_bundle(bundle_or_ckpt)
    out = Path(out_path)
    if out.suffix != ".onnx":
        out = out.with_name(out.name + ".onnx")
    side = out.with_suffix(".json")
    meta = sidecar_meta(bundle)
    data = onnx_bytes(bundle.model)
    atomic_write_bytes(out, data)
    atomic_write_bytes(side, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
    return out, side
