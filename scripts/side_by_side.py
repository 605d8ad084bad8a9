#!/usr/bin/env python
"""Markdown tables of several systems on several sets, from result JSONs already written.

Usage::

    python scripts/side_by_side.py --row "real-dev drums|v5|docs/results/v5/v5_drums.json" \\
        --row "real-dev drums|ADTOF|docs/results/adtof_realdev_drums.json:adtof" ... [--articulations]

A ROW is ``SET|SYSTEM|PATH[:KEY]``: PATH a ``drumscribe evaluate --output`` JSON (5-class fold in its
``five_class`` block, 8 classes and articulations at the top) or a ``scripts/compare_adtof.py`` JSON with
KEY ``adtof`` or ``drumscribe`` (5 classes only).  Prints the 5-class table (micro F1 with P / R, each
class, and the 8-class micro F1 where the file has it) and, with ``--articulations``, each articulation's
F1 (support, false alarms).  Nothing is recomputed: the numbers are the files'.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FIVE = ("kick", "snare", "toms", "hihat", "cymbals")


def load(spec: str) -> tuple[str, str, dict]:
    try:
        set_name, system, path = spec.split("|")
    except ValueError:
        raise SystemExit(f"--row {spec!r}: expected SET|SYSTEM|PATH[:KEY]") from None
    key = None
    if ":" in path:
        path, key = path.rsplit(":", 1)
    d = json.loads(Path(path).read_text())
    return set_name, system, (d[key] if key else d)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--row", action="append", required=True)
    p.add_argument("--articulations", action="store_true")
    a = p.parse_args(argv)
    rows = [load(r) for r in a.row]
    print("| set | system | 5-class micro F1 (P / R) | " + " | ".join(FIVE) + " | 8-class micro (macro) |")
    print("|---|---|--:|" + "--:|" * len(FIVE) + "--:|")
    for set_name, system, d in rows:
        five = d.get("five_class", d)
        m = five["micro"]
        cells = [f"{m['f1']:.3f} ({m['precision']:.2f} / {m['recall']:.2f})"]
        cells += [f"{five['per_class'][c]['f1']:.3f}" for c in FIVE]
        cells.append(f"{d['micro']['f1']:.3f} ({d['macro']['f1']:.3f})" if "five_class" in d else "-")
        print(f"| {set_name} | {system} | " + " | ".join(cells) + " |")
    if a.articulations:
        arts = [r for r in rows if r[2].get("articulations")]
        if arts:
            names = list(arts[0][2]["articulations"])
            print()
            print("| set | system | " + " | ".join(f"{n} F1 (support, false alarms)" for n in names) + " |")
            print("|---|---|" + "--:|" * len(names))
            for set_name, system, d in arts:
                cells = []
                for n in names:
                    x = d["articulations"][n]
                    cells.append("not scorable (no labels)" if x["support"] == 0 and x["tp"] == 0
                                 else f"{x['f1']:.2f} ({x['support']}, {x['fp']})")
                print(f"| {set_name} | {system} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
