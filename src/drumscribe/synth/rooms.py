"""Rooms: the space around the drums (a synthesised room, a real impulse response) and mic bleed.

:func:`reverb` convolves with a synthesised room impulse response of varied size (booth .. church,
:data:`ROOMS`); :func:`ir_reverb` with a real IR of the ``--kit-dir`` folders (:func:`draw_ir` picks
one and its wet level, pre-delay, highpass and decay trimming); :func:`bleed` sums close-mic stems
with each leaking into the others.  Onsets never move: every added copy arrives after the direct
sound and every filter is causal.  float32 ``(n, channels)`` throughout.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from drumscribe.synth.chain import rms, sos_filter
from drumscribe.synth.constants import SR
from drumscribe.synth.kits import check_path, real_irs

# room sizes: RT60 range (s), pre-delay range (ms), span of the early reflections (ms)
ROOMS = {
    "booth": ((0.08, 0.25), (1, 4), 8),
    "room": ((0.25, 0.6), (2, 8), 20),
    "studio": ((0.4, 1.0), (4, 12), 35),
    "hall": ((1.0, 2.2), (8, 25), 60),
    "church": ((2.0, 3.5), (15, 40), 90),
}
ROOM_WEIGHTS = (0.2, 0.3, 0.25, 0.17, 0.08)
BLEED_GROUPS = ("kick", "snare", "hihat", "toms", "cymbals")  # close mics (stems) that bleed into each other


def _shift_add(out: np.ndarray, x: np.ndarray, delay: int, gain: float) -> None:
    if delay < len(out):
        out[delay:] += gain * x[: len(out) - delay]



def bleed(stems: dict, level_db: float, rng: np.random.Generator) -> np.ndarray:
    """Sum close-mic stems with mic bleed: each stem also reaches every other close mic.

    ``stems``: {group: (n, ch) float32}.  Each stem leaks into each other mic at
    ``level_db`` +-(-6..+3) dB, 0.5-6 ms later (the mic distance), random polarity,
    lowpassed (the far side of the drum).  The sum of all leaks goes through one
    2nd-order lowpass at 3-9 kHz.
    """
    from scipy.signal import butter

    keys = [k for k in BLEED_GROUPS if k in stems]
    direct = sum(stems[k] for k in keys)
    leak = np.zeros_like(direct)
    for k in keys:
        for other in keys:
            if other == k:
                continue
            g = 10 ** ((level_db + rng.uniform(-6, 3)) / 20) * (1 if rng.random() < 0.7 else -1)
            _shift_add(leak, stems[k], int(rng.uniform(0.0005, 0.006) * SR), float(g))
    sos = butter(2, float(rng.uniform(3000, 9000)), fs=SR, output="sos")
    return (direct + sos_filter(sos, leak)).astype(np.float32)


def room_ir(room: str, rt60: float, seed: int, channels: int) -> np.ndarray:
    """A synthesised room impulse response (no direct path): sparse early
    reflections after a pre-delay, then a diffuse tail whose highs decay faster
    (two bands, RT60 x 1-1.4 below 1.5 kHz, x 0.35-0.8 above); stereo IRs are
    decorrelated.  Unit energy per channel; (n, channels) float32."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    _, (pd_lo, pd_hi), er_span = ROOMS[room]
    pre = int(rng.uniform(pd_lo, pd_hi) * 1e-3 * SR)
    n = pre + int(min(1.1 * rt60, 3.0) * SR)
    ir = np.zeros((n, channels), np.float32)
    n_er = int(rng.integers(6, 18))
    for c in range(channels):
        for _ in range(n_er):
            t = pre + int(rng.uniform(0, er_span) * 1e-3 * SR)
            ir[t, c] += rng.uniform(0.2, 1.0) * (1 if rng.random() < 0.5 else -1) / (1 + (t - pre) / (0.01 * SR))
    t0 = pre + int(rng.uniform(0.3, 0.7) * er_span * 1e-3 * SR)
    tt = np.arange(n - t0, dtype=np.float32) / SR
    noise = rng.standard_normal((n - t0, channels)).astype(np.float32)
    split = butter(2, 1500, fs=SR, output="sos")
    low = sosfilt(split, noise, axis=0)
    high = noise - low
    rt_lo, rt_hi = rt60 * rng.uniform(1.0, 1.4), rt60 * rng.uniform(0.35, 0.8)
    onset = np.minimum(1.0, tt / 0.01)[:, None]  # tail builds up over 10 ms
    tail = (low * np.exp(-6.9078 * tt / rt_lo)[:, None] + high * np.exp(-6.9078 * tt / rt_hi)[:, None]) * onset
    er_e = float((ir**2).sum()) / channels
    tail *= np.sqrt(max(er_e, 1e-6) * rng.uniform(1.5, 6.0) / ((tail**2).sum() / channels + 1e-12))
    ir[t0:] += tail.astype(np.float32)
    ir /= np.sqrt((ir**2).sum(axis=0, keepdims=True)) + 1e-12
    return ir


