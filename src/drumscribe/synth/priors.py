"""Pattern-prior breakers: what a rendering plays instead of the performance as written.

:class:`Variety` holds the per-rendering chances (kit mixing, procedural kits, per-piece
variation, real kits and the breakers); :func:`break_priors` applies at most one breaker to a
rendering's events and names it (the CSV ``pattern`` column: ``performance``, ``dropout``,
``random``, ``solo:<class>``, ``swap:<name>``).  Events are ``(seconds, TD note, velocity)``;
the truth written beside the audio is always what sounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drumscribe.core.drums import CLASSES, TD_CLASS, TD_CLASS_NOTES


@dataclass(frozen=True)
class Variety:
    """How each rendering departs from "one performance on one stock kit".

    Probabilities per rendering: ``kit_mix`` (each piece from another kit of the
    pool), ``procedural`` (a fresh procedural kit, seed drawn per rendering),
    ``vary`` (per-piece pitch/decay/EQ/level), and the pattern-prior breakers
    ``dropout`` (random drums muted per phrase), ``random_onsets`` (unmusical
    random hits per drum at varied densities), ``solo`` (one drum only) and ``swap``
    (whole pieces dropped or exchanged for the file: :data:`SWAPS`);
    ``real_kit``: a real recorded kit of the pool (``--kit-dir``) instead of the drawn one.
    The truth always lists exactly what sounds.
    """

    kit_mix: float = 0.0
    procedural: float = 0.0
    vary: float = 0.0
    dropout: float = 0.0
    random_onsets: float = 0.0
    solo: float = 0.0
    swap: float = 0.0
    real_kit: float = 0.0

    @classmethod
    def default(cls) -> "Variety":
        return cls(kit_mix=0.25, procedural=0.15, vary=0.5, dropout=0.2, random_onsets=0.05, solo=0.05)

    @property
    def breakers(self) -> float:
        """Chance that a rendering gets one of the pattern-prior breakers (they exclude each other)."""
        return self.dropout + self.random_onsets + self.solo + self.swap


def _random_onsets(classes, duration: float, rng) -> list:
    """Unmusical hits: per drum a Poisson process at a random density (0.3-8 hits/s), any TD articulation."""
    ev = []
    for cls in classes:
        rate = float(np.exp(rng.uniform(np.log(0.3), np.log(8.0))))
        n = int(rng.poisson(rate * max(duration - 1.0, 0.5)))
        notes = TD_CLASS_NOTES[cls]
        for t in np.sort(rng.uniform(0.05, max(duration - 1.0, 0.3), n)):
            ev.append((float(t), int(notes[int(rng.integers(len(notes)))]), int(rng.integers(15, 128))))
    ev.sort()
    kept, last = [], {}
    for t, n, v in ev:  # the same drum closer than 30 ms would not be two hits
        c = TD_CLASS[n]
        if c in last and t - last[c] < 0.03:
            continue
        last[c] = t
        kept.append((t, n, v))
    return kept


def break_priors(events, duration: float, playable: set, variety: Variety, rng) -> tuple[list, str]:
    """Apply at most one pattern-prior breaker to a rendering's events -> (events, CSV ``pattern`` value)."""
    u = float(rng.random())
    classes = [c for c in CLASSES if any(n in playable for n in TD_CLASS_NOTES[c])]
    used = sorted({TD_CLASS[n] for _, n, _ in events}, key=CLASSES.index)
    if u < variety.dropout and len(used) > 1:
        # phrases of 2-8 s; in each, every drum muted with p 0.35 (never all of them)
        cut = [0.0]
        while cut[-1] < duration:
            cut.append(cut[-1] + float(rng.uniform(2.0, 8.0)))
        muted = []
        for _ in range(len(cut) - 1):
            m = {c for c in used if rng.random() < 0.35}
            if len(m) == len(used):
                m.discard(used[int(rng.integers(len(used)))])
            muted.append(m)
        idx = np.searchsorted(cut, [t for t, _, _ in events], side="right") - 1
        out = [e for e, j in zip(events, idx) if TD_CLASS[e[1]] not in muted[min(j, len(muted) - 1)]]
        return out, "dropout"
    u -= variety.dropout
    # a breaker that would leave a file without any note (a short fill, a sparse drum) keeps the
    # performance instead: E-GMD-format truth always has notes, and preprocess rejects empty MIDI
    if u < variety.random_onsets and classes:
        sub = [c for c in classes if rng.random() < 0.7] or [classes[0]]
        out = [e for e in _random_onsets(sub, duration, rng) if e[1] in playable]
        return (out, "random") if out else (events, "performance")
    u -= variety.random_onsets
    if u < variety.solo and classes:
        cls = classes[int(rng.integers(len(classes)))]
        own = [e for e in events if TD_CLASS[e[1]] == cls]
        if len(own) < 4:
            own = [e for e in _random_onsets([cls], duration, rng) if e[1] in playable]
        return (own, f"solo:{cls}") if own else (events, "performance")
    u -= variety.solo
    if u < variety.swap:
        name = SWAPS[int(rng.integers(len(SWAPS)))]
        out = swap_pieces(events, name, playable)
        return (out, f"swap:{name}") if out else (events, "performance")
    return events, "performance"


