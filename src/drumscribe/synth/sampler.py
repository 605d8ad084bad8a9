"""A small numpy drum sampler.

Every kit becomes a :class:`Bank`: for each E-GMD note a list of timbre
variants, each a list of velocity layers of one-shot samples whose audible
onset is at sample index ``ONSET_PAD`` (leading silence trimmed, a short
fade-in), so a hit scheduled at time t is audible at t.

Hydrogen kits: samples are read from the kit folder (layers with min/max
velocity and gain, instrument volume and pan).  Soundfont kits: one-shots per
(GM note, velocity layer) are rendered once with pyfluidsynth and cached under
``~/.cache/drumscribe/synth`` (override: ``DRUMSCRIBE_CACHE``); each TD note
plays its GM note (``drums.TD_TO_GM``).  Sample kits: one-shot files.
Procedural kits: :mod:`drumscribe.synth.procedural`.

A bank's voices are keyed by TD note.  A note without its own sound plays
another articulation of the same drum (``drums.SOUND_FALLBACK``); a kit that
lacks one or two of the three toms gets them pitch-shifted from its nearest tom
so tom 1 > tom 2 > tom 3 in pitch (:func:`complete_toms`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from drumscribe.synth.constants import SR
from drumscribe.synth._fluid import synth_float as _synth_float
from drumscribe.core.drums import CLASSES, CYMBAL_NOTES, HIHAT_NOTES, OPEN_HIHAT, SOUND_FALLBACK, TD_CLASS, TD_CLASS_NOTES, TD_MAIN, TOM_CLASSES
from drumscribe.synth.kits import Kit, _load_yaml, check_path, parse_hydrogen, real_kit_spec

ONSET_DB = -30.0  # onset = first sample above peak - 30 dB
ONSET_PAD = 22  # samples (0.5 ms) kept before the detected onset, faded in
TAIL_DB = -60.0
MAX_LEN = {"cymbal": 4.0, "other": 2.5}
SF_VELOCITIES = (24, 48, 72, 100, 127)
CACHE_VERSION = 3


def cache_dir() -> Path:
    d = Path(os.environ.get("DRUMSCRIBE_CACHE", Path.home() / ".cache" / "drumscribe")) / "synth"
    d.mkdir(parents=True, exist_ok=True)
    return d


@dataclass
class Layer:
    lo: float  # velocity range, 0..1
    hi: float
    audio: np.ndarray  # float32 (n, channels), onset at ONSET_PAD
    curve: float | None = None  # velocity curve of this layer's kit (mixed kits); None: the bank's
    stems: np.ndarray | None = None  # multi-mic hit: (n_stems, n, channels), sample-aligned; audio = their mix


@dataclass
class Bank:
    kit: str
    channels: int
    voices: dict  # note -> list[list[Layer]] (variants -> layers)
    curve: float = 0.8  # amplitude = (velocity/127) ** curve


def _trim(x: np.ndarray, max_len_s: float) -> np.ndarray | None:
    """Trim leading silence (onset at ONSET_PAD) and the tail below TAIL_DB (one sample: :func:`trim_stems`)."""
    st = trim_stems(x[None], max_len_s)
    return None if st is None else st[0]


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
    """TD note of a long-ringing sound (cymbals, open hi-hat)."""
    return note in CYMBAL_NOTES


def _read_file(path: str) -> np.ndarray:
    """One sample file, float32 (n, channels) at SR."""
    import soundfile as sf

    check_path(path)
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    if sr != SR:
        import soxr

        x = soxr.resample(x, sr, SR).astype(np.float32)
    return x


_read_sample = lru_cache(maxsize=512)(_read_file)  # Hydrogen layers are shared between kits: cached


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
    key = f"{CACHE_VERSION}|{kit.path}|{st.st_size}|{int(st.st_mtime)}|{kit.preset}|{channels}|{SF_VELOCITIES}|{_gm_notes(kit)}"
    h = hashlib.sha1(key.encode()).hexdigest()[:12]
    return cache_dir() / f"oneshots_{Path(kit.path).stem}_{kit.preset}_{channels}ch_{h}.npz"


def _gm_notes(kit: Kit) -> list[int]:
    return sorted(set(kit.notes.values()))


def render_sf_oneshots(kit: Kit, channels: int) -> dict:
    """{(GM note, velocity): int16 (n, channels)} rendered with fluidsynth (trimmed)."""
    import fluidsynth

    check_path(kit.path)
    synth = fluidsynth.Synth(gain=0.6, samplerate=float(SR), **{"synth.reverb.active": 0, "synth.chorus.active": 0})
    try:
        sfid = synth.sfload(kit.path)
        if sfid < 0:
            raise OSError(f"fluidsynth could not load {kit.path}")
        synth.program_select(9, sfid, 128, kit.preset)
        _synth_float(synth, 4096)
        out = {}
        for note in _gm_notes(kit):
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
    import io

    from drumscribe.core.atomic import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(buf, **{f"{n}_{v}": a for (n, v), a in shots.items()})
    atomic_write_bytes(path, buf.getvalue())
    return shots


def _sf_bank(kit: Kit, channels: int) -> Bank:
    shots = _load_sf_oneshots(kit, channels)
    voices = {}
    for td, note in kit.notes.items():
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
        voices[td] = [layers]
    return Bank(kit.name, channels, voices, curve=2.0)


def _samples_bank(kit: Kit, channels: int) -> Bank:
    import os.path

    voices = {}
    for note, variants in kit.notes.items():
        vs = []
        for files in variants:
            layers = []
            edges = np.linspace(0.0, 1.0, len(files) + 1)
            edges[-1] = 1.01
            for i, f in enumerate(files):
                try:
                    raw = _read_sample(os.path.join(kit.path, f))
                except Exception:
                    continue
                x = _trim(_to_channels(raw, channels), MAX_LEN["cymbal" if _is_cymbal(note) else "other"])
                if x is not None:
                    layers.append(Layer(float(edges[i]), float(edges[i + 1]), x / (np.abs(x).max() + 1e-9) * 0.8))
            if layers:
                layers[0].lo, layers[-1].hi = 0.0, 1.01
                vs.append(layers)
        if vs:
            voices[note] = vs
    return Bank(kit.name, channels, voices)


# ---------------------------------------------------------------- real recorded kits
REAL_CURVE = 0.3  # the recorded layers carry most of the dynamics; the mixer adds a little
ROUND_ROBIN = 1  # a hit's velocity range reaches this many neighbours either side (round robins)


def _hit_ranges(n: int) -> list[tuple[float, float]]:
    """Velocity ranges of ``n`` hits sorted soft -> loud: overlapping, so that neighbouring hits take
    turns (round robins) and the first/last cover 0 and 1."""
    out = []
    for i in range(n):
        lo = 0.0 if i == 0 else max(0.0, (i - ROUND_ROBIN) / n)
        hi = 1.01 if i == n - 1 else min(1.01, (i + 1 + ROUND_ROBIN) / n)
        out.append((lo, hi))
    return out


def trim_stems(stems: np.ndarray, max_len_s: float) -> np.ndarray | None:
    """Trim sample-aligned stems ``(n_stems, n, ch)`` by one offset: the onset is the earliest
    first-arrival (-30 dB of its peak) among stems within 30 dB of the loudest, put at ONSET_PAD,
    so a mic mix changes levels, never timing."""
    peaks = np.abs(stems).max(axis=(1, 2))
    top = float(peaks.max()) if peaks.size else 0.0
    if top < 1e-5:
        return None
    starts = [int(np.flatnonzero(np.abs(st).max(axis=1) >= pk * 10 ** (ONSET_DB / 20))[0])
              for st, pk in zip(stems, peaks) if pk >= top * 10 ** (ONSET_DB / 20)]
    start = min(starts)
    if start >= ONSET_PAD:
        x = stems[:, start - ONSET_PAD:]
    else:
        x = np.concatenate([np.zeros((len(stems), ONSET_PAD - start, stems.shape[2]), np.float32), stems], axis=1)
    env = np.abs(x).max(axis=(0, 2))
    live = np.flatnonzero(env >= top * 10 ** (TAIL_DB / 20))
    end = min(int(live[-1]) + 1 + int(0.01 * SR), x.shape[1], int(max_len_s * SR))
    x = np.array(x[:, :end], dtype=np.float32)
    x[:, :ONSET_PAD] *= (np.linspace(0.0, 1.0, ONSET_PAD, dtype=np.float32) ** 2)[None, :, None]
    nf = min(int(0.02 * SR), x.shape[1] // 4)
    if nf > 0:
        x[:, -nf:] *= np.linspace(1.0, 0.0, nf, dtype=np.float32)[None, :, None]
    return x


def _real_bank(kit: Kit, channels: int) -> Bank:
    """A real recorded kit: every hit its own layer (round robins by overlapping velocity ranges).

    Single-file kits are levelled per variant (loudest hit peaks at 0.8, the hits keep their
    recorded dynamics); a multi-mic kit keeps its recorded balance and its stems (mixed at the
    recorded balance here; :func:`remix` draws a mic mix per file)."""
    import os.path

    stems_names = real_kit_spec(kit).get("multimic") or ()
    voices = {}
    for note, variants in kit.notes.items():
        max_len = MAX_LEN["cymbal" if _is_cymbal(note) else "other"]
        vs = []
        for hits in variants:
            layers = []
            for (lo, hi), (_, rel) in zip(_hit_ranges(len(hits)), hits):
                path = os.path.join(kit.path, rel)
                try:
                    if stems_names:
                        raw = [_to_channels(_read_file(os.path.join(path, f"{s}.flac")), channels) for s in stems_names]
                        n = max(len(r) for r in raw)
                        st = trim_stems(np.stack([np.pad(r, ((0, n - len(r)), (0, 0))) for r in raw]), max_len)
                        if st is not None:
                            layers.append(Layer(lo, hi, st.sum(axis=0), REAL_CURVE, stems=st))
                    else:
                        x = _trim(_to_channels(_read_file(path), channels), max_len)
                        if x is not None:
                            layers.append(Layer(lo, hi, x, REAL_CURVE))
                except OSError:
                    continue
            if layers and not stems_names:
                top = max(float(np.abs(l.audio).max()) for l in layers)
                for l in layers:
                    l.audio = l.audio * np.float32(0.8 / top)
            if layers:
                vs.append(layers)
        if vs:
            voices[note] = vs
    return Bank(kit.name, channels, voices, curve=REAL_CURVE)


def draw_mic_mix(kit: Kit, rng: np.random.Generator) -> str:
    """A per-file mic mix of a multi-mic kit: ``"close:dB;overhead:dB;room:dB;flip:0|1;width:w"``
    (dB relative to the recorded balance, ranges in ``kits/real.yaml``; flip = audience view; width
    scales the stereo side signal).  ``""`` for a kit without stems."""
    if kit.source != "real" or not real_kit_spec(kit).get("multimic"):
        return ""
    ranges = _load_yaml("real.yaml")["mic_mix_db"]
    parts = [f"{s}:{rng.uniform(*ranges[s]):.1f}" for s in real_kit_spec(kit)["multimic"]]
    return ";".join(parts + [f"flip:{int(rng.random() < 0.5)}", f"width:{rng.uniform(0.3, 1.0):.2f}"])


def remix(bank: Bank, spec: str) -> Bank:
    """The bank with every multi-mic layer re-mixed from its stems by ``spec`` (:func:`draw_mic_mix`);
    timing is untouched (the stems share one onset)."""
    if not spec:
        return bank
    kv = dict(p.split(":") for p in spec.split(";"))
    gains = np.array([10 ** (float(v) / 20) for k, v in kv.items() if k not in ("flip", "width")], np.float32)
    voices = {}
    for note, variants in bank.voices.items():
        new_vs = []
        for layers in variants:
            new = []
            for l in layers:
                if l.stems is None:
                    new.append(l)
                    continue
                x = np.tensordot(gains[: len(l.stems)], l.stems, axes=1).astype(np.float32)
                if x.shape[1] == 2:
                    if kv.get("flip") == "1":
                        x = x[:, ::-1]
                    w = float(kv.get("width", 1.0))
                    mid, side = (x[:, 0] + x[:, 1]) / 2, (x[:, 0] - x[:, 1]) / 2 * w
                    x = np.stack([mid + side, mid - side], axis=1)
                new.append(Layer(l.lo, l.hi, np.ascontiguousarray(x, dtype=np.float32), l.curve, stems=l.stems))
            new_vs.append(new)
        voices[note] = new_vs
    return Bank(bank.kit, bank.channels, voices, bank.curve)


def _procedural_bank(kit: Kit, channels: int) -> Bank:
    from drumscribe.synth.procedural import make_voices

    voices = {}
    for note, variants in make_voices(kit.preset).items():
        voices[note] = [[Layer(lo, hi, _trim(_to_channels(x, channels), MAX_LEN["cymbal" if _is_cymbal(note) else "other"]))
                         for lo, hi, x in layers] for layers in variants]
    return Bank(kit.name, channels, voices)


# ---------------------------------------------------------------- toms, sound lookup, variation
def pitch_shift(x: np.ndarray, semitones: float) -> np.ndarray:
    """Resampling pitch shift (duration scales too, like a retuned drum); onset stays at ONSET_PAD."""
    if abs(semitones) < 1e-6:
        return x
    r = 2 ** (semitones / 12)
    n = max(ONSET_PAD + 2, int(len(x) / r))
    src = (np.arange(n) - ONSET_PAD) * r + ONSET_PAD
    src[:ONSET_PAD] = np.arange(ONSET_PAD)
    src = np.clip(src, 0, len(x) - 1)
    return np.stack([np.interp(src, np.arange(len(x)), x[:, c]) for c in range(x.shape[1])], axis=1).astype(np.float32)


def _shifted(variants, semitones):
    return [[Layer(l.lo, l.hi, pitch_shift(l.audio, semitones)) for l in layers] for layers in variants]


TOM_STEP = 3.0  # semitones between a derived tom and the tom it is made from


def complete_toms(voices: dict) -> dict:
    """Fill missing tom heads (48, 45, 43) by pitch-shifting the nearest tom: order kept.

    A kit with no tom at all stays without toms (its tom notes are dropped).
    """
    heads = [TD_MAIN[c] for c in TOM_CLASSES]  # high -> low

    def head_sound(i):
        for n in (heads[i],) + SOUND_FALLBACK[heads[i]]:
            if n in voices:
                return voices[n]
        return None

    have = [head_sound(i) for i in range(3)]
    if not any(v is not None for v in have):
        return voices
    out = dict(voices)
    for i in range(3):
        if have[i] is not None:
            continue
        # nearest existing tom, shifted up (if it is lower) or down (if higher)
        j = min((k for k in range(3) if have[k] is not None), key=lambda k: (abs(k - i), k))
        out[heads[i]] = _shifted(have[j], TOM_STEP * (j - i))
    return out


def sound_for(voices: dict, note: int):
    """The variants that play TD ``note``: its own, else another articulation of the same drum, else None."""
    v = voices.get(note)
    if v:
        return v
    for alt in SOUND_FALLBACK.get(note, ()):
        if voices.get(alt):
            return voices[alt]
    return None


def playable(voices: dict) -> set:
    """TD notes this bank can sound (directly or through SOUND_FALLBACK)."""
    return {n for n in TD_CLASS if sound_for(voices, n) is not None}


def _tilt(x: np.ndarray, db: float) -> np.ndarray:
    """Spectral tilt: a one-pole split at ~1.5 kHz, high band scaled by ``db``."""
    from scipy.signal import lfilter

    a = np.exp(-2 * np.pi * 1500 / SR)
    low = lfilter([1 - a], [1, -a], x, axis=0)
    return (low + (x - low) * 10 ** (db / 20)).astype(np.float32)


def _decay(x: np.ndarray, factor: float) -> np.ndarray:
    """factor < 1 shortens the tail (exponential fade from the onset)."""
    if factor >= 0.999:
        return x
    n = len(x)
    tau = max(0.05, factor * n / SR / 3)
    env = np.exp(-np.arange(n) / SR / tau).astype(np.float32)
    env[: ONSET_PAD + int(0.01 * SR)] = 1.0
    return x * env[:, None]


def vary(bank: Bank, rng: np.random.Generator, variant_choice: dict) -> Bank:
    """Per-piece variation of one rendering: pitch (+-2 st), decay, tilt EQ, level.

    Every drum (class) gets its own draw; the three toms share theirs, so their
    pitch order is kept.  Only the chosen variant of each note is processed.
    """
    draws = {}
    for cls in dict.fromkeys("toms" if c in TOM_CLASSES else c for c in CLASSES):  # kick, snare, hihat, toms, crash, ride
        draws[cls] = (float(rng.uniform(-2, 2)), float(rng.uniform(0.4, 1.0)) if rng.random() < 0.4 else 1.0,
                      float(rng.uniform(-6, 6)), float(rng.uniform(-6, 3)))
    voices = {}
    for note, variants in bank.voices.items():
        cls = TD_CLASS.get(note, "kick")
        cls = "toms" if cls in TOM_CLASSES else cls
        st, dec, tilt, lvl = draws[cls]
        layers = variants[variant_choice.get(note, 0) % len(variants)]
        g = 10 ** (lvl / 20)
        voices[note] = [[Layer(l.lo, l.hi, _tilt(_decay(pitch_shift(l.audio, st), dec), tilt) * g, l.curve) for l in layers]]
    return Bank(bank.kit + "~", bank.channels, voices, bank.curve)


def mixed_bank(banks_by_class: dict, channels: int) -> Bank:
    """A kit whose drums come from different kits: ``{class: Bank}`` -> one bank.

    Each class takes all its TD notes' voices from its bank (toms: one bank for
    all three, so their order holds).  Velocity curves are baked per layer.
    """
    voices = {}
    for cls, b in banks_by_class.items():
        notes = TD_CLASS_NOTES[cls] if cls != "toms" else sum((TD_CLASS_NOTES[c] for c in TOM_CLASSES), ())
        for n in notes:
            if n in b.voices:
                voices[n] = [[Layer(l.lo, l.hi, l.audio, l.curve or b.curve) for l in layers] for layers in b.voices[n]]
    return Bank("mix", channels, voices)


def sounding_notes(kit: Kit, channels: int = 1) -> list[int]:
    return sorted(load_bank(kit, channels).voices)


def sounding_kit(kit: Kit) -> Kit:
    """``kit`` with only the notes that really sound: a soundfont preset's one-shots are rendered (cached)
    and the notes its table names but the preset leaves silent are dropped; other kits as they are."""
    if kit.source != "soundfont":
        return kit
    notes = {n: kit.notes[n] for n in sounding_notes(kit) if n in kit.notes}
    return Kit(kit.name, kit.source, kit.pool, kit.path, notes, kit.preset, kit.family)


@lru_cache(maxsize=8)
def _load_bank_cached(kit: Kit, channels: int) -> Bank:
    if kit.source == "hydrogen":
        b = _hydrogen_bank(kit, channels)
    elif kit.source == "samples":
        b = _samples_bank(kit, channels)
    elif kit.source == "procedural":
        b = _procedural_bank(kit, channels)
    elif kit.source == "real":
        b = _real_bank(kit, channels)
    else:
        b = _sf_bank(kit, channels)
    b.voices = complete_toms(b.voices)
    return b


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
        variants = sound_for(bank.voices, note)
        if not variants:
            continue
        layers = variants[variant_choice.get(note, 0) % len(variants)]
        v = vel / 127.0
        cand = [l for l in layers if l.lo <= v <= l.hi] or [min(layers, key=lambda l: min(abs(l.lo - v), abs(l.hi - v)))]
        layer = cand[int(rng.integers(len(cand)))] if len(cand) > 1 else cand[0]
        amp = (v ** (layer.curve or bank.curve)) * float(rng.uniform(0.94, 1.06))
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
