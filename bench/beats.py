"""What beat tracking costs next to transcription (issue 12: "no slowdown of plain transcription"; issue 30:
the learned tracker adds under 10 % to the transcription of a 160 s song).

    .venv/bin/python bench/beats.py [--minutes 2.667 10] [--repeat 3]

For each length: a toy drum recording (``drumscribe.dataset.toy``, 44.1 kHz mono, made in memory) is
transcribed in-process by the bundled model (one thread), then
``drumscribe.transcription.beats.track_events`` runs on the transcribed events (the learned tracker when
its model is installed: beat network + bar-pointer Viterbi; the audio bands the transcription collected for
it, ``Transcription.beat_audio``), and the rule tracker ``beats.track`` beside it.  Reported in CPU time
(``time.process_time``, best of ``--repeat``; the machine is shared, so CPU time is the
honest measure): transcription and beat tracking in ms per minute of audio, and beat tracking
as a percentage of transcription.  Finally, in a fresh process: which heavy modules a
``transcribe IN OUT.mid`` run imports (music21 must not be among them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]


def best_cpu(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def imports_of_a_midi_run(wav: Path) -> list[str]:
    code = (
        "import sys; from drumscribe.cli import main; "
        f"main(['transcribe', {str(wav)!r}, {str(wav.with_suffix('.mid'))!r}, '--quiet', '--overwrite', '--threads', '1']); "
        "print(' '.join(m for m in ('music21', 'librosa', 'matplotlib', 'lightning') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.split()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[160.0 / 60.0, 10.0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    import soundfile as sf
    import torch

    torch.set_num_threads(1)
    from drumscribe.transcription.beats import track, track_events
    from drumscribe.transcription.decoding import events_to_arrays
    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.transcription.inference import transcribe_audio
    from drumscribe.dataset.toy import SR, render_events, toy_performance

    bundle = load_bundle(None)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            secs = 60.0 * minutes
            y = render_events(toy_performance(secs, 7), secs, 7)
            wav = Path(tmp) / f"toy_{minutes:g}min.wav"
            sf.write(str(wav), y, SR)
            t_tr, tr = best_cpu(lambda: transcribe_audio(bundle, wav), max(1, args.repeat - 1))
            track_events(tr.events, bundle.class_names, tr.duration)  # loads the beat model once (not timed)
            # the audio's bands (a beat model that hears it) are collected while transcribing: inside t_tr
            t_bt, bm = best_cpu(lambda: track_events(tr.events, bundle.class_names, tr.duration,
                                                     audio=tr.beat_audio), args.repeat)
            arrays = events_to_arrays(tr.events)
            t_rules, _ = best_cpu(lambda: track(*arrays, bundle.class_names, tr.duration), args.repeat)
            rows.append({
                "minutes": minutes, "events": len(tr.events),
                "transcribe_ms_per_min": round(1000 * t_tr / minutes, 1),
                "beats_ms_per_min": round(1000 * t_bt / minutes, 1),
                "beats_pct_of_transcribe": round(100 * t_bt / t_tr, 1),
                "rules_ms_per_min": round(1000 * t_rules / minutes, 1),
                "rules_pct_of_transcribe": round(100 * t_rules / t_tr, 1),
                "bpm": round(float(bm.bpm), 1),
            })
            print(json.dumps(rows[-1]), flush=True)
        heavy = imports_of_a_midi_run(Path(tmp) / f"toy_{args.minutes[0]:g}min.wav")
    print("heavy modules imported by `transcribe IN OUT.mid`:", heavy or "none of music21/librosa/matplotlib/lightning")
    print("\n| audio | transcription (CPU ms / min) | beat tracking (CPU ms / min) | beats / transcription "
          "| rule tracker / transcription |")
    print("|--:|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['minutes']:.2f} min | {r['transcribe_ms_per_min']:.0f} | {r['beats_ms_per_min']:.1f} | "
              f"{r['beats_pct_of_transcribe']:.1f}% | {r['rules_pct_of_transcribe']:.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
