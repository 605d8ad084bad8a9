"""One rendering: a (performance, kit) pair -> ``<stem>.midi`` + ``<stem>.wav`` and its CSV row.

A :class:`Job` carries everything that decides the pair; :func:`render_job` draws from
``numpy.random.default_rng([seed, purpose, perf, k])`` streams only, so a pair is the same whatever
process renders it and in whatever order.  The MIDI is written first and the WAV last (both atomic):
a pair is complete when its WAV exists.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drumscribe.core.atomic import atomic_write_bytes
from drumscribe.core.drums import FOLD5, TD_CLASS
from drumscribe.synth.constants import SR
from drumscribe.synth.kits import Kit, backing_soundfont, fluidsynth_available
from drumscribe.synth.patterns import Drummer, adapt_to_kit, generate_performance
from drumscribe.synth.priors import Variety, break_priors
from drumscribe.synth.realism import COLUMNS, DRUMLESS_MIX_MODE, Realism, draw_settings
from drumscribe.synth.realism import apply as apply_realism
from drumscribe.synth.rooms import BLEED_GROUPS, bleed

TICKS_PER_BEAT = 480
EXTRA_COLUMNS = ["kit_pool", "kit_source", "kit_pieces", "variation", "pattern", *COLUMNS, "mic_mix"]


@dataclass
class Job:
    perf: int  # performance index
    k: int  # rendering number within the performance (1-based, the _<k> suffix)
    kit: Kit
    split: str
    drummer: int
    session: int
    number: int  # performance number in its session (file name prefix)
    seed: int
    max_seconds: float | None
    channels: int
    realism: Realism | None
    out_dir: str
    source: object = None  # performances.Source (human performance) or None (generated)
    pieces: tuple = ()  # kit mixing: ((piece, Kit), ...); empty = the whole kit
    variety: Variety = Variety()



def _performance(seed: int, perf: int, drummer: int, max_seconds):
    rng = np.random.default_rng([seed, 1, perf])
    return generate_performance(rng, Drummer.make(drummer, seed), max_seconds=max_seconds, take=perf % 9 + 1)



# ------------------------------------------------------------------ writing
def quantize(events, bpm: int):
    """Event times -> MIDI ticks (480/beat at the file's tempo) and back: exact truth."""
    import mido

    tempo = mido.bpm2tempo(bpm)
    sec_per_tick = tempo / 1e6 / TICKS_PER_BEAT
    out = []
    for t, n, v in events:
        tick = int(round(t / sec_per_tick))
        out.append((tick, tick * sec_per_tick, n, v))
    return out, tempo, sec_per_tick


def write_midi(path: Path, qevents, tempo: int, sec_per_tick: float) -> None:
    """Type 0 (as E-GMD), 80 ms notes cut at the next hit of the same note; :mod:`drumscribe.transcription.midi_out` writes it."""
    import mido

    from drumscribe.transcription.midi_out import Note, midi_file_bytes

    dur = max(1, int(round(0.08 / sec_per_tick)))
    by_note = {}
    for tick, _, n, v in qevents:
        by_note.setdefault(n, []).append((tick, v))
    notes = []
    for n, lst in by_note.items():
        for j, (tick, v) in enumerate(lst):
            end = tick + dur
            if j + 1 < len(lst):
                end = min(end, lst[j + 1][0])
            end = max(end, tick + 1)
            notes.append(Note(tick * sec_per_tick, n, v, duration=(end - tick) * sec_per_tick))
    atomic_write_bytes(path, midi_file_bytes([("drums", notes)], ticks_per_beat=TICKS_PER_BEAT,
                                             tempo_bpm=mido.tempo2bpm(tempo), midi_type=0))


def write_wav(path: Path, audio: np.ndarray) -> None:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, audio, SR, subtype="PCM_16", format="WAV")
    atomic_write_bytes(path, buf.getvalue())


# ------------------------------------------------------------------ rendering one pair
def _stem(job: Job, perf) -> str:
    return f"{job.number}_{perf.style.replace('/', '-')}_{perf.bpm}_{perf.beat_type}_4-4_{job.k}"


def _bank(job: Job):
    """(Bank, CSV kit_pieces, CSV mic_mix) of a rendering: the kit's bank, or a mixed one (one kit per
    piece); a multi-mic real kit gets its per-file mic mix (drawn from its own random stream)."""
    from drumscribe.synth.sampler import draw_mic_mix, load_bank, mixed_bank, remix

    mic_rng = np.random.default_rng([job.seed, 11, job.perf, job.k])
    if not job.pieces:
        spec = draw_mic_mix(job.kit, mic_rng)
        return remix(load_bank(job.kit, job.channels), spec), "", spec
    specs = {piece: draw_mic_mix(kit, mic_rng) for piece, kit in job.pieces}
    bank = mixed_bank({piece: remix(load_bank(kit, job.channels), specs[piece]) for piece, kit in job.pieces}, job.channels)
    return (bank, ";".join(f"{p}={k.name}" for p, k in job.pieces),
            " ".join(f"{p}={m}" for p, m in specs.items() if m))


