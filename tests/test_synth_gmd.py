"""synth --performances-from (GMD fixture), TD note map round trip, procedural kits, prior breakers.

Procedural kits need no Debian package, so these tests always run.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from drumscribe.core.drums import CLASSES, TD_CLASS, TD_NOTES, td_mapping, tom_map_disagreements

GMD = Path(__file__).parent / "fixtures" / "gmd_tiny"
ROOT = Path(__file__).resolve().parents[1]


def _rows(root):
    with open(Path(root) / "e-gmd-v1.0.0.csv", newline="") as f:
        return list(csv.DictReader(f))


def _notes(path):
    from drumscribe.dataset.targets import read_drum_notes

    n = read_drum_notes(path)
    return list(zip(n.times.tolist(), n.pitches.tolist(), n.velocities.tolist()))


@pytest.fixture(scope="module")
def gmd_out(tmp_path_factory):
    from drumscribe.synth.render import render_dataset

    out = tmp_path_factory.mktemp("gmd_synth")
    s = render_dataset(out, performances_from=GMD, performances=3, kits=["procedural:3", "procedural:7"],
                       kits_per_performance=2, seed=1, progress=False)
    return out, s


def test_gmd_rendering_keeps_ids_splits_and_td_notes(gmd_out):
    out, s = gmd_out
    with open(GMD / "info.csv", newline="") as f:
        src = {r["id"]: r for r in csv.DictReader(f)}
    rows = _rows(out)
    assert len(rows) == 6 and s["files"] == 6
    assert Counter(r["id"] for r in rows) == {i: 2 for i in src}
    for r in rows:
        g = src[r["id"]]
        for col in ("drummer", "session", "style", "bpm", "beat_type", "split"):
            assert r[col] == g[col], col
        stem = Path(g["midi_filename"]).with_suffix("")
        assert r["midi_filename"] in (f"{stem}_1.midi", f"{stem}_2.midi")
        assert r["audio_filename"] == r["midi_filename"][:-5] + ".wav"
        truth = _notes(out / r["midi_filename"])
        orig = _notes(GMD / g["midi_filename"])
        # same TD notes and velocities, times to the MIDI tick (< 1.1 ms at 480 ppq)
        assert [(n, v) for _, n, v in truth] == [(n, v) for _, n, v in orig]
        assert max(abs(a[0] - b[0]) for a, b in zip(truth, orig)) < 1.1e-3
        assert {n for _, n, _ in truth} <= set(TD_NOTES)
    assert {r["split"] for r in rows} == {"train", "validation", "test"}


def test_tom_map_round_trip(gmd_out):
    """A rendered tom-1 hit (TD 48) is a hi_tom target under default_config.yaml."""
    from drumscribe.core.config import load_config
    from drumscribe.dataset.targets import make_targets, read_drum_notes
    from drumscribe.core.timebase import FrameClock

    cfg = load_config(ROOT / "configs" / "default_config.yaml")
    assert cfg.egmd_midi_mapping == td_mapping()
    assert tom_map_disagreements(cfg.egmd_midi_mapping) == []
    out, _ = gmd_out
    seen = Counter()
    for r in _rows(out):
        notes = read_drum_notes(out / r["midi_filename"])
        clock = FrameClock(cfg.audio.sample_rate, cfg.audio.hop_length)
        n_frames = int(float(r["duration"]) * cfg.audio.sample_rate / cfg.audio.hop_length) + 1
        tg = make_targets(notes, n_frames, clock, cfg.egmd_midi_mapping, cfg.model.n_classes)
        for p, c in zip(notes.pitches, tg.note_classes):
            seen[(int(p), CLASSES[int(c)])] += 1
        assert not tg.unmapped
    assert seen[(48, "hi_tom")] > 0 and seen[(43, "low_tom")] > 0
    assert all(TD_CLASS[p] == c for p, c in seen)


def test_plan_medium_config_is_flagged():
    """The plan's GM reading of the toms disagrees with E-GMD, and the check says where."""
    from drumscribe.core.config import load_config

    cfg = load_config(ROOT / "configs" / "medium_test_config.yaml")
    bad = tom_map_disagreements(cfg.egmd_midi_mapping)
    assert any(b.startswith("48 ") and "mid_tom" in b for b in bad)


