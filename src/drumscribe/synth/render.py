"""Orchestration: plan performances, render (kit x performance) pairs (:mod:`.render_job`), write the CSV.

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
from pathlib import Path

import numpy as np

from drumscribe.core.atomic import atomic_write_text
from drumscribe.core.drums import CLASSES, TD_CLASS, TOM_CLASSES
from drumscribe.core.errors import DrumscribeError
from drumscribe.dataset.index import CSV_NAME, EGMD_COLUMNS
from drumscribe.synth.kits import Kit, check_path, get_kits, procedural_kit
from drumscribe.synth.priors import Variety
from drumscribe.synth.realism import Realism
from drumscribe.synth.record import LOCK_NAME, RECORD_NAME, check_rerun, existing_rows, folder_lock, run_record
from drumscribe.synth.render_job import EXTRA_COLUMNS, Job, _performance, _prepare_kit, render_job

PIECES = ("kick", "snare", "hihat", "toms", "crash", "ride")  # kit mixing draws one kit per piece


N_DRUMMERS = 10
PERFS_PER_SESSION = 25
SPLIT_RATIOS = (0.8, 0.1, 0.1)


# ------------------------------------------------------------------ planning

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
    if variety.real_kit and not any(k.source == "real" for k in [*train_kits, *held_kits]):
        from drumscribe.synth.kits import kit_dirs

        where = (f"none of the kits drawn from is one of --kit-dir {', '.join(kit_dirs())}" if kit_dirs()
                 else "no --kit-dir given")
        raise DrumscribeError(f"--real-kits {variety.real_kit:g}: no real recorded kit to draw from ({where})")
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


def _render_all(jobs: list[Job], channels: int, num_workers: int, progress: bool) -> list[dict]:
    """Render every job (in this process or ``num_workers`` forkserver workers); results in plan order."""
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
    return results


def _write_csv(out: Path, results: list[dict]) -> Path:
    """The CSV (atomic): the rows already listed stay, this run's rows are added or refreshed."""
    csv_path = out / CSV_NAME
    rows = {row["audio_filename"]: row for row in existing_rows(csv_path)}
    rows.update({r["row"]["audio_filename"]: r["row"] for r in results})
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=EGMD_COLUMNS + EXTRA_COLUMNS, lineterminator="\n", extrasaction="ignore",
                       restval="")
    w.writeheader()
    for row in rows.values():
        w.writerow(row)
    atomic_write_text(csv_path, buf.getvalue())
    return csv_path


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
    realism: Realism | bool | None = None,
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

    ``realism``: None/False (dry), True (all effects) or an :class:`Realism`.
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
    check_rerun(out, record)  # before anything is created here
    if channels not in (1, 2):
        raise DrumscribeError("channels must be 1 or 2")
    if realism is True:
        realism = Realism.all()
    elif realism is False:
        realism = None
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with folder_lock(out):  # a second run into this folder is refused while this one writes
            check_rerun(out, record)  # again under the lock: a run that ended meanwhile left its record
            jobs = plan(
                performances=performances, hours=hours, kits=kits, pool=pool, seed=seed,
                kits_per_performance=kits_per_performance, eval_on_heldout=eval_on_heldout,
                max_seconds=max_seconds, channels=channels, realism=realism, out_dir=str(out),
                performances_from=performances_from, splits=splits, variety=variety,
            )
            atomic_write_text(out / RECORD_NAME, json.dumps(record, indent=1, sort_keys=True) + "\n")
            results = _render_all(jobs, channels, num_workers, progress)
            csv_path = _write_csv(out, results)
    except BaseException:
        if made and not (out / RECORD_NAME).exists():  # refused before any work: leave no folder behind
            (out / LOCK_NAME).unlink(missing_ok=True)
            try:
                out.rmdir()
            except OSError:
                pass
        raise
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
