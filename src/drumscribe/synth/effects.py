"""Realism: room reverb, mic/EQ colouring, compression, noise, level, backing track.

Every effect is causal (or adds a tail only), so onsets never move: the
reverb IR has its direct path at t=0, EQs are low-order IIR biquads run
forward, the compressor's gain follows a causal envelope.  Each effect is
drawn per file with probability ``prob`` when enabled; the settings are
returned for the CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import SR
from ._fluid import synth_float as _synth_float
EFFECTS = ("reverb", "eq", "compress", "noise", "level", "backing")


@dataclass
class Realism:
    reverb: bool = False
    eq: bool = False
    compress: bool = False
    noise: bool = False
    level: bool = False
    backing: bool = False
    prob: float = 0.75  # chance that an enabled effect is applied to a file
    backing_ratio_db: tuple = (0.0, 12.0)  # drum-to-backing RMS ratio range, dB

    @classmethod
    def all(cls, **kw) -> "Realism":
        return cls(**{e: True for e in EFFECTS}, **kw)

    @property
    def any(self) -> bool:
        return any(getattr(self, e) for e in EFFECTS)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


COLUMNS = ("reverb_rt60", "reverb_wet_db", "eq", "compressor", "noise_snr_db", "gain_db", "backing_ratio_db", "backing")


# ------------------------------------------------------------------ choices
def draw_settings(cfg: Realism | None, rng: np.random.Generator) -> dict:
    """Random settings for one file (all draws made, so skipping is deterministic)."""
    s = {c: "" for c in COLUMNS}
    u = rng.random(len(EFFECTS))
    rt60, wet = float(rng.uniform(0.15, 2.0)), float(rng.uniform(-22, -6))
    eqs = []
    for _ in range(3):
        kind = str(rng.choice(["low_shelf", "high_shelf", "peak"]))
        f0 = float({"low_shelf": rng.uniform(60, 300), "high_shelf": rng.uniform(2500, 10000), "peak": rng.uniform(150, 6000)}[kind])
        eqs.append((kind, round(f0, 1), round(float(rng.uniform(-9, 6)), 2), round(float(rng.uniform(0.5, 2.0)), 2)))
    n_eq = int(rng.integers(1, 4))
    comp = (round(float(rng.uniform(-30, -10)), 1), round(float(rng.uniform(2, 8)), 1))
    snr = float(rng.uniform(25, 60))
    gain = float(rng.uniform(-20, 0))
    ratio = float(rng.uniform(*(cfg.backing_ratio_db if cfg else (0, 12))))
    backing_seed = int(rng.integers(2**31))
    if cfg is None or not cfg.any:
        return s
    on = {e: bool(getattr(cfg, e)) and u[i] < cfg.prob for i, e in enumerate(EFFECTS)}
    if on["reverb"]:
        s["reverb_rt60"], s["reverb_wet_db"] = round(rt60, 3), round(wet, 2)
    if on["eq"]:
        s["eq"] = ";".join(f"{k}:{f}:{g}:{q}" for k, f, g, q in eqs[:n_eq])
    if on["compress"]:
        s["compressor"] = f"{comp[0]}:{comp[1]}"
    if on["noise"]:
        s["noise_snr_db"] = round(snr, 2)
    if on["level"]:
        s["gain_db"] = round(gain, 2)
    if on["backing"]:
        s["backing_ratio_db"] = round(ratio, 2)
        s["backing"] = backing_seed
    return s


# ------------------------------------------------------------------ effects
def reverb(x: np.ndarray, rt60: float, wet_db: float, rng: np.random.Generator) -> np.ndarray:
    """Synthetic room: exponentially decaying noise IR (direct path at t=0 untouched)."""
    from scipy.signal import fftconvolve

    n = int(min(rt60 * 1.2, 2.5) * SR)
    t = np.arange(n) / SR
    pre = int(rng.uniform(0.003, 0.02) * SR)
    decay = np.exp(-6.9078 * t / rt60)  # -60 dB at rt60
    ch = x.shape[1]
    ir = rng.standard_normal((n, ch)).astype(np.float32) * decay[:, None]
    # darker tail: one-pole lowpass on the IR
    from scipy.signal import lfilter

    a = float(rng.uniform(0.2, 0.7))
    ir = lfilter([1 - a], [1, -a], ir, axis=0)
    ir[:pre] = 0
    ir /= np.sqrt((ir**2).sum(axis=0, keepdims=True)) + 1e-12
    wet = np.stack([fftconvolve(x[:, c], ir[:, c])[: len(x)] for c in range(ch)], axis=1)
    return (x + 10 ** (wet_db / 20) * wet * 3.0).astype(np.float32)


def _biquad(kind: str, f0: float, gain_db: float, q: float):
    """RBJ cookbook biquad -> (b, a)."""
    A = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / SR
    cw, sw = np.cos(w0), np.sin(w0)
    alpha = sw / (2 * q)
    if kind == "peak":
        b = [1 + alpha * A, -2 * cw, 1 - alpha * A]
        a = [1 + alpha / A, -2 * cw, 1 - alpha / A]
    else:
        sA = 2 * np.sqrt(A) * alpha
        if kind == "low_shelf":
            b = [A * ((A + 1) - (A - 1) * cw + sA), 2 * A * ((A - 1) - (A + 1) * cw), A * ((A + 1) - (A - 1) * cw - sA)]
            a = [(A + 1) + (A - 1) * cw + sA, -2 * ((A - 1) + (A + 1) * cw), (A + 1) + (A - 1) * cw - sA]
        else:
            b = [A * ((A + 1) + (A - 1) * cw + sA), -2 * A * ((A - 1) + (A + 1) * cw), A * ((A + 1) + (A - 1) * cw - sA)]
            a = [(A + 1) - (A - 1) * cw + sA, 2 * ((A - 1) - (A + 1) * cw), (A + 1) - (A - 1) * cw - sA]
    return np.array(b) / a[0], np.array(a) / a[0]


def eq(x: np.ndarray, spec: str) -> np.ndarray:
    from scipy.signal import sosfilt

    sos = []
    for item in spec.split(";"):
        kind, f0, g, q = item.split(":")
        b, a = _biquad(kind, float(f0), float(g), float(q))
        sos.append(np.concatenate([b, a]))
    sos = np.array(sos)
    return np.stack([sosfilt(sos, np.ascontiguousarray(x[:, c], dtype=np.float64)) for c in range(x.shape[1])], axis=1).astype(np.float32)


def compress(x: np.ndarray, spec: str) -> np.ndarray:
    """Feed-forward RMS compressor; causal envelope (transients pass, like a real one)."""
    from scipy.signal import lfilter

    thr_db, ratio = (float(v) for v in spec.split(":"))
    mono = (x**2).mean(axis=1)
    a = np.exp(-1 / (0.010 * SR))
    env = np.sqrt(lfilter([1 - a], [1, -a], mono) + 1e-12)
    peak = np.sqrt(mono.max()) + 1e-9
    lvl = 20 * np.log10(env / peak + 1e-9)
    over = np.maximum(lvl - thr_db, 0)
    gr = -over * (1 - 1 / ratio)
    r = np.exp(-1 / (0.05 * SR))
    gr = lfilter([1 - r], [1, -r], gr)
    g = 10 ** (gr / 20)
    makeup = 10 ** (-np.percentile(gr, 90) / 40)
    return (x * (g * makeup)[:, None]).astype(np.float32)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import lfilter

    n = rng.standard_normal(x.shape).astype(np.float32)
    if rng.random() < 0.5:  # pinkish
        n = lfilter([0.05], [1, -0.95], n, axis=0).astype(np.float32)
    rms_x = np.sqrt((x**2).mean()) + 1e-9
    rms_n = np.sqrt((n**2).mean()) + 1e-9
    return x + n * (rms_x / rms_n) * 10 ** (-snr_db / 20)


# ------------------------------------------------------------------ backing track
PROGRESSIONS = [
    [0, 7, 9, 5], [0, 5, 7, 5], [2, 7, 0, 0], [9, 5, 0, 7], [0, 0, 5, 5, 0, 0, 7, 5],
    [0, 9, 5, 7], [0, 3, 8, 10], [0, 10, 8, 7], [0, 5, 10, 3],
]


def _backing_synth(soundfont: str):
    """A fresh synth per render (~0.15 s to load FluidR3): a reused one is not
    bit-reproducible, a fresh one is."""
    import fluidsynth

    synth = fluidsynth.Synth(gain=0.5, samplerate=float(SR), **{"synth.reverb.active": 0, "synth.chorus.active": 0})
    return synth, synth.sfload(soundfont)


def backing_track(n_samples: int, bpm: float, lead_in: float, seed: int, channels: int, soundfont=None) -> np.ndarray:
    """Bass + keys/guitar + pad following a random chord progression at ``bpm``.

    ``soundfont``: a path, or None to pick one of ``backing_soundfonts`` by ``seed``.
    """
    from .kits import backing_soundfonts, check_path

    rng = np.random.default_rng(seed)
    if soundfont is None:
        sfs = backing_soundfonts()
        w = np.array(list(sfs.values()))
        soundfont = list(sfs)[int(rng.choice(len(sfs), p=w / w.sum()))]
    check_path(soundfont)
    synth, sfid = _backing_synth(str(soundfont))
    try:
        bass_p = int(rng.choice([32, 33, 34, 35, 36, 38, 39]))
        keys_p = int(rng.choice([0, 1, 2, 4, 5, 6, 16, 17, 18, 24, 25, 26, 27, 29, 11, 12]))
        pad_p = int(rng.choice([48, 49, 50, 52, 88, 89, 90, 91, 92, 94, 19, 61]))
        for ch, prog in ((0, bass_p), (1, keys_p), (2, pad_p)):
            synth.program_select(ch, sfid, 0, prog)
        use_pad = rng.random() < 0.7
        use_keys = rng.random() < 0.85
        root = int(rng.integers(0, 12))
        minor = rng.random() < 0.4
        prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
        spb = 60.0 / bpm
        bars_per_chord = 1 if bpm < 150 else 2
        events = []  # (time, kind, ch, note, vel)
        t_end = n_samples / SR
        bar = 0
        bass_rhythm = [[0, 2], [0, 1.5, 2, 3.5], [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5], [0, 2.5, 3]][int(rng.integers(4))]
        keys_rhythm = [[0], [1, 3], [0, 1.5, 3], [0.5, 1.5, 2.5, 3.5], [0, 2]][int(rng.integers(5))]
        while lead_in + bar * 4 * spb < t_end:
            deg = prog[(bar // bars_per_chord) % len(prog)]
            third = 3 if (minor and deg in (0, 5, 7)) or deg in (2, 9, 4) else 4
            chord = [root + deg, root + deg + third, root + deg + 7]
            t0 = lead_in + bar * 4 * spb
            for b in bass_rhythm:
                n = 36 + (root + deg) % 12 + (7 if rng.random() < 0.2 else 0)
                events.append((t0 + b * spb, 1, 0, n, int(rng.integers(80, 110))))
                events.append((t0 + (b + 0.45) * spb, 0, 0, n, 0))
            if use_keys:
                for b in keys_rhythm:
                    for n in chord:
                        events.append((t0 + b * spb, 1, 1, 60 + n % 12, int(rng.integers(60, 95))))
                        events.append((t0 + (b + 0.8) * spb, 0, 1, 60 + n % 12, 0))
            if use_pad and bar % bars_per_chord == 0:
                for n in chord:
                    events.append((t0, 1, 2, 55 + n % 12, int(rng.integers(50, 80))))
                    events.append((t0 + 4 * bars_per_chord * spb - 0.05, 0, 2, 55 + n % 12, 0))
            bar += 1
        events.sort(key=lambda e: (e[0], e[1]))
        # event times on fluidsynth's 64-frame block grid: every render starts on a
        # block boundary, so a reused synth gives identical output for a given seed
        out, pos = [], 0
        n_total = -(-n_samples // 64) * 64
        for t, on, ch, note, vel in events:
            s = min(n_total, int(round(t * SR / 64)) * 64)
            if s > pos:
                out.append(_synth_float(synth, s - pos))
                pos = s
            if on:
                synth.noteon(ch, note, vel)
            else:
                synth.noteoff(ch, note)
        if pos < n_total:
            out.append(_synth_float(synth, n_total - pos))
        y = np.concatenate(out)[:n_samples] if out else np.zeros((n_samples, 2), np.float32)
    finally:
        synth.delete()
    if channels == 1:
        y = y.mean(axis=1, keepdims=True)
    return y.astype(np.float32)


def _rms(x):
    e = (x**2).mean(axis=1)
    e = e[e > e.max() * 1e-4] if e.size and e.max() > 0 else e
    return float(np.sqrt(e.mean())) if e.size else 0.0


def apply(x: np.ndarray, s: dict, rng: np.random.Generator, bpm: float, lead_in: float, backing_ok: bool = True) -> np.ndarray:
    """Apply the effects named in settings ``s`` (from :func:`draw_settings`)."""
    if s.get("eq"):
        x = eq(x, s["eq"])
    if s.get("reverb_rt60", "") != "":
        x = reverb(x, float(s["reverb_rt60"]), float(s["reverb_wet_db"]), rng)
    if s.get("compressor"):
        x = compress(x, s["compressor"])
    if s.get("backing", "") != "" and backing_ok:
        b = backing_track(len(x), bpm, lead_in, int(s["backing"]), x.shape[1])
        rb, rx = _rms(b), _rms(x)
        if rb > 0:
            x = x + b * (rx / rb) * 10 ** (-float(s["backing_ratio_db"]) / 20)
    if s.get("noise_snr_db", "") != "":
        x = add_noise(x, float(s["noise_snr_db"]), rng)
    return x
