"""Evaluate a model on a split (from the feature cache) or on a folder of audio+MIDI pairs.

* :func:`cache_items` / :func:`folder_items` yield :class:`EvalItem` (features + exact reference onsets).
* :func:`predict_items` runs the model once per item (windowed, as ``transcribe`` does).
* :func:`evaluate_predictions` decodes and scores (see :mod:`drumscribe.evaluation.metrics`) -> the results dict
  written by ``drumscribe evaluate --output`` (format in ``docs/evaluation.md``).
* :func:`split_items` chooses between the two: a named split from the cache, or a folder.

Threshold tuning on these predictions is :mod:`drumscribe.evaluation.tuning`; which model, config and
thresholds to use is :func:`drumscribe.transcription.bundle.resolve`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from drumscribe.audio.io import AUDIO_SUFFIXES
from drumscribe.dataset.index import midi_partner
from drumscribe.transcription.decoding import DecodeSettings, decode, events_by_class
from drumscribe.core.errors import CacheError, DrumscribeError
from drumscribe.evaluation.metrics import Counts, OnsetScorer, TimingScorer, match_onsets
from drumscribe.dataset.targets import onsets_by_class
from drumscribe.core.timebase import FrameClock



@dataclass
class EvalItem:
    """One file: ``features`` (frames, n_mels) float32; reference ``note_times`` (s) / ``note_classes``;
    ``onsets`` (frames, classes) frame targets (None: computed from the notes); ``note_pitches``: the
    truth note of each onset (the articulation truth; None: not known, articulations not scored);
    ``note_velocities``: the truth MIDI velocity of each onset (None: not known); ``audio_path``: the
    audio the features came from (what ``postprocessing.onset_refine=signal`` measures; None: unknown)."""

    name: str
    features: np.ndarray
    note_times: np.ndarray
    note_classes: np.ndarray
    onsets: np.ndarray | None = None
    note_pitches: np.ndarray | None = None
    note_velocities: np.ndarray | None = None
    audio_path: Path | None = None


@dataclass
class Prediction:
    item: EvalItem
    onset_probs: np.ndarray
    velocity_probs: np.ndarray | None


def is_named_split(split: str) -> bool:
    from drumscribe.dataset.splits import ALIASES, SPLIT_NAMES

    return ALIASES.get(split, split) in SPLIT_NAMES


def cache_items(cfg, split: str, expected_key: str | None = None) -> Iterator[EvalItem]:
    """Items of a named split read from ``data.processed_root`` (HDF5 or .npy entries)."""
    from drumscribe.dataset.cache import cache_path, read_item
    from drumscribe.dataset.splits import read_split

    rels = read_split(Path(cfg.data.splits_dir).expanduser(), split)
    if not rels:
        raise CacheError(f"split {split!r} in {cfg.data.splits_dir} is empty")
    root = Path(cfg.data.processed_root).expanduser()
    for rel in rels:
        path = cache_path(root, rel)
        if not path.exists() and cache_path(root, rel, use_hdf5=False).exists():
            path = cache_path(root, rel, use_hdf5=False)
        item = read_item(path, ("features", "onsets", "note_times", "note_classes", "note_pitches", "note_velocities"),
                         expected_key=expected_key)
        src = item.meta.get("source_path")  # relative to data.egmd_root
        yield EvalItem(rel, item["features"], item["note_times"], item["note_classes"], item["onsets"],
                       item.arrays.get("note_pitches"), item.arrays.get("note_velocities"),
                       Path(cfg.data.egmd_root).expanduser() / src if src else None)


def find_pairs(folder: str | Path) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """(audio, midi) pairs under ``folder`` (same stem, MIDI ``.midi`` or ``.mid``) and audio files without MIDI."""
    folder = Path(folder)
    pairs, unpaired = [], []
    for audio in sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()):
        midi = midi_partner(audio)
        (pairs.append((audio, midi)) if midi else unpaired.append(audio))
    return pairs, unpaired


def folder_items(cfg, folder: str | Path) -> Iterator[EvalItem]:
    """Items computed on the fly from a folder of audio+MIDI pairs never preprocessed."""
    folder = Path(folder)
    pairs, unpaired = find_pairs(folder)
    if not pairs:  # one line, not one warning per audio file
        found = f" ({len(unpaired)} audio files, none with a MIDI partner)" if unpaired else ""
        raise DrumscribeError(f"{folder}: no audio+MIDI pairs (*.wav with .midi/.mid of the same name) found{found}")
    for a in unpaired:
        warnings.warn(f"{a}: no .midi/.mid beside it; skipped", stacklevel=2)
    yield from pair_items(cfg, pairs, folder)


def pair_items(cfg, pairs: Sequence[tuple[Path, Path]], root: str | Path) -> Iterator[EvalItem]:
    """Items of (audio, MIDI) ``pairs`` computed on the fly (named relative to ``root``); an unreadable
    pair is reported and left out."""
    from drumscribe.audio.features import file_features
    from drumscribe.dataset.targets import make_targets, read_drum_notes

    folder = Path(root)
    clock = FrameClock.from_config(cfg.audio)
    n_ok = 0
    for audio_path, midi_path in pairs:
        try:  # one unreadable file is reported and left out; the rest are scored
            feats, _, _ = file_features(audio_path, cfg.audio)  # exactly what `transcribe` computes
            notes = read_drum_notes(midi_path, allow_empty=True)
        except DrumscribeError as exc:
            warnings.warn(f"{exc}; left out of the evaluation", stacklevel=2)
            continue
        t = make_targets(notes, feats.shape[0], clock, cfg.egmd_midi_mapping, cfg.model.n_classes)
        n_ok += 1
        yield EvalItem(str(audio_path.relative_to(folder)), feats, t.note_times, t.note_classes, t.onsets,
                       t.note_pitches, t.note_velocities, audio_path)
    if n_ok == 0:
        raise DrumscribeError(f"{folder}: none of the {len(pairs)} audio+MIDI pairs could be read")


def split_items(cfg, split: str, expected_key: str | None = None) -> Iterator[EvalItem]:
    """``--split``: ``train``/``val``/``test`` -> :func:`cache_items` (entries must carry ``expected_key``,
    e.g. the model's cache key), else a folder of audio+MIDI pairs -> :func:`folder_items`."""
    from drumscribe.core.errors import ConfigError

    if is_named_split(split):
        if expected_key is None:
            from drumscribe.dataset.cache import cache_key

            expected_key = cache_key(cfg)
        return cache_items(cfg, split, expected_key=expected_key)
    from drumscribe.evaluation import realdev

    if realdev.named(split):
        return folder_items(cfg, realdev.resolve(split))
    if not Path(split).is_dir():
        raise ConfigError(f"--split {split!r}: not train/val/test, real-dev/drums, real-dev/multitrack_sum or a folder")
    return folder_items(cfg, split)


def predict_items(bundle, items: Iterable[EvalItem], window_s: float | None = None, overlap_s: float | None = None,
                  progress: bool = False) -> list[Prediction]:
    """Run the model on every item (windowed exactly like ``transcribe``)."""
    from drumscribe.transcription.inference import DEFAULT_OVERLAP_S, DEFAULT_WINDOW_S, predict_features

    model = bundle.model  # torch network or ONNX Runtime model (drumscribe.transcription.onnx_runtime)
    clock = FrameClock.from_config(bundle.config.audio)
    out = []
    items = list(items) if progress else items
    it = items
    if progress:
        from tqdm import tqdm

        it = tqdm(items, desc="model", unit="file", leave=False, disable=None)  # off when not a terminal
    for item in it:
        probs, vel = predict_features(model, item.features, clock,
                                      DEFAULT_WINDOW_S if window_s is None else window_s,
                                      DEFAULT_OVERLAP_S if overlap_s is None else overlap_s)
        out.append(Prediction(item, probs, vel))
    return out


def _reference(item: EvalItem, n_classes: int) -> list[np.ndarray]:
    return onsets_by_class(np.asarray(item.note_times, dtype=np.float64), np.asarray(item.note_classes), n_classes)


def articulation_counts(item: EvalItem, events, articulations: Sequence[str], tolerance: float) -> dict:
    """Onset counts of each articulation in one file: the truth notes playing it (the TD note table,
    :func:`drumscribe.core.drums.articulation_of`) against the events decoded with it."""
    from drumscribe.core.drums import articulation_of

    times = np.asarray(item.note_times, dtype=np.float64)
    arts = np.array([articulation_of(n) for n in np.asarray(item.note_pitches).reshape(-1)], dtype=object)
    return {a: match_onsets(times[arts == a] if times.size else times,
                            np.array([e.time for e in events if e.articulation == a]), tolerance)
            for a in articulations}


def evaluate_predictions(preds: Sequence[Prediction], cfg, class_names: Sequence[str], thresholds: Sequence[float],
                         tolerance: float | None = None) -> dict:
    """Decode + score every prediction; the results dict (without the run's provenance fields)."""
    from drumscribe.dataset.targets import onset_roll

    clock = FrameClock.from_config(cfg.audio)
    pp = cfg.postprocessing
    tol = pp.onset_tolerance if tolerance is None else float(tolerance)
    n_classes = len(class_names)
    settings = DecodeSettings.from_config(cfg, thresholds)
    scorer = OnsetScorer(class_names, tol)
    timing = TimingScorer(class_names, tol)
    art_counts = {a: Counts() for a in settings.articulations}
    art_scored = 0
    files = []
    no_audio = 0
    for p in preds:
        # the model's fitted levels are its default, not a request: a file without its audio is scored with the
        # head's velocities (said once below, with the count)
        head, audio = p.velocity_probs is not None, _audio_file(p.item) is not None
        no_audio += bool(pp.velocity_levels and head and not audio)
        events = refined(decode(p.onset_probs, settings, p.velocity_probs), p.item, cfg, class_names,
                         levels=head and audio)
        est = events_by_class(events, n_classes)
        ref = _reference(p.item, n_classes)
        timing.add(*_timed(p.item, events, n_classes))
        targets = p.item.onsets
        if targets is None:
            targets = onset_roll(p.item.note_times, p.item.note_classes, p.onset_probs.shape[0], n_classes, clock)
        duration = float(clock.to_seconds(max(p.onset_probs.shape[0] - 1, 0)))
        fs = scorer.add(ref, est, p.onset_probs[:, :n_classes], np.asarray(targets)[:, :n_classes], thresholds,
                        duration=duration)
        file_arts = {}
        if p.item.note_pitches is not None and art_counts:
            art_scored += 1
            for a, c in articulation_counts(p.item, events, list(art_counts), tol).items():
                art_counts[a] = art_counts[a] + c
                file_arts[a] = {k: int(getattr(c, k)) for k in ("tp", "fp", "fn")}
        files.append({
            "file": p.item.name,
            "duration": duration,
            "n_reference": int(sum(len(r) for r in ref)),
            "n_estimated": int(sum(len(e) for e in est)),
            **{k: fs["micro"][k] for k in ("precision", "recall", "f1", "tp", "fp", "fn")},
            "per_class_f1": {n: fs["per_class"][n]["f1"] for n in class_names if fs["per_class"][n]["support"] > 0},
            **({"articulations": file_arts} if file_arts else {}),  # counts per file: leave-one-song-out checks
        })
    if no_audio:
        warnings.warn(f"{no_audio} of {len(preds)} files without their audio: their velocities are scored as the "
                      "velocity head's (postprocessing.velocity_levels needs the audio)", stacklevel=2)
    res = scorer.result()
    res["timing"] = timing.result()
    if art_counts:
        res["articulations"] = {a: c.as_dict() for a, c in art_counts.items()}
        res["articulations_scored_files"] = art_scored
    res["files"] = files
    res["thresholds"] = {n: float(t) for n, t in zip(class_names, thresholds)}
    res["class_names"] = list(class_names)
    res["decoding"] = {"min_onset_interval": pp.min_onset_interval, "peak_min_distance": pp.peak_min_distance,
                       "onset_refine": pp.onset_refine}
    return res


def refined(events: list, item: EvalItem, cfg, class_names: Sequence[str], levels: bool = True) -> list:
    """``events`` as ``transcribe`` writes them: with what the item's audio measures (``postprocessing.velocity_levels``:
    velocities from the hits' levels; ``onset_refine=signal``: onsets moved to their attacks;
    :func:`drumscribe.transcription.inference.measured`; ``levels``: the velocities are the head's)."""
    pp = cfg.postprocessing
    levels = levels and bool(pp.velocity_levels)
    if (pp.onset_refine == "none" and not levels) or not events:
        return events
    from drumscribe.transcription.inference import envelope_hop, measured
    from drumscribe.transcription.refine import file_envelopes

    audio = _audio_file(item)
    if audio is None:
        what = "onset_refine=signal" if pp.onset_refine != "none" else "velocity_levels"
        raise DrumscribeError(f"{item.name}: postprocessing.{what} needs the audio file "
                              f"({item.audio_path or 'the cache entry names none'} not found)")
    return measured(events, file_envelopes(audio, cfg.audio, class_names, hop_s=envelope_hop(cfg)), cfg, class_names,
                    levels)


def _audio_file(item: EvalItem) -> Path | None:
    """The item's audio file, or None when it names none or the file is gone."""
    return Path(item.audio_path) if item.audio_path is not None and Path(item.audio_path).is_file() else None


def _timed(item: EvalItem, events, n_classes: int) -> tuple:
    """(truth times per class, estimated times per class, truth velocities per class | None, estimated
    velocities per class | None) of one file, for :class:`TimingScorer`."""
    times = np.asarray(item.note_times, dtype=np.float64).reshape(-1)
    classes = np.asarray(item.note_classes).reshape(-1)
    et = np.array([e.time for e in events], dtype=np.float64)
    ec = np.array([e.cls for e in events], dtype=np.int64)
    ev = np.array([e.velocity for e in events], dtype=np.float64)
    ref = [times[classes == c] for c in range(n_classes)]
    est = [et[ec == c] for c in range(n_classes)]
    if item.note_velocities is None:
        return ref, est, None, None
    vel = np.asarray(item.note_velocities, dtype=np.float64).reshape(-1)
    return ref, est, [vel[classes == c] for c in range(n_classes)], [ev[ec == c] for c in range(n_classes)]


# ------------------------------------------------------------------ printing

def _fmt_row(table, name: str, d: dict, style: str | None = None) -> None:
    support = d.get("support", d.get("n_classes", ""))
    table.add_row(name, f"{d['precision']:.3f}", f"{d['recall']:.3f}", f"{d['f1']:.3f}", str(support), style=style)


def results_tables(results: dict) -> list:
    """rich Tables: per class (+ micro, macro), the 5-class view, frame level."""
    from rich.table import Table

    tables = []
    for key, title in ((None, f"Onset scores (±{results['tolerance'] * 1000:.0f} ms, {results['n_files']} files)"),
                       ("five_class", "5-class view (toms and cymbals merged; comparable with published E-GMD)"),
                       ("frame", "Frame level (reference only)")):
        part = results if key is None else results[key]
        t = Table(title=title, title_justify="left")
        for col in ("class", "precision", "recall", "F1", "support"):
            t.add_column(col, justify="left" if col == "class" else "right")
        for name, d in part["per_class"].items():
            _fmt_row(t, name, d)
        t.add_section()
        _fmt_row(t, "micro", part["micro"], "bold")
        macro = dict(part["macro"])
        macro["support"] = f"{macro['n_classes']} cls"
        _fmt_row(t, "macro", macro, "bold")
        tables.append(t)
    if results.get("cooccurrence"):
        t = Table(title="False alarms on another class's true onset (pattern priors)", title_justify="left")
        for col in ("class", "false alarms", "on other onsets", "share", "chance", "mostly on"):
            t.add_column(col, justify="left" if col in ("class", "mostly on") else "right")
        for name, d in results["cooccurrence"].items():
            top = sorted(((v, k) for k, v in d["on"].items() if v), reverse=True)[:3]
            chance = f"{d['chance']:.2f}" if "chance" in d else ""
            t.add_row(name, str(d["false_alarms"]), str(d["on_other"]), f"{d['share']:.2f}", chance,
                      ", ".join(f"{k} {v}" for v, k in top))
        tables.append(t)
    tables += timing_tables(results)
    art = articulation_table(results)
    if art is not None:
        tables.append(art)
    return tables


def _ms(x) -> str:
    return "-" if x is None else f"{x:.1f}"


def timing_tables(results: dict) -> list:
    """rich Tables of ``results["timing"]``: F1 at ±20/±30/±50 ms and the offsets of the matched hits per
    class; the velocity figures where the truth has velocities (none without ``timing``)."""
    from rich.table import Table

    tm = results.get("timing")
    if not tm:
        return []
    wins = list(tm["f1"])
    t = Table(title=f"Onset timing (offset = estimate - truth, ms, of the hits matched at ±{tm['tolerance'] * 1000:.0f} ms; "
                    "scatter: std after removing each file's median; robust: 1.4826 x MAD)", title_justify="left")
    for col in ("class", *(f"F1 ±{float(w) * 1000:.0f}" for w in wins), "n", "mean", "MAE", "p90",
                "scatter", "robust"):
        t.add_column(col, justify="left" if col == "class" else "right")

    def row(name, f1s, d, style=None):
        t.add_row(name, *(f"{f:.3f}" for f in f1s), str(d["n"]), _ms(d["mean_offset_ms"]), _ms(d["mae_ms"]),
                  _ms(d["p90_abs_ms"]), _ms(d["scatter_ms"]), _ms(d["robust_scatter_ms"]), style=style)

    for name, d in tm["per_class"].items():
        if tm["f1"][wins[-1]]["per_class"][name]["support"] > 0 or d["n"]:
            row(name, [tm["f1"][w]["per_class"][name]["f1"] for w in wins], d)
    t.add_section()
    row("micro", [tm["f1"][w]["micro"]["f1"] for w in wins], tm["overall"], "bold")
    out = [t]
    v = tm.get("velocity")
    if v:
        vt = Table(title=f"Velocity of the matched hits ({v['files']} files with truth velocities; ghost: true < 40 "
                         "written < 50; accent: true >= 110 written >= 100)", title_justify="left")
        for col in ("class", "matched", "Pearson", "within file", "MAE", "ghost recall", "accent recall"):
            vt.add_column(col, justify="left" if col == "class" else "right")

        def vrow(name, d, style=None):
            f = lambda x, n: "-" if x is None else f"{x:.2f} ({n})"  # noqa: E731
            r = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
            vt.add_row(name, str(d["n"]), r(d["pearson"]), r(d.get("pearson_within_file")),
                       "-" if d["mae"] is None else f"{d['mae']:.1f}", f(d["ghost_recall"], d["ghost_n"]),
                       f(d["accent_recall"], d["accent_n"]), style=style)

        for name, d in v["per_class"].items():
            vrow(name, d)
        vt.add_section()
        vrow("all", v, "bold")
        out.append(vt)
    return out


def articulation_table(results: dict):
    """rich Table of the articulation scores (None when the model has none or nothing was scored)."""
    from rich.table import Table

    arts = results.get("articulations")
    if not arts or not results.get("articulations_scored_files"):
        return None
    t = Table(title="Articulations (a hit of its drum decoded with it vs the truth notes playing it)",
              title_justify="left")
    for col in ("articulation", "precision", "recall", "F1", "support"):
        t.add_column(col, justify="left" if col == "articulation" else "right")
    for name, d in arts.items():
        if d["support"] == 0:  # nothing to score against: say so instead of a 0 or a 1
            t.add_row(name, "-", "-", "not scorable", f"0 ({d['fp']} predicted)")
        else:
            _fmt_row(t, name, d)
    return t
