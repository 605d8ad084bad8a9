"""Preprocessing throughput: files/s and audio-seconds/s (per worker), 1 vs 2 workers.

    python bench/preprocess.py [--files 24] [--seconds 20]

Data: E-GMD-format toy files made here (44.1 kHz 16-bit, like E-GMD).  Each
run starts from an empty cache (cold) and then re-runs (all skipped, warm).
Reference: the plan expects 500 E-GMD files (~30 s average) in ~20 min with
8 workers, i.e. ~0.05 files/s per worker.  ``audio-s/CPU-s``: audio seconds per CPU second
of all processes (this one and its workers), the per-worker rate that a busy machine does not hide.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from drumscribe.core.config import load_config  # noqa: E402
from drumscribe.dataset.preprocess import run_preprocess  # noqa: E402
from drumscribe.dataset.toy import make_toy_egmd  # noqa: E402


def _cpu() -> float:
    """CPU seconds of this process and its finished children (workers): the per-worker rate on a busy machine."""
    import resource

    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--config", default=str(ROOT / "configs/medium_test_config.yaml"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drumscribe-bench-"))
    try:
        data = make_toy_egmd(work / "e-gmd", n_performances=args.files // 2, kits_per_performance=2,
                             seconds=args.seconds, seed=1)
        audio_s = (args.files // 2) * 2 * args.seconds
        print(f"{args.files} files x {args.seconds:.0f} s = {audio_s / 60:.1f} min of 44.1 kHz audio; config {Path(args.config).name}")
        print(f"{'workers':>7} {'cold s':>8} {'files/s':>8} {'audio-s/s':>10} {'per worker':>11} {'speedup':>8} "
              f"{'warm s':>7} {'audio-s/CPU-s':>14}")
        base = None
        for workers in (1, 2):
            out = work / f"proc{workers}"
            cfg = load_config(args.config, [f"data.egmd_root={data}", f"data.processed_root={out}",
                                            f"data.splits_dir={out / 'splits'}", "data.max_files=null"])
            t, c = time.perf_counter(), _cpu()
            s = run_preprocess(cfg, num_workers=workers, progress=False, log=lambda *a: None)
            cold, cpu = time.perf_counter() - t, _cpu() - c
            assert s.ok and s.processed == args.files, s
            t = time.perf_counter()
            s2 = run_preprocess(cfg, num_workers=workers, progress=False, log=lambda *a: None)
            warm = time.perf_counter() - t
            assert s2.skipped == args.files
            base = base or cold
            print(f"{workers:>7} {cold:>8.2f} {args.files / cold:>8.2f} {audio_s / cold:>10.1f} "
                  f"{audio_s / cold / workers:>11.1f} {base / cold:>7.2f}x {warm:>7.2f} {audio_s / cpu:>14.1f}")
        per_file = 30.0
        rate = audio_s / base
        print(f"estimate for the plan's 500 files x {per_file:.0f} s with 8 workers at the 1-worker rate: "
              f"{500 * per_file / (rate * 8) / 60:.1f} min (plan: ~20 min)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