def render_job(job: Job) -> dict:
    from drumscribe.synth.sampler import mix, playable, vary

    rng = np.random.default_rng([job.seed, 5, job.perf, job.k])
    stats = Counter()
    if job.source is None:
        perf = _performance(job.seed, job.perf, job.drummer, job.max_seconds)
        rel = Path(f"drummer{job.drummer}") / f"session{job.session}"
        stem = _stem(job, perf)
        meta = {
            "drummer": f"drummer{job.drummer}", "session": f"drummer{job.drummer}/session{job.session}",
            "id": f"drummer{job.drummer}/session{job.session}/{job.number}", "style": perf.style, "bpm": perf.bpm,
            "beat_type": perf.beat_type, "time_signature": "4-4", "split": job.split,
        }
        raw, bpm, lead_in, duration_s = perf.events, perf.bpm, perf.lead_in, perf.duration
    else:
        from drumscribe.synth.performances import load_events

        src = job.source
        raw = load_events(src, stats)
        bpm, lead_in = src.bpm, 0.0
        last = max((t for t, _, _ in raw), default=0.0)
        duration_s = max(src.duration, last + 0.5)
        if job.max_seconds:
            duration_s = min(duration_s, job.max_seconds)
            raw = [e for e in raw if e[0] < duration_s - 0.25]
        rel = Path(src.stem).parent
        stem = f"{Path(src.stem).name}_{job.k}"
        meta = {
            "drummer": src.drummer, "session": src.session, "id": src.id, "style": src.style, "bpm": src.bpm,
            "beat_type": src.beat_type, "time_signature": src.time_signature, "split": src.split,
        }
    bank, pieces, mic_mix = _bank(job)
    can = playable(bank.voices)
    events, stats = adapt_to_kit(raw, can, stats)
    variant = {n: int(rng.integers(len(v))) for n, v in sorted(bank.voices.items())}
    kit_pool = job.kit.pool
    settings = draw_settings(job.realism, rng, kit_pool, np.random.default_rng([job.seed, 9, job.perf, job.k]),
                                     np.random.default_rng([job.seed, 12, job.perf, job.k]))
    if mic_mix:
        settings["bleed_db"] = ""  # a multi-mic kit's bleed is the recorded one
    backing_ok = backing_soundfont() is not None and fluidsynth_available()
    if not backing_ok:
        settings["backing"] = settings["backing_ratio_db"] = settings["real_parts"] = settings["mix_mode"] = ""
    mix_seed = int(rng.integers(2**31))
    vrng = np.random.default_rng([job.seed, 8, job.perf, job.k])
    varied = vrng.random() < job.variety.vary
    events, pattern = break_priors(events, duration_s, can, job.variety, vrng)
    qevents, tempo, spt = quantize(events, bpm)
    if settings.get("mix_mode") == DRUMLESS_MIX_MODE:
        qevents = []  # a song without drums: empty truth
    wav, midi = Path(job.out_dir) / rel / f"{stem}.wav", Path(job.out_dir) / rel / f"{stem}.midi"
    n_samples = int(round(duration_s * SR))
    duration = n_samples / SR
    skipped = wav.exists() and midi.exists()
    if not skipped:
        if varied:
            bank = vary(bank, vrng, variant)
            variant = {}
        mrng = np.random.default_rng(mix_seed)
        hits = [(int(round(t * SR)), n, v) for _, t, n, v in qevents]
        if settings.get("bleed_db", "") != "":  # close-mic stems that bleed into each other
            stems = {g: mix(bank, [h for h in hits if FOLD5.get(TD_CLASS.get(h[1]), "cymbals") == g], n_samples, mrng, variant)
                     for g in BLEED_GROUPS}
            audio = bleed(stems, float(settings["bleed_db"]), mrng)
        else:
            audio = mix(bank, hits, n_samples, mrng, variant)
        peak = float(np.abs(audio).max()) or 1.0
        audio *= 10 ** (-1 / 20) / peak  # -1 dBFS
        if job.realism is not None and job.realism.any:
            audio = apply_realism(audio, settings, mrng, bpm, lead_in, backing_ok, kit_pool)
            peak = float(np.abs(audio).max()) or 1.0
            audio *= 10 ** (-1 / 20) / peak
            if settings.get("gain_db", "") != "":
                audio *= 10 ** (float(settings["gain_db"]) / 20)
        pcm = np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)
        write_midi(midi, qevents, tempo, spt)  # midi first, wav last: a pair is complete when the wav exists
        write_wav(wav, pcm if job.channels == 2 else pcm[:, 0])
    kit_name = f"mix:{job.perf}-{job.k}" if job.pieces else job.kit.name
    row = {
        **meta,
        "duration": f"{duration:.6f}",
        "midi_filename": str(rel / f"{stem}.midi"),
        "audio_filename": str(rel / f"{stem}.wav"),
        "kit_name": kit_name,
        "kit_pool": job.kit.pool,
        "kit_source": "mixed" if job.pieces else job.kit.source,
        "kit_pieces": pieces,
        "variation": int(varied),
        "pattern": pattern,
        **settings,
        "mic_mix": mic_mix,
    }
    notes = Counter(n for _, _, n, _ in qevents)
    return {"row": row, "perf": job.perf, "k": job.k, "notes": notes, "stats": stats, "skipped": skipped, "duration": duration}


def _prepare_kit(args):
    from drumscribe.synth.sampler import load_bank

    kit, channels = args
    return kit.name, sorted(load_bank(kit, channels).voices)
