"""Realism: drums inside a song.

Drum-side effects (per file, each with probability ``prob`` when enabled):
mic bleed between pieces (``bleed``), channel EQ (``eq``), drum-bus compression
(``compress``), a synthesised room impulse response of varied size
(``reverb``: booth .. church).  Song-side: a backing track (``backing``: bass,
chords, lead line, distorted guitar, pad, a voice-like formant part; GM
soundfonts named in ``kits/soundfonts.yaml``, split by pool) at a drum-to-backing
RMS ratio from ``backing_ratio_db`` (default +12 .. -6 dB), noise (``noise``),
mastering (``master``: bus compression, BS.1770 loudness to -16..-7 LUFS,
look-ahead limiter), band limiting (``bandlimit``), a lossy-codec simulation
(``codec``: MDCT quantisation with spectral holes and a 11-16 kHz lowpass) and
an output level (``level``).

With ``full_mix`` set, each file is a full mix (backing + master + codec, as
enabled) with that probability, and clean (none of the three) otherwise.

Onsets never move: every filter is causal, every added copy (bleed, room,
reflections) arrives after the direct sound, gain computers are causal except
the limiter's 1.5 ms look-ahead (which only lowers the gain), and the codec's
short MDCT frames (256-sample hop) keep pre-echo under 6 ms.  Everything random
is drawn in :func:`draw_settings` (the same number of draws whatever is
enabled) or from seeds recorded there, so results are identical for any worker
count; the settings go to the CSV.  Audio is float32 throughout.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import numpy as np

from drumscribe.dataset.index import DRUMLESS_MIX_MODE
from drumscribe.synth.constants import SR
from drumscribe.synth._fluid import synth_float as _synth_float

EFFECTS = ("reverb", "eq", "compress", "noise", "level", "backing", "bleed", "master", "bandlimit", "codec")  # first six: the originals
FULL_MIX = ("backing", "master", "codec")  # what ``full_mix`` switches on together


@dataclass
class Realism:
    reverb: bool = False
    eq: bool = False
    compress: bool = False
    noise: bool = False
    level: bool = False
    backing: bool = False
    bleed: bool = False
    master: bool = False
    bandlimit: bool = False
    codec: bool = False
    prob: float = 0.75  # chance that an enabled effect is applied to a file
    backing_ratio_db: tuple = (-6.0, 12.0)  # drum-to-backing RMS ratio range, dB
    full_mix: float | None = None  # chance that a file is a full mix (backing+master+codec); None: each by ``prob``
    real_ir: float = 0.6  # chance that a reverberated file uses a real impulse response (when --kit-dir has IRs)
    real_instruments: float = 0.5  # chance that a backing has real recorded instrument parts (when installed)
    multitrack_sum: float = 0.0  # chance that a backing file is an unmastered multitrack sum (parts ~ as loud as the drums)
    backing_only: float = 0.0  # chance that a backing file has no drums at all (empty truth)

    @classmethod
    def all(cls, **kw) -> "Realism":
        return cls(**{e: True for e in EFFECTS}, **kw)

    @property
    def any(self) -> bool:
        return any(getattr(self, e) for e in EFFECTS)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


COLUMNS = ("reverb_rt60", "reverb_wet_db", "room", "eq", "compressor", "bleed_db", "noise_snr_db", "gain_db",
           "backing_ratio_db", "backing", "backing_sf", "backing_parts", "master", "bandlimit", "codec",
           "ir", "real_parts", "mix_mode")
MIX_MODES = ("song", "multitrack_sum", DRUMLESS_MIX_MODE)  # what a file with backing is (column mix_mode)

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


# ------------------------------------------------------------------ choices
def draw_settings(cfg: Realism | None, rng: np.random.Generator, pool: str = "train",
                  rng2: np.random.Generator | None = None, rng3: np.random.Generator | None = None) -> dict:
    """Random settings for one file (all draws made, so skipping is deterministic).

    ``pool``: the kit pool of the rendering; the backing soundfont comes from the
    same pool.  ``rng`` makes the draws of the original six effects (exactly as
    many as before, so dry renderings are unchanged); ``rng2`` those added since
    (room, bleed, master, band limit, codec, full mix; default: ``rng``); ``rng3`` those of the
    real recordings (impulse response, real instrument parts, mix mode; default: ``rng2``).
    """
    rng2 = rng if rng2 is None else rng2
    rng3 = rng2 if rng3 is None else rng3
    s = {c: "" for c in COLUMNS}
    u = np.concatenate([rng.random(6), rng2.random(len(EFFECTS) - 6)])  # EFFECTS order
    rng.uniform(0.15, 2.0)  # (was the RT60; kept so the draws that follow are unchanged)
    wet = float(rng.uniform(-22, -6))
    eqs = []
    for _ in range(3):
        kind = str(rng.choice(["low_shelf", "high_shelf", "peak"]))
        f0 = float({"low_shelf": rng.uniform(60, 300), "high_shelf": rng.uniform(2500, 10000), "peak": rng.uniform(150, 6000)}[kind])
        eqs.append((kind, round(f0, 1), round(float(rng.uniform(-9, 6)), 2), round(float(rng.uniform(0.5, 2.0)), 2)))
    n_eq = int(rng.integers(1, 4))
    comp = (round(float(rng.uniform(-30, -10)), 1), round(float(rng.uniform(2, 8)), 1))
    snr = float(rng.uniform(25, 60))
    gain = float(rng.uniform(-20, 0))
    ratio = float(rng.uniform(*(cfg.backing_ratio_db if cfg else (-6, 12))))
    backing_seed = int(rng.integers(2**31))
    u_full = float(rng2.random())
    room = str(rng2.choice(list(ROOMS), p=np.array(ROOM_WEIGHTS) / sum(ROOM_WEIGHTS)))
    rt60 = float(rng2.uniform(*ROOMS[room][0]))
    room_seed = int(rng2.integers(2**31))
    bleed = float(rng2.uniform(-32, -14))
    master = (round(float(rng2.uniform(-24, -10)), 1), round(float(rng2.uniform(1.5, 4)), 1),
              round(float(rng2.uniform(-16, -7)), 1), round(float(rng2.uniform(-1.0, -0.1)), 2))
    band = (round(float(np.exp(rng2.uniform(np.log(20), np.log(150)))), 1), round(float(rng2.uniform(6000, 16000)), 0))
    codec = (round(float(rng2.uniform(11000, 16000)), 0), round(float(rng2.uniform(6, 20)), 1), int(rng2.integers(2**31)))
    u_ir, ir_draw = float(rng3.random()), draw_ir(rng3, pool)
    u_real, real_seed = float(rng3.random()), int(rng3.integers(2**31))
    u_mode, sum_jitter = float(rng3.random()), float(rng3.uniform(-2.0, 2.0))
    if cfg is None or not cfg.any:
        return s
    on = {e: bool(getattr(cfg, e)) and u[i] < cfg.prob for i, e in enumerate(EFFECTS)}
    if cfg.full_mix is not None:
        full = u_full < cfg.full_mix
        on["backing"] = cfg.backing and full
        on["master"] = cfg.master and full
        on["codec"] = cfg.codec and full and u[EFFECTS.index("codec")] < cfg.prob
    if on["reverb"] and ir_draw and u_ir < cfg.real_ir:
        s["ir"] = ir_draw
    elif on["reverb"]:
        s["reverb_rt60"], s["reverb_wet_db"], s["room"] = round(rt60, 3), round(wet, 2), f"{room}:{room_seed}"
    if on["eq"]:
        s["eq"] = ";".join(f"{k}:{f}:{g}:{q}" for k, f, g, q in eqs[:n_eq])
    if on["compress"]:
        s["compressor"] = f"{comp[0]}:{comp[1]}"
    if on["bleed"]:
        s["bleed_db"] = round(bleed, 2)
    if on["noise"]:
        s["noise_snr_db"] = round(snr, 2)
    if on["level"]:
        s["gain_db"] = round(gain, 2)
    if on["backing"]:
        plan = backing_plan(backing_seed, pool)
        if plan is not None:
            s["backing_ratio_db"] = round(ratio, 2)
            s["backing"] = backing_seed
            s["backing_sf"] = Path(plan["soundfont"]).name
            s["backing_parts"] = ";".join(f"{k}={v}" for k, v in plan["programs"].items())
            if u_real < cfg.real_instruments:
                s["real_parts"] = real_parts_spec(real_seed, pool)
            s["mix_mode"] = (DRUMLESS_MIX_MODE if u_mode < cfg.backing_only else
                             "multitrack_sum" if u_mode < cfg.backing_only + cfg.multitrack_sum else "song")
            if s["mix_mode"] == "multitrack_sum":  # raw parts summed: no bus processing, no codec
                on["master"] = on["codec"] = on["compress"] = False
                s["compressor"] = ""
                # every part about as loud as the drums: drums / (n uncorrelated parts) = -10 log10(n) dB
                n_parts = len(plan["programs"]) + (len(s["real_parts"].split(":")[0].split(";")) if s["real_parts"] else 0)
                s["backing_ratio_db"] = round(-10 * np.log10(max(n_parts, 1)) + sum_jitter, 2)
    if on["master"]:
        s["master"] = "comp:{}:{};lufs:{};ceil:{}".format(*master)
    if on["bandlimit"]:
        s["bandlimit"] = f"{band[0]}:{band[1]:.0f}"
    if on["codec"]:
        s["codec"] = f"mdct:{codec[0]:.0f}:{codec[1]}:{codec[2]}"
    return s


# ------------------------------------------------------------------ real impulse responses
IR_WET_DB = (-20.0, -3.0)  # wet level relative to the dry drums (energy-normalised IR)
IR_PREDELAY_MS = (1.0, 25.0)
IR_HIGHPASS_HZ = (40.0, 400.0)
IR_KEEP = (0.25, 1.0)  # share of the IR (to -60 dB) kept before a fade-out: decay trimming
IR_DIRECT_MS = 1.0  # the IR's direct sound (its first 1 ms from the main peak) is left out of the wet path


def draw_ir(rng: np.random.Generator, pool: str = "train") -> str:
    """``"name|wet_db|predelay_ms|highpass_hz|keep"`` for a random real IR of ``pool`` (held-out kits:
    the held-out IRs only), or ``""`` when no kit folder with IRs is in use.  Always 5 draws."""
    from drumscribe.synth.kits import real_irs

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

    from drumscribe.synth.kits import check_path, real_irs

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
    x = _sosfilt(butter(2, float(hp), "highpass", fs=SR, output="sos"), x)
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
    rw = _rms(wet)
    g = np.float32(10 ** (wet_db / 20) * (_rms(x) / (rw + 1e-12)) if rw > 0 else 0.0)
    return (x + wet * g).astype(np.float32)


# ------------------------------------------------------------------ real instruments in the backing
def _instrument_root() -> Path:
    import os

    return Path(os.environ.get("DRUMSCRIBE_INSTRUMENTS", Path.home() / ".cache" / "drumscribe" / "instruments"))


@lru_cache(maxsize=1)
def real_instruments() -> dict:
    """{name: folder} of the real backing instruments installed here (``kits/instruments.yaml``)."""
    from drumscribe.synth.kits import _load_yaml, check_path

    out = {}
    for name, spec in _load_yaml("instruments.yaml")["instruments"].items():
        p = Path(spec["path"])
        p = p if p.is_absolute() else _instrument_root() / p
        if check_path(p).is_dir():
            out[name] = str(p)
    return out


def real_parts_spec(seed: int, pool: str = "train") -> str:
    """Which real instruments join a backing: ``"guitar_strums;piano:<seed>"`` (``""``: none installed)."""
    have = sorted(real_instruments())
    if not have:
        return ""
    rng = np.random.default_rng([seed, 2])
    pick = [h for h in have if rng.random() < 0.6] or [have[int(rng.integers(len(have)))]]
    return ";".join(pick) + f":{seed}"


NOTE_NAMES = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6, "G": 7,
              "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}


@lru_cache(maxsize=2)
def _strums(folder: str) -> dict:
    """{(pitch class, "major"|"minor"|"m7b5", stroke "full"|"down"|"up"): [stereo float32 at SR]}."""
    import re

    import soundfile as sf
    import soxr

    out: dict = {}
    for f in sorted(Path(folder).glob("*.flac")):
        m = re.match(r"([A-G])(sharp|flat)? ?(major|minor7b5|minro7b5|minor)(?:_(DOWN|UP|Down))?_\d+", f.stem)
        if not m:
            continue
        pc = (NOTE_NAMES[m.group(1)] + (1 if m.group(2) == "sharp" else -1 if m.group(2) == "flat" else 0)) % 12
        qual = {"major": "major", "minor": "minor"}.get(m.group(3), "m7b5")
        stroke = (m.group(4) or "full").lower()
        x, sr = sf.read(str(f), dtype="float32", always_2d=True)
        if sr != SR:
            x = soxr.resample(x, sr, SR).astype(np.float32)
        out.setdefault((pc, qual, stroke), []).append(x[:, :2] if x.shape[1] >= 2 else np.repeat(x, 2, axis=1))
    return out


@lru_cache(maxsize=2)
def _piano(folder: str) -> dict:
    """{MIDI note: stereo float32 at SR, at most 4 s} of the piano samples (``A0v10.ogg`` ...)."""
    import re

    import soundfile as sf
    import soxr

    out = {}
    for f in sorted(Path(folder).glob("*.ogg")):
        m = re.match(r"([A-G]#?)(\d)v\d+$", f.stem)
        if not m:
            continue
        note = 12 * (int(m.group(2)) + 1) + NOTE_NAMES[m.group(1)]
        x, sr = sf.read(str(f), dtype="float32", always_2d=True, frames=int(4.5 * 48000))
        if sr != SR:
            x = soxr.resample(x, sr, SR).astype(np.float32)
        x = x[: int(4 * SR)]
        x[-int(0.2 * SR):] *= np.linspace(1, 0, int(0.2 * SR), dtype=np.float32)[:, None]
        out[note] = x[:, :2] if x.shape[1] >= 2 else np.repeat(x, 2, axis=1)
    return out


def _place(out: np.ndarray, x: np.ndarray, pos: int, gain: float) -> None:
    if pos >= len(out) or pos < 0:
        return
    n = min(len(x), len(out) - pos)
    out[pos: pos + n] += x[:n] * np.float32(gain)


def real_parts(spec: str, n_samples: int, bpm: float, lead_in: float, key_seed: int) -> np.ndarray:
    """Real recorded parts of a backing, stereo ``(n_samples, 2)``: strummed acoustic guitar (down
    strokes on the beat, up strokes between, full strums on chord changes) and/or piano chords with
    a bass note, over a 4-chord progression in the key of the soundfont backing (``key_seed``)."""
    from drumscribe.synth.sampler import pitch_shift

    names, seed = spec.rsplit(":", 1)
    rng = np.random.default_rng([int(seed), 3])
    key = np.random.default_rng([key_seed, 1])
    root, minor = int(key.integers(0, 12)), bool(key.random() < 0.4)
    prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    spb = 60.0 / max(bpm, 30.0)
    have = real_instruments()
    out = np.zeros((n_samples, 2), np.float32)
    start = int(round(lead_in * SR))
    n_bars = int(np.ceil(max(0, n_samples - start) / (4 * spb * SR)))
    parts = [p for p in names.split(";") if p in have]
    for part in parts:
        level = float(rng.uniform(0.5, 1.0))
        rhythm = [[0, 1, 2, 3], [0, 1.5, 2, 3, 3.5], [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5], [0, 2], [0, 1.5, 3]][int(rng.integers(5))]
        plays = rng.random(max(n_bars, 1)) < 0.85  # rests in some bars
        for bar in range(n_bars):
            if not plays[bar]:
                continue
            deg = prog[bar % len(prog)]
            third = 3 if (minor and deg in (0, 5, 7)) or deg in (2, 9, 4) else 4
            pc = (root + deg) % 12
            t0 = start + int(bar * 4 * spb * SR)
            for i, b in enumerate(rhythm):
                pos = t0 + int(b * spb * SR)
                vel = float(rng.uniform(0.6, 1.0)) * (1.0 if b == int(b) else 0.7)
                if part == "guitar_strums":
                    shots = _strums(have[part])
                    qual = "minor" if third == 3 else "major"
                    stroke = "full" if i == 0 else ("down" if b == int(b) else "up")
                    cands = shots.get((pc, qual, stroke)) or shots.get((pc, qual, "full")) or shots.get((pc, "major", "full"))
                    if cands:
                        _place(out, cands[int(rng.integers(len(cands)))], pos, level * vel)
                else:
                    shots = _piano(have[part])
                    notes = sorted(shots)
                    for n in (36 + pc, 60 + pc, 60 + pc + third, 60 + pc + 7):
                        src = min(notes, key=lambda k: (abs(k - n), k))
                        x = shots[src] if src == n else pitch_shift(shots[src], n - src)
                        _place(out, x, pos, level * vel * (0.8 if n < 48 else 0.5))
    return out


# ------------------------------------------------------------------ small helpers
def _sosfilt(sos, x: np.ndarray) -> np.ndarray:
    from scipy.signal import sosfilt

    return sosfilt(np.asarray(sos, np.float64), x, axis=0).astype(np.float32)


def _shift_add(out: np.ndarray, x: np.ndarray, delay: int, gain: float) -> None:
    if delay < len(out):
        out[delay:] += gain * x[: len(out) - delay]


def _block_env(x: np.ndarray, block: int) -> tuple[np.ndarray, int]:
    """Mean square per block of ``block`` samples (mono sum of channels)."""
    n = len(x)
    nb = -(-n // block)
    ms = np.zeros(nb * block, np.float32)
    ms[:n] = (x.astype(np.float32) ** 2).mean(axis=1)
    return ms.reshape(nb, block).mean(axis=1), nb


def _block_gain_to_samples(g: np.ndarray, block: int, n: int) -> np.ndarray:
    """Block gains -> per-sample gains, linear from each block start to the next."""
    g = np.asarray(g, np.float32)
    nxt = np.append(g[1:], g[-1:])
    ramp = np.arange(block, dtype=np.float32) / block
    return (g[:, None] + (nxt - g)[:, None] * ramp[None, :]).reshape(-1)[:n]


# ------------------------------------------------------------------ drum-side effects
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
    return (direct + _sosfilt(sos, leak)).astype(np.float32)


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
    sos = []
    for item in spec.split(";"):
        kind, f0, g, q = item.split(":")
        b, a = _biquad(kind, float(f0), float(g), float(q))
        sos.append(np.concatenate([b, a]))
    return _sosfilt(np.array(sos), x)


def compress(x: np.ndarray, spec: str, time_s: float = 0.010, release_s: float = 0.05) -> np.ndarray:
    """Feed-forward RMS compressor on 32-sample blocks, causal (a block's gain uses
    the level up to the block before it), so transients pass like a real one's.
    Threshold in dB below the loudest envelope value; makeup from the 90th
    percentile of the gain reduction."""
    from scipy.signal import lfilter

    thr_db, ratio = (float(v) for v in spec.split(":"))
    block = 32
    ms, nb = _block_env(x, block)
    a = np.exp(-block / (time_s * SR))
    env = np.sqrt(lfilter([1 - a], [1, -a], ms) + 1e-12)
    env = np.concatenate([[env[0]], env[:-1]])  # causal: the previous block's level
    lvl = 20 * np.log10(env / (env.max() + 1e-9) + 1e-9)
    gr = -np.maximum(lvl - thr_db, 0) * (1 - 1 / ratio)
    r = np.exp(-block / (release_s * SR))
    gr = lfilter([1 - r], [1, -r], gr)
    makeup = -np.percentile(gr, 90) / 2
    g = _block_gain_to_samples(10 ** ((gr + makeup) / 20), block, len(x))
    return (x * g[:, None]).astype(np.float32)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import lfilter

    n = rng.standard_normal(x.shape).astype(np.float32)
    if rng.random() < 0.5:  # pinkish
        n = lfilter([0.05], [1, -0.95], n, axis=0).astype(np.float32)
    rms_x = np.sqrt((x**2).mean()) + 1e-9
    rms_n = np.sqrt((n**2).mean()) + 1e-9
    return (x + n * (rms_x / rms_n) * 10 ** (-snr_db / 20)).astype(np.float32)


# ------------------------------------------------------------------ mastering, band limit, codec
def limiter(x: np.ndarray, ceiling_db: float, release_s: float = 0.08) -> np.ndarray:
    """Peak limiter on 32-sample blocks: 1.5 ms look-ahead (gain only ever lowered
    early), instant attack, exponential release; a hard clip at the ceiling catches
    what interpolation leaves."""
    from scipy.ndimage import minimum_filter1d

    block = 32
    ceil = 10 ** (ceiling_db / 20)
    n = len(x)
    nb = -(-n // block)
    pk = np.zeros(nb * block, np.float32)
    pk[:n] = np.abs(x).max(axis=1)
    req = np.minimum(1.0, ceil / (pk.reshape(nb, block).max(axis=1) + 1e-9))
    req = minimum_filter1d(req, size=4, origin=-1)  # blocks j-1 .. j+2: look-ahead
    # instant attack, exponential release: the reduction d = 1 - g follows
    # d[j] = max(dreq[j], d[j-1] * rel), i.e. a running max in the log domain
    log_rel = -block / (release_s * SR)
    j = np.arange(len(req))
    dlog = np.log(np.maximum(1.0 - req, 1e-12)) - j * log_rel
    g = 1.0 - np.exp(np.maximum.accumulate(dlog) + j * log_rel)
    y = x * _block_gain_to_samples(g, block, n)[:, None]
    return np.clip(y, -ceil, ceil).astype(np.float32)


def loudness(x: np.ndarray) -> float:
    """Integrated loudness (LUFS, ITU-R BS.1770-4, pyloudnorm) of (n, ch) audio."""
    import pyloudnorm

    return float(pyloudnorm.Meter(SR).integrated_loudness(x.astype(np.float64)))


MAX_LIMIT_DB = 8.0


def master(x: np.ndarray, spec: str) -> np.ndarray:
    """Mix-bus compression (30 ms), gain towards a BS.1770 loudness target (at most
    ``MAX_LIMIT_DB`` of peak limiting), look-ahead limiting to the ceiling."""
    parts = dict(p.split(":", 1) for p in spec.split(";"))
    x = compress(x, parts["comp"], time_s=0.030, release_s=0.15)
    if len(x) > 0.5 * SR:
        lufs = loudness(x)
        if np.isfinite(lufs):
            # never more than MAX_LIMIT_DB of limiting: a sparse drum track is not
            # squashed flat to reach a pop master's loudness
            peak_db = 20 * np.log10(float(np.abs(x).max()) + 1e-12)
            gain_db = min(float(parts["lufs"]) - lufs, float(parts["ceil"]) - peak_db + MAX_LIMIT_DB)
            x = x * np.float32(10 ** (gain_db / 20))
    return limiter(x, float(parts["ceil"]))


def bandlimit(x: np.ndarray, spec: str) -> np.ndarray:
    """Highpass (2nd order) and lowpass (4th order) Butterworth, causal."""
    from scipy.signal import butter

    hp, lp = (float(v) for v in spec.split(":"))
    sos = np.concatenate([butter(2, hp, "highpass", fs=SR, output="sos"), butter(4, min(lp, SR / 2 - 100), fs=SR, output="sos")])
    return _sosfilt(sos, x)


MDCT_HOP = 256  # 512-sample sine-windowed frames: pre-echo stays within ~6 ms


def _sine_window(N: int) -> np.ndarray:
    return np.sin(np.pi * (np.arange(2 * N) + 0.5) / (2 * N)).astype(np.float32)


def mdct(x: np.ndarray, hop: int = MDCT_HOP) -> np.ndarray:
    """MDCT of a 1-d signal (sine window, frames of 2*hop, zero-padded by ``hop``
    each side): (frames, hop) float32, as an orthonormal DCT-IV of the folded frames."""
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.fft import dct

    N, h = hop, hop // 2
    n_fr = -(-len(x) // N) + 1
    xp = np.zeros((n_fr + 1) * N, np.float32)
    xp[N : N + len(x)] = x
    z = sliding_window_view(xp, 2 * N)[::N] * _sine_window(N)
    a, b, c, d = z[:, :h], z[:, h:N], z[:, N : N + h], z[:, N + h :]
    folded = np.concatenate([-c[:, ::-1] - d, a - b[:, ::-1]], axis=1)
    return dct(folded, type=4, norm="ortho", axis=1).astype(np.float32)


def imdct(X: np.ndarray, n: int, hop: int = MDCT_HOP) -> np.ndarray:
    """Inverse of :func:`mdct` (windowed overlap-add, time-domain aliasing cancels); length ``n``."""
    from scipy.fft import dct

    N, h = hop, hop // 2
    u = dct(X, type=4, norm="ortho", axis=1).astype(np.float32)
    u1, u2 = u[:, :h], u[:, h:]
    y = np.concatenate([u2, -u2[:, ::-1], -u1[:, ::-1], -u1], axis=1) * _sine_window(N)
    out = np.zeros((len(X) + 1) * N, np.float32)
    out[: len(X) * N] += y[:, :N].reshape(-1)
    out[N:] += y[:, N:].reshape(-1)
    return out[N : N + n]


def codec(x: np.ndarray, spec: str) -> np.ndarray:
    """Lossy-codec artefacts: MDCT coefficients quantised per band and frame with a
    step that leaves the band's noise ``smr`` dB (+-4 dB per band) below its energy,
    so weak coefficients vanish (spectral holes, "birdies"); everything above the
    lowpass is removed."""
    _, lp, smr, seed = spec.split(":")
    lp, smr = float(lp), float(smr)
    rng = np.random.default_rng(int(seed))
    N = MDCT_HOP
    freqs = (np.arange(N) + 0.5) * SR / (2 * N)
    starts = np.unique(np.concatenate([[0], np.round(np.geomspace(4, N, 22)).astype(int)]))
    starts = starts[starts < N]  # ~20 bands, narrow at the bottom
    band_of = np.searchsorted(starts, np.arange(N), side="right") - 1
    nb = len(starts)
    cnt = np.bincount(band_of, minlength=nb)
    smr_b = smr + rng.uniform(-4, 4, nb)
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        X = mdct(x[:, c])
        e = np.add.reduceat(X**2, starts, axis=1) / cnt
        step = np.sqrt(12 * e * 10 ** (-smr_b / 10))[:, band_of] + 1e-9
        Xq = np.round(X / step) * step
        Xq[:, freqs > lp] = 0
        out[:, c] = imdct(Xq, len(x))
    return out.astype(np.float32)


# ------------------------------------------------------------------ backing track
PROGRESSIONS = [
    [0, 7, 9, 5], [0, 5, 7, 5], [2, 7, 0, 0], [9, 5, 0, 7], [0, 0, 5, 5],
    [0, 9, 5, 7], [0, 3, 8, 10], [0, 10, 8, 7], [0, 5, 10, 3], [9, 7, 5, 7], [0, 8, 3, 10],
]
PARTS = {  # GM programs (bank 0) per part
    "bass": [32, 33, 34, 35, 36, 37, 38, 39],
    "chords": [0, 1, 2, 4, 5, 6, 16, 17, 18, 24, 25, 26, 27, 28, 11, 12],
    "lead": [56, 57, 61, 64, 65, 66, 68, 71, 73, 80, 81, 40, 22, 62],
    "guitar": [29, 30, 29, 30, 31],  # overdriven / distortion guitar (power chords)
    "pad": [48, 49, 50, 51, 52, 53, 54, 88, 89, 90, 91, 92, 94, 95, 19],
}
PART_CHANNEL = {"bass": 0, "chords": 1, "lead": 2, "guitar": 3, "pad": 4}
# (F1, F2, F3) Hz of sung vowels a e i o u (male-ish; scaled for higher voices)
VOWELS = [(730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410), (300, 870, 2240)]


def backing_plan(seed: int, pool: str = "train") -> dict | None:
    """The backing's soundfont and parts (pure function of ``seed`` and ``pool``; None: none installed)."""
    from drumscribe.synth.kits import backing_soundfonts, check_path, fluidsynth_available

    if not fluidsynth_available():
        return None
    sfs = backing_soundfonts(pool if pool in ("train", "heldout") else "train") or backing_soundfonts("all")
    if not sfs:
        return None
    rng = np.random.default_rng([seed, 0])
    w = np.array(list(sfs.values()))
    soundfont = list(sfs)[int(rng.choice(len(sfs), p=w / w.sum()))]
    check_path(soundfont)
    programs = {p: int(progs[int(rng.integers(len(progs)))]) for p, progs in PARTS.items()}
    # how often each part plays (per 4-bar block); bass nearly always
    use = {"bass": 0.95, "chords": 0.8, "lead": 0.35, "guitar": 0.35, "pad": 0.5, "voice": 0.35}
    present = {p: rng.random() < 0.5 + 0.5 * q for p, q in use.items()}
    present["bass"] = True
    progs = {p: (programs[p] if p in programs else "formant") for p in use if present[p]}
    return {"soundfont": soundfont, "programs": progs, "use": use}


