"""Procedural drum kits: every piece synthesised from randomised parameters.

One seed -> one kit, bit-identical on every run.  Pieces (all TD notes):

* kick 36: pitched sine with an exponential pitch drop and amplitude decay, plus a click;
* snare 38 / rim shot 40 / cross-stick 37: a tuned two-mode body plus band-passed noise
  (rim shot: brighter and louder body; cross-stick: short woody click);
* toms 48/45/43 (rims 50/47/58): pitched bodies with a pitch drop; the three pitches are
  drawn so that tom 1 > tom 2 > tom 3 always (a rim is its tom, brighter);
* hi-hat 42/22 closed, 46/26 open, 44 pedal: inharmonic square-wave partials (the 808
  recipe) plus high-passed noise, with short / long / chick envelopes;
* crash 49/55, 57/52, ride 51/59, bell 53: inharmonic partials plus noise with long decays
  (bell: few loud partials, ride: ping + wash).

Velocity layers differ in brightness (harder hits are brighter), as real drums do.
"""

from __future__ import annotations

import numpy as np

from drumscribe.synth.constants import SR

VELS = (0.35, 0.7, 1.0)


def _env(n: int, decay_s: float, attack_s: float = 0.0005) -> np.ndarray:
    t = np.arange(n) / SR
    e = np.exp(-t / max(decay_s, 1e-4))
    a = max(1, int(attack_s * SR))
    e[:a] *= np.linspace(0, 1, a)
    return e


def _lp(x: np.ndarray, cutoff: float) -> np.ndarray:
    """One-pole low-pass (cheap, causal)."""
    from scipy.signal import lfilter

    a = np.exp(-2 * np.pi * min(cutoff, 0.45 * SR) / SR)
    return lfilter([1 - a], [1, -a], x)


def _hp(x: np.ndarray, cutoff: float) -> np.ndarray:
    return x - _lp(x, cutoff)


def _bp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return _hp(_lp(x, hi), lo)


def _sweep(n: int, f0: float, f1: float, tau: float) -> np.ndarray:
    t = np.arange(n) / SR
    f = f1 + (f0 - f1) * np.exp(-t / tau)
    return np.sin(2 * np.pi * np.cumsum(f) / SR)


def _kick(p, vel, rng):
    n = int(p["k_len"] * SR)
    body = _sweep(n, p["k_f0"] * (1 + 0.3 * vel), p["k_f1"], p["k_tau"]) * _env(n, p["k_decay"])
    click = _hp(rng.standard_normal(n), 1500) * _env(n, 0.004) * p["k_click"] * vel
    return body + click


def _snare(p, vel, rng, kind="head"):
    n = int(p["s_len"] * SR)
    t = np.arange(n) / SR
    f = p["s_f"]
    body = (np.sin(2 * np.pi * f * t) + 0.6 * np.sin(2 * np.pi * f * 1.59 * t)) * _env(n, p["s_body_decay"])
    noise = _bp(rng.standard_normal(n), p["s_lo"], p["s_hi"] * (0.6 + 0.4 * vel)) * _env(n, p["s_decay"])
    if kind == "cross-stick":
        m = int(0.12 * SR)
        click = _bp(rng.standard_normal(m), 800, 6000) * _env(m, 0.006)
        wood = np.sin(2 * np.pi * p["s_stick"] * np.arange(m) / SR) * _env(m, 0.02)
        return 0.6 * click + wood
    if kind == "rim shot":
        return 1.3 * body + p["s_snappy"] * 1.2 * noise + 0.5 * _hp(rng.standard_normal(n), 3000) * _env(n, 0.01)
    return body + p["s_snappy"] * noise


def _tom(p, f, vel, rng, rim=False):
    n = int(p["t_len"] * SR)
    body = _sweep(n, f * p["t_bend"], f, 0.05) * _env(n, p["t_decay"] * 220 / f)
    body += 0.3 * _sweep(n, f * 1.5 * p["t_bend"], f * 1.5, 0.05) * _env(n, p["t_decay"] * 100 / f)
    stick = _hp(rng.standard_normal(n), 2000) * _env(n, 0.003) * 0.4 * vel
    out = body + stick
    if rim:
        out = out + 0.6 * _hp(rng.standard_normal(n), 2500) * _env(n, 0.006)
    return out


def _metal(p, n, freqs, rng, decay, hp_cut, noise_amt, vel):
    t = np.arange(n) / SR
    tone = np.zeros(n)
    for f in freqs:
        tone += np.sign(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)))
    tone = _hp(tone / len(freqs), hp_cut)
    noise = _hp(rng.standard_normal(n), hp_cut * 1.2)
    bright = 0.5 + 0.5 * vel
    return (tone * (1 - noise_amt) + noise * noise_amt * bright) * _env(n, decay)


def _hat(p, vel, rng, kind):
    if kind == "pedal":
        n, decay = int(0.15 * SR), p["h_closed"] * 0.7
    elif kind == "open":
        n, decay = int(1.2 * SR), p["h_open"]
    else:
        n, decay = int(0.3 * SR), p["h_closed"]
    y = _metal(p, n, p["h_freqs"], rng, decay, p["h_hp"], p["h_noise"], vel)
    if kind == "edge":
        y = y * 1.2
    if kind == "pedal":
        y = 0.5 * y + 0.2 * _lp(rng.standard_normal(n), 400) * _env(n, 0.01)
    return y