def _pitch(x):
    x = x[:, 0] if x.ndim == 2 else x
    n = min(len(x), 16384)
    spec = np.abs(np.fft.rfft(x[:n] * np.hanning(n)))
    f = np.fft.rfftfreq(n, 1 / 44100)
    band = (f > 40) & (f < 1000)
    return float(f[band][np.argmax(spec[band])])


def test_procedural_kits_deterministic_and_toms_ordered():
    from drumscribe.synth.procedural import make_voices

    a, b = make_voices(11), make_voices(11)
    assert set(a) == set(TD_NOTES)
    for n in a:
        for la, lb in zip(a[n][0], b[n][0]):
            assert np.array_equal(la[2], lb[2])
    assert not np.array_equal(make_voices(12)[36][0][-1][2], a[36][0][-1][2])
    for seed in range(6):
        v = make_voices(seed)
        hi, mid, low = (_pitch(v[n][0][-1][2]) for n in (48, 45, 43))
        assert hi > mid > low, (seed, hi, mid, low)


def test_missing_toms_are_derived_in_order():
    from drumscribe.synth.sampler import Layer, complete_toms, sound_for

    t = np.arange(20000) / 44100
    tone = (np.sin(2 * np.pi * 200 * t) * np.exp(-t / 0.2)).astype(np.float32)[:, None]
    voices = {45: [[Layer(0.0, 1.01, tone)]], 36: [[Layer(0.0, 1.01, tone)]]}
    out = complete_toms(voices)
    hi, mid, low = (_pitch(sound_for(out, n)[0][0].audio) for n in (48, 45, 43))
    assert hi > mid > low
    assert sound_for(out, 50) is out[48]  # a rim plays its tom
    assert complete_toms({36: voices[36]}) == {36: voices[36]}  # no tom at all: none invented


def test_articulations_have_their_own_sounds():
    from drumscribe.synth.kits import get_kits
    from drumscribe.synth.sampler import load_bank, sound_for

    bank = load_bank(get_kits(["procedural:5"])[0], 1)
    head = sound_for(bank.voices, 38)[0][-1].audio
    for n in (37, 40):
        assert not np.array_equal(sound_for(bank.voices, n)[0][-1].audio, head)
    assert len(sound_for(bank.voices, 46)[0][-1].audio) > 2 * len(sound_for(bank.voices, 42)[0][-1].audio)
    assert not np.array_equal(sound_for(bank.voices, 53)[0][-1].audio, sound_for(bank.voices, 51)[0][-1].audio)


def test_prior_breakers_keep_truth_consistent():
    from drumscribe.synth.priors import Variety, break_priors

    rng = np.random.default_rng(0)
    ev = sorted((float(t), int(n), 90) for t, n in zip(rng.uniform(0, 20, 300), rng.choice([36, 38, 42, 48, 49, 51], 300)))
    can = set(TD_NOTES)
    d, kind = break_priors(ev, 21.0, can, Variety(dropout=1.0), np.random.default_rng(1))
    assert kind == "dropout" and set(d) < set(ev) and len(d) > 0
    s, kind = break_priors(ev, 21.0, can, Variety(solo=1.0), np.random.default_rng(2))
    assert kind.startswith("solo:") and len({TD_CLASS[n] for _, n, _ in s}) == 1
    r, kind = break_priors(ev, 21.0, can, Variety(random_onsets=1.0), np.random.default_rng(3))
    assert kind == "random" and r and all(n in can for _, n, _ in r) and r == sorted(r)
    same, kind = break_priors(ev, 21.0, can, Variety(), np.random.default_rng(4))
    assert kind == "performance" and same == ev


def test_variety_render_truth_matches_audio(tmp_path):
    """Mixed, varied, dropout renderings: every truth onset is audible."""
    from drumscribe.synth.priors import Variety
    from drumscribe.synth.render import render_dataset
    import soundfile as sf

    s = render_dataset(tmp_path, performances_from=GMD, performances=3, kits=["procedural:1", "procedural:2", "procedural:4"],
                       kits_per_performance=3, seed=3, progress=False,
                       variety=Variety(kit_mix=1.0, vary=1.0, dropout=0.5))
    rows = _rows(tmp_path)
    assert s["files"] == 9 and any(r["kit_source"] == "mixed" for r in rows) and all(r["variation"] == "1" for r in rows)
    for r in rows:
        x, sr = sf.read(str(tmp_path / r["audio_filename"]))
        d = np.diff(x, prepend=0.0)
        for t, _, _ in _notes(tmp_path / r["midi_filename"]):
            i = int(round(t * sr))
            assert np.abs(d[i : i + 220]).max() > 0, (r["audio_filename"], t)


