"""scripts/score_models.py: the selection criterion and its leave-one-real-song-out variants."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("score_models", ROOT / "scripts" / "score_models.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _res(f1_8, f1_5, files=()):
    return {"micro": {"f1": f1_8}, "five_class": {"micro": {"f1": f1_5}},
            "files": [{"file": n, "tp": tp, "fp": fp, "fn": fn} for n, tp, fp, fn in files]}


def test_loso_leaves_each_song_out_of_both_real_halves():
    sm = _script()
    # Beatles is perfect, Punk is half wrong; the synthetic groups are fixed
    real = [("Beatles_{}.wav", 10, 0, 0), ("Punk_{}.wav", 5, 5, 0)]
    results = {s: _res(0.0, 0.0, [(n.format(s), tp, fp, fn) for n, tp, fp, fn in real])
               for s in ("drums", "multitrack_sum")}
    results.update({"gmd-val-clean": _res(0.9, 0.9), "gmd-val-fullmix": _res(0.7, 0.7),
                    "family-clean": _res(0.6, 0.8), "family-reverb_noise": _res(0.6, 0.6)})
    out = sm.loso(results, "v6")
    assert set(out) == {"none", "Beatles", "Punk"}
    f_all = 2 * 15 / (2 * 15 + 5)  # the summed counts of both songs
    assert out["none"] == pytest.approx((f_all + 0.8 + 0.7) / 3)
    assert out["Beatles"] == pytest.approx((2 * 5 / 15 + 0.8 + 0.7) / 3)  # only Punk left
    assert out["Punk"] == pytest.approx((1.0 + 0.8 + 0.7) / 3)
    # the v5 criterion has no family group; a model without a real half has no LOSO line
    assert sm.loso(results, "v5")["Punk"] == pytest.approx((1.0 + 1.0 + 0.9 + 0.7) / 4)
    assert sm.loso({k: v for k, v in results.items() if k != "drums"}, "v6") is None
    rows = [{"model": "a", "criterion_loso": out}, {"model": "b", "criterion_loso": {**out, "Punk": 0.99}}]
    lines = sm.loso_lines(rows)
    assert lines[0].startswith("- without none: a ") and lines[-1].endswith("-> b")
