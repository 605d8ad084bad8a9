"""Piano-roll PNGs (matplotlib, Agg backend; imported only when a plot is asked for)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def piano_roll(path: str | Path, class_names: Sequence[str], est_by_class: Sequence[np.ndarray],
               ref_by_class: Sequence[np.ndarray] | None = None, probs: np.ndarray | None = None,
               frame_rate: float | None = None, title: str = "") -> Path:
    """Write an image (PNG, or PDF/SVG by ``path``'s suffix), atomically: one row per class; activations (grey image, if given), reference onsets (green
    circles, if given) and predicted onsets (red crosses).  Times in seconds."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    n = len(class_names)
    ends = [float(np.max(a)) for a in list(est_by_class) + list(ref_by_class or []) if len(a)]
    duration = max(ends + [0.0]) + 0.5
    if probs is not None and frame_rate:
        duration = max(duration, probs.shape[0] / frame_rate)
    fig, ax = plt.subplots(figsize=(min(max(6.0, duration * 0.6), 30.0), 1.0 + 0.4 * n), dpi=100)
    if probs is not None and frame_rate and probs.size:
        ax.imshow(probs.T, aspect="auto", origin="lower", cmap="Greys", vmin=0, vmax=1,
                  extent=(-0.5 / frame_rate, (probs.shape[0] - 0.5) / frame_rate, -0.5, n - 0.5), alpha=0.6)
    if ref_by_class is not None:
        for c, times in enumerate(ref_by_class):
            ax.scatter(times, np.full(len(times), c), s=60, facecolors="none", edgecolors="tab:green",
                       label="reference" if c == 0 else None)
    for c, times in enumerate(est_by_class):
        ax.scatter(times, np.full(len(times), c), s=30, marker="x", color="tab:red",
                   label="predicted" if c == 0 else None)
    ax.set_yticks(range(n))
    ax.set_yticklabels(class_names)
    ax.set_ylim(-0.5, n - 0.5)
    ax.set_xlim(0, duration)
    ax.set_xlabel("time (s)")
    if title:
        ax.set_title(title, fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    import io

    from drumscribe.core.atomic import atomic_write_bytes

    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=(path.suffix.lstrip(".").lower() or "png"))
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())  # readers see the old image or the new one, never half of one
    return path
