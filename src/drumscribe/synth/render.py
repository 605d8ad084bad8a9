"""Orchestration: plan performances, render (kit x performance) pairs, write the CSV.

Layout and CSV follow E-GMD v1.0.0 exactly (see docs/synth.md).  Everything
random is drawn from ``numpy.random.default_rng([seed, purpose, index...])``
so results are identical for any ``num_workers`` and a re-run skips pairs
that are already complete.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dataset_index import CSV_NAME, EGMD_COLUMNS
from ..errors import DrumscribeError
from . import effects
from .kits import CLASSES, NOTE_CLASS, Kit, backing_soundfont, check_path, fluidsynth_available, get_kits
from .patterns import Drummer, adapt_to_kit, generate_performance

SR = 44100
TICKS_PER_BEAT = 480
EXTRA_COLUMNS = ["kit_pool", "kit_source", *effects.COLUMNS]
N_DRUMMERS = 10
PERFS_PER_SESSION = 25
SPLIT_RATIOS = (0.8, 0.1, 0.1)


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
    realism: effects.Realism | None
    out_dir: str


# ------------------------------------------------------------------ planning
def _performance(seed: int, perf: int, drummer: int, max_seconds):
    rng = np.random.default_rng([seed, 1, perf])
    return generate_performance(rng, Drummer.make(drummer, seed), max_seconds=max_seconds, take=perf % 9 + 1)


def _splits(n: int, seed: int, ratios=SPLIT_RATIOS) -> list[str]:
    order = np.random.default_rng([seed, 2]).permutation(n)
    n_val = int(round(n * ratios[1]))
    n_test = int(round(n * ratios[2]))
    if n >= 3:
        n_val, n_test = max(1, n_val), max(1, n_test)
    elif n == 2:
        n_val, n_test = 0, 1
    out = ["train"] * n
    for j, i in enumerate(order):
        if j < n_test:
            out[i] = "test"
        elif j < n_test + n_val:
            out[i] = "validation"
    return out


def plan(
    *,
    performances=None,
    hours=None,
    kits=None,
    pool="train",
    seed=0,
    kits_per_performance=3,
    eval_on_heldout=False,
    max_seconds=None,
    channels=1,
    realism=None,
    out_dir=".",
) -> list[Job]:
    if (performances is None) == (hours is None):
        if performances is None:
            performances = 10
        else:
            raise DrumscribeError("give --performances or --hours, not both")
    if performances is not None and performances < 1:
        raise DrumscribeError("--performances must be >= 1")
    if hours is not None and hours <= 0:
        raise DrumscribeError("--hours must be > 0")
    if kits_per_performance < 1:
        raise DrumscribeError("--kits-per-performance must be >= 1")
    if eval_on_heldout:
        if kits:
            sel = get_kits(kits)
            train_kits = [k for k in sel if k.pool == "train"]
            held_kits = [k for k in sel if k.pool == "heldout"]
        else:
            train_kits, held_kits = get_kits(pool="train"), get_kits(pool="heldout")
        if not train_kits or not held_kits:
            raise DrumscribeError("--eval-on-heldout needs kits from both the train and the heldout pool")
    else:
        train_kits = held_kits = get_kits(kits, pool)
    k_rend = kits_per_performance
    # performances: drummer, duration (cheap to generate, deterministic)
    perfs = []
    total = 0.0
    drng = np.random.default_rng([seed, 4])
    i = 0
    while True:
        if performances is not None and i >= performances:
            break
        if hours is not None and total >= hours * 3600:
            break
        drummer = int(drng.integers(1, N_DRUMMERS + 1))
        p = _performance(seed, i, drummer, max_seconds)
        perfs.append((drummer, p.duration))
        total += p.duration * min(k_rend, max(len(train_kits), 1))
        i += 1
    splits = _splits(len(perfs), seed)
    jobs = []
    counts = Counter()
    for i, (drummer, _) in enumerate(perfs):
        counts[drummer] += 1
        c = counts[drummer] - 1
        session, number = 1 + c // PERFS_PER_SESSION, c + 1
        cands = held_kits if (eval_on_heldout and splits[i] != "train") else train_kits
        krng = np.random.default_rng([seed, 3, i])
        pick = krng.permutation(len(cands))[: min(k_rend, len(cands))]
        for k, j in enumerate(pick, start=1):
            jobs.append(Job(i, k, cands[j], splits[i], drummer, session, number, seed, max_seconds, channels, realism, str(out_dir)))
    return jobs


# ------------------------------------------------------------------ writing
def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
    import mido

    mid = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    tr.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    msgs = []  # (tick, order, msg)
    dur = max(1, int(round(0.08 / sec_per_tick)))
    by_note = {}
    for tick, _, n, v in qevents:
        by_note.setdefault(n, []).append((tick, v))
    for n, lst in by_note.items():
        for j, (tick, v) in enumerate(lst):
            end = tick + dur
            if j + 1 < len(lst):
                end = min(end, lst[j + 1][0])
            end = max(end, tick + 1)
            msgs.append((tick, 1, n, mido.Message("note_on", channel=9, note=n, velocity=v)))
            msgs.append((end, 0, n, mido.Message("note_off", channel=9, note=n, velocity=0)))
    msgs.sort(key=lambda m: (m[0], m[1], m[2]))
    last = 0
    for tick, _, _, m in msgs:
        tr.append(m.copy(time=tick - last))
        last = tick
    tr.append(mido.MetaMessage("end_of_track", time=0))
    _atomic_write(path, lambda tmp: mid.save(tmp))


def write_wav(path: Path, audio: np.ndarray) -> None:
    import soundfile as sf

    _atomic_write(path, lambda tmp: sf.write(tmp, audio, SR, subtype="PCM_16", format="WAV"))


# ------------------------------------------------------------------ rendering one pair
def _stem(job: Job, perf) -> str:
    return f"{job.number}_{perf.style.replace('/', '-')}_{perf.bpm}_{perf.beat_type}_4-4_{job.k}"


def render_job(job: Job) -> dict:
    from .sampler import load_bank, mix

    perf = _performance(job.seed, job.perf, job.drummer, job.max_seconds)
    rng = np.random.default_rng([job.seed, 5, job.perf, job.k])
    bank = load_bank(job.kit, job.channels)
    stats = Counter()
    events, stats = adapt_to_kit(perf.events, bank.voices.keys(), stats)
    variant = {n: int(rng.integers(len(v))) for n, v in sorted(bank.voices.items())}
    settings = effects.draw_settings(job.realism, rng)
    backing_ok = backing_soundfont() is not None and fluidsynth_available()
    if not backing_ok:
        settings["backing"] = settings["backing_ratio_db"] = ""
    mix_seed = int(rng.integers(2**31))
    qevents, tempo, spt = quantize(events, perf.bpm)
    rel = Path(f"drummer{job.drummer}") / f"session{job.session}"
    stem = _stem(job, perf)
    wav, midi = Path(job.out_dir) / rel / f"{stem}.wav", Path(job.out_dir) / rel / f"{stem}.midi"
    n_samples = int(round(perf.duration * SR))
    duration = n_samples / SR
    skipped = wav.exists() and midi.exists()
    if not skipped:
        mrng = np.random.default_rng(mix_seed)
        hits = [(int(round(t * SR)), n, v) for _, t, n, v in qevents]
        audio = mix(bank, hits, n_samples, mrng, variant)
        peak = float(np.abs(audio).max()) or 1.0
        audio *= 10 ** (-1 / 20) / peak  # -1 dBFS
        if job.realism is not None and job.realism.any:
            audio = effects.apply(audio, settings, mrng, perf.bpm, perf.lead_in, backing_ok)
            peak = float(np.abs(audio).max()) or 1.0
            audio *= 10 ** (-1 / 20) / peak
            if settings.get("gain_db", "") != "":
                audio *= 10 ** (float(settings["gain_db"]) / 20)
        pcm = np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)
        write_midi(midi, qevents, tempo, spt)  # midi first, wav last: a pair is complete when the wav exists
        write_wav(wav, pcm if job.channels == 2 else pcm[:, 0])
    row = {
        "drummer": f"drummer{job.drummer}",
        "session": f"drummer{job.drummer}/session{job.session}",
        "id": f"drummer{job.drummer}/session{job.session}/{job.number}",
        "style": perf.style,
        "bpm": perf.bpm,
        "beat_type": perf.beat_type,
        "time_signature": "4-4",
        "duration": f"{duration:.6f}",
        "split": job.split,
        "midi_filename": str(rel / f"{stem}.midi"),
        "audio_filename": str(rel / f"{stem}.wav"),
        "kit_name": job.kit.name,
        "kit_pool": job.kit.pool,
        "kit_source": job.kit.source,
        **settings,
    }
    notes = Counter(n for _, _, n, _ in qevents)
    return {"row": row, "perf": job.perf, "k": job.k, "notes": notes, "stats": stats, "skipped": skipped, "duration": duration}


def _prepare_kit(args):
    from .sampler import load_bank

    kit, channels = args
    return kit.name, sorted(load_bank(kit, channels).voices)


# ------------------------------------------------------------------ dataset
def render_dataset(
    out_dir,
    *,
    performances: int | None = None,
    hours: float | None = None,
    kits=None,
    pool: str = "train",
    seed: int = 0,
    num_workers: int = 1,
    realism: effects.Realism | bool | None = None,
    kits_per_performance: int = 3,
    eval_on_heldout: bool = False,
    max_seconds: float | None = None,
    channels: int = 1,
    progress: bool = True,
) -> dict:
    """Render an E-GMD-format folder; returns a summary dict.

    ``realism``: None/False (dry), True (all effects) or an :class:`effects.Realism`.
    """
    t0 = time.time()
    out = check_path(Path(out_dir))
    if channels not in (1, 2):
        raise DrumscribeError("channels must be 1 or 2")
    if realism is True:
        realism = effects.Realism.all()
    elif realism is False:
        realism = None
    jobs = plan(
        performances=performances, hours=hours, kits=kits, pool=pool, seed=seed,
        kits_per_performance=kits_per_performance, eval_on_heldout=eval_on_heldout,
        max_seconds=max_seconds, channels=channels, realism=realism, out_dir=str(out),
    )
    out.mkdir(parents=True, exist_ok=True)
    # group by kit so each worker keeps few banks in memory
    order = sorted(range(len(jobs)), key=lambda i: (jobs[i].kit.name, i))
    kits_needed = sorted({j.kit.name: j.kit for j in jobs}.values(), key=lambda k: k.name)
    results = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="file", desc="synth", dynamic_ncols=True, disable=None)
    try:
        if num_workers <= 1:
            for name, _ in map(_prepare_kit, [(k, channels) for k in kits_needed if k.source == "soundfont"]):
                pass
            for i in order:
                results.append(render_job(jobs[i]))
                bar and bar.update(1)
        else:
            import multiprocessing as mp

            # forkserver: workers fork from a clean server process, never from a parent
            # that may hold fluidsynth/glib locks (plain fork can deadlock then)
            methods = mp.get_all_start_methods()
            ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
            with ctx.Pool(num_workers) as pool_:
                # soundfont one-shots: render each kit's cache once, in parallel
                list(pool_.imap_unordered(_prepare_kit, [(k, channels) for k in kits_needed if k.source == "soundfont"]))
                for r in pool_.imap_unordered(render_job, [jobs[i] for i in order], chunksize=2):
                    results.append(r)
                    bar and bar.update(1)
    finally:
        if bar:
            bar.close()
    results.sort(key=lambda r: (r["perf"], r["k"]))
    # CSV (atomic)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=EGMD_COLUMNS + EXTRA_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in results:
        w.writerow(r["row"])
    csv_path = out / CSV_NAME
    _atomic_write(csv_path, lambda tmp: Path(tmp).write_text(buf.getvalue(), encoding="utf-8"))
    # summary
    notes, stats, kits_used, splits = Counter(), Counter(), Counter(), Counter()
    for r in results:
        notes.update(r["notes"])
        stats.update(r["stats"])
        kits_used[r["row"]["kit_name"]] += 1
        splits[r["row"]["split"]] += 1
    classes = {c: 0 for c in CLASSES}
    unmapped = Counter()
    for n, c in notes.items():
        if n in NOTE_CLASS:
            classes[NOTE_CLASS[n]] += c
        else:
            unmapped[n] += c
    seconds = sum(r["duration"] for r in results)
    elapsed = time.time() - t0
    return {
        "out_dir": str(out),
        "csv": str(csv_path),
        "performances": len({r["perf"] for r in results}),
        "files": len(results),
        "rendered": sum(not r["skipped"] for r in results),
        "skipped": sum(r["skipped"] for r in results),
        "audio_seconds": round(seconds, 3),
        "hours": round(seconds / 3600, 4),
        "onsets_per_class": classes,
        "onsets_per_note": dict(sorted(notes.items())),
        "unmapped_notes": dict(sorted(unmapped.items())),
        "substituted": {k[4:]: v for k, v in sorted(stats.items()) if k.startswith("sub:")},
        "dropped": {k[5:]: v for k, v in sorted(stats.items()) if k.startswith("drop:")},
        "kits_used": dict(sorted(kits_used.items())),
        "splits": dict(splits),
        "elapsed_s": round(elapsed, 2),
        "realtime_factor": round(seconds / elapsed, 1) if elapsed > 0 else None,
    }
