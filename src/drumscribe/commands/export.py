"""Export a trained model to ONNX for transcription without PyTorch (ONNX Runtime).

Examples::

    drumscribe export --checkpoint ckpts/best.ckpt best.onnx      # writes best.onnx + best.json
    drumscribe transcribe song.wav song.mid --checkpoint best.onnx

The sidecar ``.json`` (config, class names, tuned thresholds, and the weights licence and
credits of the model it came from: ``drumscribe credits --model OUT.onnx``) must stay beside the
``.onnx`` file.  Needs the ``[train]`` extra (torch, onnx).  The exported graph is
checked against the torch network on random features before the command succeeds.
"""

from __future__ import annotations

import argparse

from drumscribe.core.outputs import add_output_argument, add_overwrite_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="a .ckpt from `drumscribe train` or a shipped .safetensors")
    add_output_argument(parser, "output", help="the .onnx file to write (its .json sidecar is written beside it)")
    add_overwrite_argument(parser, "an existing OUTPUT and its .json sidecar")


def run(args) -> int:
    import sys
    from pathlib import Path

    from drumscribe.api import require_torch
    from drumscribe.core.errors import DrumscribeError

    out = Path(args.output)
    if out.suffix != ".onnx":
        raise DrumscribeError(f"{out}: the output must end in .onnx")
    if Path(args.checkpoint).suffix == ".onnx":
        raise DrumscribeError(f"{args.checkpoint}: already an ONNX model")
    from drumscribe.core.outputs import OutputRule, model_files

    rule = OutputRule("export", model_files(args.checkpoint), args.overwrite)  # a model (and its sidecar)
    targets = (out, out.with_suffix(".json"))
    kept = [p for p in targets if rule.kept(p)]  # refuses an input (a model's sidecar too) first
    if kept:
        from drumscribe.core.outputs import skip_notice

        print(skip_notice("export", kept[0]), file=sys.stderr)
        return 0
    for p in targets:
        rule.may_write(p)  # a folder that cannot be written fails now, before the export
    require_torch("drumscribe export")
    import numpy as np
    import torch

    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.training.onnx_export import export_onnx
    from drumscribe.transcription.onnx_runtime import load_onnx_bundle

    bundle = load_bundle(args.checkpoint)
    onnx_path, side = export_onnx(bundle, out)
    # check: ONNX Runtime's probabilities equal torch's on random log-mel windows
    x = np.random.default_rng(0).normal(-5.0, 3.0, (2, 300, bundle.model.n_features)).astype(np.float32)
    onset, vel = load_onnx_bundle(onnx_path).model.run_windows(x)
    with torch.inference_mode():
        ref = bundle.model(torch.from_numpy(x))
    diff = float(np.abs(onset - torch.sigmoid(ref.onset_logits).numpy()).max())
    if vel is not None:
        diff = max(diff, float(np.abs(vel - torch.sigmoid(ref.velocity_logits).numpy()).max()))
    if diff > 1e-4:
        raise DrumscribeError(f"{onnx_path}: ONNX output differs from torch by {diff:.2e}; not usable")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB) and {side}; "
          f"max |onnx - torch| = {diff:.1e} on random features")
    lic = bundle.meta.get("licence")
    if isinstance(lic, dict):  # the sidecar carries the weights licence and credits of the model it came from
        print(f"weights licence {lic.get('weights', '?')} and {len(lic.get('credits') or [])} credits carried over "
              f"(drumscribe credits --model {onnx_path})")
    else:
        print(f"{args.checkpoint} states no weights licence (trained from scratch, or before licences were "
              "recorded): the sidecar records none")
    return 0
