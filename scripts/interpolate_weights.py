#!/usr/bin/env python
"""Interpolate a fine-tuned model's weights with those it started from (WiSE-FT, Wortsman et al. 2022).

    python scripts/interpolate_weights.py OUT.ckpt --finetuned FT.ckpt [--base default] --alpha 0.5

``OUT = alpha * FT + (1 - alpha) * BASE`` for every floating-point tensor of the network (BatchNorm running
statistics included).  BASE (a ``.ckpt``, ``.safetensors`` bundle or ``default``, the bundled model) is laid
out as FT's network the way ``drumscribe train --init-from`` does it; where BASE has no offset block (v5), FT's
offset rows are kept as they are, not interpolated with zeros.  Everything else (config, thresholds, optimizer state) comes from FT, so OUT is a
checkpoint that ``tune``, ``evaluate`` and ``export`` read.  Fine-tuning often gains on the new data and loses
some of what the start knew; interpolating keeps more of both (the paper's robustness result).  OUT must not
exist (never overwrites); written atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--finetuned", required=True, help="the fine-tuned checkpoint (.ckpt)")
    ap.add_argument("--base", default="default", help="what it was fine-tuned from (default: the bundled model)")
    ap.add_argument("--alpha", type=float, required=True, help="weight of the fine-tuned model, 0..1")
    a = ap.parse_args(argv)
    out = Path(a.out)
    if out.exists():
        print(f"{out}: exists (choose a new name)", file=sys.stderr)
        return 2
    if not 0.0 <= a.alpha <= 1.0:
        print(f"--alpha {a.alpha}: must be within 0..1", file=sys.stderr)
        return 2
    import torch

    from drumscribe.core.errors import DrumscribeError
    from drumscribe.training.checkpoint import load_bundle, load_for_resume, write_checkpoint
    from drumscribe.training.module import DrumscribeModule, init_weights_from

    try:
        ckpt = load_for_resume(a.finetuned)[0]
        module = DrumscribeModule(load_bundle(a.finetuned).config)
        init_weights_from(module, a.base, log=lambda *_: None)  # BASE in FT's layout
    except DrumscribeError as e:
        print(e, file=sys.stderr)
        return 2
    base = module.model.state_dict()
    ft = ckpt["state_dict"]
    n_classes = module.model.n_classes
    base_offsets = bool(load_bundle(None if a.base == "default" else a.base).config.model.offset_head)
    own = n_classes if module.model.has_offsets and not base_offsets else None  # FT's offset rows: BASE had none
    keep_rows = {"velocity_head.weight": own, "velocity_head.bias": own}
    mixed = {}
    for key, v in ft.items():
        name = key[len("model."):] if key.startswith("model.") else key
        if name not in base or not v.is_floating_point():
            mixed[key] = v.clone()
            continue
        b = base[name].to(v.dtype)
        if b.shape != v.shape:
            print(f"{key}: shapes differ ({tuple(b.shape)} vs {tuple(v.shape)})", file=sys.stderr)
            return 2
        m = a.alpha * v.double() + (1.0 - a.alpha) * b.double()
        start = keep_rows.get(name)
        if start is not None:
            m[start:] = v[start:].double()
        mixed[key] = m.to(v.dtype)
    ckpt["state_dict"] = mixed
    write_checkpoint(out, ckpt)
    print(f"{out}: {a.alpha} x {a.finetuned} + {1 - a.alpha:g} x {a.base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
