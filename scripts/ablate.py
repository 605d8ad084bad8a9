#!/usr/bin/env python
"""Ablation harness: train named candidates at an equal time budget and compare them on validation folders.

Usage::

    python scripts/ablate.py --candidates configs/ablations.yaml --data data/gmd-corpus \\
        --val data/gmd-val-clean data/gmd-val-fullmix --out runs/ablations --minutes 60 --threads 2

The candidates file (YAML)::

    base_config: configs/default_config.yaml   # relative to the candidates file's repo root or absolute
    common: [training.num_epochs=1000]         # --set overrides applied to every candidate (optional)
    minutes: 60                                # time budget per candidate (training.max_minutes); --minutes wins
    candidates:
      baseline: []
      fps100: [audio.sample_rate=16000, audio.hop_length=160, audio.n_fft=1024, audio.fmax=8000]

For each candidate, in order, with ``drumscribe`` CLI subprocesses (no training code of its own):

1. ``drumscribe preprocess`` into ``OUT/cache/<cache key>`` (the key hashes the feature settings,
   :func:`drumscribe.dataset.cache.cache_key`): candidates with equal features share one cache;
2. ``drumscribe train --no-tune --threads N`` with ``training.max_minutes`` = the budget (Lightning's
   ``max_time``), checkpoints and history under ``OUT/runs/<name>/``; a killed run is continued with
   ``--resume <name>-last.ckpt`` (Lightning restores the elapsed time, so the budget stays the same);
3. ``drumscribe tune`` of the last checkpoint on the validation split of the corpus (per-class thresholds,
   as the shipped model is decoded);
4. ``drumscribe evaluate`` of the last checkpoint on every ``--val`` folder (JSON per folder).

A finished candidate (``OUT/runs/<name>/result.json``, written last) is skipped on a rerun; if its
settings (overrides, base config, budget, validation folders) changed, the harness stops with one line
unless ``--force`` (which redoes it).  ``OUT`` must be empty, new or a previous ablation folder
(``OUT/ablate-state.json``); ``--force`` is needed to write into any other existing folder.
Results: ``OUT/ablation.json`` and ``OUT/ablation.md`` (one row per candidate and validation folder:
F1 micro / macro, 5-class micro, per-class F1, false alarms on another class's true onset per class,
steps and epochs reached, training wall and CPU seconds), rewritten after every candidate.
CPU seconds are those of the training subprocess (``resource.RUSAGE_CHILDREN``); for a resumed run,
the attempts' sum.  Exit status: 0 all done, 1 a candidate failed (the others still run), 2 bad input.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

STATE = "ablate-state.json"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class AblateError(Exception):
    """Bad input (one line, exit 2)."""


# ------------------------------------------------------------------ spec

def read_candidates(path: Path) -> dict:
    from drumscribe.core.config import read_yaml

    raw = read_yaml(path, "candidates file")  # ConfigError: one line, exit 2 (see main)
    if not isinstance(raw, dict) or not isinstance(raw.get("candidates"), dict) or not raw["candidates"]:
        raise AblateError(f"{path}: needs a 'candidates' mapping of name -> list of KEY=VALUE overrides")
    unknown = set(raw) - {"base_config", "common", "minutes", "candidates"}
    if unknown:
        raise AblateError(f"{path}: unknown key {sorted(unknown)[0]!r} (base_config, common, minutes, candidates)")
    for name, ov in [("common", raw.get("common") or [])] + list(raw["candidates"].items()):
        if not NAME_RE.match(str(name)):
            raise AblateError(f"{path}: candidate name {name!r}: use letters, digits, '.', '_', '-'")
        if not isinstance(ov, list) or not all(isinstance(o, str) and "=" in o for o in ov):
            raise AblateError(f"{path}: {name}: expected a list of KEY=VALUE strings")
    return raw


def resolve_base(raw: dict, cand_path: Path, arg: str | None) -> Path:
    base = arg or raw.get("base_config")
    if not base:
        raise AblateError(f"{cand_path}: no base config (set base_config in the file or pass --config)")
    p = Path(base)
    if not p.is_absolute() and not p.is_file():
        p = cand_path.resolve().parent.parent / base  # configs/ablations.yaml -> repo root
    if not p.is_file():
        raise AblateError(f"base config not found: {base}")
    return p.resolve()


# ------------------------------------------------------------------ subprocesses

IN_PROCESS = False  # --in-process: call drumscribe.cli.main instead of a subprocess (tests; saves the start-up)


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def drumscribe(args: list[str], log: Path) -> tuple[int, float, float]:
    """Run ``python -m drumscribe ARGS`` (output appended to ``log``); (rc, wall s, CPU s of the run)."""
    who = resource.RUSAGE_SELF if IN_PROCESS else resource.RUSAGE_CHILDREN
    before = _cpu(who)
    t0 = time.perf_counter()
    with open(log, "a") as fh:
        fh.write(f"$ drumscribe {' '.join(args)}\n")
        fh.flush()
        if IN_PROCESS:
            import contextlib

            from drumscribe.cli import main as cli_main

            with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
                rc = cli_main(list(args))
        else:
            rc = subprocess.run([sys.executable, "-m", "drumscribe", *args], stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL).returncode
    return rc, time.perf_counter() - t0, _cpu(who) - before


def sets(overrides: list[str]) -> list[str]:
    return [a for o in overrides for a in ("--set", o)]


def last_line(log: Path) -> str:
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()] if log.exists() else []
    return lines[-1] if lines else "(no output)"


# ------------------------------------------------------------------ one candidate

def candidate_overrides(args, raw: dict, name: str, out: Path, minutes: float) -> list[str]:
    run = out / "runs" / name
    return [*(raw.get("common") or []), *raw["candidates"][name],
            f"data.egmd_root={Path(args.data).resolve()}",
            f"checkpoint.dirpath={run / 'ckpt'}", f"logging.save_dir={run / 'logs'}",
            f"logging.experiment_name={name}", f"training.max_minutes={minutes}"]


def cache_dir_for(cfg) -> str:
    from drumscribe.dataset.cache import cache_key

    return cache_key(cfg)


def summarize_eval(res: dict) -> dict:
    """The table's numbers from one ``drumscribe evaluate`` JSON."""
    row = {"f1_micro": res["micro"]["f1"], "f1_macro": res["macro"]["f1"],
           "f1_5class": res.get("five_class", {}).get("micro", {}).get("f1"),
           "per_class_f1": {n: d["f1"] for n, d in res["per_class"].items()},
           "false_alarms_on_other_onsets": {n: d["on_other"] for n, d in (res.get("cooccurrence") or {}).items()},
           "n_files": res.get("n_files")}
    return row


