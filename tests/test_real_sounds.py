"""Real recorded kits, real rooms, real instruments, drumless songs and the real-dev yardstick.

Everything runs on ``tests/fixtures/real_kit`` (made by ``python -m drumscribe.synth.make_real_fixture``
from the project's own procedural drums, CC0), never on ``shared/``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from drumscribe.core.errors import DrumscribeError
from drumscribe.synth import kits as kitmod
from drumscribe.synth import backing, realism, rooms
from drumscribe.synth.constants import SR

FIX = Path(__file__).parent / "fixtures" / "real_kit"


@pytest.fixture
def kit_dir(monkeypatch):
    monkeypatch.setenv(kitmod.KIT_DIRS_ENV, "")
    kitmod.set_kit_dirs([str(FIX)])
    yield FIX
    kitmod.set_kit_dirs([])
    backing.real_instruments.cache_clear()


def _kit(name):
    return next(k for k in kitmod.list_kits("all") if k.name == name)


def _onset(x, rel_db=-30.0):
    env = np.abs(x).max(axis=1)
    return int(np.flatnonzero(env >= env.max() * 10 ** (rel_db / 20))[0])


def test_fixture_is_what_the_generator_makes(tmp_path):
    from drumscribe.synth.make_real_fixture import make

    make(tmp_path)
    assert (tmp_path / "index.csv").read_text() == (FIX / "index.csv").read_text()


def test_real_kits_are_listed_with_their_articulations(kit_dir, capsys):
    from drumscribe.cli import main

    assert main(["synth", "--kit-dir", str(kit_dir), "--list-kits", "--pool", "all"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("real:fixture-multimic"))
    assert "train" in line and "37" in line and "46" in line and "53" in line  # cross-stick, open hi-hat, bell
    assert any(l.startswith("real:fixture-single") and "heldout" in l for l in out.splitlines())


def test_multimic_stems_are_aligned_and_a_mic_mix_changes_level_not_timing(kit_dir):
    from drumscribe.synth.sampler import ONSET_PAD, draw_mic_mix, load_bank, mix, remix

    kit = _kit("real:fixture-multimic")
    bank = load_bank(kit, 2)
    layer = bank.voices[38][0][-1]
    assert layer.stems is not None and layer.stems.shape[0] == 3  # close, overhead, room: one length
    close, over, room = layer.stems
    assert abs(_onset(close) - ONSET_PAD) <= 1  # the close mic is the first arrival, at the pad
    assert _onset(over) - _onset(close) == pytest.approx(0.0015 * SR, abs=3)  # the recorded delays kept
    assert _onset(room) > _onset(over)
    rng = np.random.default_rng(0)
    specs = {draw_mic_mix(kit, rng) for _ in range(3)}
    assert len(specs) == 3 and all(s.startswith("close:") for s in specs)
    hits = [(int(0.1 * SR), 38, 100), (int(0.5 * SR), 36, 90), (int(0.9 * SR), 42, 70)]
    outs = [mix(remix(bank, s), hits, SR, np.random.default_rng(1)) for s in sorted(specs)]
    for pos, _, _ in hits:  # every hit starts on the same sample whatever the mic mix
        seg = [o[pos - 200: pos + 2000] for o in outs]
        starts = {_onset(s) for s in seg}
        assert max(starts) - min(starts) <= 1
    levels = [float(np.sqrt((o ** 2).mean())) for o in outs]
    assert max(levels) / min(levels) > 1.05  # ... but not at the same level
    assert draw_mic_mix(_kit("real:fixture-single"), rng) == ""  # a one-file kit has no mic mix


def test_rendering_a_real_kit_keeps_the_truth(kit_dir, tmp_path):
    from drumscribe.synth import render_dataset
    from drumscribe.dataset.targets import read_drum_notes

    s = render_dataset(tmp_path / "a", performances=2, kits=["real:fixture-multimic"], kits_per_performance=1,
                       seed=3, max_seconds=3.0, progress=False)
    assert s["files"] == 2
    rows = list(csv.DictReader(open(tmp_path / "a" / "e-gmd-v1.0.0.csv")))
    assert all(r["kit_source"] == "real" and r["mic_mix"].startswith("close:") for r in rows)
    # the same performances on the procedural kit: identical truth (the kit only changes the sound)
    s2 = render_dataset(tmp_path / "b", performances=2, kits=["real:fixture-multimic"], kits_per_performance=1,
                        seed=3, max_seconds=3.0, progress=False)
    for r in rows:
        a = read_drum_notes(tmp_path / "a" / r["midi_filename"])
        b = read_drum_notes(tmp_path / "b" / r["midi_filename"])
        assert np.array_equal(a.times, b.times) and np.array_equal(a.pitches, b.pitches)
    assert s2["files"] == 2


def test_real_ir_keeps_onsets_within_1ms(kit_dir):
    from drumscribe.synth.sampler import load_bank, mix

    assert kitmod.real_irs("heldout") == [] and [n for n, _ in kitmod.real_irs("train")] == ["fixture-irs/tiny_room"]
    bank = load_bank(_kit("real:fixture-single"), 1)
    spec = rooms.draw_ir(np.random.default_rng(4), "train")
    assert spec.startswith("fixture-irs/tiny_room|")
    pos = int(0.1 * SR)
    for note in (36, 38, 42):
        dry = mix(bank, [(pos, note, 100)], SR // 2, np.random.default_rng(0))
        for wet_db in (-20.0, -3.0, 0.0):
            s = spec.split("|")
            s[1] = str(wet_db)
            wet = rooms.ir_reverb(dry, "|".join(s))
            assert wet.shape == dry.shape and not np.allclose(wet, dry)
            assert abs(_onset(dry) - _onset(wet)) <= 0.001 * SR
            assert np.abs(wet[:pos] - dry[:pos]).max() < 1e-6  # causal: the dry render up to the onset


def test_held_out_irs_are_kept_for_held_out_kits(kit_dir):
    held = set(kitmod._load_yaml("real.yaml")["heldout_irs"])
    assert "voxengo/nice_drum_room" in held
    assert rooms.draw_ir(np.random.default_rng(0), "heldout") == ""  # the fixture has no held-out IR


def test_backing_only_files_have_empty_truth_and_pass_preprocessing(kit_dir, tmp_path, make_cfg):
    if not kitmod.fluidsynth_available() or not kitmod.backing_soundfonts("train"):
        pytest.skip("no train backing soundfont / pyfluidsynth")
    from drumscribe.dataset.preprocess import run_preprocess
    from drumscribe.dataset.targets import read_drum_notes
    from drumscribe.synth import Realism, render_dataset

    out = tmp_path / "s"
    render_dataset(out, performances=3, kits=["real:fixture-multimic"], kits_per_performance=1, seed=2, max_seconds=3.0,
                   progress=False, realism=Realism(backing=True, prob=1.0, full_mix=1.0, backing_only=1.0))
    rows = list(csv.DictReader(open(out / "e-gmd-v1.0.0.csv")))
    assert rows and all(r["mix_mode"] == "backing_only" for r in rows)
    for r in rows:
        assert len(read_drum_notes(out / r["midi_filename"], allow_empty=True).times) == 0
        import soundfile as sf

        assert np.abs(sf.read(out / r["audio_filename"])[0]).max() > 0.1  # the song is there
    summary = run_preprocess(make_cfg(out, "default"), progress=False)
    assert summary.failed == [] and summary.processed == len(rows) and sum(summary.notes_per_class) == 0
    # an empty MIDI that the CSV does not declare drumless is still an error
    (out / "e-gmd-v1.0.0.csv").write_text((out / "e-gmd-v1.0.0.csv").read_text().replace("backing_only", "song"))
    assert len(run_preprocess(make_cfg(out, "default"), force=True, progress=False).failed) == len(rows)


def test_multitrack_sum_mode_sets_parts_as_loud_as_the_drums(kit_dir):
    if not kitmod.fluidsynth_available() or not kitmod.backing_soundfonts("train"):
        pytest.skip("no train backing soundfont / pyfluidsynth")
    cfg = realism.Realism(backing=True, master=True, codec=True, compress=True, prob=1.0, full_mix=1.0, multitrack_sum=1.0)
    s = realism.draw_settings(cfg, np.random.default_rng(1), "train", np.random.default_rng(2), np.random.default_rng(3))
    assert s["mix_mode"] == "multitrack_sum" and s["master"] == "" and s["codec"] == "" and s["compressor"] == ""
    assert -12 < float(s["backing_ratio_db"]) < 0


def test_reserved_and_missing_kit_dirs_are_refused_in_one_line(tmp_path):
    with pytest.raises(DrumscribeError, match="reserved"):
        kitmod.set_kit_dirs([str(tmp_path / "avldrums")])
    with pytest.raises(DrumscribeError, match="no index.csv"):
        kitmod.set_kit_dirs([str(tmp_path)])
    kitmod.set_kit_dirs([])


def test_real_dev_missing_is_one_line(monkeypatch, tmp_path, capsys):
    from drumscribe.cli import main
    from drumscribe.evaluation import realdev

    monkeypatch.setenv(realdev.ENV, str(tmp_path / "nowhere"))
    assert not realdev.available()
    rc = main(["evaluate", "--split", "real-dev/drums"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "real-dev not found" in err[0] and "Traceback" not in err[0]
    with pytest.raises(DrumscribeError, match="real-dev has"):
        realdev.subsets("real-dev/guitars")


def test_real_dev_resolve_names_and_folders(monkeypatch, tmp_path):
    from drumscribe.evaluation import realdev

    root = tmp_path / "rd"
    (root / "drums").mkdir(parents=True)
    (root / "multitrack_sum").mkdir()
    monkeypatch.setenv(realdev.ENV, str(root))
    assert realdev.resolve("real-dev/drums") == root / "drums"
    assert realdev.resolve("real-dev/multitrack_sum/") == root / "multitrack_sum"
    assert realdev.resolve(tmp_path) == tmp_path  # any other path as given
    with pytest.raises(DrumscribeError, match="one half of real-dev at a time"):
        realdev.resolve("real-dev")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real-dev" / "drums").mkdir(parents=True)  # a local folder of that name is a folder
    assert not realdev.named("real-dev/drums")
    assert realdev.resolve("real-dev/drums") == Path("real-dev/drums")
