"""What `--format chart` costs beside a plain transcription, side by side in one run.

    .venv/bin/python bench/chart.py [--seconds 160] [--repeat 3] [--threads 1]
    .venv/bin/python bench/chart.py --lanes "SONG FOLDER" --png docs/chart_lanes.png [--start 40 --span 40]

``--lanes``: draw the Expert lanes of a song folder's notes.mid (read back with mido, not with the writer's code)
as a rhythm game shows them, with the sections, Star Power phrases and fills: the picture in docs/charts.md.

In-process, the bundled model loaded once, a toy-drum 44.1 kHz stereo WAV of ``--seconds``: wall and CPU seconds
(best of ``--repeat``, alternating the two) of ``transcribe_file`` into a ``.mid`` (the plain transcription) and
into a song folder (``--format chart``: the transcription, the song's audio encoded in a thread meanwhile
(``song.opus``, 80 kbps), the chart with sections/Star Power/fills, ``song.ini``, the folder swapped in), and the
audio encoding alone.  Goal (issue 31): the chart export's wall time within 25 % of the plain transcription's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def read_lanes(folder):
    """(gems [(s, lane 0-4, cymbal, flags)], sections [(s, name)], star power [(s, e)], fills [(s, e)]) of notes.mid."""
    import mido

    mf = mido.MidiFile(Path(folder) / "notes.mid")
    tempo = mido.merge_tracks([mf.tracks[0]])

    def seconds(msgs):
        now, t, tempo_us, out = 0, 0.0, 500000, []
        changes = []
        tick = 0
        for m in tempo:
            tick += m.time
            if m.type == "set_tempo":
                changes.append((tick, m.tempo))
        ci = 0
        for m in msgs:
            target = now + m.time
            while ci < len(changes) and changes[ci][0] <= target:
                t += (changes[ci][0] - now) * tempo_us / 1e6 / mf.ticks_per_beat
                now, tempo_us = changes[ci][0], changes[ci][1]
                ci += 1
            t += (target - now) * tempo_us / 1e6 / mf.ticks_per_beat
            now = target
            out.append((t, now, m))
        return out

    tracks = {t.name: t for t in mf.tracks}
    drums = seconds(tracks["PART DRUMS"])
    toms, gems, open_, sp, fills = set(), [], {}, [], []
    for t, tick, m in drums:
        if m.type == "note_on" and m.velocity > 0 and m.note in (110, 111, 112):
            toms.add((tick, m.note - 108))
    for t, tick, m in drums:
        on = m.type == "note_on" and m.velocity > 0
        off = m.type == "note_off" or (m.type == "note_on" and m.velocity == 0)
        if on and 96 <= m.note <= 100:
            lane = m.note - 96
            gems.append((t, lane, lane >= 2 and (tick, lane) not in toms, m.velocity))
        elif on and m.note == 95:
            gems.append((t, 0, False, -1))
        elif on and m.note in (116, 120):
            open_[m.note] = t
        elif off and m.note in open_:
            (sp if m.note == 116 else fills).append((open_.pop(m.note), t))
    sections = [(t, m.text[9:-1]) for t, _, m in seconds(tracks["EVENTS"]) if m.type == "text"
                and m.text.startswith("[section ")]
    return gems, sections, sp, fills


def draw_lanes(folder, png, start: float, span: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gems, sections, sp, fills = read_lanes(folder)
    colour = ["#f39c12", "#e74c3c", "#f1c40f", "#3498db", "#2ecc71"]
    fig, axes = plt.subplots(2, 1, figsize=(11, 3.6), sharey=True)
    for row, ax in enumerate(axes):
        lo, hi = start + row * span / 2, start + (row + 1) * span / 2
        for a, b in sp:
            ax.axvspan(max(a, lo), min(b, hi), color="#9ad0ff", alpha=0.45, lw=0) if b > lo and a < hi else None
        for a, b in fills:
            ax.axvspan(max(a, lo), min(b, hi), color="#c39bd3", alpha=0.45, lw=0) if b > lo and a < hi else None
        for t, name in sections:
            if lo <= t <= hi:
                ax.axvline(t, color="k", lw=1.2)
                ax.text(t + 0.1, 4.55, name, fontsize=8, va="bottom")
        for t, lane, cym, vel in gems:
            if not lo <= t <= hi:
                continue
            if lane == 0:
                ax.plot([t, t], [-0.45, 0.45], color=colour[0], lw=1.6 if vel != -1 else 1.0,
                        ls="-" if vel != -1 else ":")
            else:
                ax.scatter([t], [lane], s=28 if vel != 127 else 46, marker="^" if cym else "o",
                           color=colour[lane], edgecolors="k", linewidths=0.4, alpha=0.5 if vel == 1 else 1.0)
        ax.set_xlim(lo, hi)
        ax.set_ylim(-0.7, 5.2)
        ax.set_yticks(range(5), ["kick", "red", "yellow", "blue", "green"], fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    axes[-1].set_xlabel("seconds (circles: drums, triangles: cymbals; blue band: Star Power, purple: fill)", fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=80)


def cli_runs(wav: Path, tmp: Path, repeat: int, threads: int) -> dict:
    """Wall and CPU seconds (best of ``repeat``) of whole ``drumscribe transcribe`` processes, as a user runs them:
    Python start-up, model load, audio decode, transcription, writing."""
    import resource
    import subprocess

    exe = [str(Path(sys.executable).parent / "drumscribe")]
    runs = {"plain": [str(wav), str(tmp / "cli.mid")], "chart": [str(wav), str(tmp / "cli song"), "--format", "chart"]}
    out = {k: [] for k in runs}
    for _ in range(repeat):
        for k, a in runs.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            w = time.perf_counter()
            subprocess.run(exe + ["transcribe", *a, "--threads", str(threads), "--quiet", "--overwrite"], check=True)
            w = time.perf_counter() - w
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            out[k].append((w, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lanes", default=None, help="draw this song folder's lanes (needs --png)")
    ap.add_argument("--png", default=None)
    ap.add_argument("--start", type=float, default=40.0)
    ap.add_argument("--span", type=float, default=40.0)
    ap.add_argument("--seconds", type=float, default=160.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="model threads (default 1)")
    args = ap.parse_args(argv)
    if args.lanes:
        draw_lanes(args.lanes, args.png, args.start, args.span)
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from transcribe import make_wav

    from drumscribe.api import load_for_transcription
    from drumscribe.commands.transcribe import add_arguments
    from drumscribe.transcription.chart_folder import have_opus, song_audio
    from drumscribe.transcription.files import transcribe_file

    bundle, th = load_for_transcription(None, [], None, None, "cpu", args.threads)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wav = tmp / "song.wav"
        make_wav(wav, args.seconds)
        opts = parser.parse_args([str(wav), str(tmp / "x"), "--overwrite", "--format", "chart"])
        plain, chart, audio = [], [], []
        for i in range(args.repeat):
            plain.append(timed(lambda: transcribe_file(bundle, th, wav, tmp / "plain.mid", "midi", opts)))
            chart.append(timed(lambda: transcribe_file(bundle, th, wav, tmp / "song", "chart", opts)))
            audio.append(timed(lambda: song_audio(wav)))
        names = sorted(p.name for p in (tmp / "song").iterdir())
        cli = cli_runs(wav, tmp, args.repeat, args.threads)
    best = lambda xs, k: min(x[k] for x in xs)  # noqa: E731
    print(f"audio {args.seconds:.0f} s, model threads {args.threads}, best of {args.repeat}; folder: {', '.join(names)}"
          f" ({'PyAV libopus' if have_opus() else 'libsndfile Vorbis'})")
    print("| | plain transcription (.mid) | chart export (song folder) | audio encoding alone | chart / plain |")
    print("|:--|--:|--:|--:|--:|")
    for k, what in ((0, "wall s"), (1, "CPU s")):
        p, c, a = best(plain, k), best(chart, k), best(audio, k)
        print(f"| {what} | {p:.3f} | {c:.3f} | {a:.3f} | {100 * c / p:.0f} % |")
    print("\nwhole `drumscribe transcribe` processes (start-up, model load, decode, transcription, writing):")
    print("| | plain (.mid) | --format chart | chart / plain |")
    print("|:--|--:|--:|--:|")
    for k, what in ((0, "wall s"), (1, "CPU s")):
        p, c = best(cli["plain"], k), best(cli["chart"], k)
        print(f"| {what} | {p:.3f} | {c:.3f} | {100 * c / p:.0f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
