#!/usr/bin/env python
"""Score candidate models on every yardstick of the model issue and rank them by the selection criterion.

Usage::

    python scripts/score_models.py --model v4=default --model v5=runs/v5/final.ckpt \\
        --sets data/gmd-val-clean data/gmd-val-fullmix data/cond-* --out runs/scores [--threads 2]

For each model and set, ``drumscribe evaluate`` writes ``OUT/<model>_<set>.json`` (an existing one is
reused: the script resumes); real-dev's two halves (``real-dev/drums``, ``real-dev/multitrack_sum``) are
added when this machine has real-dev (never a training or tuning set: only scored here).  Then a
Markdown table (``OUT/scores.md``) and ``OUT/scores.json``: 5- and 8-class micro F1 on each set, the
hi-hat false alarms on real-dev, the articulation F1s, and

    criterion = mean(real-dev drums 5-class, real-dev multitrack-sum 5-class,
                     gmd-val-clean 8-class, gmd-val-fullmix 8-class)   (onset F1, micro, +-50 ms)

the number model selection uses: two real halves, two synthetic sets, equal weight, so that neither
the 4 real songs nor the synthetic data alone decide.  A set missing for a model leaves the criterion
empty (never a mean of fewer terms).  ``--criterion v6`` (issue 28) adds the held-out kit family
(``scripts/make_family_sets.sh``: kits that share no sample, author or soundfont with training) as a
third group of equal weight:

    criterion_v6 = mean(mean(real-dev drums 5-class, real-dev multitrack-sum 5-class),
                        mean(gmd-val-clean 8-class, gmd-val-fullmix 8-class),
                        mean(family-clean 5-class, family-reverb_noise 5-class))
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

REAL_DEV = ("real-dev/drums", "real-dev/multitrack_sum")
# (set name, view) pairs whose mean is the selection criterion
CRITERION = (("drums", "five_class"), ("multitrack_sum", "five_class"), ("gmd-val-clean", "eight"),
             ("gmd-val-fullmix", "eight"))


def set_name(split: str) -> str:
    return Path(split).name


def micro(res: dict, view: str) -> float:
    return float((res if view == "eight" else res["five_class"])["micro"]["f1"])


CRITERION_V6 = (CRITERION[:2], CRITERION[2:], (("family-clean", "five_class"), ("family-reverb_noise", "five_class")))
CRITERIA = ("v5", "v6")


def criterion(results: dict[str, dict], which: str = "v5") -> float | None:
    groups = (CRITERION,) if which == "v5" else CRITERION_V6
    means = []
    for group in groups:
        vals = [micro(results[s], v) for s, v in group if s in results]
        if len(vals) != len(group):
            return None
        means.append(sum(vals) / len(vals))
    return sum(means) / len(means)


def _without(res: dict, song: str | None) -> float:
    """8-class micro F1 of a real-dev result from its per-file counts, ``song``'s file left out."""
    from drumscribe.evaluation.metrics import Counts
    from drumscribe.evaluation.realdev import song_of

    return sum((Counts(f["tp"], f["fp"], f["fn"]) for f in res["files"]
                if song is None or song_of(f["file"]) != song), Counts()).f1


def loso(results: dict[str, dict], which: str = "v5") -> dict[str, float] | None:
    """The criterion with each real-dev song left out in turn (key: the song; ``"none"``: all four), its real
    group read from the per-file counts (8 classes: evaluate keeps no per-file 5-class counts), so these
    numbers compare with each other, not with the criterion itself.  None without both real-dev halves."""
    from drumscribe.evaluation.realdev import song_of

    real = [s for s, _ in CRITERION[:2]]
    if any(s not in results for s in real):
        return None
    songs = sorted({song_of(f["file"]) for s in real for f in results[s]["files"]})
    out = {}
    for song in [None] + songs:
        swapped = {k: v for k, v in results.items() if k not in real}
        for s in real:  # a stand-in result whose 8-class and 5-class micro F1 are the subset's
            f1 = {"micro": {"f1": _without(results[s], song)}}
            swapped[s] = {**f1, "five_class": f1}
        out[song or "none"] = criterion(swapped, which)
    return out


def loso_lines(rows: list[dict]) -> list[str]:
    """One line per left-out song: every model's criterion without it and the best model."""
    subsets = list(rows[0].get("criterion_loso") or {}) if rows else []
    lines = []
    for sub in subsets:
        vals = [(r["model"], r["criterion_loso"][sub]) for r in rows
                if r.get("criterion_loso") and r["criterion_loso"].get(sub) is not None]
        if vals:
            best = max(vals, key=lambda v: v[1])[0]
            lines.append(f"- without {sub}: " + ", ".join(f"{m} {v:.3f}" for m, v in vals) + f" -> {best}")
    return lines