def _scale(root: int, minor: bool) -> list[int]:
    steps = [0, 2, 3, 5, 7, 8, 10] if minor else [0, 2, 4, 5, 7, 9, 11]
    return [root + s for s in steps]


def _section_events(rng, bpm: float, bars: int, root: int, minor: bool, parts: set, dense: bool) -> list:
    """MIDI events (time s, on, channel, note, velocity) of one section of ``bars`` 4/4 bars."""
    spb = 60.0 / bpm
    prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    scale = _scale(root, minor)
    ev = []
    bass_rhythm = [[0, 2], [0, 1.5, 2, 3.5], [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5], [0, 2.5, 3], [0, 0.75, 2, 2.75]][int(rng.integers(5))]
    keys_rhythm = [[0], [1, 3], [0, 1.5, 3], [0.5, 1.5, 2.5, 3.5], [0, 2], [0, 0.5, 1.5, 2, 3]][int(rng.integers(6))]
    gtr_rhythm = [[0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5], [0, 1.5, 3], [0], [0, 0.75, 1.5, 2, 2.75, 3.5]][int(rng.integers(4))]
    motif = [(float(b), int(rng.integers(-2, 3))) for b in np.sort(rng.choice(np.arange(0, 4, 0.5), int(rng.integers(3, 7)), replace=False))]
    for bar in range(bars):
        deg = prog[bar % len(prog)]
        third = 3 if (minor and deg in (0, 5, 7)) or deg in (2, 9, 4) else 4
        chord = [root + deg, root + deg + third, root + deg + 7]
        t0 = bar * 4 * spb
        if "bass" in parts:
            for b in bass_rhythm:
                n = 36 + (root + deg) % 12 + (7 if rng.random() < 0.15 else 0) + (12 if rng.random() < 0.1 else 0)
                ev += [(t0 + b * spb, 1, 0, n, int(rng.integers(80, 115))), (t0 + (b + 0.45) * spb, 0, 0, n, 0)]
        if "chords" in parts:
            for b in keys_rhythm:
                for n in chord:
                    ev += [(t0 + b * spb, 1, 1, 60 + n % 12, int(rng.integers(60, 95))), (t0 + (b + 0.8) * spb, 0, 1, 60 + n % 12, 0)]
        if "guitar" in parts and dense:
            for b in gtr_rhythm:
                for n in (40 + (root + deg) % 12, 47 + (root + deg) % 12, 52 + (root + deg) % 12):  # power chord
                    ev += [(t0 + b * spb, 1, 3, n, int(rng.integers(85, 120))), (t0 + (b + 0.4) * spb, 0, 3, n, 0)]
        if "pad" in parts and bar % 2 == 0:
            for n in chord:
                ev += [(t0, 1, 4, 55 + n % 12, int(rng.integers(45, 75))), (t0 + 8 * spb - 0.05, 0, 4, 55 + n % 12, 0)]
        if "lead" in parts and (dense or bar % 2 == 1):
            pos = int(rng.integers(len(scale)))
            for b, step in motif:
                pos = (pos + step) % len(scale)
                n = 72 + scale[pos] % 12
                ev += [(t0 + b * spb, 1, 2, n, int(rng.integers(70, 110))), (t0 + (b + 0.45) * spb, 0, 2, n, 0)]
    return ev