def history_progress(path: Path) -> tuple[int | None, int | None]:
    """(optimizer steps, epochs completed) from the last row of ``metrics_history.csv``."""
    if not path.is_file():
        return None, None
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return None, None
    return int(rows[-1]["step"]), int(rows[-1]["epoch"]) + 1


def run_candidate(args, raw: dict, base: Path, name: str, out: Path, minutes: float, spec: dict) -> dict:
    from drumscribe.core.atomic import atomic_write_text
    from drumscribe.core.config import load_config
    from drumscribe.training.module import HISTORY_NAME, last_checkpoint_name

    run = out / "runs" / name
    run.mkdir(parents=True, exist_ok=True)
    log = run / "log.txt"
    ov = candidate_overrides(args, raw, name, out, minutes)
    cfg = load_config(base, ov)  # validates the candidate before any work (ConfigError names the key)
    key = cache_dir_for(cfg)
    cache = out / "cache" / key
    ov += [f"data.processed_root={cache}", f"data.splits_dir={cache / 'splits'}"]
    common = ["--config", str(base), *sets(ov)]
    threads = ["--threads", str(args.threads)]
    progress_path = run / "train-progress.json"
    progress = json.loads(progress_path.read_text()) if progress_path.is_file() else {"wall_s": 0.0, "cpu_s": 0.0,
                                                                                      "attempts": 0}
    result = {"name": name, "spec": spec, "cache_key": key, "cache_dir": str(cache), "status": "failed"}

    def fail(step: str) -> dict:
        result["error"] = f"{step} failed: {last_line(log)} (see {log})"
        return result

    # 1. features (skips files already cached with this key)
    rc, _, _ = drumscribe(["preprocess", *common, "--quiet"], log)
    if rc != 0:
        return fail("preprocess")
    # 2. training at the budget; continue a killed attempt from its -last.ckpt
    ckpt_dir = run / "ckpt"
    last = ckpt_dir / f"{last_checkpoint_name(cfg.checkpoint.filename)}.ckpt"
    done_marker = run / "trained.json"
    if not done_marker.is_file():
        resume = ["--resume", str(last)] if last.is_file() else []
        rc, wall, cpu = drumscribe(["train", *common, "--no-tune", "--no-progress", *threads, *resume], log)
        progress = {"wall_s": progress["wall_s"] + wall, "cpu_s": progress["cpu_s"] + cpu,
                    "attempts": progress["attempts"] + 1}
        atomic_write_text(progress_path, json.dumps(progress) + "\n")
        if rc != 0:
            return fail("train")
        atomic_write_text(done_marker, json.dumps(progress) + "\n")
    if not last.is_file():
        result["error"] = f"train wrote no {last.name} (see {log})"
        return result
    steps, epochs = history_progress(run / "logs" / name / HISTORY_NAME)
    result.update({"checkpoint": str(last), "steps": steps, "epochs": epochs, "train_wall_s": round(progress["wall_s"], 1),
                   "train_cpu_s": round(progress["cpu_s"], 1), "train_attempts": progress["attempts"]})
    # 3. per-class thresholds on the corpus's validation split (stored in the checkpoint)
    if not args.no_tune:
        rc, _, _ = drumscribe(["tune", "--checkpoint", str(last), *common, "--split", "val", *threads], log)
        if rc != 0:
            return fail("tune")
    # 4. every validation folder
    result["val"] = {}
    for vdir in args.val:
        from drumscribe.evaluation import realdev

        named = realdev.named(vdir)  # real-dev/drums, real-dev/multitrack_sum
        out_json = run / f"eval-{vdir.replace('/', '-') if named else Path(vdir).name}.json"
        rc, _, _ = drumscribe(["evaluate", "--checkpoint", str(last), "--backend", "torch", "--split",
                               vdir if named else str(Path(vdir).resolve()), "--output", str(out_json), *threads], log)
        if rc != 0:
            return fail(f"evaluate on {vdir}")
        result["val"][str(vdir)] = summarize_eval(json.loads(out_json.read_text()))
    result["status"] = "done"
    atomic_write_text(run / "result.json", json.dumps(result, indent=1) + "\n")
    return result


