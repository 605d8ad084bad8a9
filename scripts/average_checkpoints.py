#!/usr/bin/env python
"""Average the weights of several checkpoints of one run (as in stochastic weight averaging).

    python scripts/average_checkpoints.py OUT.ckpt A.ckpt B.ckpt [C.ckpt ...]

Every floating-point tensor of the network (``state_dict``, BatchNorm running statistics included)
becomes the mean over the inputs; integer tensors (BatchNorm's batch counter) and everything else
(config, thresholds, optimizer state) come from the last input, so ``OUT`` is a checkpoint of the
same run that ``tune``, ``evaluate`` and ``export`` read.  The inputs must hold the same network
(same keys and shapes); ``OUT`` must not exist (never overwrites); written atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args(argv)
    from drumscribe.core.errors import DrumscribeError
    from drumscribe.training.checkpoint import load_for_resume, write_checkpoint

    out = Path(args.out)
    if out.exists():
        print(f"{out}: exists (choose a new name)", file=sys.stderr)
        return 2
    if len(args.inputs) < 2:
        print("give two or more checkpoints to average", file=sys.stderr)
        return 2
    import torch

    try:
        ckpts = [load_for_resume(p)[0] for p in args.inputs]
    except DrumscribeError as e:
        print(e, file=sys.stderr)
        return 2
    states = [c["state_dict"] for c in ckpts]
    for p, s in zip(args.inputs[1:], states[1:]):
        if s.keys() != states[0].keys() or any(s[k].shape != states[0][k].shape for k in s):
            print(f"{p}: not the same network as {args.inputs[0]}", file=sys.stderr)
            return 2
    avg = {}
    for k, v in states[-1].items():
        avg[k] = (torch.stack([s[k].double() for s in states]).mean(0).to(v.dtype)
                  if v.is_floating_point() else v.clone())
    result = ckpts[-1]
    result["state_dict"] = avg
    write_checkpoint(out, result)
    print(f"{out}: mean of {len(states)} checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
