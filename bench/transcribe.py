"""`drumscribe transcribe` as a user runs it: whole process, one thread, both backends.

    .venv/bin/python bench/transcribe.py [--long-minutes 60] [--repeat 3] [--backends onnx torch]

Makes 44.1 kHz stereo 16-bit WAVs of toy drums (1 s, 160 s, 10 min and ``--long-minutes``)
and runs ``python -m drumscribe transcribe IN OUT.mid --threads 1 --quiet --overwrite
--backend B`` in a fresh process (``OMP_NUM_THREADS=1``) with the bundled model, measuring
what ``/usr/bin/time -v`` reports (wall, user+sys CPU, maximum resident set size; read
read from its report).  Reported per backend, best of ``--repeat`` runs (the machine
is shared, so the best run is the least disturbed one):

- 1 s file: wall and CPU seconds (start-up: imports, model load, one window);
- 160 s song: wall and CPU seconds;
- marginal throughput on the 10-minute file: ``(600 s - 1 s) / (t_10min - t_1s)`` in
  audio-seconds per second, i.e. real-time factor once started (wall and CPU based);
- peak RSS over every length up to ``--long-minutes`` (MB).

Goals (issue 11): 1 s <= 0.5 s wall, 160 s <= 1.0 s wall, marginal >= 300x, RSS <= 250 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SR = 44100


def make_wav(path: Path, seconds: float, seed: int = 1) -> None:
    """Toy drums, 44.1 kHz stereo PCM-16; long files are written in 5-minute pieces (flat memory)."""
    import soundfile as sf

    from drumscribe.toy import render_events, toy_performance

    piece = min(seconds, 300.0)
    y = render_events(toy_performance(piece, seed), piece, seed, sr=SR)
    with sf.SoundFile(str(path), "w", SR, 2, "PCM_16") as f:
        left = int(round(seconds * SR))
        while left > 0:
            n = min(left, len(y))
            f.write(np.stack([y[:n], 0.8 * y[:n]], axis=1))
            left -= n


def run_once(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, user+sys CPU s, max RSS MB) of one child process, measured by ``/usr/bin/time -v``.

    (Not ``os.wait4`` here: a child forked from this process, which holds the rendered audio,
    would report the parent's pages in its maximum RSS.)
    """
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        r = subprocess.run(["/usr/bin/time", "-v", "-o", out.name] + cmd, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr}")
        rep = dict(line.strip().rsplit(": ", 1) for line in out.read().splitlines() if ": " in line)
    h_m_s = [float(x) for x in rep["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")]
    wall = sum(v * 60 ** i for i, v in enumerate(reversed(h_m_s)))
    cpu = float(rep["User time (seconds)"]) + float(rep["System time (seconds)"])
    return wall, cpu, float(rep["Maximum resident set size (kbytes)"]) / 1024.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--long-minutes", type=float, default=60.0, help="the longest file, for peak RSS")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs (1 run for the longest file)")
    ap.add_argument("--backends", nargs="+", default=["onnx", "torch"], choices=["onnx", "torch"])
    ap.add_argument("--workdir", default=None, help="where the WAVs go (default: a temp folder)")
    args = ap.parse_args(argv)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="drumscribe-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    lengths = {"1s": 1.0, "160s": 160.0, "10min": 600.0, "long": args.long_minutes * 60.0}
    files = {}
    for name, sec in lengths.items():
        f = work / f"{sec:.0f}s.wav"
        if not f.is_file():
            make_wav(f, sec)
        files[name] = f
    print(f"44.1 kHz stereo PCM-16 WAVs in {work}: " + ", ".join(f"{k} = {v:.0f} s" for k, v in lengths.items()))
    print(f"python {sys.version.split()[0]}, 1 thread (--threads 1, OMP_NUM_THREADS=1), best of {args.repeat}")
    for backend in args.backends:
        res = {}
        for name, f in files.items():
            cmd = [sys.executable, "-m", "drumscribe", "transcribe", str(f), str(work / f"{name}-{backend}.mid"),
                   "--threads", "1", "--quiet", "--overwrite", "--backend", backend]
            runs = [run_once(cmd) for _ in range(1 if name == "long" else args.repeat)]
            res[name] = (min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs))
        m_wall = (lengths["10min"] - lengths["1s"]) / max(res["10min"][0] - res["1s"][0], 1e-9)
        m_cpu = (lengths["10min"] - lengths["1s"]) / max(res["10min"][1] - res["1s"][1], 1e-9)
        rss = max(r[2] for r in res.values())
        print(f"[{backend}] 1 s file: {res['1s'][0]:.2f} s wall ({res['1s'][1]:.2f} s CPU)   "
              f"160 s song: {res['160s'][0]:.2f} s wall ({res['160s'][1]:.2f} s CPU)   "
              f"10 min: {res['10min'][0]:.2f} s wall   {lengths['long'] / 60:.0f} min: {res['long'][0]:.1f} s wall")
        print(f"[{backend}] marginal throughput (10 min - 1 s): {m_wall:.0f}x real time (wall), {m_cpu:.0f}x (CPU)   "
              f"peak RSS: " + ", ".join(f"{k} {v[2]:.0f} MB" for k, v in res.items()) + f"  (max {rss:.0f} MB)")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