def _voice(rng, bpm: float, bars: int, root: int, minor: bool, n: int) -> np.ndarray:
    """A voice-like part: a glottal-ish pulse (sawtooth, -6 dB/oct tilt) with vibrato
    through three formant resonators per vowel, vowels changing per note, a little
    breath noise.  Mono float32 of ``n`` samples; synthesised at a quarter of the
    sample rate (formants stay below 4 kHz) and resampled with soxr."""
    import soxr
    from scipy.signal import butter, lfilter, sosfilt

    n_out, sr_v = n, SR // 4
    n = -(-n_out // 4)

    spb = 60.0 / bpm
    scale = _scale(root, minor)
    high = rng.random() < 0.5
    base = 57 if high else 45
    f0 = np.zeros(n, np.float32)
    amp = np.zeros(n, np.float32)
    vowel = np.zeros(n, np.int64)
    t = 0.0
    end = bars * 4 * spb
    while t < end:
        dur = float(rng.choice([0.5, 1, 1, 2, 2, 3, 4])) * spb
        if rng.random() < 0.25:  # rest
            t += dur
            continue
        note = base + scale[int(rng.integers(len(scale)))] % 12 + (12 if rng.random() < 0.3 else 0)
        a, b = int(t * sr_v), min(n, int((t + dur) * sr_v))
        if b > a:
            f0[a:b] = 440.0 * 2 ** ((note - 69) / 12)
            env = np.ones(b - a, np.float32)
            ra, rr = min(int(0.04 * sr_v), b - a), min(int(0.08 * sr_v), b - a)
            env[:ra] *= np.linspace(0, 1, ra, dtype=np.float32)
            env[-rr:] *= np.linspace(1, 0, rr, dtype=np.float32)
            amp[a:b] = env * rng.uniform(0.6, 1.0)
            vowel[a:b] = int(rng.integers(len(VOWELS)))
        t += dur
    filled = np.maximum.accumulate(np.where(f0 > 0, np.arange(n), 0))
    f0 = f0[filled] if n else f0
    f0[f0 == 0] = 220.0
    g = float(np.exp(-1 / (0.03 * sr_v)))  # portamento
    f0 = lfilter([1 - g], [1, -g], f0).astype(np.float32)
    tt = np.arange(n, dtype=np.float32) / sr_v
    f0 = f0 * 2 ** (rng.uniform(0.2, 0.5) / 12 * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * tt))
    phase = np.cumsum(f0 / sr_v) % 1.0
    src = (2 * phase - 1).astype(np.float32)
    src = lfilter([1], [1, -0.9], src).astype(np.float32) * 0.1 + 0.05 * rng.standard_normal(n).astype(np.float32)
    scale_f = 1.15 if high else 1.0
    y = np.zeros(n, np.float32)
    for vi, formants in enumerate(VOWELS):
        mask = (vowel == vi).astype(np.float32)
        if not mask.any():
            continue
        mask = lfilter([0.002], [1, -0.998], mask).astype(np.float32)  # smooth vowel changes
        part = np.zeros(n, np.float32)
        for k, f in enumerate(formants):
            bw = 80 + 40 * k
            sos = butter(1, [f * scale_f - bw, f * scale_f + bw], "bandpass", fs=sr_v, output="sos")
            part += sosfilt(sos, src).astype(np.float32) * (1.0, 0.6, 0.35)[k]
        y += part * mask
    y = soxr.resample(y * amp, sr_v, SR).astype(np.float32)
    return np.pad(y, (0, max(0, n_out - len(y))))[:n_out]


