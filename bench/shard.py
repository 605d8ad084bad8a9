"""Benchmark `transcribe --shard K/N`: folder throughput with 1, 2, ... worker processes.

    nice .venv/bin/python bench/shard.py [--copies 12] [--workers 1 2] [--dask] [--source FOLDER]

Builds a folder of ``--copies`` copies of the bundled demo clip (or of every audio file of ``--source``) in
a temporary folder (deleted), then for each N in ``--workers`` starts N ``drumscribe transcribe IN OUT
--shard K/N --threads 1`` processes at once (and, with ``--dask``, the same through
``scripts/scale_out_dask.py``'s local cluster) into a fresh OUT, and prints audio-seconds transcribed per
wall-second.  Process start-up and model loading are included (they are part of a real shard's cost).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _seconds(files) -> float:
    import soundfile as sf

    return sum(sf.info(str(f)).duration for f in files)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=12)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--source", help="a folder of audio files to use instead of the demo clip")
    ap.add_argument("--dask", action="store_true", help="also through scripts/scale_out_dask.py (needs the scale extra)")
    a = ap.parse_args()
    from drumscribe.core.filetypes import AUDIO_SUFFIXES

    src = ([p for p in sorted(Path(a.source).rglob("*")) if p.suffix.lower() in AUDIO_SUFFIXES] if a.source
           else [ROOT / "src" / "drumscribe" / "data" / "demo" / "demo_clip.flac"])
    tmp = Path(tempfile.mkdtemp(prefix="bench_shard_"))
    try:
        inp = tmp / "in"
        files = []
        for i in range(a.copies):
            for s in src:
                dst = inp / f"c{i:03d}" / s.name
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(s, dst)
                files.append(dst)
        audio = _seconds(files)
        print(f"folder: {len(files)} files, {audio:.1f} s of audio")
        print(f"{'engine':<8} {'workers':>7} {'wall s':>8} {'audio-s per wall-s':>19} {'speed-up':>9}")
        base = None
        runs = [("procs", n) for n in a.workers] + ([("dask", n) for n in a.workers] if a.dask else [])
        for engine, n in runs:
            out = tmp / f"out_{engine}_{n}"
            t0 = time.perf_counter()
            if engine == "procs":
                cmd = [sys.executable, "-m", "drumscribe", "transcribe", str(inp), str(out), "--threads", "1", "--quiet"]
                procs = [subprocess.Popen([*cmd, "--shard", f"{k}/{n}"]) for k in range(1, n + 1)]
                rcs = [p.wait() for p in procs]
            else:
                rcs = [subprocess.call([sys.executable, str(ROOT / "scripts" / "scale_out_dask.py"), str(inp), str(out),
                                        "--workers", str(n)], stdout=subprocess.DEVNULL)]
            wall = time.perf_counter() - t0
            done = len(list(out.rglob("*.mid")))
            if any(rcs) or done != len(files):
                print(f"{engine} x{n}: exit {rcs}, {done} of {len(files)} outputs", file=sys.stderr)
                return 1
            rate = audio / wall
            base = base or rate
            print(f"{engine:<8} {n:>7} {wall:>8.1f} {rate:>19.1f} {rate / base:>8.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