def evaluate(ds: str, model: str, split: str, out: Path, threads: int, overrides=()) -> dict | None:
    if not out.is_file():
        cmd = [ds, "evaluate", "--split", split, "--threads", str(threads), "--output", str(out)]
        cmd += [x for kv in overrides for x in ("--set", kv)]
        if model != "default":
            cmd += ["--checkpoint", model]
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            print(f"score_models: {model} on {split}: {r.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return None
    return json.loads(out.read_text())


def row(name: str, results: dict[str, dict], sets: list[str], which: str = "v5") -> dict:
    out: dict = {"model": name, "criterion": criterion(results, which), "criterion_loso": loso(results, which)}
    for s in sets:
        if s not in results:
            continue
        r = results[s]
        out[s] = {"f1_8": micro(r, "eight"), "f1_5": micro(r, "five_class"),
                  "hihat_fp": r["per_class"].get("hihat", {}).get("fp"),
                  "articulations": {a: {"f1": d["f1"], "support": d["support"]}
                                    for a, d in (r.get("articulations") or {}).items()}}
    return out


def table(rows: list[dict], sets: list[str]) -> str:
    head = ["model", "criterion"] + [f"{s} 5-cl / 8-cl" for s in sets] + ["hi-hat FA drums / sum",
                                                                          "open hh / cross-stick F1 drums", "... sum"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["model"], "-" if r["criterion"] is None else f"{r['criterion']:.3f}"]
        cells += [f"{r[s]['f1_5']:.3f} / {r[s]['f1_8']:.3f}" if s in r else "-" for s in sets]
        fa = [str(r[s]["hihat_fp"]) if s in r else "-" for s in ("drums", "multitrack_sum")]
        cells.append(" / ".join(fa))
        for s in ("drums", "multitrack_sum"):
            arts = r.get(s, {}).get("articulations", {})
            cells.append(" / ".join(f"{arts[a]['f1']:.2f}" if a in arts and arts[a]["support"] else "-"
                                    for a in ("hihat_open", "cross_stick")) if arts else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                   help="a model to score (PATH: checkpoint, .safetensors/.onnx, or 'default'); repeatable")
    p.add_argument("--sets", nargs="*", default=[], help="synthetic evaluation folders (audio + MIDI pairs)")
    p.add_argument("--out", required=True, help="folder of the result JSONs and the table")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--criterion", choices=CRITERIA, default="v5",
                   help="v5: real-dev + gmd-val; v6: + the held-out kit family, three groups of equal weight")
    p.add_argument("--no-real-dev", action="store_true", help="do not add real-dev's halves")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config override passed to every evaluate (a decoding variant, e.g. "
                        "postprocessing.min_onset_interval=0.03); OUT remembers them and refuses others")
    a = p.parse_args(argv)
    from drumscribe.evaluation import realdev

    splits = [] if a.no_real_dev or not realdev.available() else list(REAL_DEV)
    splits += [s for s in a.sets if Path(s).is_dir()]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    from drumscribe.core.atomic import atomic_write_bytes

    # the results in OUT are reused on a rerun: only with the overrides they were computed with
    marker = out / "overrides.json"
    if marker.is_file() and json.loads(marker.read_text()) != a.set:
        p.error(f"{out}: its results were computed with --set {json.loads(marker.read_text())}, not {a.set}; "
                "use another --out")
    atomic_write_bytes(marker, (json.dumps(a.set) + "\n").encode())
    ds = str(ROOT / ".venv" / "bin" / "drumscribe")
    rows = []
    names = [set_name(s) for s in splits]
    for spec in a.model:
        if "=" not in spec:
            p.error(f"--model {spec!r}: expected NAME=PATH")
        name, path = spec.split("=", 1)
        results = {}
        for split in splits:
            r = evaluate(ds, path, split, out / f"{name}_{set_name(split)}.json", a.threads, a.set)
            if r is not None:
                results[set_name(split)] = r
        rows.append(row(name, results, names, a.criterion))

    atomic_write_bytes(out / "scores.json", (json.dumps(rows, indent=1) + "\n").encode())
    # which file each row's name stands for (train_v5.sh picks the best row's model by it)
    models = dict(spec.split("=", 1) for spec in a.model)
    atomic_write_bytes(out / "models.json", (json.dumps(models, indent=1) + "\n").encode())
    md = table(rows, names)
    lines = loso_lines(rows)
    if lines:
        md += ("\nLeave one real-dev song out (the criterion with the real group from the per-file 8-class counts "
               "without that song):\n\n" + "\n".join(lines) + "\n")
    atomic_write_bytes(out / "scores.md", md.encode())
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
