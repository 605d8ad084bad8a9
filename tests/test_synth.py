"""drumscribe synth: E-GMD layout, truth/audio agreement, determinism, kit pools."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from drumscribe.core.errors import DrumscribeError
from drumscribe.synth import kits as kitmod

FIXTURE = Path(__file__).parent / "fixtures" / "egmd_tiny"
EGMD_COLUMNS = [
    "drummer", "session", "id", "style", "bpm", "beat_type", "time_signature",
    "duration", "split", "midi_filename", "audio_filename", "kit_name",
]
SMALL_KITS = ["VariBreaks", "Millo_MultiLayered2", "The Black Pearl 1.0", "HardElectro1"]


def _need_kits(*names):
    have = {k.name for k in kitmod.list_kits("all")}
    missing = [n for n in names if n not in have]
    if missing:
        pytest.skip(f"Hydrogen kits {missing} not installed (apt-get install hydrogen-drumkits)")


def _need_soundfont(name="TimGM6mb:Standard"):
    if not kitmod.fluidsynth_available():
        pytest.skip("pyfluidsynth / libfluidsynth not available")
    if name not in {k.name for k in kitmod.list_kits("all")}:
        pytest.skip(f"soundfont kit {name} not installed (fluid-soundfont-gm / timgm6mb-soundfont)")


def _rows(root):
    with open(Path(root) / "e-gmd-v1.0.0.csv", newline="") as f:
        return list(csv.DictReader(f))


def _notes(path):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    assert len(pm.instruments) == 1 and pm.instruments[0].is_drum
    return [(round(n.start, 6), n.pitch, n.velocity) for n in pm.instruments[0].notes]


def _render(tmp, **kw):
    from drumscribe.synth import render_dataset

    args = dict(performances=3, kits=SMALL_KITS[:3], kits_per_performance=2, seed=5, max_seconds=4.0, progress=False)
    args.update(kw)
    return render_dataset(tmp, **args)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    _need_kits(*SMALL_KITS[:3])
    out = tmp_path_factory.mktemp("synth_small")
    summary = _render(out)
    return out, summary


# ---------------------------------------------------------------- reserved paths
def test_refuses_reserved_paths(tmp_path):
    for bad in ("/usr/share/sounds/sf2/avldrums_LV2.sf2", "/x/FreePats/kit", "/opt/exadrums/kits"):
        with pytest.raises(DrumscribeError):
            kitmod.check_path(bad)
    with pytest.raises(DrumscribeError):
        kitmod.get_kits(["avldrums"])
    from drumscribe.synth import render_dataset

    with pytest.raises(DrumscribeError):
        render_dataset(tmp_path / "freepats_out", performances=1, progress=False)
    from drumscribe.cli import main

    assert main(["synth", "--out", str(tmp_path / "exadrums"), "--performances", "1", "--no-progress"]) == 2


def test_kit_tables_never_name_reserved_packages():
    for f in (Path(kitmod.__file__).parent / "kits").glob("*.yaml"):
        text = f.read_text().lower()
        assert not any(w in text for w in kitmod.RESERVED), f
    for k in kitmod.list_kits("all"):
        assert not any(w in k.path.lower() for w in kitmod.RESERVED)


# ---------------------------------------------------------------- layout
def test_layout_matches_egmd(small):
    import soundfile as sf

    out, summary = small
    rows = _rows(out)
    with open(out / "e-gmd-v1.0.0.csv") as f:
        header = f.readline().strip().split(",")
    assert header[: len(EGMD_COLUMNS)] == EGMD_COLUMNS
    assert len(rows) == summary["files"] == 6
    stem_re = re.compile(r"^drummer\d+/session\d+/\d+_[a-z]+-[a-z]+\d+_\d+_(beat|fill)_4-4_\d+$")
    for r in rows:
        assert r["split"] in ("train", "validation", "test")
        assert r["time_signature"] == "4-4" and r["beat_type"] in ("beat", "fill")
        assert r["midi_filename"].endswith(".midi") and r["audio_filename"].endswith(".wav")
        stem = r["audio_filename"][:-4]
        assert r["midi_filename"][:-5] == stem and stem_re.match(stem), stem
        assert r["id"] == f"{r['session']}/{stem.split('/')[-1].split('_')[0]}"
        assert r["session"].startswith(r["drummer"] + "/")
        assert f"_{r['bpm']}_{r['beat_type']}_" in stem
        info = sf.info(str(out / r["audio_filename"]))
        assert info.samplerate == 44100 and info.subtype == "PCM_16" and info.format == "WAV"
        assert abs(info.frames / 44100 - float(r["duration"])) < 1e-3
        notes = _notes(out / r["midi_filename"])
        assert notes and all(1 <= v <= 127 for _, _, v in notes)
        assert max(t for t, _, _ in notes) < float(r["duration"])
    # librosa reads them too
    import librosa

    y, sr = librosa.load(str(out / rows[0]["audio_filename"]), sr=None)
    assert sr == 44100 and np.abs(y).max() > 0.1


def test_id_repeats_across_kits_and_split_keeps_renderings_together(small):
    out, _ = small
    by_id = {}
    for r in _rows(out):
        by_id.setdefault(r["id"], []).append(r)
    assert len(by_id) == 3
    for rs in by_id.values():
        assert len(rs) == 2
        assert len({r["kit_name"] for r in rs}) == 2
        assert len({r["split"] for r in rs}) == 1
        assert len({(r["style"], r["bpm"], r["duration"]) for r in rs}) == 1
        assert sorted(r["audio_filename"][-6:-4] for r in rs) == ["_1", "_2"]


# ---------------------------------------------------------------- truth vs audio
def _rise_ratios(wav, midi):
    """Energy after / before each truth onset (5 ms windows, first-difference signal).

    Onsets closer than 25 ms to the previous one are skipped (the window before
    would hold the other hit's attack).
    """
    import soundfile as sf

    x, sr = sf.read(str(wav), always_2d=True)
    x = np.diff(x.mean(axis=1), prepend=0.0)
    w = int(0.005 * sr)
    ratios, prev = [], -1.0
    for t in sorted({t for t, _, _ in _notes(midi)}):
        i = int(round(t * sr))
        if t - prev > 0.025:
            pre = np.sqrt(np.mean(x[max(0, i - w) : i] ** 2) + 1e-12) if i > 0 else 1e-6
            post = np.sqrt(np.mean(x[i : i + w] ** 2) + 1e-12)
            ratios.append(post / pre)
        prev = t
    return np.array(ratios)


def test_every_truth_onset_is_audible(small):
    out, _ = small
    allr = np.concatenate([_rise_ratios(out / r["audio_filename"], out / r["midi_filename"]) for r in _rows(out)])
    # hits masked by louder ringing hits (ride under a crash) rise little; most rise a lot
    assert np.median(allr) > 2.5
    assert (allr > 1.1).mean() > 0.75


def test_isolated_hits_land_on_the_sample():
    """Each (kit, note, layer) one-shot is audible exactly where it is scheduled."""
    _need_kits("VariBreaks", "The Black Pearl 1.0")
    from drumscribe.synth.sampler import ONSET_PAD, load_bank, mix

    for name in ("VariBreaks", "The Black Pearl 1.0"):
        bank = load_bank(kitmod.get_kits([name])[0], 1)
        rng = np.random.default_rng(0)
        for note in bank.voices:
            for vel in (30, 100):
                pos = 4410
                y = mix(bank, [(pos, note, vel)], 44100, rng)[:, 0]
                peak = np.abs(y).max()
                assert np.abs(y[: pos - ONSET_PAD]).max() == 0.0  # silent until 0.5 ms before
                assert np.abs(y[pos - ONSET_PAD : pos]).max() <= 0.035 * peak  # faded-in pad, < -29 dB
                assert np.abs(y[pos : pos + 88]).max() >= 0.03 * peak, (name, note, vel)  # audible within 2 ms


def test_missing_instrument_never_in_truth(tmp_path):
    _need_kits("HardElectro1")
    s = _render(tmp_path, kits=["HardElectro1"], kits_per_performance=1, performances=4, max_seconds=6.0)
    from drumscribe.synth.sampler import load_bank, playable

    kit = kitmod.get_kits(["HardElectro1"])[0]
    assert set(kit.notes) <= {36, 38, 42, 44, 46}
    # an articulation without its own sample plays its drum's sound (issue 9): playable
    # = the kit's notes plus other articulations of the same drums, never another drum
    sounded = playable(load_bank(kit, 1).voices)
    assert {kitmod.NOTE_CLASS[n] for n in sounded} == {kitmod.NOTE_CLASS[n] for n in kit.notes}
    for r in _rows(tmp_path):
        assert {n for _, n, _ in _notes(tmp_path / r["midi_filename"])} <= sounded
    assert sum(s["dropped"].values()) > 0
    for c in ("hi_tom", "mid_tom", "low_tom", "crash", "ride"):
        assert s["onsets_per_class"][c] == 0


# ---------------------------------------------------------------- determinism
def test_deterministic_across_workers_and_seeds(tmp_path, small):
    out1, _ = small
    out2 = tmp_path / "w2"
    _render(out2, num_workers=2)
    rows1 = _rows(out1)
    assert (out1 / "e-gmd-v1.0.0.csv").read_bytes() == (out2 / "e-gmd-v1.0.0.csv").read_bytes()
    for r in rows1:
        for col in ("audio_filename", "midi_filename"):
            assert (out1 / r[col]).read_bytes() == (out2 / r[col]).read_bytes(), r[col]
    out3 = tmp_path / "seed6"
    _render(out3, seed=6)
    assert (out3 / "e-gmd-v1.0.0.csv").read_bytes() != (out1 / "e-gmd-v1.0.0.csv").read_bytes()


def test_rerun_skips_complete_pairs(small):
    out, first = small
    again = _render(out)
    assert again["skipped"] == again["files"] == first["files"] and again["rendered"] == 0
    assert again["onsets_per_class"] == first["onsets_per_class"]
    assert not list(out.rglob("*.tmp"))


def test_fixture_regenerates(tmp_path):
    _need_kits("Millo_MultiLayered2", "The Black Pearl 1.0")
    import soundfile as sf

    from drumscribe.synth.make_fixture import make

    make(tmp_path)
    assert (tmp_path / "e-gmd-v1.0.0.csv").read_text() == (FIXTURE / "e-gmd-v1.0.0.csv").read_text()
    for r in _rows(FIXTURE):
        assert _notes(tmp_path / r["midi_filename"]) == _notes(FIXTURE / r["midi_filename"])
        a, _ = sf.read(str(tmp_path / r["audio_filename"]))
        b, _ = sf.read(str(FIXTURE / r["audio_filename"]))
        assert a.shape == b.shape and np.allclose(a, b, atol=2e-4)


# ---------------------------------------------------------------- pools
def test_pools_cover_all_classes():
    kits = kitmod.list_kits("all")
    if not kits:
        pytest.skip("no kits installed")
    for pool in ("train", "heldout"):
        ks = [k for k in kits if k.pool == pool]
        assert {c for k in ks for c in k.classes} == set(kitmod.CLASSES), pool


def test_eval_on_heldout_split_kits():
    _need_kits("VariBreaks", "The Black Pearl 1.0")
    from drumscribe.synth.render import plan

    jobs = plan(performances=40, seed=1, kits_per_performance=2, eval_on_heldout=True)
    splits = {j.split for j in jobs}
    assert splits == {"train", "validation", "test"}
    for j in jobs:
        assert j.kit.pool == ("train" if j.split == "train" else "heldout"), (j.split, j.kit.name)
    # plain mode: the train pool only
    assert all(j.kit.pool == "train" for j in plan(performances=10, seed=1))


# ---------------------------------------------------------------- realism, soundfonts, CLI
def test_realism_keeps_onsets(tmp_path):
    _need_kits("Millo_MultiLayered2")
    from drumscribe.synth import Realism

    backing = kitmod.fluidsynth_available() and kitmod.backing_soundfont() is not None
    cfg = Realism(reverb=True, eq=True, compress=True, noise=True, level=True, backing=backing, prob=1.0)
    _render(tmp_path, kits=["Millo_MultiLayered2"], kits_per_performance=1, performances=2, realism=cfg)
    rows = _rows(tmp_path)
    assert all(r["reverb_rt60"] and r["eq"] and r["compressor"] for r in rows)
    if backing:
        assert all(r["backing_ratio_db"] != "" for r in rows)
    allr = np.concatenate([_rise_ratios(tmp_path / r["audio_filename"], tmp_path / r["midi_filename"]) for r in rows])
    assert np.median(allr) > 1.5 and (allr > 1.05).mean() > 0.7
    # realism is deterministic too (2 workers vs 1)
    again = tmp_path / "again"
    _render(again, kits=["Millo_MultiLayered2"], kits_per_performance=1, performances=2, realism=cfg, num_workers=2)
    for r in rows:
        assert (again / r["audio_filename"]).read_bytes() == (tmp_path / r["audio_filename"]).read_bytes()


def test_soundfont_kit_renders(tmp_path):
    _need_soundfont("TimGM6mb:Standard")
    s = _render(tmp_path, kits=["TimGM6mb:Standard"], kits_per_performance=1, performances=2)
    assert s["files"] == 2 and s["kits_used"] == {"TimGM6mb:Standard": 2}
    allr = np.concatenate([_rise_ratios(tmp_path / r["audio_filename"], tmp_path / r["midi_filename"]) for r in _rows(tmp_path)])
    assert np.median(allr) > 2.0 and (allr > 1.1).mean() > 0.8


def test_cli(tmp_path, capsys):
    _need_kits("VariBreaks")
    from drumscribe.cli import main

    rc = main(["synth", "--out", str(tmp_path), "--performances", "1", "--kits", "VariBreaks", "--max-seconds", "2", "--no-progress"])
    assert rc == 0
    assert "onsets per class" in capsys.readouterr().out
    assert len(_rows(tmp_path)) == 1
    assert main(["synth", "--performances", "1"]) == 2  # --out missing
    assert main(["synth", "--out", str(tmp_path), "--kits", "NoSuchKit", "--no-progress"]) == 2
