"""What `--format chart` costs beside a plain transcription, side by side in one run.

    .venv/bin/python bench/chart.py [--seconds 160] [--repeat 3] [--threads 1]

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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=160.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="model threads (default 1)")
    args = ap.parse_args(argv)
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
    best = lambda xs, k: min(x[k] for x in xs)  # noqa: E731
    print(f"audio {args.seconds:.0f} s, model threads {args.threads}, best of {args.repeat}; folder: {', '.join(names)}"
          f" ({'PyAV libopus' if have_opus() else 'libsndfile Vorbis'})")
    print("| | plain transcription (.mid) | chart export (song folder) | audio encoding alone | chart / plain |")
    print("|:--|--:|--:|--:|--:|")
    for k, what in ((0, "wall s"), (1, "CPU s")):
        p, c, a = best(plain, k), best(chart, k), best(audio, k)
        print(f"| {what} | {p:.3f} | {c:.3f} | {a:.3f} | {100 * c / p:.0f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
