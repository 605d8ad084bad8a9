"""Regenerate the test fixture ``tests/fixtures/real_kit``: a tiny folder in the real-sounds layout.

    python -m drumscribe.synth.make_real_fixture [OUT_DIR]

Made by this project from its own procedural drums (:mod:`drumscribe.synth.procedural`, seed 5), so
it may be redistributed (CC0, see the fixture's LICENSE.txt): a "multi-mic" kit ``fixture-multimic``
whose hits are folders of three sample-aligned stereo stems (``close`` at the onset, ``overhead``
1.5 ms later and low-passed, ``room`` 6 ms later and smeared), a one-file-per-hit kit
``fixture-single``, and one impulse response ``fixture-irs/tiny_room`` (direct spike + 0.25 s of
decaying noise).  16-bit FLAC at 44.1 kHz, 0.3 s per hit.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np

from drumscribe.synth.constants import SR

DEFAULT_OUT = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "real_kit"
SEED = 5
HIT_S = 0.3
OVERHEAD_DELAY_S = 0.0015
ROOM_DELAY_S = 0.006
# (piece, articulation, TD note of the procedural sound)
MULTIMIC = (("kick", "hit", 36), ("snare", "hit", 38), ("snare", "sidestick", 37), ("hihat", "closed", 42),
            ("hihat", "open", 46), ("crash", "hit", 49), ("ride", "bow", 51), ("ride", "bell", 53))
SINGLE = (("kick", "hit", 36), ("snare", "hit", 38), ("hihat", "closed", 42))


def _stereo(x: np.ndarray, pan: float) -> np.ndarray:
    a = (pan + 1) * np.pi / 4
    return np.stack([x * np.cos(a), x * np.sin(a)], axis=1).astype(np.float32)


def _delay(x: np.ndarray, seconds: float) -> np.ndarray:
    d = int(round(seconds * SR))
    return np.concatenate([np.zeros((d, x.shape[1]), np.float32), x[: len(x) - d]])


def _write(path: Path, x: np.ndarray) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1, 1), SR, format="FLAC", subtype="PCM_16")
    path.write_bytes(buf.getvalue())


def make(out_dir) -> list[dict]:
    from scipy.signal import lfilter

    from drumscribe.synth.procedural import make_voices

    out = Path(out_dir)
    voices = make_voices(SEED)
    n = int(HIT_S * SR)
    rows = []

    def row(kit, piece, art, layer, mic, rel, x):
        rows.append(dict(source="fixture", kit=kit, piece=piece, articulation=art, velocity_layer=layer, mic=mic,
                         path=rel, channels=2, seconds=f"{len(x) / SR:.4f}",
                         peak_dbfs=f"{20 * np.log10(np.abs(x).max() + 1e-12):.2f}", licence="CC0 (made by drumscribe)"))

    for i, (piece, art, note) in enumerate(MULTIMIC):
        for layer in (1, 2):  # soft, loud
            mono = voices[note][0][layer][2][:n]
            mono = np.pad(mono, (0, n - len(mono))) * (0.4 if layer == 1 else 0.9)
            close = _stereo(mono, -0.5 + i / len(MULTIMIC))
            over = _delay(lfilter([0.3], [1, -0.7], close, axis=0).astype(np.float32), OVERHEAD_DELAY_S)
            room = _delay(lfilter([0.05], [1, -0.95], close, axis=0).astype(np.float32), ROOM_DELAY_S)
            rel_dir = f"kits/fixture-multimic/{piece}/{art}/v{layer:02d}_1"
            for mic, x in (("close", close), ("overhead", over), ("room", room)):
                rel = f"{rel_dir}/{mic}.flac"
                _write(out / rel, x)
                row("fixture-multimic", piece, art, layer, mic, rel, x)
    for piece, art, note in SINGLE:
        for layer in (1, 2):
            mono = voices[note][0][layer][2][:n] * (0.4 if layer == 1 else 0.9)
            x = _stereo(mono, 0.0)
            rel = f"kits/fixture-single/{piece}/{art}/{layer:03d}.flac"
            _write(out / rel, x)
            row("fixture-single", piece, art, layer, "", rel, x)
    rng = np.random.default_rng(SEED)
    m = int(0.25 * SR)
    tail = rng.standard_normal((m, 2)).astype(np.float32) * np.exp(-np.arange(m) / (0.05 * SR))[:, None].astype(np.float32)
    ir = np.concatenate([np.zeros((30, 2), np.float32), 0.9 * np.ones((1, 2), np.float32), 0.3 * tail])
    rel = "irs/fixture-irs/tiny_room.flac"
    _write(out / rel, ir)
    rows.append(dict(source="fixture-irs", kit="fixture-irs", piece="", articulation="", velocity_layer="", mic="",
                     path=rel, channels=2, seconds=f"{len(ir) / SR:.4f}", peak_dbfs="-0.92", licence="CC0 (made by drumscribe)"))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    (out / "index.csv").write_text(buf.getvalue())
    (out / "LICENSE.txt").write_text(
        "tests/fixtures/real_kit: made by drumscribe from its own procedural drums "
        "(python -m drumscribe.synth.make_real_fixture).\nCC0 1.0: no rights reserved. No third-party audio.\n")
    return rows


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else DEFAULT_OUT
    rows = make(out)
    print(f"wrote {len(rows)} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
