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

``--model NAME=PATH`` (repeatable): time these models too (``--checkpoint PATH``, e.g. the previous
version's ``.onnx``) beside the bundled one, on the same files in the same run: the speed guard of a
new model is a ratio to the old one measured together.  ``--adtof CMD``: ADTOF-pytorch's ``adtof``
command (installed by you for measurement, see ``scripts/compare_adtof.py``), timed the same way on the
1 s and 160 s files (one thread), and each model's 160 s wall time as a fraction of ADTOF's.

``--python PATH``: run the CLI with another interpreter (e.g. a fresh ``pip install .`` virtualenv
without torch: what a user gets).  ``--stages``: CPU seconds of each stage of the ONNX path on the
10-minute file, in this process (read+mix, resample, log-mel, model, peak picking, beats, MIDI),
to show what caps the marginal throughput.
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

    from drumscribe.dataset.toy import render_events, toy_performance

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


def best_of(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """The least disturbed of repeated runs: least wall and CPU time, largest RSS."""
    return min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--long-minutes", type=float, default=60.0, help="the longest file, for peak RSS")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs (1 run for the longest file)")
    ap.add_argument("--backends", nargs="+", default=["onnx", "torch"], choices=["onnx", "torch"])
    ap.add_argument("--workdir", default=None, help="where the WAVs go (default: a temp folder)")
    ap.add_argument("--python", default=sys.executable, help="interpreter that runs `-m drumscribe`")
    ap.add_argument("--stages", action="store_true", help="also: per-stage CPU time on the 10-minute file")
    ap.add_argument("--model", action="append", default=[], metavar="NAME=PATH",
                    help="also time this model (--checkpoint PATH) beside the bundled one; repeatable")
    ap.add_argument("--adtof", default=None, metavar="CMD", help="also time ADTOF-pytorch's `adtof` command")
    args = ap.parse_args(argv)
    models = [("bundled", None)]
    for spec in args.model:
        if "=" not in spec:
            ap.error(f"--model {spec!r}: expected NAME=PATH")
        name, path = spec.split("=", 1)
        models.append((name, path))

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
    song = {}  # (model, backend) -> 160 s wall
    for (mname, mpath), backend in [(m, b) for m in models for b in args.backends]:
        tag = backend if len(models) == 1 else f"{mname} {backend}"
        res = {}
        for name, f in files.items():
            cmd = [args.python, "-m", "drumscribe", "transcribe", str(f), str(work / f"{name}-{backend}.mid"),
                   "--threads", "1", "--quiet", "--overwrite", "--backend", backend]
            if mpath is not None:
                cmd += ["--checkpoint", mpath]
            res[name] = best_of([run_once(cmd) for _ in range(1 if name == "long" else args.repeat)])
        song[tag] = res["160s"][0]
        m_wall = (lengths["10min"] - lengths["1s"]) / max(res["10min"][0] - res["1s"][0], 1e-9)
        m_cpu = (lengths["10min"] - lengths["1s"]) / max(res["10min"][1] - res["1s"][1], 1e-9)
        rss = max(r[2] for r in res.values())
        print(f"[{tag}] 1 s file: {res['1s'][0]:.2f} s wall ({res['1s'][1]:.2f} s CPU)   "
              f"160 s song: {res['160s'][0]:.2f} s wall ({res['160s'][1]:.2f} s CPU)   "
              f"10 min: {res['10min'][0]:.2f} s wall   {lengths['long'] / 60:.0f} min: {res['long'][0]:.1f} s wall")
        print(f"[{tag}] marginal throughput (10 min - 1 s): {m_wall:.0f}x real time (wall), {m_cpu:.0f}x (CPU)   "
              f"peak RSS: " + ", ".join(f"{k} {v[2]:.0f} MB" for k, v in res.items()) + f"  (max {rss:.0f} MB)")
        sys.stdout.flush()
    if len(song) > 1:
        base = next(iter(song))
        print("160 s wall relative to " + base + ": " + ", ".join(f"{k} {v / song[base]:.2f}x" for k, v in song.items()))
    if args.adtof:
        ad = {}
        for name in ("1s", "160s"):
            d = work / f"adtof-{name}"
            (d / "in").mkdir(parents=True, exist_ok=True)
            (d / "out").mkdir(exist_ok=True)
            link = d / "in" / files[name].name
            if not link.exists():
                link.symlink_to(files[name].resolve())
            cmd = [args.adtof, "--audio", str(d / "in"), "--out", str(d / "out"), "--device", "cpu"]
            ad[name] = best_of([run_once(cmd) for _ in range(args.repeat)])
        print(f"[adtof] 1 s file: {ad['1s'][0]:.2f} s wall ({ad['1s'][1]:.2f} s CPU)   160 s song: "
              f"{ad['160s'][0]:.2f} s wall ({ad['160s'][1]:.2f} s CPU)   peak RSS {max(ad['1s'][2], ad['160s'][2]):.0f} MB")
        print("160 s wall as a fraction of ADTOF's: " + ", ".join(f"{k} {v / ad['160s'][0]:.2f}x" for k, v in song.items()))
    if args.stages:
        stages(files["10min"], lengths["10min"])
    return 0


def stages(path: Path, seconds: float) -> None:
    """CPU seconds per stage of the default (ONNX) path on ``path``, 1 thread, in this process."""
    import drumscribe
    from drumscribe.audio.io import iter_audio_blocks
    from drumscribe.transcription.beats import track_events
    from drumscribe.transcription.decoding import DecodeSettings, decode
    from drumscribe.audio.features import iter_feature_blocks
    from drumscribe.transcription.inference import (DEFAULT_OVERLAP_S, DEFAULT_WINDOW_S, WindowStitcher, _concat,
                                                    window_frames_for)
    from drumscribe.transcription.midi_out import midi_bytes
    from drumscribe.core.timebase import FrameClock

    bundle = drumscribe.load_model(threads=1)
    acfg = bundle.config.audio
    cpu = time.process_time
    rows = []
    t = cpu()
    native = list(iter_audio_blocks(path, SR))  # read + mix to mono, no resampling (already 44.1 kHz)
    rows.append(("read + mix (soundfile)", cpu() - t))
    t = cpu()
    blocks = list(iter_audio_blocks(path, int(acfg.sample_rate), fmax=acfg.fmax))
    rows.append(("resample 44.1 -> 22.05 kHz (soxr)", cpu() - t - rows[0][1]))
    del native
    t = cpu()
    feats = list(iter_feature_blocks(iter(blocks), acfg))
    rows.append(("log-mel (numpy)", cpu() - t))
    w, o = window_frames_for(FrameClock.from_config(acfg), DEFAULT_WINDOW_S, DEFAULT_OVERLAP_S)
    st = WindowStitcher(bundle.model, w, o)
    t = cpu()
    out = [r for f in feats for r in st.feed(f)] + st.finish()
    rows.append((f"model (ONNX Runtime, {DEFAULT_WINDOW_S:.0f} s windows, {DEFAULT_OVERLAP_S:.0f} s overlap)", cpu() - t))
    onset, vel = _concat(out, len(bundle.class_names))
    t = cpu()
    events = decode(onset, DecodeSettings.from_config(bundle.config, list(bundle.thresholds)), vel)
    rows.append(("peak picking (decode)", cpu() - t))
    t = cpu()
    bm = track_events(events, bundle.class_names, seconds)
    rows.append(("beats / tempo map", cpu() - t))
    t = cpu()
    midi_bytes(events, bundle.class_names, bundle.config.midi, bm)
    rows.append((f"MIDI ({len(events)} notes)", cpu() - t))
    total = sum(r[1] for r in rows)
    print(f"stages on the {seconds / 60:.0f}-minute file (CPU s, 1 thread; x real time if it were the only stage):")
    for name, c in rows + [("all stages", total)]:
        print(f"  {name:55s} {c:6.2f} s  {seconds / max(c, 1e-9):7.0f}x")


if __name__ == "__main__":
    sys.exit(main())
