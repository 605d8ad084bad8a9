"""What charters add to a drum chart by hand: practice sections, Star Power phrases and drum fills (activation
lanes), placed from the song's structure.  Pure: a :class:`~drumscribe.transcription.chart.Chart` in, the same
chart with ``sections``, ``star_power``, ``fills`` and ``preview_ms`` out (all in ticks).

Sections (format notes, ``Global-Events.md``: ``[section <name>]`` marks a practice section):

* each bar from the first played bar on is described by its Expert gems (lane x position in the bar, a
  16-slot grid), and a self-similarity matrix of the bars is built (cosine);
* a boundary's novelty is Foote's checkerboard kernel (:data:`NOVELTY_BARS` bars each side) on that matrix,
  plus :data:`CRASH_BONUS` when its downbeat has a crash and :data:`FILL_BONUS` when the bar before is denser
  than the bars around it (a drum fill leading into a new part);
* a phrase start (every :data:`PHRASE_BARS` bars from the first played bar) gets :data:`PHRASE_BONUS`
  (players change parts on phrase starts, but not always); boundaries scoring above :data:`MIN_SCORE` are taken
  greedily by score, at least :data:`MIN_SECTION_BARS` apart, then every section longer than
  :data:`MAX_SECTION_BARS` is split at its best boundary;
* names are numbered (``Part 1``, ``Part 2``...): the drums alone do not tell a verse from a chorus.

Drum fills (``Drums.md``, 4-lane phrase mechanics: "Fill markers are used to mark phrases in which a player can
activate Star Power"; the activation gem is the last gem in the phrase): at a section boundary whose downbeat has
a crash or a kick in Expert (the fill ends on it), covering the bar before it (the start of the first section has
none: nothing leads into it).  The games show a fill only when the player has Star Power to activate.

Star Power phrases (notes 116 / ``S 2``): one bar each, at most one every :data:`SP_EVERY_BARS` bars, spread over
the song (the second bar of each run of :data:`SP_EVERY_BARS`, else the next one that qualifies), never inside a
fill, in the bar before one or on its activation bar (the bar after it), only on bars with at least
:data:`SP_MIN_GEMS` gem groups (no empty phrase).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from drumscribe.transcription.chart_format import LANE_OFFSET, TICKS_PER_BEAT

NOVELTY_BARS = 4
PHRASE_BARS = 4
MIN_SECTION_BARS = 8
MAX_SECTION_BARS = 24
CRASH_BONUS, FILL_BONUS, PHRASE_BONUS = 0.25, 0.15, 0.1
MIN_SCORE = 0.2  # a boundary scoring less (novelty + bonuses) is not a new section
SLOTS_PER_BAR = 16
SP_EVERY_BARS = 8
SP_MIN_GEMS = 4
SECTION_NAME = "Part {}"
SP_END_GAP = 60  # ticks: a Star Power phrase ends this much before the bar's end (the next bar's gem is outside)


def bar_ticks(chart) -> tuple[int, int]:
    """(tick of the first downbeat, ticks per bar)."""
    bm = chart.beat_map
    return (int(round(bm.downbeat_index * bm.quarters_per_beat * TICKS_PER_BEAT)),
            int(round(bm.quarters_per_bar * TICKS_PER_BEAT)))


def bar_features(gems, first: int, per_bar: int, n_bars: int) -> np.ndarray:
    """``(n_bars, 5 * SLOTS_PER_BAR)``: gems per lane and slot of each bar (cymbal/tom share a lane)."""
    x = np.zeros((n_bars, len(LANE_OFFSET), SLOTS_PER_BAR))
    for g in gems:
        bar, pos = divmod(g.tick - first, per_bar)
        if 0 <= bar < n_bars:
            x[bar, LANE_OFFSET[g.lane], min(int(pos * SLOTS_PER_BAR // per_bar), SLOTS_PER_BAR - 1)] += 1
    return x.reshape(n_bars, -1)


def novelty(x: np.ndarray, half: int = NOVELTY_BARS) -> np.ndarray:
    """Foote novelty at each bar boundary ``b`` (between bar ``b-1`` and ``b``) of the cosine self-similarity."""
    n = len(x)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    u = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    s = u @ u.T
    out = np.zeros(n + 1)
    for b in range(1, n):
        lo, hi = max(b - half, 0), min(b + half, n)
        a, c = s[lo:b, lo:b], s[b:hi, b:hi]
        out[b] = (a.mean() + c.mean()) / 2 - s[lo:b, b:hi].mean()
    return out


def section_starts(gems, first: int, per_bar: int) -> tuple[list[int], np.ndarray]:
    """Bar indices (from ``first``) where sections start, and the per-bar gem-group counts."""
    if not gems:
        return [], np.zeros(0)
    last_bar = (max(g.tick for g in gems) - first) // per_bar
    start_bar = max((min(g.tick for g in gems) - first) // per_bar, 0)
    n = int(last_bar) + 1
    x = bar_features(gems, first, per_bar, n)
    groups = np.zeros(n)
    for t in {g.tick for g in gems}:
        b = (t - first) // per_bar
        if 0 <= b < n:
            groups[b] += 1
    nov = novelty(x)
    crash = LANE_OFFSET["green"]
    score = nov.copy()
    for b in range(1, n):
        row = x[b].reshape(len(LANE_OFFSET), SLOTS_PER_BAR)
        if row[crash, 0] > 0:
            score[b] += CRASH_BONUS
        around = groups[max(b - 3, 0):b - 1]
        if len(around) and groups[b - 1] > 1.25 * around.mean():
            score[b] += FILL_BONUS
    for b in range(start_bar + 1, n):
        if (b - start_bar) % PHRASE_BARS == 0:
            score[b] += PHRASE_BONUS
    cands = list(range(start_bar + PHRASE_BARS, n))
    chosen = [start_bar]
    for b in sorted(cands, key=lambda b: -score[b]):
        if score[b] <= MIN_SCORE:
            break
        if all(abs(b - c) >= MIN_SECTION_BARS for c in chosen) and n - b >= PHRASE_BARS:
            chosen.append(b)
    chosen.sort()
    changed = True
    while changed:  # split sections that are too long at their best phrase start
        changed = False
        ends = chosen[1:] + [n]
        for s, e in zip(chosen, ends):
            if e - s > MAX_SECTION_BARS:
                inner = [b for b in cands if s + MIN_SECTION_BARS // 2 <= b <= e - MIN_SECTION_BARS // 2]
                if inner:
                    chosen.append(max(inner, key=lambda b: score[b]))
                    chosen.sort()
                    changed = True
                    break
    return chosen, groups


def place_phrases(chart):
    """``chart`` with sections, fills, Star Power and the preview start (see the module docstring)."""
    gems = chart.levels["expert"]
    first, per_bar = bar_ticks(chart)
    starts, groups = section_starts(gems, first, per_bar)
    if not starts:
        return chart
    tick = lambda bar: first + bar * per_bar  # noqa: E731
    sections = tuple((tick(b), SECTION_NAME.format(i + 1)) for i, b in enumerate(starts))
    at = {}
    for g in gems:
        at.setdefault(g.tick, set()).add((g.lane, g.cymbal))
    fills, fill_bars = [], set()
    for b in starts[1:]:
        down = at.get(tick(b), set())
        if ("green", True) in down or any(lane == "kick" for lane, _ in down):
            fills.append((tick(b - 1), per_bar))  # from the bar before to the activation gem on the downbeat
            fill_bars.add(b - 1)
    star, n = [], len(groups)
    for phrase in range(starts[0], n, SP_EVERY_BARS):
        for b in (phrase + 1, phrase + 2, phrase + 3, phrase):
            if b < n and groups[b] >= SP_MIN_GEMS and not ({b - 1, b, b + 1} & fill_bars):
                star.append((tick(b), per_bar - SP_END_GAP))
                break
    # preview: the densest section after the first (the first when there is one), from its start
    ends = starts[1:] + [n]
    dens = [groups[s:e].mean() if e > s else 0.0 for s, e in zip(starts, ends)]
    pick = int(np.argmax(dens[1:])) + 1 if len(starts) > 1 else 0
    preview_ms = int(round(float(chart.seconds(tick(starts[pick]))) * 1000))
    return replace(chart, sections=sections, star_power=tuple(star), fills=tuple(fills), preview_ms=preview_ms)
