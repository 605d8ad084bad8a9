"""Training throughput of the CRNN on CPU or one GPU (forward + backward + Adam step).

    nice .venv/bin/python bench/train.py [--config configs/medium_test_config.yaml]
        [--batch 8] [--window 5.0] [--threads 1 2] [--steps 5] [--precision 32 bf16]
    .venv/bin/python bench/train.py --device cuda --batch 32 --precision 32 bf16   # per GPU (DDP: x GPUs)

Prints audio-seconds/second and frames/second for each thread count and
precision (``32``: float32; ``bf16``: ``torch.autocast("cpu", torch.bfloat16)``,
what Lightning's ``bf16-mixed`` does on CPU; on ``--device cuda`` the same autocast on the GPU), plus an epoch-time estimate for
350 training files of ``--avg-file-seconds`` each (one pass over the audio).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "medium_test_config.yaml"))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--window", type=float, default=5.0)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--precision", nargs="+", default=["32", "bf16"], choices=["32", "bf16"])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--files", type=int, default=350)
    ap.add_argument("--avg-file-seconds", type=float, default=30.0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (one GPU; DDP runs one such process per GPU)")
    args = ap.parse_args()

    import torch

    from drumscribe.core.config import load_config
    from drumscribe.training.model import build_model
    from drumscribe.core.timebase import FrameClock

    cfg = load_config(args.config)
    clock = FrameClock.from_config(cfg.audio)
    frames = clock.to_frames(args.window)
    print(f"config {args.config}: model {cfg.model.conv_filters} GRU {cfg.model.hidden_size}x{cfg.model.num_gru_layers}"
          f"{' bi' if cfg.model.bidirectional else ''}; batch {args.batch} x {frames} frames ({args.window:g} s)")
    torch.manual_seed(0)
    dev = torch.device(args.device)
    model = build_model(cfg).train().to(dev)
    print(f"parameters: {model.n_parameters():,}")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = (torch.randn(args.batch, frames, cfg.audio.n_mels) - 8.0).to(dev)
    y = (torch.rand(args.batch, frames, cfg.model.n_classes) < 0.02).float().to(dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    results = []
    for prec in args.precision:
        for n in args.threads:
            torch.set_num_threads(n)

            def step():
                opt.zero_grad(set_to_none=True)
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=(prec == "bf16")):
                    out = model(x).onset_logits
                loss = loss_fn(out.float(), y)
                loss.backward()
                opt.step()

            for _ in range(args.warmup):
                step()
            sync()
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step()
            sync()
            dt = (time.perf_counter() - t0) / args.steps
            audio_s = args.batch * args.window / dt
            results.append((prec, n, dt, audio_s, args.batch * frames / dt))
            epoch_s = args.files * args.avg_file_seconds / audio_s
            print(f"precision {prec:>4}  threads {n}: {dt * 1000:8.1f} ms/step  {audio_s:7.1f} audio-s/s  "
                  f"{args.batch * frames / dt:9.0f} frames/s  -> epoch of {args.files} x {args.avg_file_seconds:g} s "
                  f"~ {epoch_s / 60:.1f} min (training only)")


if __name__ == "__main__":
    main()