# ------------------------------------------------------------------ tables

def fmt(x, digits: int = 3) -> str:
    return "" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


def markdown(results: list[dict], minutes: float) -> str:
    classes: list[str] = []
    for r in results:
        for v in (r.get("val") or {}).values():
            classes += [c for c in v["per_class_f1"] if c not in classes]
    head = (["candidate", "validation", "F1 micro", "F1 macro", "F1 5-class"] + [f"F1 {c}" for c in classes]
            + [f"FA-on-other {c}" for c in classes] + ["steps", "epochs", "train wall s", "train CPU s"])
    lines = [f"Ablation at a budget of {minutes:g} min per candidate (training.max_minutes). "
             "FA-on-other: false alarms on another class's true onset.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        tail = [fmt(r.get("steps")), fmt(r.get("epochs")), fmt(r.get("train_wall_s"), 1), fmt(r.get("train_cpu_s"), 1)]
        if r.get("status") != "done":
            lines.append("| " + " | ".join([r["name"], "FAILED: " + r.get("error", "").replace("|", "/")]
                                           + [""] * (len(head) - 6) + tail) + " |")
            continue
        for vdir, v in r["val"].items():
            cells = [r["name"], Path(vdir).name, fmt(v["f1_micro"]), fmt(v["f1_macro"]), fmt(v["f1_5class"])]
            cells += [fmt(v["per_class_f1"].get(c)) for c in classes]
            cells += [fmt(v["false_alarms_on_other_onsets"].get(c)) for c in classes]
            lines.append("| " + " | ".join(cells + tail) + " |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ main

def check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise AblateError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / STATE).is_file() and not force:
        raise AblateError(f"--out {out}: folder exists and is not an ablation folder; "
                          "choose another or pass --force")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--candidates", required=True, help="YAML of named candidates (e.g. configs/ablations.yaml)")
    p.add_argument("--config", default=None, help="base config (default: the file's base_config)")
    p.add_argument("--data", required=True, help="E-GMD-format training corpus (data.egmd_root)")
    p.add_argument("--val", nargs="+", required=True, metavar="DIR",
                   help="E-GMD-format validation folders (audio + MIDI) scored for every candidate; "
                        "real-dev/drums and real-dev/multitrack_sum are added when real-dev is on this machine")
    p.add_argument("--no-real-dev", action="store_true", help="do not add the real-dev halves to --val")
    p.add_argument("--out", required=True, help="ablation folder (caches, runs, ablation.json/.md)")
    p.add_argument("--minutes", type=float, default=None, help="training budget per candidate (default: the file's)")
    p.add_argument("--threads", type=int, default=1, help="torch threads of every subprocess (default 1)")
    p.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these candidates")
    p.add_argument("--no-tune", action="store_true", help="decode with the config's thresholds (no tuning)")
    p.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--force", action="store_true",
                   help="redo finished candidates whose settings changed; allow a non-ablation --out folder")
    args = p.parse_args(argv)
    global IN_PROCESS
    IN_PROCESS = args.in_process
    try:
        return _main(args)
    except AblateError as exc:
        print(f"ablate: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # drumscribe's own one-line errors (config keys, paths)
        from drumscribe.core.errors import DrumscribeError

        if isinstance(exc, DrumscribeError):
            print(f"ablate: error: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, OSError):
            print(f"ablate: error: {exc}", file=sys.stderr)
            return 1
        raise


def _main(args) -> int:
    from drumscribe.core.atomic import atomic_write_text

    cand_path = Path(args.candidates)
    raw = read_candidates(cand_path)
    base = resolve_base(raw, cand_path, args.config)
    minutes = args.minutes if args.minutes is not None else raw.get("minutes")
    if not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or minutes <= 0:
        raise AblateError("a positive time budget is needed: --minutes M or 'minutes:' in the candidates file")
    if args.threads <= 0:
        raise AblateError("--threads: must be positive")
    from drumscribe.core.errors import DrumscribeError
    from drumscribe.evaluation import realdev

    if not args.no_real_dev and realdev.available():  # the real-recording yardstick beside the synthetic sets
        args.val = list(args.val) + [f"{realdev.NAME}/{s}" for s in realdev.SUBSETS if f"{realdev.NAME}/{s}" not in args.val]
    for d in [args.data, *args.val]:
        try:
            d = realdev.resolve(d)
        except DrumscribeError as exc:
            raise AblateError(str(exc)) from None
        if not d.is_dir():
            raise AblateError(f"folder not found: {d}")
    names = list(raw["candidates"])
    if args.only:
        missing = [n for n in args.only if n not in raw["candidates"]]
        if missing:
            raise AblateError(f"--only: no candidate named {missing[0]!r} in {cand_path} ({', '.join(names)})")
        names = [n for n in names if n in args.only]
    out = Path(args.out)
    check_out(out, args.force)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / STATE, json.dumps({"candidates": str(cand_path.resolve()), "base_config": str(base)}) + "\n")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    results, failed = [], False
    for name in names:
        spec = {"base_config": str(base), "overrides": [*(raw.get("common") or []), *raw["candidates"][name]],
                "minutes": float(minutes), "data": str(Path(args.data).resolve()),
                "val": [str(Path(v).resolve()) for v in args.val], "tuned": not args.no_tune}
        res_path = out / "runs" / name / "result.json"
        if res_path.is_file():
            old = json.loads(res_path.read_text())
            if old.get("spec") == spec:
                print(f"{name}: done earlier, skipped")
                results.append(old)
                continue
            if not args.force:
                raise AblateError(f"{res_path}: candidate {name!r} finished with other settings; "
                                  "pass --force to redo it (or use another --out)")
            import shutil

            shutil.rmtree(out / "runs" / name)
        print(f"{name}: running (budget {minutes:g} min)", flush=True)
        r = run_candidate(args, raw, base, name, out, float(minutes), spec)
        if r["status"] != "done":
            failed = True
            print(f"{name}: {r['error']}", file=sys.stderr)
        else:
            v = next(iter(r["val"].values()))
            print(f"{name}: F1 micro {v['f1_micro']:.3f}, {r['steps']} steps, {r['train_cpu_s']:.0f} CPU s", flush=True)
        results.append(r)
        atomic_write_text(out / "ablation.json", json.dumps({"minutes": minutes, "results": results}, indent=1) + "\n")
        atomic_write_text(out / "ablation.md", markdown(results, float(minutes)))
    atomic_write_text(out / "ablation.json", json.dumps({"minutes": minutes, "results": results}, indent=1) + "\n")
    atomic_write_text(out / "ablation.md", markdown(results, float(minutes)))
    print(f"results: {out / 'ablation.md'}, {out / 'ablation.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
