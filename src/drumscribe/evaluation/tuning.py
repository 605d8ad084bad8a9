"""Per-class onset thresholds tuned on a split (validation by default) and stored with the model.

For each class the threshold on :data:`DEFAULT_GRID` (0.05, 0.10, ... 0.95) that maximises that
class's F1 (counts summed over the split's files, ±tolerance matching, :mod:`drumscribe.evaluation.metrics`)
is chosen; ties take the median of the best thresholds; a class without reference onsets keeps its
threshold.  Several sets (``drumscribe tune --split val --split real-dev/drums ...``): the threshold that
maximises the **mean over the sets** of that class's F1, each set one vote, a set voting only for the
classes (and articulations) it has at least :data:`MIN_SET_SUPPORT` onsets of (a class no set has enough
of is tuned on the sets that have any), so a few real songs and a synthetic split weigh what the caller
gives them and a handful of onsets never decides.  :func:`tune_checkpoint` writes the result into the model with
:func:`drumscribe.training.checkpoint.save_thresholds` (atomic), so ``evaluate`` and ``transcribe`` use it.
Used by ``drumscribe tune`` and, after training, by ``drumscribe train``.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from drumscribe.transcription.decoding import DecodeSettings, as_thresholds, exclusive_keep, select_peaks
from drumscribe.core.errors import DrumscribeError
from drumscribe.evaluation.evaluate import EvalItem, Prediction, predict_items
from drumscribe.evaluation.metrics import Counts, match_onsets

DEFAULT_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05 .. 0.95
# with several tuning sets, a set votes for a class only with at least this many onsets of it
MIN_SET_SUPPORT = 10


def _as_sets(preds) -> list[list[Prediction]]:
    """``preds``: one list of predictions, or a list of such lists (tuning sets)."""
    preds = list(preds)
    return [list(x) for x in preds] if preds and isinstance(preds[0], (list, tuple)) else [preds]


def _voters(supports: Sequence[int]) -> list[int]:
    """The sets whose F1 is averaged for one class: those with MIN_SET_SUPPORT onsets, else any with some."""
    if len(supports) == 1:
        return [0] if supports[0] > 0 else []
    big = [i for i, n in enumerate(supports) if n >= MIN_SET_SUPPORT]
    return big or [i for i, n in enumerate(supports) if n > 0]


def _mean_f1(score, voters: Sequence[int]) -> np.ndarray:
    """Mean over the voting sets of the F1 of ``score(i)`` (set i's counts, one per threshold)."""
    return np.mean([[c.f1 for c in score(i)] for i in voters], axis=0)


def threshold_scores(preds: Sequence[Prediction], cfg, cls: int, grid: Sequence[float],
                     tolerance: float | None = None, thresholds: Sequence[float] | None = None) -> list[Counts]:
    """Summed counts of class ``cls`` over all predictions for each threshold of ``grid``.

    When ``cls`` is in an exclusive group (``postprocessing.exclusive_groups``), the group's other
    classes are decoded at ``thresholds`` (default: the config's) and the group rule applied, so a
    threshold is scored as ``decode`` would use it."""
    settings = DecodeSettings.from_config(cfg, thresholds)
    group = settings.group_of(cls)
    pp = cfg.postprocessing
    tol = pp.onset_tolerance if tolerance is None else float(tolerance)
    th_all = as_thresholds(settings.thresholds, settings.n_drums(preds[0].onset_probs)) if (group and preds) else None
    totals = [Counts() for _ in grid]
    for p in preds:
        ref = np.sort(np.asarray(p.item.note_times)[np.asarray(p.item.note_classes) == cls])
        act = p.onset_probs[:, cls]
        others = {g: settings.peaks(p.onset_probs[:, g], th_all[g]) for g in group if g != cls}
        for i, th in enumerate(grid):
            pk = settings.peaks(act, th)
            if group:
                masks = exclusive_keep([pk if g == cls else others[g] for g in group], settings.min_interval_frames,
                                       settings.group_weights(group))
                pk = select_peaks(pk, masks[group.index(cls)])
            totals[i] = totals[i] + match_onsets(ref, settings.clock.to_seconds(pk.frames), tol)
    return totals


def tune_from_predictions(preds, cfg, current: Sequence[float],
                          grid: Sequence[float] = DEFAULT_GRID, tolerance: float | None = None) -> tuple[list[float], list[dict]]:
    """Per-class threshold maximising that class's F1 (summed counts over files), or with several sets
    (``preds`` a list of lists) the mean of the sets' F1 (module docstring).

    Ties: the median of the best thresholds (a point inside the flat optimum, not its edge).
    A class without reference onsets keeps its current threshold (nothing to tune on).
    Returns ``(thresholds, details)``; ``details[c]`` = ``{"class", "support", "before_f1", "after_f1", "threshold"}``.
    """
    sets = _as_sets(preds)
    out, details = [], []
    for c in range(len(current)):
        supports = [int(sum(int(np.sum(np.asarray(p.item.note_classes) == c)) for p in ps)) for ps in sets]
        voters = _voters(supports)
        now = out + [float(x) for x in current[c:]]  # the classes tuned so far, the rest as they are
        if not voters:
            before = threshold_scores(sets[0], cfg, c, [current[c]], tolerance, now)[0].f1 if sets[0] else 0.0
            out.append(float(current[c]))
            details.append({"class": c, "support": 0, "before_f1": before, "after_f1": before,
                            "threshold": float(current[c]), "tuned": False})
            continue
        before = float(_mean_f1(lambda i: threshold_scores(sets[i], cfg, c, [current[c]], tolerance, now), voters)[0])
        f1 = _mean_f1(lambda i: threshold_scores(sets[i], cfg, c, grid, tolerance, now), voters)
        best = np.flatnonzero(f1 >= f1.max() - 1e-12)
        choice = float(grid[int(best[len(best) // 2])])
        if before >= f1.max() - 1e-12:  # the current one is already optimal: keep it
            choice = float(current[c])
        out.append(choice)
        details.append({"class": c, "support": sum(supports), "before_f1": before, "after_f1": float(max(f1.max(), before)),
                        "threshold": choice, "tuned": True, "sets": len(voters)})
    return out, details


def tune_articulation_thresholds(preds, cfg, thresholds: Sequence[float],
                                 grid: Sequence[float] = DEFAULT_GRID, tolerance: float | None = None) -> tuple[list[float], list[dict]]:
    """One threshold per articulation output maximising that articulation's F1 (summed counts; several
    sets: the mean of their F1), with the drums decoded at ``thresholds``; the rules of
    :func:`tune_from_predictions` (ties: the median; no support or files without articulation truth:
    kept).  Returns ``(thresholds, details)``."""
    from drumscribe.evaluation.evaluate import articulation_counts
    from drumscribe.transcription.decoding import peak_events

    settings = DecodeSettings.from_config(cfg, thresholds)
    tol = cfg.postprocessing.onset_tolerance if tolerance is None else float(tolerance)
    scored = [[p for p in ps if p.item.note_pitches is not None] for ps in _as_sets(preds)]
    # the drum peaks do not depend on the articulation thresholds: picked once per file
    drum_peaks = [[settings.class_peaks(p.onset_probs, settings.thresholds) for p in ps] for ps in scored]
    current = list(settings.articulation_thresholds)
    out, details = [], []
    for j, name in enumerate(settings.articulations):
        def counts(i, th):
            s = settings.with_articulation_thresholds(out + [th] + current[j + 1:])
            total = Counts()
            for p, pk in zip(scored[i], drum_peaks[i]):
                events = peak_events(p.onset_probs, pk, s, p.velocity_probs)
                total = total + articulation_counts(p.item, events, [name], tol)[name]
            return total

        at_current = [counts(i, current[j]) for i in range(len(scored))]
        supports = [x.support for x in at_current]
        voters = _voters(supports)
        if not voters:
            out.append(float(current[j]))
            details.append({"articulation": name, "support": 0, "before_f1": 0.0, "after_f1": 0.0,
                            "threshold": float(current[j]), "tuned": False})
            continue
        before = float(_mean_f1(lambda i: [at_current[i]], voters)[0])
        f1 = _mean_f1(lambda i: [counts(i, th) for th in grid], voters)
        best = np.flatnonzero(f1 >= f1.max() - 1e-12)
        choice = float(current[j]) if before >= f1.max() - 1e-12 else float(grid[int(best[len(best) // 2])])
        out.append(choice)
        details.append({"articulation": name, "support": sum(supports), "before_f1": before,
                        "after_f1": float(max(f1.max(), before)), "threshold": choice, "tuned": True,
                        "sets": len(voters)})
    return out, details


def tune_thresholds(bundle, items: Iterable[EvalItem], grid: Sequence[float] = DEFAULT_GRID,
                    tolerance: float | None = None) -> list[float]:
    """Per-class thresholds for ``bundle`` tuned on ``items`` (e.g. ``cache_items(cfg, "val")``).

    Training may call this at the end and store the result with ``checkpoint.save_thresholds``.
    """
    preds = predict_items(bundle, items)
    if not preds:
        raise DrumscribeError("no items to tune thresholds on")
    th, _ = tune_from_predictions(preds, bundle.config, bundle.thresholds, grid, tolerance)
    return th


def tune_checkpoint(checkpoint, config=None, overrides=(), split="val", tolerance=None, dry_run=False,
                    console=None) -> list[float]:
    """Tune ``checkpoint``'s per-class thresholds on ``split`` (a cache split, ``real-dev/<half>`` or a folder;
    a list of them: the mean of their F1, module docstring); save unless dry_run.

    Prints a table (class, support, threshold and F1 before and after) on ``console`` (rich; default stdout).
    """
    from rich.console import Console

    from drumscribe.training.checkpoint import load_bundle, save_thresholds
    from drumscribe.transcription.bundle import config_for
    from drumscribe.core.errors import ConfigError
    from drumscribe.evaluation.evaluate import split_items

    bundle = load_bundle(checkpoint)
    cfg = config_for(bundle, config, list(overrides))
    splits = [split] if isinstance(split, str) else list(split)
    sets = []
    for sp in splits:
        sets.append(predict_items(bundle, split_items(cfg, sp, bundle.cache_key), progress=True))
        if not sets[-1]:
            raise ConfigError(f"--split {sp}: no files")
    th, details = tune_from_predictions(sets, cfg, bundle.thresholds, tolerance=tolerance)
    console = console or Console()
    where = ", ".join(f"{sp} ({len(ps)} files)" for sp, ps in zip(splits, sets))
    console.print(_tuning_table(f"Per-class thresholds tuned on {where}" + (": mean F1 of the sets" if len(sets) > 1 else ""),
                                "class", bundle.class_names, bundle.thresholds, details))
    from drumscribe.core.config import DECODING_KEYS

    if cfg.articulations:  # after the drums: an articulation is an attribute of its drum's decoded hits
        art_th, art_details = tune_articulation_thresholds(sets, cfg, th, tolerance=tolerance)
        console.print(_tuning_table(f"Articulation thresholds tuned on {', '.join(splits)}", "articulation",
                                    cfg.articulations, cfg.articulation_thresholds(), art_details))
        cfg.postprocessing.articulation_thresholds = art_th
    decoding = {k: getattr(cfg.postprocessing, k) for k in DECODING_KEYS}
    changed = [k for k in DECODING_KEYS if getattr(bundle.config.postprocessing, k) != decoding[k]]
    if dry_run:
        console.print("dry run: checkpoint not changed")
    else:
        save_thresholds(bundle.path, th, decoding)
        console.print(f"thresholds saved into {bundle.path}" +
                      (f", with the decoding they were tuned for ({', '.join(f'postprocessing.{k}' for k in changed)} "
                       "now as in --config/--set)" if changed else ""))
    return th


def _tuning_table(title: str, first: str, names, before, details):
    """rich Table of one tuning: per name its support, threshold and F1 before and after."""
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for col in (first, "support", "threshold before", "F1 before", "threshold after", "F1 after"):
        t.add_column(col, justify="left" if col == first else "right")
    for name, old, d in zip(names, before, details):
        t.add_row(name, str(d["support"]), f"{old:.2f}", f"{d['before_f1']:.3f}", f"{d['threshold']:.2f}",
                  f"{d['after_f1']:.3f}" + ("" if d["tuned"] else " (no support)"))
    return t
