"""What `--format chart` adds to a transcription: CPU time of the chart folder vs the transcription itself.

    OMP_NUM_THREADS=1 .venv/bin/python bench/chart.py [--seconds 160] [--repeat 3]

In-process, one thread, the bundled model, a toy-drum 44.1 kHz stereo WAV of ``--seconds``: CPU seconds
(best of ``--repeat``) of ``transcribe_audio`` + beat tracking, and of each chart part (``notes.mid``:
four difficulties and the tempo map; ``song.ini``; ``song.ogg``: the OGG Vorbis encoding of the audio).
Goal (issue 22): the chart adds under 5 % to transcription time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def cpu(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=160.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from transcribe import make_wav

    from drumscribe.api import load_for_transcription
    from drumscribe.transcription.beats import track_events
    from drumscribe.transcription.chart import difficulty_rating, notes_mid_bytes, ogg_bytes, song_ini_text
    from drumscribe.transcription.inference import transcribe_audio

    bundle, th = load_for_transcription(None, [], None, None, "cpu", 1)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "song.wav"
        make_wav(wav, args.seconds)

        def run():
            tr = transcribe_audio(bundle, wav, thresholds=th)
            return tr, track_events(tr.events, bundle.class_names, tr.duration)

        t_tr, (tr, bm) = cpu(run, args.repeat)
        t_mid, _ = cpu(lambda: notes_mid_bytes(tr.events, bundle.class_names, bm, tr.duration), args.repeat)
        t_ini, _ = cpu(lambda: song_ini_text("s", "a", difficulty_rating(tr.events, tr.duration), tr.duration),
                       args.repeat)
        t_ogg, _ = cpu(lambda: ogg_bytes(wav), args.repeat)
    print(f"audio {args.seconds:.0f} s, {len(tr.events)} hits; CPU seconds, best of {args.repeat}")
    print(f"| transcription + beats | notes.mid | song.ini | song.ogg | chart / transcription |")
    print(f"| {t_tr:.3f} | {t_mid:.3f} | {t_ini:.4f} | {t_ogg:.3f} | "
          f"{100 * (t_mid + t_ini + t_ogg) / t_tr:.1f} % (without song.ogg {100 * (t_mid + t_ini) / t_tr:.1f} %) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
