"""Orchestration: plan performances, render (kit x performance) pairs, write the CSV.

Layout and CSV follow E-GMD v1.0.0 exactly (see docs/synth.md).  Everything
random is drawn from ``numpy.random.default_rng([seed, purpose, index...])``
so results are identical for any ``num_workers`` and a re-run skips pairs
that are already complete.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drumscribe.core.atomic import atomic_write_bytes, atomic_write_text
from drumscribe.dataset.index import CSV_NAME, EGMD_COLUMNS
from drumscribe.core.drums import CLASSES, FOLD5, TD_CLASS, TOM_CLASSES
from drumscribe.core.errors import DrumscribeError
from drumscribe.synth import effects
from drumscribe.synth.constants import SR
from drumscribe.synth.kits import Kit, backing_soundfont, check_path, fluidsynth_available, get_kits, procedural_kit
from drumscribe.synth.patterns import Drummer, adapt_to_kit, generate_performance
from drumscribe.synth.priors import Variety, break_priors

TICKS_PER_BEAT = 480
EXTRA_COLUMNS = ["kit_pool", "kit_source", "kit_pieces", "variation", "pattern", *effects.COLUMNS, "mic_mix"]
PIECES = ("kick", "snare", "hihat", "toms", "crash", "ride")  # kit mixing draws one kit per piece


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
    source: object = None  # performances.Source (human performance) or None (generated)
    pieces: tuple = ()  # kit mixing: ((piece, Kit), ...); empty = the whole kit
    variety: Variety = Variety()


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


def _piece_classes(piece: str) -> tuple[str, ...]:
    return TOM_CLASSES if piece == "toms" else (piece,)


def _kit_classes(kit: Kit) -> set:
    return {TD_CLASS[n] for n in kit.notes if n in TD_CLASS}


def _draw_kit(cands, k_rng, variety: Variety, pool_name: str):
    """(kit, pieces) of one rendering: a stock kit, a fresh procedural kit, or a mixed kit."""
    u = k_rng.random(2)
    if u[0] < variety.procedural:
        from drumscribe.synth.kits import N_PROCEDURAL, N_PROCEDURAL_HELDOUT

        if pool_name == "heldout":
            seed = int(k_rng.integers(N_PROCEDURAL - N_PROCEDURAL_HELDOUT, N_PROCEDURAL))
        else:  # unlimited timbres, never a held-out seed
            seed = int(k_rng.integers(N_PROCEDURAL, 2**31 - 1))
        return procedural_kit(seed), ()
    if u[1] < variety.kit_mix and len(cands) > 1:
        pieces = []
        for piece in PIECES:
            have = [c for c in cands if set(_piece_classes(piece)) & _kit_classes(c)]
            if have:
                pieces.append((piece, have[int(k_rng.integers(len(have)))]))
        if len({kk.name for _, kk in pieces}) > 1:
            return pieces[0][1], tuple(pieces)
    return None, ()


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
    performances_from=None,
    splits=None,
    variety: Variety | None = None,
) -> list[Job]:
    variety = variety or Variety()
    if performances is not None and hours is not None:
        raise DrumscribeError("give --performances or --hours, not both")
    if performances is None and hours is None and performances_from is None:
        performances = 10  # generated patterns; with --performances-from the default is every performance
    if performances is not None and performances < 1:
        raise DrumscribeError("--performances must be >= 1")
    if hours is not None and hours <= 0:
        raise DrumscribeError("--hours must be > 0")
    if kits_per_performance < 1:
        raise DrumscribeError("--kits-per-performance must be >= 1")

    def stock(ks):  # procedural kits only when named (otherwise --procedural P)
        return [k for k in ks if k.source != "procedural"] if not kits else ks

    if eval_on_heldout:
        if kits:
            sel = get_kits(kits)
            train_kits = [k for k in sel if k.pool == "train"]
            held_kits = [k for k in sel if k.pool == "heldout"]
        else:
            train_kits, held_kits = stock(get_kits(pool="train")), stock(get_kits(pool="heldout"))
        if not train_kits or not held_kits:
            raise DrumscribeError("--eval-on-heldout needs kits from both the train and the heldout pool")
    else:
        train_kits = held_kits = stock(get_kits(kits, pool))
    k_rend = kits_per_performance
    if performances_from is not None:
        from drumscribe.synth.performances import read_index, select

        sources = select(read_index(performances_from), performances=performances, hours=hours,
                         kits_per_performance=min(k_rend, max(len(train_kits), 1)), seed=seed, splits=splits)
        perfs = [(None, src.duration, src) for src in sources]
        split_of = [src.split for src in sources]
    else:
        if splits:
            raise DrumscribeError("--splits needs --performances-from (generated patterns get their own split)")
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
            perfs.append((drummer, p.duration, None))
            total += p.duration * min(k_rend, max(len(train_kits), 1))
            i += 1
        split_of = _splits(len(perfs), seed)
    jobs = []
    counts = Counter()
    for i, (drummer, _, src) in enumerate(perfs):
        if src is None:
            counts[drummer] += 1
            c = counts[drummer] - 1
            session, number = 1 + c // PERFS_PER_SESSION, c + 1
        else:
            drummer, session, number = 0, 0, 0
        held = eval_on_heldout and split_of[i] != "train"
        cands = held_kits if held else train_kits
        krng = np.random.default_rng([seed, 3, i])
        pick = krng.permutation(len(cands))[: min(k_rend, len(cands))]
        real = [c for c in cands if c.source == "real"]
        for k, j in enumerate(pick, start=1):
            kit, pieces = cands[j], ()
            if real and variety.real_kit and np.random.default_rng([seed, 13, i, k]).random() < variety.real_kit:
                kit = real[int(np.random.default_rng([seed, 14, i, k]).integers(len(real)))]
            elif variety.procedural or variety.kit_mix:
                alt, pieces = _draw_kit(cands, np.random.default_rng([seed, 6, i, k]), variety,
                                        "heldout" if held or pool == "heldout" else "train")
                kit = alt or kit
            jobs.append(Job(i, k, kit, split_of[i], drummer, session, number, seed, max_seconds, channels, realism,
                            str(out_dir), src, pieces, variety))
    return jobs


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
    settings = effects.draw_settings(job.realism, rng, kit_pool, np.random.default_rng([job.seed, 9, job.perf, job.k]),
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
    if settings.get("mix_mode") == effects.DRUMLESS_MIX_MODE:
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
                     for g in effects.BLEED_GROUPS}
            audio = effects.bleed(stems, float(settings["bleed_db"]), mrng)
        else:
            audio = mix(bank, hits, n_samples, mrng, variant)
        peak = float(np.abs(audio).max()) or 1.0
        audio *= 10 ** (-1 / 20) / peak  # -1 dBFS
        if job.realism is not None and job.realism.any:
            audio = effects.apply(audio, settings, mrng, bpm, lead_in, backing_ok, kit_pool)
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


# ------------------------------------------------------------------ re-runs into an existing folder
RECORD_NAME = ".drumscribe-synth.json"  # the settings a folder was rendered with (beside the CSV)
RERUN_FREE = ("out_dir", "num_workers", "progress")  # arguments that do not change what is rendered


def run_record(params: dict) -> dict:
    """The JSON-able settings of a :func:`render_dataset` call (all arguments but :data:`RERUN_FREE`)."""
    import dataclasses

    def plain(x):
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            return {k: plain(v) for k, v in dataclasses.asdict(x).items()}
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        if isinstance(x, Path):
            return str(x)
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        return repr(x)

    return {"settings": {k: plain(v) for k, v in sorted(params.items()) if k not in RERUN_FREE}}


def check_rerun(out: Path, record: dict) -> None:
    """Refuse (one line) a re-run whose rows would not fit the folder's CSV: other settings than the recorded
    ones, or a CSV (a real E-GMD release, a hand-made one) that no ``drumscribe synth`` run recorded."""
    from drumscribe.core.atomic import check_destination

    csv_path, rec_path = out / CSV_NAME, out / RECORD_NAME
    check_destination(csv_path)  # a file in the way, a read-only folder: fail now, not after planning
    if not rec_path.is_file():
        if csv_path.exists():
            raise DrumscribeError(f"{csv_path}: not listed by a `drumscribe synth` run that recorded its settings "
                                  f"({RECORD_NAME}); refusing to rewrite it: render into a new --out folder")
        return
    try:
        old = json.loads(rec_path.read_text())["settings"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DrumscribeError(f"{rec_path}: unreadable ({exc}); render into a new --out folder") from None
    new = record["settings"]
    changed = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if changed:
        k = changed[0]
        raise DrumscribeError(
            f"{out}: rendered with other settings (--{k.replace('_', '-')} {_shown(old.get(k))}, now "
            f"{_shown(new.get(k))}{f'; also {len(changed) - 1} more' if len(changed) > 1 else ''}); "
            "a re-run must use the same ones, or render into a new --out folder")


def _shown(v) -> str:
    return "unset" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else str(v))


def _existing_rows(csv_path: Path) -> list[dict]:
    if not csv_path.is_file():
        return []
    with open(csv_path, newline="") as fh:
        return [dict(r) for r in csv.DictReader(fh)]


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
    performances_from=None,
    splits=None,
    variety: Variety | None = None,
) -> dict:
    """Render an E-GMD-format folder; returns a summary dict.

    ``realism``: None/False (dry), True (all effects) or an :class:`effects.Realism`.
    ``performances_from``: a GMD or E-GMD folder whose human performances are
    rendered (keeping their id/style/bpm/beat_type/split and TD notes) instead of
    generated patterns; ``splits`` keeps only those splits of it.
    ``variety``: kit mixing / procedural kits / variation / pattern-prior breakers
    (:class:`Variety`; default none).

    Re-runs (:func:`check_rerun`): a folder rendered with the same settings is resumed (complete pairs are
    skipped, every CSV row kept); one rendered with other settings, or an E-GMD CSV no run recorded, is refused.
    """
    record = run_record(locals())  # first: exactly the arguments
    t0 = time.time()
    out = check_path(Path(out_dir))
    check_rerun(out, record)
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
        performances_from=performances_from, splits=splits, variety=variety,
    )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / RECORD_NAME, json.dumps(record, indent=1, sort_keys=True) + "\n")
    # group by kit so each worker keeps few banks in memory
    order = sorted(range(len(jobs)), key=lambda i: (jobs[i].kit.name, i))
    kits_needed = sorted({k.name: k for j in jobs for k in [j.kit, *(kk for _, kk in j.pieces)]}.values(), key=lambda k: k.name)
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
    # CSV (atomic): the rows already listed stay, this run's rows are added or refreshed
    csv_path = out / CSV_NAME
    rows = {row["audio_filename"]: row for row in _existing_rows(csv_path)}
    rows.update({r["row"]["audio_filename"]: r["row"] for r in results})
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=EGMD_COLUMNS + EXTRA_COLUMNS, lineterminator="\n", extrasaction="ignore",
                       restval="")
    w.writeheader()
    for row in rows.values():
        w.writerow(row)
    atomic_write_text(csv_path, buf.getvalue())
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
        if n in TD_CLASS:
            classes[TD_CLASS[n]] += c
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
        "patterns": dict(Counter(r["row"]["pattern"].split(":")[0] for r in results)),
        "dropped": {k[5:]: v for k, v in sorted(stats.items()) if k.startswith("drop:")},
        "kits_used": dict(sorted(kits_used.items())),
        "splits": dict(splits),
        "elapsed_s": round(elapsed, 2),
        "realtime_factor": round(seconds / elapsed, 1) if elapsed > 0 else None,
    }
