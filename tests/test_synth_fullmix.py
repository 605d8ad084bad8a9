"""Full-mix realism (issue 9 point 4): backing song, mic bleed, rooms, mastering, band limit, codec."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from drumscribe.synth import SR
from drumscribe.synth import backing, chain, rooms
from drumscribe.synth import kits as kitmod

KIT = "Millo_MultiLayered2"


def _need_kit(name=KIT):
    if name not in {k.name for k in kitmod.list_kits("all")}:
        pytest.skip(f"Hydrogen kit {name} not installed (apt-get install hydrogen-drumkits)")


def _need_backing(pool="train"):
    if not kitmod.fluidsynth_available() or not kitmod.backing_soundfonts(pool):
        pytest.skip(f"no {pool} backing soundfont / pyfluidsynth")


def _rows(root):
    with open(Path(root) / "e-gmd-v1.0.0.csv", newline="") as f:
        return list(csv.DictReader(f))


def _clicks(seconds=3.0, every=0.25, channels=1):
    """Decaying noise bursts every ``every`` s (a stand-in drum track) and their onsets (samples)."""
    rng = np.random.default_rng(0)
    n = int(seconds * SR)
    x = np.zeros((n, channels), np.float32)
    onsets = np.arange(int(0.1 * SR), n - int(0.2 * SR), int(every * SR))
    burst = (rng.standard_normal(int(0.1 * SR)) * np.exp(-np.arange(int(0.1 * SR)) / (0.01 * SR))).astype(np.float32)
    for o in onsets:
        x[o : o + len(burst)] += burst[:, None]
    return x, onsets


# ---------------------------------------------------------------- building blocks
def test_mdct_is_perfect_reconstruction_and_codec_is_lossy():
    x = np.random.default_rng(1).standard_normal(20011).astype(np.float32)
    assert np.abs(chain.imdct(chain.mdct(x), len(x)) - x).max() < 1e-5
    y, _ = _clicks()
    z = chain.codec(y, "mdct:12000:10:7")
    spec = np.abs(np.fft.rfft(z[:, 0]))
    f = np.fft.rfftfreq(len(z), 1 / SR)
    assert spec[f > 13000].max() < 1e-3 * spec.max()  # lowpass
    X = chain.mdct(z[:, 0])
    assert (np.abs(X) < 1e-6).mean() > 0.3  # spectral holes
    err = np.sqrt(np.mean((z - y) ** 2)) / np.sqrt(np.mean(y**2))
    assert 0.01 < err < 0.8  # audibly lossy, still the same signal
    assert np.array_equal(z, chain.codec(y, "mdct:12000:10:7"))  # deterministic


def test_limiter_and_master_reach_ceiling_and_loudness():
    x, _ = _clicks()
    y = chain.limiter(x * 8, -1.0)
    assert np.abs(y).max() <= 10 ** (-1 / 20) + 1e-6
    # a dense mix reaches its loudness target
    dense = x * 0.05 + 0.02 * np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)
    m = chain.master(dense, "comp:-18:2;lufs:-14;ceil:-1")
    assert np.abs(m).max() <= 10 ** (-1 / 20) + 1e-6
    assert abs(chain.loudness(m) - (-14)) < 2.0
    # sparse clicks: at most MAX_LIMIT_DB of limiting, not squashed flat to the target
    m = chain.master(x * 0.05, "comp:-18:2;lufs:-7;ceil:-1")
    assert np.abs(m).max() <= 10 ** (-1 / 20) + 1e-6
    assert chain.loudness(m) < -7 - 3
    import pyloudnorm

    assert abs(chain.loudness(x) - pyloudnorm.Meter(SR).integrated_loudness(x.astype(np.float64))) < 1e-6


def test_room_irs_vary_in_size_and_have_no_direct_path():
    irs = {room: rooms.room_ir(room, float(np.mean(rooms.ROOMS[room][0])), 3, 1) for room in rooms.ROOMS}
    for room, ir in irs.items():
        pre_min = rooms.ROOMS[room][1][0] * 1e-3 * SR
        assert np.abs(ir[: int(pre_min)]).max() == 0.0, room  # nothing before the pre-delay
        assert abs(float((ir**2).sum()) - 1.0) < 1e-3
    def t90(ir):  # time by which 90 % of the energy has arrived
        e = np.cumsum(ir[:, 0] ** 2)
        return np.searchsorted(e, 0.9 * e[-1]) / SR
    assert t90(irs["booth"]) < t90(irs["room"]) < t90(irs["hall"]) < t90(irs["church"])
    assert np.array_equal(rooms.room_ir("hall", 1.5, 9, 2), rooms.room_ir("hall", 1.5, 9, 2))
    two = rooms.room_ir("hall", 1.5, 9, 2)
    assert abs(np.corrcoef(two[:, 0], two[:, 1])[0, 1]) < 0.5  # decorrelated stereo


def test_bleed_arrives_after_the_direct_sound():
    x, onsets = _clicks()
    silent = np.zeros_like(x)
    stems = {"kick": x, "snare": silent, "hihat": silent, "toms": silent, "cymbals": silent}
    y = rooms.bleed(stems, -12.0, np.random.default_rng(0))
    d = int(0.0005 * SR)  # the shortest mic distance
    o = onsets[0]
    np.testing.assert_allclose(y[: o + d], x[: o + d], atol=1e-6)  # untouched until the first leak arrives
    assert np.abs(y - x).max() > 1e-3  # but leaks do arrive


def test_backing_soundfonts_follow_the_pool():
    _need_backing("train")
    train = {Path(p).name for p in kitmod.backing_soundfonts("train")}
    held = {Path(p).name for p in kitmod.backing_soundfonts("heldout")}
    assert train and not train & held
    for seed in range(20):
        assert Path(backing.backing_plan(seed, "train")["soundfont"]).name in train
        if held:
            assert Path(backing.backing_plan(seed, "heldout")["soundfont"]).name in held


def test_backing_track_is_a_song_and_deterministic():
    _need_backing()
    parts = set()
    for seed in range(12):
        parts |= set(backing.backing_plan(seed)["programs"])
    assert parts == {"bass", "chords", "lead", "guitar", "pad", "voice"}  # every part is drawn
    y = backing.backing_track(int(8 * SR), 120.0, 0.0, 4, 1)
    assert y.shape == (int(8 * SR), 1) and np.isfinite(y).all() and np.abs(y).max() > 1e-3
    assert np.array_equal(y, backing.backing_track(int(8 * SR), 120.0, 0.0, 4, 1))
    # harmonic: most energy below 2 kHz, at a few strong frequencies
    spec = np.abs(np.fft.rfft(y[:, 0]))
    f = np.fft.rfftfreq(len(y), 1 / SR)
    assert (spec[f < 2000] ** 2).sum() > 0.7 * (spec**2).sum()


def test_voice_has_formants():
    rng = np.random.default_rng(3)
    v = backing._voice(rng, 100.0, 4, 0, False, int(6 * SR))
    assert len(v) == int(6 * SR) and np.abs(v).max() > 0
    spec = np.abs(np.fft.rfft(v)) ** 2
    f = np.fft.rfftfreq(len(v), 1 / SR)
    assert spec[(f > 200) & (f < 4000)].sum() > 0.9 * spec.sum()


# ---------------------------------------------------------------- rendering
def _rise_ratios(wav, midi):
    import pretty_midi
    import soundfile as sf

    x, sr = sf.read(str(wav), always_2d=True)
    x = np.diff(x.mean(axis=1), prepend=0.0)
    w = int(0.005 * sr)
    ratios, prev = [], -1.0
    for t in sorted({n.start for n in pretty_midi.PrettyMIDI(str(midi)).instruments[0].notes}):
        i = int(round(t * sr))
        if t - prev > 0.025 and i > w:
            pre = np.sqrt(np.mean(x[i - w : i] ** 2) + 1e-12)
            post = np.sqrt(np.mean(x[i : i + w] ** 2) + 1e-12)
            ratios.append(post / pre)
        prev = t
    return np.array(ratios)


def test_full_mix_render_keeps_onsets_records_settings_and_is_deterministic(tmp_path):
    _need_kit()
    from drumscribe.synth import Realism, render_dataset

    cfg = Realism.all(prob=1.0, full_mix=1.0)
    args = dict(performances=3, kits=[KIT], kits_per_performance=1, seed=11, max_seconds=6.0, progress=False, realism=cfg)
    render_dataset(tmp_path / "a", **args)
    rows = _rows(tmp_path / "a")
    for r in rows:
        for col in ("reverb_rt60", "room", "eq", "compressor", "bleed_db", "noise_snr_db", "gain_db", "master", "bandlimit", "codec"):
            assert r[col] != "", col
        if kitmod.fluidsynth_available() and kitmod.backing_soundfonts("train"):
            assert r["backing_sf"] and "bass=" in r["backing_parts"] and -6 <= float(r["backing_ratio_db"]) <= 12
    allr = np.concatenate([_rise_ratios(tmp_path / "a" / r["audio_filename"], tmp_path / "a" / r["midi_filename"]) for r in rows])
    assert np.median(allr) > 1.3 and (allr > 1.05).mean() > 0.6  # hits still start where the truth says
    render_dataset(tmp_path / "b", num_workers=2, **args)
    for r in rows:
        assert (tmp_path / "b" / r["audio_filename"]).read_bytes() == (tmp_path / "a" / r["audio_filename"]).read_bytes()


def test_full_mix_probability_splits_clean_and_song_files():
    from drumscribe.synth.realism import Realism, draw_settings

    cfg = Realism.all(prob=1.0, full_mix=0.5)
    song = [bool(draw_settings(cfg, np.random.default_rng(i))["master"]) for i in range(200)]
    assert 0.35 < np.mean(song) < 0.65
    clean = [draw_settings(cfg, np.random.default_rng(i)) for i in range(200) if not song[i]]
    assert all(s["master"] == s["backing"] == s["codec"] == "" for s in clean)
    assert all(s["room"] != "" for s in clean)  # the drum-side effects still apply
