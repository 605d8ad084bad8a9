import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drumscribe.dataset.cache import cache_key, cache_path, is_valid, read_item, write_item
from drumscribe.cli import main
from drumscribe.dataset.index import Pair, assign_splits, index_dataset, select_subset
from drumscribe.dataset.targets import read_drum_notes
from drumscribe.dataset.preprocess import run_preprocess
from drumscribe.dataset.splits import read_split
from drumscribe.core.timebase import FrameClock
from drumscribe.dataset.toy import write_midi

ROOT = Path(__file__).resolve().parents[1]


def _h5_files(root):
    return sorted(p for p in Path(root).rglob("*.h5"))


def test_features_shapes_and_onset_alignment(toy_copy, make_cfg):
    cfg = make_cfg(toy_copy)
    s = run_preprocess(cfg, progress=False)
    assert s.ok and s.processed == 8
    clock = FrameClock.from_config(cfg.audio)
    rel = "drummer1/session1/1_rock_120_beat_4-4_1.wav"
    item = read_item(cache_path(cfg.data.processed_root, rel))
    n = sf.info(str(toy_copy / rel)).frames * cfg.audio.sample_rate // 44100
    assert item["features"].shape == (clock.n_frames(n), cfg.audio.n_mels)
    assert item["onsets"].shape == (item["features"].shape[0], 8)
    notes = read_drum_notes(toy_copy / rel.replace(".wav", ".midi"))
    for t, p in zip(notes.times, notes.pitches):
        c = cfg.egmd_midi_mapping[int(p)]
        assert item["onsets"][round(t * cfg.audio.sample_rate / cfg.audio.hop_length), c] == 1
    assert item["onsets"].sum() == len(np.unique(np.stack([clock.to_frames(notes.times), [cfg.egmd_midi_mapping[int(p)] for p in notes.pitches]]), axis=1).T)
    np.testing.assert_allclose(np.sort(item["note_times"]), np.sort(notes.times))
    assert item.meta["source_path"] == rel and item.meta["cache_key"] == cache_key(cfg)


def test_onset_energy_is_in_the_labelled_frame(toy_copy, make_cfg):
    """The feature frame labelled as an onset is where the spectral energy jumps."""
    cfg = make_cfg(toy_copy)
    run_preprocess(cfg, progress=False)
    item = read_item(cache_path(cfg.data.processed_root, "drummer1/session1/1_rock_120_beat_4-4_1.wav"))
    energy = np.exp(item["features"]).sum(1)
    flux = np.diff(np.log(energy), prepend=np.log(energy[0]))
    frames = np.flatnonzero(item["onsets"].any(1))
    for f in frames:
        window = flux[max(f - 2, 0): f + 3]
        assert np.argmax(window) + max(f - 2, 0) in (f - 1, f, f + 1)


def test_skip_force_and_stale_config(toy_copy, make_cfg):
    cfg = make_cfg(toy_copy)
    s1 = run_preprocess(cfg, progress=False)
    assert (s1.processed, s1.skipped) == (8, 0)
    mtimes = {p: p.stat().st_mtime_ns for p in _h5_files(cfg.data.processed_root)}
    s2 = run_preprocess(cfg, progress=False)
    assert (s2.processed, s2.skipped) == (0, 8)
    assert {p: p.stat().st_mtime_ns for p in _h5_files(cfg.data.processed_root)} == mtimes
    s3 = run_preprocess(cfg, force=True, progress=False)
    assert (s3.processed, s3.skipped) == (8, 0)
    # another feature config: nothing is served from the old cache
    cfg2 = make_cfg(toy_copy, extra=["audio.hop_length=256"])
    s4 = run_preprocess(cfg2, progress=False)
    assert (s4.processed, s4.skipped) == (8, 0) and len(s4.rebuilt) == 8
    assert "another feature config" in s4.rebuilt[0][1]
    # another note mapping changes targets: also rebuilt
    cfg3 = make_cfg(toy_copy, extra=["audio.hop_length=256", "egmd_midi_mapping.42=3"])
    assert run_preprocess(cfg3, progress=False).processed == 8


