#!/usr/bin/env python
"""Table of a model's scores on the held-out kit family sets (the JSONs of scripts/make_family_sets.sh).

Per set: 8-class and 5-class micro F1, 5-class per-class F1, and 8-class micro per family kit (files' counts
summed by the CSV's kit_name).  Writes markdown to stdout or --output.

    .venv/bin/python scripts/family_scores.py --results docs/results/heldout_audit --data data \\
        --output docs/results/heldout_audit/family_scores.md
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from drumscribe.core.drums import FOLD5_CLASSES

SETS = ("clean", "reverb", "noise", "reverb_noise", "test-clean", "test-fullmix")


def table(results: Path, data: Path, prefix: str = "family") -> str:
    rows, kits = [], []
    for s in SETS:
        j = results / f"{prefix}_{s}.json"
        if not j.is_file():
            continue
        r = json.loads(j.read_text())
        kit_of = {}
        csv_path = data / f"{prefix}-{s}" / "e-gmd-v1.0.0.csv"
        if csv_path.is_file():
            with open(csv_path, newline="", encoding="utf-8") as f:
                kit_of = {row["audio_filename"]: row["kit_name"] for row in csv.DictReader(f)}
        per_kit: dict = {}
        for f in r["files"]:
            k = kit_of.get(f["file"], "?").removeprefix("real:family-")
            c = per_kit.setdefault(k, [0, 0, 0])
            c[0] += f["tp"]; c[1] += f["fp"]; c[2] += f["fn"]
        kits = sorted(set(kits) | set(per_kit))
        f5 = r["five_class"]
        rows.append((s, r["n_files"], r["micro"]["f1"], f5["micro"]["f1"],
                     [f5["per_class"].get(c, {}).get("f1") for c in FOLD5_CLASSES],
                     {k: (2 * tp / max(2 * tp + fp + fn, 1)) for k, (tp, fp, fn) in per_kit.items()}, r.get("checkpoint", "")))
    if not rows:
        raise SystemExit(f"no {prefix}_*.json under {results}")
    out = [f"Model: `{Path(rows[0][6]).name}`.  Onset F1, +-50 ms, mir_eval, counts summed over files.", "",
           "| set | files | 8-class micro | 5-class micro | " + " | ".join(FOLD5_CLASSES) + " | "
           + " | ".join(f"8-cl. {k}" for k in kits) + " |",
           "|---|--:|--:|--:|" + "--:|" * (len(FOLD5_CLASSES) + len(kits))]
    for s, n, m8, m5, pc, pk, _ in rows:
        out.append(f"| {s} | {n} | {m8:.3f} | {m5:.3f} | " + " | ".join("-" if v is None else f"{v:.3f}" for v in pc)
                   + " | " + " | ".join(f"{pk[k]:.3f}" if k in pk else "-" for k in kits) + " |")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default="docs/results/heldout_audit")
    ap.add_argument("--data", default="data")
    ap.add_argument("--output")
    args = ap.parse_args(argv)
    text = table(Path(args.results), Path(args.data))
    if args.output:
        from drumscribe.core.atomic import atomic_write_text

        atomic_write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
