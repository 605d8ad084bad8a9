"""A small numpy drum sampler.

Every kit becomes a :class:`Bank`: for each E-GMD note a list of timbre
variants, each a list of velocity layers of one-shot samples whose audible
onset is at sample index ``ONSET_PAD`` (leading silence trimmed, a short
fade-in), so a hit scheduled at time t is audible at t.

Hydrogen kits: samples are read from the kit folder (layers with min/max
velocity and gain, instrument volume and pan).  Soundfont kits: one-shots per
(note, velocity layer) are rendered once with pyfluidsynth and cached under
``~/.cache/drumscribe/synth`` (override: ``DRUMSCRIBE_CACHE``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .kits import OPEN_HIHAT, HIHAT_NOTES, Kit, check_path, parse_hydrogen

SR = 44100
ONSET_DB = -30.0  # onset = first sample above peak - 30 dB
ONSET_PAD = 22  # samples (0.5 ms) kept before the detected onset, faded in
TAIL_DB = -60.0
MAX_LEN = {"cymbal": 4.0, "other": 2.5}
SF_VELOCITIES = (24, 48, 72, 100, 127)
CACHE_VERSION = 2


def cache_dir() -> Path:
    d = Path(os.environ.get("DRUMSCRIBE_CACHE", Path.home() / ".cache" / "drumscribe")) / "synth"
    d.mkdir(parents=True, exist_ok=True)
    return d


@dataclass
class Layer:
    lo: float  # velocity range, 0..1
    hi: float
    audio: np.ndarray  # float32 (n, channels), onset at ONSET_PAD


@dataclass
class Bank:
    kit: str
    channels: int
    voices: dict  # note -> list[list[Layer]] (variants -> layers)
    curve: float = 0.8  # amplitude = (velocity/127) ** curve


def _trim(x: np.ndarray, max_len_s: float) -> np.ndarray | None:
    """Trim leading silence (onset at ONSET_PAD) and the tail below TAIL_DB."""
    env = np.abs(x).max(axis=1)
    peak = float(env.max()) if env.size else 0.0
    if peak < 1e-5:
        return None
    above = np.flatnonzero(env >= peak * 10 ** (ONSET_DB / 20))
    start = int(above[0])
    if start >= ONSET_PAD:
        x = x[start - ONSET_PAD :]
    else:
        x = np.concatenate([np.zeros((ONSET_PAD - start, x.shape[1]), np.float32), x])
    env = np.abs(x).max(axis=1)
    live = np.flatnonzero(env >= peak * 10 ** (TAIL_DB / 20))
    end = min(int(live[-1]) + 1 + int(0.01 * SR), len(x), int(max_len_s * SR))
    x = np.array(x[:end], dtype=np.float32)
    fade_in = np.linspace(0.0, 1.0, ONSET_PAD, dtype=np.float32) ** 2
    x[:ONSET_PAD] *= fade_in[:, None]
    nf = min(int(0.02 * SR), len(x) // 4)
    if nf > 0:
        x[-nf:] *= np.linspace(1.0, 0.0, nf, dtype=np.float32)[:, None]
    return x


def _to_channels(x: np.ndarray, channels: int, pan_l: float = 1.0, pan_r: float = 1.0) -> np.ndarray:
    if x.ndim == 1:
        x = x[:, None]
    if channels == 1:
        if x.shape[1] == 1:
            return x * (0.5 * (pan_l + pan_r))
        return (x[:, 0] * pan_l + x[:, 1] * pan_r)[:, None] * 0.5
    if x.shape[1] == 1:
        x = np.repeat(x, 2, axis=1)
    x = x[:, :2].copy()
    x[:, 0] *= pan_l
    x[:, 1] *= pan_r
    return x


def _is_cymbal(note: int) -> bool:
    return note in (49, 51, 52, 53, 55, 57, 59, 46, 26)


@lru_cache(maxsize=512)
def _read_sample(path: str) -> np.ndarray:
    import soundfile as sf

    check_path(path)
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    if sr != SR:
        import soxr

        x = soxr.resample(x, sr, SR).astype(np.float32)
    return x


def _hydrogen_bank(kit: Kit, channels: int) -> Bank:
    instruments = parse_hydrogen(kit.path)
    voices = {}
    for note, names in kit.notes.items():
        variants = []
        for name in names:
            ins = instruments[name]
            layers = []
            for path, lo, hi, lgain in ins["layers"]:
                try:
                    raw = _read_sample(path)
                except Exception:
                    continue
                g = ins["volume"] * ins["gain"] * lgain
                x = _trim(_to_channels(raw, channels, ins["pan_l"], ins["pan_r"]) * g, MAX_LEN["cymbal" if _is_cymbal(note) else "other"])
                if x is not None:
                    layers.append(Layer(lo, hi, x))
            if layers:
                variants.append(layers)
        if variants:
            voices[note] = variants
    return Bank(kit.name, channels, voices)


# ---------------------------------------------------------------- soundfonts
def _sf_cache_path(kit: Kit, channels: int) -> Path:
    st = os.stat(kit.path)
    key = f"{CACHE_VERSION}|{kit.path}|{st.st_size}|{int(st.st_mtime)}|{kit.preset}|{channels}|{SF_VELOCITIES}|{sorted(kit.notes)}"
    h = hashlib.sha1(key.encode()).hexdigest()[:12]
    return cache_dir() / f"oneshots_{Path(kit.path).stem}_{kit.preset}_{channels}ch_{h}.npz"


def render_sf_oneshots(kit: Kit, channels: int) -> dict:
    """{(note, velocity): int16 (n, channels)} rendered with fluidsynth (trimmed)."""
    import fluidsynth

    from .effects import _synth_float

    check_path(kit.path)
    synth = fluidsynth.Synth(gain=0.6, samplerate=float(SR), **{"synth.reverb.active": 0, "synth.chorus.active": 0})
    try:
        sfid = synth.sfload(kit.path)
        if sfid < 0:
            raise OSError(f"fluidsynth could not load {kit.path}")
        synth.program_select(9, sfid, 128, kit.preset)
        _synth_float(synth, 4096)
        out = {}
        for note in sorted(kit.notes):
            for vel in SF_VELOCITIES:
                synth.noteon(9, note, vel)
                a = _synth_float(synth, int(0.25 * SR))
                synth.noteoff(9, note)
                b = _synth_float(synth, int(3.5 * SR))
                synth.cc(9, 120, 0)  # all sound off
                _synth_float(synth, 2048)
                x = np.concatenate([a, b])
                x = _to_channels(x, channels)
                y = _trim(x, MAX_LEN["cymbal" if _is_cymbal(note) else "other"])
                if y is not None and np.abs(y).max() > 3e-4:
                    out[(note, vel)] = np.round(y * 32767).clip(-32768, 32767).astype(np.int16)
        return out
    finally:
        synth.delete()


def _load_sf_oneshots(kit: Kit, channels: int) -> dict:
    path = _sf_cache_path(kit, channels)
    if path.exists():
        try:
            with np.load(path) as z:
                return {tuple(int(v) for v in k.split("_")): z[k] for k in z.files}
        except Exception:
            pass
    shots = render_sf_oneshots(kit, channels)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    np.savez(tmp, **{f"{n}_{v}": a for (n, v), a in shots.items()})
    os.replace(tmp, path)
    return shots


def _sf_bank(kit: Kit, channels: int) -> Bank:
    shots = _load_sf_oneshots(kit, channels)
    voices = {}
    for note in kit.notes:
        vels = [v for v in SF_VELOCITIES if (note, v) in shots]
        if not vels:
            continue
        layers = []
        edges = [0.0] + [(a + b) / 2 / 127 for a, b in zip(vels[:-1], vels[1:])] + [1.01]
        for i, v in enumerate(vels):
            x = shots[(note, v)].astype(np.float32) / 32767.0
            # undo the velocity amplitude inside the layer; the mixer re-applies it
            x = x / ((v / 127.0) ** 2)
            layers.append(Layer(edges[i], edges[i + 1], x))
        voices[note] = [layers]
    return Bank(kit.name, channels, voices, curve=2.0)


def sounding_notes(kit: Kit, channels: int = 1) -> list[int]:
    return sorted(load_bank(kit, channels).voices)


@lru_cache(maxsize=8)
def _load_bank_cached(kit: Kit, channels: int) -> Bank:
    if kit.source == "hydrogen":
        return _hydrogen_bank(kit, channels)
    return _sf_bank(kit, channels)


def load_bank(kit: Kit, channels: int = 1) -> Bank:
    return _load_bank_cached(kit, channels)


# ---------------------------------------------------------------- mixing
def mix(bank: Bank, hits, n_samples: int, rng: np.random.Generator, variant_choice: dict | None = None) -> np.ndarray:
    """Mix ``hits`` (iterable of (sample_index, note, velocity)) into a float32 buffer.

    ``sample_index`` is where the hit is audible.  Open hi-hats are choked by the
    next hi-hat hit (15 ms fade), like a real hi-hat.  ``variant_choice`` maps
    note -> variant index (one timbre per rendering); missing notes use 0.
    """
    out = np.zeros((n_samples + ONSET_PAD, bank.channels), np.float32)
    hits = sorted(hits)
    hh_times = [p for p, n, _ in hits if n in HIHAT_NOTES]
    hh_idx = 0
    choke_len = int(0.015 * SR)
    choke_ramp = np.linspace(1.0, 0.0, choke_len, dtype=np.float32)[:, None]
    variant_choice = variant_choice or {}
    for pos, note, vel in hits:
        variants = bank.voices.get(note)
        if not variants:
            continue
        layers = variants[variant_choice.get(note, 0) % len(variants)]
        v = vel / 127.0
        cand = [l for l in layers if l.lo <= v <= l.hi] or [min(layers, key=lambda l: min(abs(l.lo - v), abs(l.hi - v)))]
        layer = cand[int(rng.integers(len(cand)))] if len(cand) > 1 else cand[0]
        amp = (v ** bank.curve) * float(rng.uniform(0.94, 1.06))
        start = pos  # audible onset at pos -> sample start at pos - ONSET_PAD (+ONSET_PAD offset of out)
        x = layer.audio
        n = min(len(x), len(out) - start)
        if n <= 0:
            continue
        if note in OPEN_HIHAT:
            while hh_idx < len(hh_times) and hh_times[hh_idx] <= pos:
                hh_idx += 1
            if hh_idx < len(hh_times):
                stop = hh_times[hh_idx] - pos + ONSET_PAD
                if stop < n:
                    seg = x[:stop + choke_len].copy() if stop + choke_len <= len(x) else x[: len(x)].copy()
                    m = min(len(seg) - stop, choke_len)
                    seg[stop : stop + m] *= choke_ramp[:m]
                    seg = seg[: stop + m]
                    x = seg
                    n = min(len(x), len(out) - start)
        out[start : start + n] += amp * x[:n]
    return out[ONSET_PAD:]