def test_partial_and_leftover_files_are_not_trusted(toy_copy, make_cfg):
    cfg = make_cfg(toy_copy)
    run_preprocess(cfg, progress=False)
    key = cache_key(cfg)
    victim = cache_path(cfg.data.processed_root, "drummer1/session1/1_rock_120_beat_4-4_1.wav")
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # a truncated file (e.g. a non-atomic copy)
    assert not is_valid(victim, key)[0]
    leftover = victim.with_name(f".{victim.name}.tmp-999-deadbeef")
    leftover.write_bytes(data[:100])  # what a killed writer leaves behind
    s = run_preprocess(cfg, progress=False)
    assert s.processed == 1 and s.skipped == 7
    assert is_valid(victim, key)[0] and not leftover.exists()


def test_failure_mid_write_leaves_nothing(tmp_path, monkeypatch):
    import h5py

    path = tmp_path / "a" / "x.h5"
    arrays = {n: np.zeros((4, 2), np.float32) for n in ("features", "onsets", "velocities")}
    arrays.update(note_times=np.zeros(0), note_classes=np.zeros(0, int), note_velocities=np.zeros(0, int))
    real = h5py.Group.create_dataset
    calls = {"n": 0}

    def boom(self, name, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(self, name, *a, **kw)

    monkeypatch.setattr(h5py.Group, "create_dataset", boom)
    with pytest.raises(OSError):
        write_item(path, arrays, {"cache_key": "k"})
    assert list(path.parent.iterdir()) == []


KILL_SCRIPT = r"""
import sys, numpy as np
from pathlib import Path
from drumscribe.dataset.cache import write_item
out = Path(sys.argv[1])
big = np.random.default_rng(0).standard_normal((20000, 128)).astype(np.float32)
arrays = dict(features=big, onsets=np.zeros((20000, 8), np.uint8), velocities=np.zeros((20000, 8), np.float32),
              note_times=np.zeros(3), note_classes=np.zeros(3, int), note_velocities=np.zeros(3, int))
print("ready", flush=True)
i = 0
while True:
    write_item(out / f"f{i % 5}.h5", arrays, {"cache_key": "k"})
    i += 1
"""


def test_sigkill_at_any_moment_leaves_no_trusted_partial_file(tmp_path):
    for delay in (0.15, 0.4, 0.75):
        out = tmp_path / f"run{delay}"
        proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(out)], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for p in out.glob("*.h5"):
            ok, why = is_valid(p, "k")
            assert ok, f"{p} is at its final name but invalid: {why}"
            assert read_item(p)["features"].shape == (20000, 128)


def test_serial_equals_parallel(toy_copy, tmp_path, make_cfg):
    from drumscribe.core.config import load_config
    from conftest import path_overrides

    cfg1 = load_config(ROOT / "configs/medium_test_config.yaml", path_overrides(toy_copy, tmp_path / "serial"))
    cfg2 = load_config(ROOT / "configs/medium_test_config.yaml", path_overrides(toy_copy, tmp_path / "par"))
    run_preprocess(cfg1, num_workers=1, progress=False)
    run_preprocess(cfg2, num_workers=2, progress=False)
    f1, f2 = _h5_files(cfg1.data.processed_root), _h5_files(cfg2.data.processed_root)
    assert [p.relative_to(cfg1.data.processed_root) for p in f1] == [p.relative_to(cfg2.data.processed_root) for p in f2]
    for a, b in zip(f1, f2):  # bit-identical arrays and metadata (HDF5 itself may pad with arbitrary bytes)
        x, y = read_item(a), read_item(b)
        assert x.meta == y.meta
        for name in x.arrays:
            assert x[name].dtype == y[name].dtype and np.array_equal(x[name], y[name]), name
    for s in ("train", "val", "test"):
        assert read_split(cfg1.data.splits_dir, s) == read_split(cfg2.data.splits_dir, s)


