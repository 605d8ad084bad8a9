"""The backing band: a song around the drums.

:func:`backing_track` composes two 4-bar sections (bass, chords, lead, distorted guitar, pad on GM
programs of a backing soundfont named in ``kits/soundfonts.yaml``, split by pool like the kits) plus a
formant voice, renders them once with fluidsynth and lays them out in a random arrangement; real
recorded instruments (``kits/instruments.yaml``: strummed guitar, Salamander piano) join with
:func:`real_parts`.  Everything is a pure function of the seeds that
:func:`drumscribe.synth.realism.draw_settings` records.  ``(n, channels)`` float32.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from drumscribe.synth._fluid import synth_float as _synth_float
from drumscribe.synth.chain import rms
from drumscribe.synth.constants import SR
from drumscribe.synth.kits import _load_yaml, backing_soundfonts, check_path, fluidsynth_available
from drumscribe.synth.sampler import pitch_shift

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
        ry, rr = rms(y), rms(r)
        if rr > 0:
            y = y * np.float32(0.6) + r * np.float32((ry if ry > 0 else 0.1) / rr)
    if channels == 1:
        y = y.mean(axis=1, keepdims=True)
    return y.astype(np.float32)


# ------------------------------------------------------------------ real instruments in the backing
def _instrument_root() -> Path:
    import os

    return Path(os.environ.get("DRUMSCRIBE_INSTRUMENTS", Path.home() / ".cache" / "drumscribe" / "instruments"))


@lru_cache(maxsize=1)
def real_instruments() -> dict:
    """{name: folder} of the real backing instruments installed here (``kits/instruments.yaml``)."""
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
