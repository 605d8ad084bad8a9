"""Synthetic E-GMD: render drum audio + exact MIDI truth from installed kits.

Public API::

    from drumscribe.synth import render_dataset, list_kits, Realism
    summary = render_dataset("out/", hours=2, pool="train", seed=0, num_workers=2, realism=True)

Heavy modules (scipy, fluidsynth) are imported lazily.
"""

from __future__ import annotations

from drumscribe.synth.constants import SR  # the synthesiser's one sample rate (its home: constants.py)

__all__ = ["SR", "render_dataset", "list_kits", "get_kits", "Realism", "Kit", "CLASSES"]


def __getattr__(name):
    if name == "render_dataset":
        from drumscribe.synth.render import render_dataset

        return render_dataset
    if name in ("list_kits", "get_kits", "Kit", "CLASSES"):
        from drumscribe.synth import kits

        return getattr(kits, name)
    if name == "Realism":
        from drumscribe.synth.realism import Realism

        return Realism
    raise AttributeError(name)