def backing_track(n_samples: int, bpm: float, lead_in: float, seed: int, channels: int, pool: str = "train",
                  real_spec: str = "") -> np.ndarray:
    """A song around the drums: two sections (verse/chorus) of 4 bars at ``bpm``,
    each rendered once with fluidsynth (bass, chords, lead, distorted guitar, pad on
    their own GM programs from :func:`backing_plan`'s soundfont) plus a formant
    voice, then laid out in a random arrangement of 4-bar blocks from ``lead_in``
    (release tails overlap the next block).  Rendering cost is bounded by the two
    sections, whatever the file's length.  ``real_spec`` (:func:`real_parts_spec`) adds real
    recorded instruments (strummed guitar, piano) as loud as the soundfont parts.
    (n_samples, channels) float32."""
    from drumscribe.synth._fluid import fresh_synth

    plan = backing_plan(seed, pool)
    if plan is None:
        return np.zeros((n_samples, channels), np.float32)
    rng = np.random.default_rng([seed, 1])
    spb = 60.0 / max(bpm, 30.0)
    bars = 4
    sec_len = bars * 4 * spb
    tail = 1.5
    need = max(n_samples - int(round(lead_in * SR)), 64)
    n_sec = min(int(round((sec_len + tail) * SR / 64)), -(-need // 64)) * 64  # no longer than the file
    n_sections = 2 if need > sec_len * SR else 1
    root = int(rng.integers(0, 12))
    minor = rng.random() < 0.4
    progs = plan["programs"]
    use = plan["use"]
    sections = []
    with fresh_synth(plan["soundfont"], SR) as (synth, sfid):
        for part, ch in PART_CHANNEL.items():
            if part in progs:
                synth.program_select(ch, sfid, 0, int(progs[part]))
                synth.cc(ch, 10, int(rng.integers(24, 104)))  # pan
                synth.cc(ch, 7, int(rng.integers(70, 120)))  # volume
        for si in range(n_sections):  # 0: verse, 1: chorus (denser)
            dense = si == 1
            parts = {p for p in progs if p != "voice" and rng.random() < min(1.0, use[p] + (0.3 if dense else 0.0))}
            parts.add("bass")
            ev = sorted(_section_events(rng, 60.0 / spb, bars, root, minor, parts, dense), key=lambda e: (e[0], e[1]))
            out, pos = [], 0
            for t, on, ch, note, vel in ev:
                s = min(n_sec, int(round(t * SR / 64)) * 64)  # fluidsynth's 64-frame block grid
                if s > pos:
                    out.append(_synth_float(synth, s - pos))
                    pos = s
                if on:
                    synth.noteon(ch, note, vel)
                else:
                    synth.noteoff(ch, note)
            if pos < n_sec:
                out.append(_synth_float(synth, n_sec - pos))
            for ch in PART_CHANNEL.values():
                synth.cc(ch, 123, 0)  # all notes off: the tail is inside this section
            y = np.concatenate(out) if out else np.zeros((n_sec, 2), np.float32)
            if "voice" in progs and rng.random() < min(1.0, use["voice"] + (0.3 if dense else 0.0)):
                v = _voice(rng, 60.0 / spb, bars, root, minor, n_sec)
                y = y + (v * np.float32(rng.uniform(0.5, 1.5) * (np.abs(y).max() + 1e-3) / (np.abs(v).max() + 1e-6)))[:, None]
            sections.append(y.astype(np.float32))
            # flush the synth between sections (silence, not part of the output)
            _synth_float(synth, 64 * 64)
    out = np.zeros((n_samples + n_sec, 2), np.float32)
    start = int(round(lead_in * SR))
    step = int(round(sec_len * SR))
    prev = 0
    while start < n_samples:
        si = prev if rng.random() < 0.6 or n_sections == 1 else 1 - prev
        out[start : start + n_sec] += sections[si]
        prev = si
        start += step
    y = out[:n_samples]
    if real_spec:
        r = real_parts(real_spec, n_samples, bpm, lead_in, seed)
        ry, rr = _rms(y), _rms(r)
        if rr > 0:
            y = y * np.float32(0.6) + r * np.float32((ry if ry > 0 else 0.1) / rr)
    if channels == 1:
        y = y.mean(axis=1, keepdims=True)
    return y.astype(np.float32)


def _rms(x):
    e = (x**2).mean(axis=1)
    e = e[e > e.max() * 1e-4] if e.size and e.max() > 0 else e
    return float(np.sqrt(e.mean())) if e.size else 0.0


def apply(x: np.ndarray, s: dict, rng: np.random.Generator, bpm: float, lead_in: float, backing_ok: bool = True,
          pool: str = "train") -> np.ndarray:
    """Apply the effects named in settings ``s`` (from :func:`draw_settings`) to the
    drum mix ``x`` (bleed, which needs the stems, is applied by the caller)."""
    if s.get("eq"):
        x = eq(x, s["eq"])
    if s.get("compressor"):
        x = compress(x, s["compressor"])
    b = None
    if s.get("backing", "") != "" and backing_ok:
        b = backing_track(len(x), bpm, lead_in, int(s["backing"]), x.shape[1], pool, s.get("real_parts", ""))
        rb, rx = _rms(b), _rms(x)
        if s.get("mix_mode") == DRUMLESS_MIX_MODE or rx == 0:
            b = b * np.float32(0.1 / rb) if rb > 0 else None  # no drums: the backing alone
        else:
            b = b * np.float32((rx / rb) * 10 ** (-float(s["backing_ratio_db"]) / 20)) if rb > 0 else None
    if s.get("ir"):
        send = None if b is None else b * np.float32(rng.uniform(0.2, 1.0))
        x = ir_reverb(x, s["ir"], send)
    elif s.get("reverb_rt60", "") != "":
        room, rseed = s["room"].split(":")
        send = None if b is None else b * np.float32(rng.uniform(0.2, 1.0))
        x = reverb(x, room, float(s["reverb_rt60"]), float(s["reverb_wet_db"]), int(rseed), send)
    if b is not None:
        x = x + b
    if s.get("noise_snr_db", "") != "":
        x = add_noise(x, float(s["noise_snr_db"]), rng)
    if s.get("master"):
        x = master(x, s["master"])
    if s.get("bandlimit"):
        x = bandlimit(x, s["bandlimit"])
    if s.get("codec"):
        x = codec(x, s["codec"])
    return x.astype(np.float32)
