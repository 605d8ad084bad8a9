"""Benchmark `drumscribe synth`: audio-seconds rendered per wall-second per core.

    nice .venv/bin/python bench/synth.py [--performances 12] [--pool train] [--performances-from ../shared/gmd]

Renders the same plan dry and with --realism (all effects, prob 0.75), with 1
and 2 workers, into a temporary folder (deleted).  Soundfont one-shot caches
are warmed first so the numbers are steady-state.  Time includes planning,
pool start-up, mixing, effects, WAV/MIDI writing.  Two rates are printed:
wall-clock (depends on other load on the machine) and CPU-time based (user+sys
of this process: audio-seconds per CPU-second = per core; only for 1 worker,
since pool workers are forkserver children whose CPU time is not visible here).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time


def _cpu() -> float:
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--performances", type=int, default=12)
    ap.add_argument("--pool", default="train")
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--performances-from", metavar="DIR", help="render GMD/E-GMD performances (e.g. ../shared/gmd) instead of generated patterns")
    ap.add_argument("--kit-dir", metavar="DIR", help="real kits + IRs (e.g. ../shared/real-sounds): adds a row with "
                    "scripts/make_corpus.sh's real-recordings recipe (real kits, IRs, instruments, multitrack sums, variety)")
    ap.add_argument("--only-real", action="store_true", help="with --kit-dir: only the real-recordings row")
    a = ap.parse_args()
    from drumscribe.synth import Realism, render_dataset
    from drumscribe.synth.kits import get_kits, set_kit_dirs
    from drumscribe.synth.priors import Variety
    from drumscribe.synth.sampler import load_bank

    if a.kit_dir:
        set_kit_dirs([a.kit_dir])
    for k in get_kits(pool=a.pool):  # warm soundfont caches and real kits (loaded once per worker; not timed)
        if k.source in ("soundfont", "real"):
            load_bank(k, 1)
    import dataclasses

    modes = [] if a.only_real else [("dry", False, None), ("realism", True, None)]
    if a.kit_dir:  # the recipe's flags (scripts/make_corpus.sh, REAL=1)
        modes.append(("real", Realism.all(full_mix=0.5, backing_ratio_db=(-12.0, 12.0), real_ir=0.7, real_instruments=0.5,
                                          multitrack_sum=0.3, backing_only=0.05),
                      dataclasses.replace(Variety.default(), real_kit=0.35)))
    print(f"cpu count {os.cpu_count()}, pool {a.pool}, {a.performances} performances x 3 kits")
    print(f"{'realism':<8} {'workers':>7} {'audio_s':>9} {'wall_s':>7} {'cpu_s':>7} {'x_rt_wall':>9} {'x_rt_wall/core':>14} {'x_rt_per_cpu_s':>14}")
    for label, realism, variety in modes:
        for w in a.workers:
            d = tempfile.mkdtemp(prefix="synth_bench_")
            try:
                t = time.perf_counter()
                c0 = _cpu()
                s = render_dataset(d, performances=a.performances, pool=a.pool, seed=a.seed, num_workers=w, realism=realism, progress=False,
                                   performances_from=a.performances_from, variety=variety)
                wall = time.perf_counter() - t
                cpu = _cpu() - c0
            finally:
                shutil.rmtree(d, ignore_errors=True)
            rt = s["audio_seconds"] / wall
            per_cpu = f"{s['audio_seconds'] / cpu:.1f}" if w == 1 else "n/a"
            print(f"{label:<8} {w:>7} {s['audio_seconds']:>9.1f} {wall:>7.2f} {cpu:>7.2f} {rt:>9.1f} {rt / w:>14.1f} {per_cpu:>14}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