def test_missing_gmd_folder_says_where_to_get_it(tmp_path, capsys):
    from drumscribe.cli import main

    assert main(["synth", "--performances-from", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Magenta" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_performances_from_without_a_size_renders_every_performance():
    from drumscribe.synth.performances import read_index
    from drumscribe.synth.render import plan

    jobs = plan(performances_from=GMD, kits=["procedural:3"], kits_per_performance=1, seed=1)
    assert len({j.perf for j in jobs}) == len(read_index(GMD)) == 3


def test_prior_breakers_never_leave_a_file_without_notes():
    from drumscribe.synth.priors import Variety, break_priors

    events = [(0.5, 36, 100)]  # one kick: too few for a solo, and no room for random onsets
    for kind in ("solo", "random_onsets"):
        v = Variety(**{kind: 1.0})
        out, pattern = break_priors(events, 0.0, {36}, v, np.random.default_rng(0))
        assert out == events and pattern == "performance", kind


def test_swaps_change_whole_pieces_and_truth_follows():
    """Each swap of the pattern-prior breakers changes one piece for the whole file (issue 28)."""
    import numpy as np

    from drumscribe.core.drums import TD_CLASS
    from drumscribe.synth.priors import SWAPS, Variety, break_priors, swap_pieces

    # a rock bar, 4 times: kick 1/3, snare 2/4, closed hi-hat eighths, a crash on the 1, a fill 3-tom fill at the end
    ev = []
    for bar in range(4):
        t0 = bar * 2.0
        ev += [(t0 + b * 0.25, 42, 80) for b in range(8)]
        ev += [(t0, 36, 100), (t0 + 1.0, 36, 100), (t0 + 0.5, 38, 100), (t0 + 1.5, 38, 100)]
    ev += [(0.0, 49, 110), (7.6, 48, 90), (7.75, 45, 90), (7.9, 43, 90)]
    ev.sort()
    can = {36, 38, 42, 44, 46, 48, 45, 43, 49, 51, 59, 53, 50, 58}

    def classes(events):
        return sorted({TD_CLASS[n] for _, n, _ in events})

    assert "hihat" not in classes(swap_pieces(ev, "no_hihat", can))
    ride = swap_pieces(ev, "hihat_to_ride", can)
    assert "hihat" not in classes(ride) and sum(1 for e in ride if e[1] == 51) == 32
    off = swap_pieces(ev, "no_hihat_on_snare", can)
    snares = [t for t, n, _ in off if n == 38]
    assert not any(n == 42 and min(abs(t - s) for s in snares) < 0.06 for t, n, _ in off)
    assert sum(1 for e in off if e[1] == 42) == 32 - 8  # the other hi-hats stay
    assert classes(swap_pieces(ev, "kick_snare_only", can)) == ["kick", "snare"]
    assert classes(swap_pieces(ev, "kick_alone", can)) == ["kick"]
    cr = swap_pieces(ev, "crash_ride", can)
    assert [n for t, n, _ in cr if t == 0.0 and TD_CLASS[n] in ("crash", "ride")] == [51]
    toms = [n for _, n, _ in swap_pieces(ev, "toms_reversed", can) if TD_CLASS[n].endswith("tom")]
    assert toms == [43, 45, 48]  # the falling fill now climbs
    # a swap whose target the kit cannot play, or whose piece is absent, keeps the performance
    assert swap_pieces(ev, "hihat_to_ride", can - {51}) == []
    assert swap_pieces([e for e in ev if e[1] != 42], "no_hihat", can) == []
    out, pattern = break_priors(ev, 8.0, can, Variety(swap=1.0), np.random.default_rng(3))
    assert pattern.startswith("swap:") and pattern[5:] in SWAPS and out != ev
    assert Variety(dropout=0.2, random_onsets=0.05, solo=0.05, swap=0.3).breakers == 0.6
