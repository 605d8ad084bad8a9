#!/usr/bin/env python
"""A shipped model with learned sub-frame onset times grafted on: its own onsets and velocities, unchanged.

    python scripts/graft_offsets.py --model default --offsets runs/v5o/ckpt/drumscribe-last.ckpt --out STEM

``--offsets`` is a checkpoint trained from MODEL with ``training.frozen=all_but_offsets`` (only the offset rows
of the velocity head learn; ``drumscribe train --init-from MODEL --set model.offset_head=true``).  The script
checks that every other weight and BatchNorm statistic of it equals MODEL's, then writes ``STEM.safetensors``
(its weights), ``STEM.json`` (MODEL's sidecar: thresholds, decoding, fitted velocity levels, licence, with
``model.offset_head`` set and ``source`` naming both) and ``STEM.onnx`` (``drumscribe export``, checked against
torch).  STEM's files must not exist (never overwrites).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default", help="the shipped model the offsets were trained on")
    ap.add_argument("--offsets", required=True, help="checkpoint trained with training.frozen=all_but_offsets")
    ap.add_argument("--out", required=True, help="output stem (writes STEM.safetensors, STEM.json, STEM.onnx)")
    a = ap.parse_args(argv)
    stem = Path(a.out)
    outs = [stem.with_suffix(s) for s in (".safetensors", ".json", ".onnx")]
    if any(p.exists() for p in outs):
        print(f"{stem}: output files exist (choose a new stem)", file=sys.stderr)
        return 2
    import torch
    from safetensors.torch import save

    from drumscribe.core.atomic import atomic_write_bytes
    from drumscribe.core.errors import DrumscribeError
    from drumscribe.training.checkpoint import load_bundle, load_for_resume
    from drumscribe.training.module import DrumscribeModule, init_weights_from
    from drumscribe.transcription.bundle import default_model_path, sidecar_path

    try:
        base = load_bundle(None if a.model == "default" else a.model)
        ckpt = load_for_resume(a.offsets)[0]
        trained = load_bundle(a.offsets)
    except DrumscribeError as e:
        print(e, file=sys.stderr)
        return 2
    if not trained.config.model.offset_head or base.config.model.offset_head:
        print(f"{a.offsets}: needs an offset head that {a.model} lacks", file=sys.stderr)
        return 2
    laid = DrumscribeModule(trained.config)
    init_weights_from(laid, a.model, log=lambda *_: None)  # MODEL in the offset layout (offset rows zero)
    want = laid.model.state_dict()
    got = {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    n = trained.config.n_classes
    for k, v in want.items():
        g = got[k]
        same = torch.equal(g[:n], v[:n]) if k.startswith("velocity_head.") else torch.equal(g, v)
        if not same:
            print(f"{a.offsets}: {k} differs from {a.model}'s (not trained with training.frozen=all_but_offsets?)",
                  file=sys.stderr)
            return 2
    base_path = default_model_path() if a.model == "default" else Path(a.model)
    meta = json.loads(sidecar_path(base_path.with_suffix(".safetensors")).read_text())
    meta["config"]["model"]["offset_head"] = True
    meta["source"] = f"{meta.get('source', base_path)} + offsets {a.offsets}"
    stem.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(outs[0], save({k: v.contiguous() for k, v in got.items()}))
    atomic_write_bytes(outs[1], (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(dir=stem.parent) as tmp:  # export writes a sidecar beside its .onnx: not ours
        onnx = Path(tmp) / outs[2].name
        r = subprocess.run([sys.executable, "-m", "drumscribe", "export", "--checkpoint", str(outs[0]), str(onnx)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "export failed", file=sys.stderr)
            return 2
        shutil.move(str(onnx), str(outs[2]))
    print(f"{stem}: {a.model} with learned offsets ({', '.join(p.name for p in outs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
