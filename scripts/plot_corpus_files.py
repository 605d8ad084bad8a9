#!/usr/bin/env python
"""Plot random full-song files of a rendered corpus: log spectrogram, truth onsets ticked below, and
the CSV's description (kit, mic mix, room or IR, backing parts and real instruments, mix mode).

    python scripts/plot_corpus_files.py data/exp-real/new docs/real_corpus_files.png [--n 3] [--seed 0] [--seconds 12]

Picks songs with real instruments in a real IR's room, at least --seconds long (else any song with either).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=12.0)
    a = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import soundfile as sf
    from scipy.signal import stft

    from drumscribe.core.atomic import check_destination
    from drumscribe.core.drums import CLASSES, TD_CLASS
    from drumscribe.dataset.targets import read_drum_notes

    root = Path(a.corpus)
    rows = [r for r in csv.DictReader(open(root / "e-gmd-v1.0.0.csv", newline=""))
            if r.get("backing") and (r.get("real_parts") or r.get("ir"))]
    both = [r for r in rows if r.get("real_parts") and r.get("ir") and float(r["duration"]) >= a.seconds]
    rows = both if len(both) >= a.n else rows  # real instruments in a real room when there are enough
    rng = np.random.default_rng(a.seed)
    pick = [rows[i] for i in sorted(rng.choice(len(rows), size=min(a.n, len(rows)), replace=False))]
    fig, axes = plt.subplots(len(pick), 1, figsize=(12, 3.6 * len(pick)), squeeze=False)
    for ax, r in zip(axes[:, 0], pick):
        x, sr = sf.read(root / r["audio_filename"], always_2d=True)
        x = x[: int(a.seconds * sr)].mean(axis=1)
        f, t, z = stft(x, sr, nperseg=2048, noverlap=2048 - 441)
        ax.pcolormesh(t, f / 1000, 20 * np.log10(np.abs(z) + 1e-6), shading="auto", vmin=-100, vmax=-20, cmap="magma")
        ax.set_ylim(0, 16)
        notes = read_drum_notes(root / r["midi_filename"], allow_empty=True)
        for tt, p in zip(notes.times, notes.pitches):
            if tt < a.seconds:
                c = CLASSES.index(TD_CLASS.get(int(p), "kick"))
                ax.plot([tt], [-0.4 - 0.25 * c], "|", color="cyan", ms=6, clip_on=False)
        room = r.get("ir") and "IR " + r["ir"].split("|")[0] or (r.get("room") and "synthetic room " + r["room"].split(":")[0]) or "dry"
        ax.set_title(f"{r['audio_filename']}  |  {r['kit_name']} {r.get('mic_mix', '')[:40]}\n"
                     f"{r.get('mix_mode', '')}, drums/backing {r.get('backing_ratio_db', '')} dB, {room}, "
                     f"real parts: {r.get('real_parts', '').split(':')[0] or 'none'}, soundfont parts: {r.get('backing_parts', '')}",
                     fontsize=8)
        ax.set_ylabel("kHz")
    axes[-1, 0].set_xlabel("seconds (truth onsets below: kick ... ride, top to bottom)")
    fig.tight_layout()
    check_destination(a.out)
    fig.savefig(a.out, dpi=80)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
