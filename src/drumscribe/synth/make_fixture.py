"""Regenerate the test fixture ``tests/fixtures/egmd_tiny``.

    python -m drumscribe.synth.make_fixture [OUT_DIR]

2 performances x 2 Hydrogen kits (one train-pool, one held-out), 2 s each,
mono 44.1 kHz 16-bit, seed 19.  tests/test_synth.py regenerates it into a
temporary folder and compares (CSV identical, MIDI notes identical, audio
allclose).
"""

from __future__ import annotations

import sys
from pathlib import Path

FIXTURE_ARGS = dict(
    performances=2,
    kits=["Millo_MultiLayered2", "The Black Pearl 1.0"],
    kits_per_performance=2,
    seed=19,
    max_seconds=2.0,
    num_workers=1,
    progress=False,
)
DEFAULT_OUT = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "egmd_tiny"


def make(out_dir) -> dict:
    from drumscribe.synth.render import render_dataset

    return render_dataset(out_dir, **FIXTURE_ARGS)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else DEFAULT_OUT
    s = make(out)
    print(f"wrote {s['files']} files ({s['audio_seconds']} s audio) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