# ------------------------------------------------------------------ whole pieces dropped or exchanged
# GMD's drummers play a hi-hat with almost every snare and kick, crash on the 1 after a fill, toms mostly
# in descending fills: a model learns these patterns instead of the sounds.  Each swap changes one of
# them for a whole file; the truth follows the notes that sound.
_HAT_NOTES = {n for n, c in TD_CLASS.items() if c == "hihat"}
_RIDE_TO = {51: 42, 59: 42, 53: 46}  # ride bow/edge -> closed hi-hat, bell -> open hi-hat
_HAT_TO = {42: 51, 22: 51, 46: 59, 26: 59}  # hi-hat bow/edge -> ride bow, open -> ride edge; the pedal stays
_CRASH_RIDE = {49: 51, 55: 51, 57: 51, 52: 51, 51: 49, 59: 49, 53: 49}
_TOM_REVERSE = {48: 43, 50: 58, 43: 48, 58: 50}  # tom 1 <-> tom 3: fills that climb instead of falling
SWAPS = ("no_hihat", "hihat_to_ride", "no_hihat_on_snare", "kick_snare_only", "kick_alone", "crash_ride",
         "toms_reversed")


def swap_pieces(events, name: str, playable: set) -> list:
    """``events`` (time, TD note, velocity) with one whole-file swap applied (:data:`SWAPS`); [] when the
    swap does not apply to this performance or kit (no such piece, or the target sound is not playable)."""
    def remap(table):
        if not any(n in table for _, n, _ in events):
            return []
        if any(table[n] not in playable for _, n, _ in events if n in table):
            return []
        return [(t, table.get(n, n), v) for t, n, v in events]

    if name == "no_hihat":
        out = [e for e in events if e[1] not in _HAT_NOTES]
        return out if len(out) < len(events) else []
    if name == "hihat_to_ride":
        return remap({**_HAT_TO, **_RIDE_TO})
    if name == "no_hihat_on_snare":  # the hi-hat stops wherever the snare plays (within 60 ms)
        snares = np.array(sorted(t for t, n, _ in events if TD_CLASS.get(n) == "snare"))
        if not len(snares):
            return []
        def near(t):
            i = int(np.searchsorted(snares, t))
            return any(0 <= j < len(snares) and abs(snares[j] - t) < 0.06 for j in (i - 1, i))
        out = [e for e in events if not (e[1] in _HAT_NOTES and near(e[0]))]
        return out if len(out) < len(events) else []
    if name == "kick_snare_only":
        out = [e for e in events if TD_CLASS.get(e[1]) in ("kick", "snare")]
        return out if out and len(out) < len(events) else []
    if name == "kick_alone":
        out = [e for e in events if TD_CLASS.get(e[1]) == "kick"]
        return out if len(out) >= 4 else []
    if name == "crash_ride":
        return remap(_CRASH_RIDE)
    if name == "toms_reversed":
        return remap(_TOM_REVERSE)
    raise ValueError(f"unknown swap {name!r}")
