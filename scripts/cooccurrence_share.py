#!/usr/bin/env python
"""How often the training data plays a hi-hat with the snare (issue 28's pattern prior), per split file.

Usage::

    python scripts/cooccurrence_share.py --config configs/default_config.yaml \\
        --set data.processed_root=data/processed/v6-corpus \\
        --splits data/processed/v6-corpus/splits-v6-perf data/processed/v6-corpus/splits-v6-swap [--json OUT]

For each splits folder, over the cached truth of its ``train_split.txt`` files (what the training windows
are drawn from, in proportion to file length): the share of snare onsets with a hi-hat onset within
+-50 ms (and of kick onsets, and of hi-hat onsets with a snare or kick), the share of training seconds
with any hi-hat, and the onsets per class.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
WINDOW_S = 0.05


def near(a: np.ndarray, b: np.ndarray, tol: float) -> np.ndarray:
    """For each time in ``a``: is there a time in ``b`` within ``tol``?"""
    if not len(a) or not len(b):
        return np.zeros(len(a), bool)
    b = np.sort(b)
    i = np.clip(np.searchsorted(b, a), 1, len(b) - 1) if len(b) > 1 else np.zeros(len(a), int)
    d = np.minimum(np.abs(b[i] - a), np.abs(b[np.maximum(i - 1, 0)] - a))
    return d <= tol


def shares(cfg, split_dir: Path) -> dict:
    from drumscribe.dataset.cache import cache_path, read_item

    names = list(cfg.class_names)
    k, s, h = names.index("kick"), names.index("snare"), names.index("hihat")
    files = [l.strip() for l in (split_dir / "train_split.txt").read_text().splitlines() if l.strip()]
    tot = {"snare": 0, "snare_with_hihat": 0, "kick": 0, "kick_with_hihat": 0, "hihat": 0, "hihat_with_snare_or_kick": 0}
    seconds = hat_seconds = 0.0
    per_class = np.zeros(len(names), np.int64)
    for rel in files:
        item = read_item(cache_path(cfg.data.processed_root, rel), ("note_times", "note_classes"))
        t, c = np.asarray(item["note_times"]), np.asarray(item["note_classes"])
        per_class += np.bincount(c, minlength=len(names))[:len(names)]
        ts, tk, th = t[c == s], t[c == k], t[c == h]
        tot["snare"] += len(ts)
        tot["snare_with_hihat"] += int(near(ts, th, WINDOW_S).sum())
        tot["kick"] += len(tk)
        tot["kick_with_hihat"] += int(near(tk, th, WINDOW_S).sum())
        tot["hihat"] += len(th)
        tot["hihat_with_snare_or_kick"] += int(near(th, np.concatenate([ts, tk]), WINDOW_S).sum())
        dur = float(t.max()) if len(t) else 0.0
        seconds += dur
        hat_seconds += dur if len(th) else 0.0
    return {
        "files": len(files),
        "snare_with_hihat": tot["snare_with_hihat"] / max(tot["snare"], 1),
        "kick_with_hihat": tot["kick_with_hihat"] / max(tot["kick"], 1),
        "hihat_with_snare_or_kick": tot["hihat_with_snare_or_kick"] / max(tot["hihat"], 1),
        "seconds_in_files_with_hihat": hat_seconds / max(seconds, 1e-9),
        "onsets": dict(zip(names, per_class.tolist())),
        "counts": tot,
    }


def main(argv=None) -> int:
    from drumscribe.core.config import add_set_argument, load_config

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=str(ROOT / "configs" / "default_config.yaml"))
    add_set_argument(p, "config override, e.g. data.processed_root=...")
    p.add_argument("--splits", nargs="+", required=True, help="splits folders (each with train_split.txt)")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    cfg = load_config(a.config, a.overrides)
    out = {str(d): shares(cfg, Path(d)) for d in a.splits}
    print(f"| training files | files | snare with hi-hat (+-{WINDOW_S * 1000:.0f} ms) | kick with hi-hat | "
          "hi-hat with snare or kick | seconds in files with a hi-hat |")
    print("|---|--:|--:|--:|--:|--:|")
    for d, r in out.items():
        print(f"| {d} | {r['files']} | {r['snare_with_hihat']:.3f} | {r['kick_with_hihat']:.3f} | "
              f"{r['hihat_with_snare_or_kick']:.3f} | {r['seconds_in_files_with_hihat']:.3f} |")
    if a.json:
        from drumscribe.core.atomic import atomic_write_bytes

        atomic_write_bytes(Path(a.json), (json.dumps(out, indent=1) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