def _cymbal(p, vel, rng, kind):
    if kind == "bell":
        n = int(2.0 * SR)
        t = np.arange(n) / SR
        y = sum(np.sin(2 * np.pi * f * t) * _env(n, p["r_decay"] * 0.5) for f in p["b_freqs"])
        return y / len(p["b_freqs"]) + 0.1 * _metal(p, n, p["r_freqs"], rng, 0.3, 3000, 0.5, vel)
    if kind.startswith("ride"):
        n = int(2.5 * SR)
        ping = _metal(p, n, p["r_freqs"], rng, 0.08, 2500, 0.3, vel)
        wash = _metal(p, n, p["r_freqs"], rng, p["r_decay"], 4000, 0.7, vel) * 0.35
        return ping + wash * (1.3 if kind == "ride edge" else 1.0)
    second = kind.startswith("crash 2")
    freqs = p["c2_freqs"] if second else p["c_freqs"]
    decay = p["c_decay"] * (1.25 if second else 1.0)
    n = int(min(4.0, decay * 4) * SR)
    y = _metal(p, n, freqs, rng, decay, p["c_hp"], 0.75, vel)
    return y * (1.15 if kind.endswith("edge") else 1.0)


def kit_params(seed: int) -> dict:
    r = np.random.default_rng([seed, 90210])
    tom_hi = float(r.uniform(170, 330))
    ratio1, ratio2 = float(r.uniform(1.18, 1.5)), float(r.uniform(1.18, 1.6))  # > 1: strict order
    return {
        "k_f0": float(r.uniform(110, 260)), "k_f1": float(r.uniform(38, 70)), "k_tau": float(r.uniform(0.01, 0.06)),
        "k_decay": float(r.uniform(0.12, 0.6)), "k_click": float(r.uniform(0.05, 0.6)), "k_len": 0.8,
        "s_f": float(r.uniform(150, 260)), "s_body_decay": float(r.uniform(0.03, 0.12)), "s_decay": float(r.uniform(0.08, 0.3)),
        "s_lo": float(r.uniform(800, 2500)), "s_hi": float(r.uniform(6000, 14000)), "s_snappy": float(r.uniform(0.5, 1.6)),
        "s_stick": float(r.uniform(500, 1200)), "s_len": 0.6,
        "toms": (tom_hi, tom_hi / ratio1, tom_hi / ratio1 / ratio2),
        "t_bend": float(r.uniform(1.05, 1.5)), "t_decay": float(r.uniform(0.15, 0.5)), "t_len": 1.2,
        "h_freqs": tuple(float(f) for f in r.uniform(200, 600) * np.array([1.0, 1.342, 1.2312, 1.6532, 1.9523, 2.1523])),
        "h_hp": float(r.uniform(5000, 9000)), "h_noise": float(r.uniform(0.3, 0.8)),
        "h_closed": float(r.uniform(0.02, 0.07)), "h_open": float(r.uniform(0.25, 0.6)),
        "c_freqs": tuple(float(f) for f in r.uniform(250, 500) * r.uniform(1.0, 3.5, 8)),
        "c2_freqs": tuple(float(f) for f in r.uniform(200, 450) * r.uniform(1.0, 3.5, 8)),
        "c_hp": float(r.uniform(2500, 5000)), "c_decay": float(r.uniform(0.6, 1.4)),
        "r_freqs": tuple(float(f) for f in r.uniform(300, 600) * r.uniform(1.0, 4.0, 6)),
        "r_decay": float(r.uniform(0.8, 1.8)),
        "b_freqs": tuple(float(f) for f in r.uniform(700, 1400) * np.array([1.0, 2.41, 3.76])),
    }


def _piece(p: dict, note: int, vel: float, rng) -> np.ndarray:
    from drumscribe.core.drums import TD_NOTES, TOM_CLASSES

    cls, art = TD_NOTES[note]
    if cls == "kick":
        return _kick(p, vel, rng)
    if cls == "snare":
        return _snare(p, vel, rng, art)
    if cls in TOM_CLASSES:
        f = p["toms"][TOM_CLASSES.index(cls)]
        return _tom(p, f, vel, rng, rim=art.endswith("rim"))
    if cls == "hihat":
        kind = "pedal" if art == "pedal" else "open" if art.startswith("open") else "edge" if art.endswith("edge") else "closed"
        return _hat(p, vel, rng, kind)
    if art == "ride bell":
        return _cymbal(p, vel, rng, "bell")
    return _cymbal(p, vel, rng, art)


def make_voices(seed: int) -> dict:
    """{TD note: [[(lo, hi, float32 mono audio)]]} for procedural kit ``seed`` (one variant, 3 layers)."""
    from drumscribe.core.drums import TD_NOTES

    p = kit_params(seed)
    voices = {}
    for note in sorted(TD_NOTES):
        layers = []
        edges = (0.0, 0.45, 0.8, 1.01)
        for i, vel in enumerate(VELS):
            rng = np.random.default_rng([seed, note, i])
            y = _piece(p, note, vel, rng)
            y = y / (np.abs(y).max() + 1e-9) * 0.8
            layers.append((edges[i], edges[i + 1], y.astype(np.float32)))
        voices[note] = [layers]
    return voices