def test_npy_mode(toy_copy, make_cfg):
    cfg = make_cfg(toy_copy)
    s = run_preprocess(cfg, use_hdf5=False, progress=False)
    assert s.processed == 8
    p = cache_path(cfg.data.processed_root, "drummer1/session1/1_rock_120_beat_4-4_1.wav", use_hdf5=False)
    assert (p / "features.npy").is_file() and (p / "meta.json").is_file()
    assert run_preprocess(cfg, use_hdf5=False, progress=False).skipped == 8


def test_group_split_never_straddles(toy_copy, make_cfg):
    cfg = make_cfg(toy_copy, extra=["data.train_split=0.5", "data.val_split=0.25", "data.test_split=0.25"])
    run_preprocess(cfg, progress=False)
    where = {}
    for s in ("train", "val", "test"):
        for rel in read_split(cfg.data.splits_dir, s):
            perf = rel.rsplit("_", 1)[0]
            where.setdefault(perf, set()).add(s)
    assert all(len(v) == 1 for v in where.values())
    assert sum(len(read_split(cfg.data.splits_dir, s)) for s in ("train", "val", "test")) == 8


def _pairs(n_groups, per_group):
    return [Pair(audio=f"d/s/{g}_rock_100_beat_4-4_{k}.wav", midi="", group=f"g{g}") for g in range(n_groups) for k in range(per_group)]


def test_split_counts_match_plan_and_are_deterministic():
    pairs = _pairs(500, 1)
    a = assign_splits(pairs, (0.7, 0.15, 0.15), 42)
    counts = {s: sum(1 for v in a.values() if v == s) for s in ("train", "val", "test")}
    assert counts == {"train": 350, "val": 75, "test": 75}
    assert a == assign_splits(list(reversed(pairs)), (0.7, 0.15, 0.15), 42)
    assert a != assign_splits(pairs, (0.7, 0.15, 0.15), 43)


def test_group_split_with_many_renderings_and_random_strategy_leaks():
    pairs = _pairs(60, 5)
    a = assign_splits(pairs, (0.7, 0.15, 0.15), 0, "group")
    for g in range(60):
        assert len({a[p.audio] for p in pairs if p.group == f"g{g}"}) == 1
    counts = {s: sum(1 for v in a.values() if v == s) for s in ("train", "val", "test")}
    assert abs(counts["train"] - 210) <= 5 and abs(counts["val"] - 45) <= 5
    r = assign_splits(pairs, (0.7, 0.15, 0.15), 0, "random")
    assert any(len({r[p.audio] for p in pairs if p.group == f"g{g}"}) > 1 for g in range(60))


def test_official_split_uses_csv(toy_copy, make_cfg):
    cfg = make_cfg(toy_copy, extra=["data.split_strategy=official"])
    run_preprocess(cfg, progress=False)
    with open(toy_copy / "e-gmd-v1.0.0.csv") as fh:
        rows = list(csv.DictReader(fh))
    want = {"train": "train", "validation": "val", "test": "test"}
    for r in rows:
        assert r["audio_filename"] in read_split(cfg.data.splits_dir, want[r["split"]])


def test_existing_split_is_not_reshuffled(toy_copy, make_cfg):
    cfg = make_cfg(toy_copy)
    run_preprocess(cfg, progress=False)
    before = {s: read_split(cfg.data.splits_dir, s) for s in ("train", "val", "test")}
    cfg_other_seed = make_cfg(toy_copy, extra=["data.random_seed=7"])
    run_preprocess(cfg_other_seed, progress=False)
    assert {s: read_split(cfg.data.splits_dir, s) for s in ("train", "val", "test")} == before
    run_preprocess(cfg_other_seed, force=True, progress=False)  # asked: may reshuffle
    assert sum(len(read_split(cfg.data.splits_dir, s)) for s in ("train", "val", "test")) == 8


