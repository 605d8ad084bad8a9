"""Realism: what a rendering draws (drums inside a song), and applying it.

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
from pathlib import Path

import numpy as np

from drumscribe.dataset.index import DRUMLESS_MIX_MODE
from drumscribe.synth.backing import backing_plan, backing_track, real_parts_spec
from drumscribe.synth.chain import add_noise, bandlimit, codec, compress, eq, master, rms
from drumscribe.synth.rooms import ROOM_WEIGHTS, ROOMS, draw_ir, ir_reverb, reverb

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
        rb, rx = rms(b), rms(x)
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