def reverb(x: np.ndarray, room: str, rt60: float, wet_db: float, seed: int, send: np.ndarray | None = None) -> np.ndarray:
    """``x`` + room(``x`` (+ ``send``)) at ``wet_db``; FFT overlap-add convolution (float32)."""
    from scipy.signal import oaconvolve

    ir = room_ir(room, rt60, seed, x.shape[1])
    src = x if send is None else x + send
    wet = oaconvolve(src, ir, axes=0)[: len(x)].astype(np.float32)
    return x + np.float32(10 ** (wet_db / 20) * 3.0) * wet


# ------------------------------------------------------------------ real impulse responses
IR_WET_DB = (-20.0, -3.0)  # wet level relative to the dry drums (energy-normalised IR)
IR_PREDELAY_MS = (1.0, 25.0)
IR_HIGHPASS_HZ = (40.0, 400.0)
IR_KEEP = (0.25, 1.0)  # share of the IR (to -60 dB) kept before a fade-out: decay trimming
IR_DIRECT_MS = 1.0  # the IR's direct sound (its first 1 ms from the main peak) is left out of the wet path


def draw_ir(rng: np.random.Generator, pool: str = "train") -> str:
    """``"name|wet_db|predelay_ms|highpass_hz|keep"`` for a random real IR of ``pool`` (held-out kits:
    the held-out IRs only), or ``""`` when no kit folder with IRs is in use.  Always 5 draws."""
    irs = real_irs("heldout" if pool == "heldout" else "train")
    u = rng.random(5)
    if not irs:
        return ""
    name = irs[min(int(u[0] * len(irs)), len(irs) - 1)][0]
    lerp = lambda r, x: r[0] + (r[1] - r[0]) * x  # noqa: E731
    return (f"{name}|{lerp(IR_WET_DB, u[1]):.1f}|{lerp(IR_PREDELAY_MS, u[2]):.1f}|"
            f"{np.exp(lerp(np.log(IR_HIGHPASS_HZ), u[3])):.0f}|{lerp(IR_KEEP, u[4]):.2f}")


@lru_cache(maxsize=64)
def _ir_audio(name: str) -> np.ndarray:
    import soundfile as sf

    path = dict(real_irs("all")).get(name)
    if path is None:
        raise FileNotFoundError(f"impulse response {name!r} is not in the --kit-dir folders")
    x, sr = sf.read(str(check_path(path)), dtype="float32", always_2d=True)
    if sr != SR:
        import soxr

        x = soxr.resample(x, sr, SR).astype(np.float32)
    return x


def shaped_ir(spec: str, channels: int) -> tuple[np.ndarray, int]:
    """(IR for the wet path ``(n, channels)`` float32, pre-delay in samples) of an ``ir`` spec: the
    direct sound removed, high-passed, trimmed to ``keep`` of its -60 dB length with a fade-out,
    normalised to unit energy per channel."""
    from scipy.signal import butter

    name, wet, pre, hp, keep = spec.split("|")
    x = _ir_audio(name)
    env = np.abs(x).max(axis=1)
    peak = int(np.argmax(env))
    x = x[peak + int(IR_DIRECT_MS * 1e-3 * SR):]
    env = np.abs(x).max(axis=1)
    live = np.flatnonzero(env >= env.max() * 10 ** (-60 / 20)) if x.size else np.array([0])
    n = max(int(SR * 0.02), int((int(live[-1]) + 1) * float(keep)))
    x = np.array(x[:n])
    fade = n // 2
    x[n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None] ** 2
    x = sos_filter(butter(2, float(hp), "highpass", fs=SR, output="sos"), x)
    if channels == 1:
        x = x.mean(axis=1, keepdims=True)
    elif x.shape[1] == 1:
        x = np.repeat(x, 2, axis=1)
    else:
        x = x[:, :2]
    x = x / np.float32(np.sqrt((x ** 2).sum(axis=0, keepdims=True)) + 1e-9)
    return x.astype(np.float32), int(round(float(pre) * 1e-3 * SR))


def ir_reverb(x: np.ndarray, spec: str, send: np.ndarray | None = None) -> np.ndarray:
    """``x`` (the dry drums, kept) + its convolution with a real IR at ``wet`` dB after the
    pre-delay; ``send`` (the backing's share of the room) goes through the same IR.  Causal: every
    wet sample lies after the dry one, so onsets stay where they were."""
    from scipy.signal import oaconvolve

    ir, pre = shaped_ir(spec, x.shape[1])
    wet_db = float(spec.split("|")[1])
    src = x if send is None else x + send
    wet = np.zeros_like(x)
    for c in range(x.shape[1]):
        y = oaconvolve(src[:, c], ir[:, c])[: max(0, len(x) - pre)]
        wet[pre: pre + len(y), c] = y
    rw = rms(wet)
    g = np.float32(10 ** (wet_db / 20) * (rms(x) / (rw + 1e-12)) if rw > 0 else 0.0)
    return (x + wet * g).astype(np.float32)
