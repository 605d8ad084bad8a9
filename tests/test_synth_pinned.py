"""A small render is bit-identical to the one made before ``synth/`` was split into rooms (commit 867c0d5).

The md5s below were written by the single-``effects.py`` synthesiser of 867c0d5 (and equal those of
today's modules): two generated performances on the two committed real fixture kits (a multi-mic kit
with its per-file mic mix, a single-file kit), dry, and with the drum-side effects (real IR reverb,
EQ, compression, noise, level, bleed).  Dry WAVs are pinned whole (reading FLAC, trimming, mic mixing
and mixing are plain float32 arithmetic); with effects, the MIDI truth and the CSV (every drawn
setting) are pinned, not the WAVs, whose last bit may follow the CPU's vector maths library.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from drumscribe.cli import main
from drumscribe.synth import kits as kitmod

FIX = Path(__file__).parent / "fixtures" / "real_kit"
ARGS = ["--no-progress", "--seed", "5", "--max-seconds", "3", "--kit-dir", str(FIX),
        "--kits", "real:fixture-multimic", "real:fixture-single", "--performances", "2", "--kits-per-performance", "2"]
FX = ["--reverb", "--eq", "--compress", "--noise", "--level", "--bleed", "--real-ir", "1"]
A, B = "drummer3/session1/1_punk-fill2_176_fill_4-4_", "drummer8/session1/1_hiphop-groove1_94_beat_4-4_"
MIDI = {
    f"{A}1.midi": "51d4e1222995db0a3baa2d3ea39a0f57",
    f"{A}2.midi": "c8dd97346aa735a2a2646ee2355f0257",
    f"{B}1.midi": "d14749e47e37829119b44b1d8f243cfb",
    f"{B}2.midi": "8761dd0deb50dcb37eb6cde5544ba0dc",
}
DRY = {
    **MIDI,
    f"{A}1.wav": "5394b20816b996ba7547c55a2677d188",
    f"{A}2.wav": "c40a804d4ed8a456452d0a1f9eb12867",
    f"{B}1.wav": "6f01cdc4926c643408db0c83edcadeaa",
    f"{B}2.wav": "a6c994133508ea6951410827a0e40b64",
    "e-gmd-v1.0.0.csv": "36bd395fad805cded5e2415e56dcbfed",
}
WITH_FX = {**MIDI, "e-gmd-v1.0.0.csv": "b666f81da2163c7d2f1796e02ac85696"}


@pytest.fixture
def no_kit_dirs():
    yield
    kitmod.set_kit_dirs([])


def _md5s(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}


@pytest.mark.parametrize("name, extra, pinned", [("dry", [], DRY), ("fx", FX, WITH_FX)])
def test_a_small_render_is_bit_identical_to_the_pinned_one(tmp_path, no_kit_dirs, name, extra, pinned):
    out = tmp_path / name
    assert main(["synth", "--out", str(out), *ARGS, *extra]) == 0
    got = _md5s(out)
    assert set(got) >= set(pinned)
    assert {k: got[k] for k in pinned} == pinned