def test_max_files_subset_is_seeded_and_grows_as_superset():
    pairs = [Pair(audio=f"f{i:03d}.wav", midi="", group=str(i)) for i in range(100)]
    s20 = {p.audio for p in select_subset(pairs, 20, 42)}
    assert s20 == {p.audio for p in select_subset(pairs, 20, 42)}
    assert len(s20) == 20 and s20 < {p.audio for p in select_subset(pairs, 50, 42)}
    assert s20 != {p.audio for p in select_subset(pairs, 20, 1)}


def test_scan_without_csv_pairs_and_reports_missing_partners(toy_copy, make_cfg):
    (toy_copy / "e-gmd-v1.0.0.csv").unlink()
    (toy_copy / "drummer1/session1/1_rock_120_beat_4-4_2.midi").unlink()
    alt = toy_copy / "drummer2/session1/2_rock_120_beat_4-4_1"
    alt.with_suffix(".midi").rename(alt.with_suffix(".mid"))
    idx = index_dataset(toy_copy)
    assert len(idx.pairs) == 7 and idx.source == "scan"
    assert idx.problems == [("drummer1/session1/1_rock_120_beat_4-4_2.wav", "no .midi/.mid partner")]
    assert {p.group for p in idx.pairs if p.audio.startswith("drummer1/session1/1_")} == {"drummer1/session1/1_rock_120_beat_4-4"}
    s = run_preprocess(make_cfg(toy_copy), progress=False)
    assert s.ok and s.processed == 7 and len(s.index_problems) == 1


def test_bad_files_are_reported_and_others_finish(toy_copy, make_cfg, capsys):
    (toy_copy / "drummer1/session1/1_rock_120_beat_4-4_1.wav").write_bytes(b"RIFF\x00\x00garbage")
    sf.write(str(toy_copy / "drummer1/session1/1_rock_120_beat_4-4_2.wav"), np.zeros(44100, np.float32), 44100)
    write_midi(toy_copy / "drummer2/session1/2_rock_120_beat_4-4_1.midi", [])  # empty MIDI
    args = ["preprocess", "--config", str(ROOT / "configs/medium_test_config.yaml"), "--quiet"]
    cfg = make_cfg(toy_copy)
    for k in ("egmd_root", "processed_root", "splits_dir"):
        args += ["--set", f"data.{k}={getattr(cfg.data, k)}"]
    rc = main(args)
    out = capsys.readouterr().out
    assert rc == 1
    assert "processed 5, skipped 0 (cache valid), failed 3" in out
    assert "1_rock_120_beat_4-4_1.wav: cannot read audio" in out
    assert "silent" in out and "contains no notes" in out
    listed = sum(len(read_split(cfg.data.splits_dir, s)) for s in ("train", "val", "test"))
    assert listed == 5


def test_unmapped_notes_are_counted(toy_copy, make_cfg):
    midi = toy_copy / "drummer1/session1/1_rock_120_beat_4-4_1.midi"
    write_midi(midi, [(0.5, 36, 100), (1.0, 37, 90), (1.5, 37, 80), (2.0, 22, 70)])
    s = run_preprocess(make_cfg(toy_copy), progress=False)
    assert s.unmapped == {37: 2, 22: 1}
    item = read_item(cache_path(make_cfg(toy_copy).data.processed_root, "drummer1/session1/1_rock_120_beat_4-4_1.wav"))
    assert item["onsets"].sum() == 1


def test_missing_dataset_dir_names_key(tmp_path, make_cfg):
    from drumscribe.core.errors import ConfigError

    with pytest.raises(ConfigError, match="data.egmd_root"):
        run_preprocess(make_cfg(tmp_path / "absent"), progress=False)


def test_script_shim_help_does_not_import_torch():
    out = subprocess.run([sys.executable, str(ROOT / "scripts/preprocess_egmd.py"), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--num-workers" in out.stdout and "--force" in out.stdout
    probe = subprocess.run([sys.executable, "-c", "import sys, drumscribe.cli as c; c.build_parser(); print('torch' in sys.modules)"],
                           capture_output=True, text=True)
    assert probe.stdout.strip() == "False", probe.stderr
