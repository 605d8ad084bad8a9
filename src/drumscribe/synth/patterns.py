"""Performance generator: human-like drumming as (time, note, velocity) events.

A performance is built bar by bar from style templates on a 16th (or triplet)
grid, with phrase structure (4/8-bar phrases, fills with tom runs at phrase
ends, crashes on phrase starts), section changes of the time-keeping cymbal
(hi-hat / ride / bell / floor tom / china), swing, ghost notes, accents,
flams, open/closed/pedal hi-hat, and E-GMD articulations (rim shot, cross
stick, ride bell, HH edge/semi-open, china) used sparingly.  A virtual
drummer adds timing jitter, per-limb push/pull, drift and velocity spread.

Notes are E-GMD / TD notes (:mod:`drumscribe.core.drums`).  :func:`adapt_to_kit`
then drops notes a kit cannot sound (counted), so the truth only holds notes
the kit really plays.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from drumscribe.core.drums import TD_CLASS

# style -> (bpm range, steps per beat (4 straight, 3 triplet), weight)
STYLES = {
    "rock": ((80, 170), 4, 1.3),
    "funk": ((80, 125), 4, 1.0),
    "jazz": ((90, 220), 3, 1.1),
    "shuffle": ((70, 140), 3, 0.7),
    "latin": ((90, 200), 4, 0.8),
    "metal": ((120, 220), 4, 0.9),
    "ballad": ((50, 80), 4, 0.6),
    "hiphop": ((70, 100), 4, 0.8),
    "reggae": ((65, 95), 4, 0.4),
    "punk": ((160, 220), 4, 0.5),
    "tribal": ((90, 150), 4, 0.9),
}
FILL_FRACTION = 0.35  # share of performances that are short "fill" takes

# time-keeper token: a floor-tom groove instead of a cymbal
FLOOR_GROOVE = -1
FLAM_CLASSES = ("snare", "hi_tom", "mid_tom", "low_tom")


@dataclass
class Drummer:
    id: int
    jitter_ms: float
    push_ms: dict  # limb offsets: kick, snare, hat
    vel_spread: float
    dyn: float
    ghost: float
    flam: float
    swing_bias: float

    @staticmethod
    def make(i: int, seed: int) -> "Drummer":
        r = np.random.default_rng([seed, 7919, i])
        return Drummer(
            id=i,
            jitter_ms=float(r.uniform(2.0, 7.0)),
            push_ms={"kick": float(r.uniform(-4, 3)), "snare": float(r.uniform(-2, 5)), "hat": float(r.uniform(-3, 3))},
            vel_spread=float(r.uniform(5, 13)),
            dyn=float(r.uniform(0.8, 1.1)),
            ghost=float(r.uniform(0.05, 0.35)),
            flam=float(r.uniform(0.0, 0.06)),
            swing_bias=float(r.uniform(-0.03, 0.04)),
        )


@dataclass
class Performance:
    style: str  # e.g. "funk/groove3"
    bpm: int
    beat_type: str  # "beat" | "fill"
    bars: int
    duration: float
    events: list  # [(time_s, note, velocity)]
    drummer: int = 1
    lead_in: float = 0.0
    meta: dict = field(default_factory=dict)


class _Ctx:
    """Per-performance choices shared by the bar builders."""

    def __init__(self, rng, style, drummer, steps):
        self.rng = rng
        self.style = style
        self.d = drummer
        self.steps = steps  # per beat
        r = rng
        # TD toms (drumscribe.core.drums): 48 tom 1, 45 tom 2, 43 floor; the rims now and then
        self.hi = 48 if r.random() < 0.9 else 50
        self.mid = 45 if r.random() < 0.9 else 47
        self.low = 43 if r.random() < 0.9 else 58
        self.toms = [self.hi, self.mid, self.low]
        self.crash = int(r.choice([49, 49, 57]))
        self.crash2 = 57 if self.crash == 49 else 49
        self.ghost = drummer.ghost * (1.6 if style in ("funk", "jazz", "shuffle", "hiphop") else 1.0)
        self.xstick = style in ("ballad", "latin", "reggae") and r.random() < 0.3
        self.variation = int(r.integers(1, 6))
        self.tk = 42
        self.hat_div = 2
        self.pick_timekeeper()

    def pick_timekeeper(self):
        r, s = self.rng, self.style
        if s in ("jazz",):
            opts, p = [51, 59, 42, 53], [0.75, 0.1, 0.1, 0.05]
        elif s == "shuffle":
            opts, p = [42, 51, 46], [0.55, 0.4, 0.05]
        elif s == "metal":
            opts, p = [42, 51, 53, 49, 52], [0.3, 0.3, 0.15, 0.15, 0.1]
        elif s == "punk":
            opts, p = [42, 46, 51, 49], [0.4, 0.2, 0.2, 0.2]
        elif s == "tribal":
            opts, p = [FLOOR_GROOVE, 44, 51], [0.6, 0.2, 0.2]
        elif s == "latin":
            opts, p = [42, 51, 53], [0.45, 0.35, 0.2]
        else:
            opts, p = [42, 51, 46, 53, FLOOR_GROOVE], [0.6, 0.27, 0.05, 0.03, 0.05]
        self.tk = int(r.choice(opts, p=p))
        self.hat_div = int(r.choice([1, 2, 4], p=[0.1, 0.65, 0.25])) if self.steps == 4 else 0

    def v(self, base, spread=None):
        spread = self.d.vel_spread if spread is None else spread
        return int(np.clip(round(self.rng.normal(base * self.d.dyn, spread)), 1, 127))


def _pat(s: str, steps_per_bar: int):
    """'x.o.' -> [(step, accent)], x = normal, o/X = accent, g = ghost."""
    return [(i * steps_per_bar // len(s), c) for i, c in enumerate(s) if c != "."]


KICKS = {
    "rock": ["x.......x.......", "x.......x.x.....", "x.x.....x.......", "x......xx.x.....", "x.....x...x.....", "x.......x......x", "x..x..x.x......."],
    "funk": ["x..x..x...x..x..", "x.x...x..x..x...", "x......x.x.x....", "x..x.....x.x..x.", "x.x....x..x....."],
    "hiphop": ["x.....x...x.....", "x..x......x..x..", "x.x.......x.....", "x......x..x....x"],
    "ballad": ["x.......x.......", "x......xx.......", "x.........x....."],
    "latin": ["x..xx..xx..xx..x", "x..x..x...x..x..", "...x...x...x...x"],
    "reggae": ["........x.......", "x.......x......."],
    "punk": ["x...x...x...x...", "x.x...x.x.x...x."],
    "tribal": ["x..x..x.x..x..x.", "x...x...x...x...", "x.x...x.x.x...x."],
}


class _Bar:
    """Hit helpers for one groove bar; the per-style builders below fill ``H``."""

    def __init__(self, ctx: _Ctx, bar: int):
        self.ctx, self.bar, self.r = ctx, bar, ctx.rng
        self.H: list = []

    def add(self, hit):
        self.H.append(hit)

    def hats(self, div=None, note=None, accent_beats=True):
        ctx, r, add = self.ctx, self.r, self.add
        div = ctx.hat_div if div is None else div
        note = ctx.tk if note is None else note
        if note == FLOOR_GROOVE:  # floor tom groove (tom-tom beat)
            for i in range(0, 16, 2):
                add((i / 4, ctx.low, ctx.v(90 if i % 4 == 0 else 70)))
            return
        for i in range(0, 16, 4 // div):
            on_beat = i % 4 == 0
            vel = 95 if on_beat and accent_beats else 68
            if note in (51, 59) and on_beat and r.random() < 0.06:
                add((i / 4, 53, ctx.v(90)))
                continue
            add((i / 4, note, ctx.v(vel)))
        if note == 42 and r.random() < 0.35:  # open hat on an offbeat, choked by the next hat
            i = int(r.choice([2, 6, 10, 14])) if div >= 2 else int(r.choice([12]))
            self.H[:] = [h for h in self.H if not (h[1] == 42 and abs(h[0] - i / 4) < 1e-6)]
            add((i / 4, 46 if r.random() > 0.1 else 26, ctx.v(90)))
        if note in (51, 59, 53) and r.random() < 0.5:
            for b in (1, 3):
                add((b, 44, ctx.v(60)))

    def kick(self, pats):
        ctx, r = self.ctx, self.r
        p = pats[(ctx.variation + (self.bar % 4 == 3) * int(r.integers(0, 3))) % len(pats)]
        for step, c in _pat(p, 16):
            self.add((step / 4, 36, ctx.v(95 if step % 4 == 0 else 82)))

    def backbeat(self, beats_=(1, 3), base=100):
        ctx, r = self.ctx, self.r
        for b in beats_:
            note = 38
            if ctx.xstick:
                note = 37
            elif r.random() < 0.05:
                note = 40
            self.add((b, note, ctx.v(base)))
            if r.random() < ctx.d.flam:
                self.add((b, "flam", ctx.v(45)))

    def ghosts(self, rate=1.0):
        ctx, r = self.ctx, self.r
        for i in range(16):
            if i % 4 != 0 and r.random() < ctx.ghost * rate * 0.5:
                self.add((i / 4, 38, ctx.v(28, 7)))


def _bar_jazz(B: _Bar):
    ctx, r, add = B.ctx, B.r, B.add
    for b in range(4):
        add((b, ctx.tk, ctx.v(85 if b % 2 else 70)))
        if b % 2 == 1 and r.random() < 0.9:
            add((b + 2 / 3, ctx.tk, ctx.v(60)))
        if b % 2 == 1:
            add((b, 44, ctx.v(55)))
        if r.random() < 0.5:
            add((b, 36, ctx.v(35)))  # feathering
    for _ in range(r.poisson(2.0 + 3 * ctx.ghost)):
        pos = int(r.integers(0, 12)) / 3
        note = 38 if r.random() < 0.75 else int(r.choice(ctx.toms))
        add((pos, note, ctx.v(r.choice([30, 50, 80]))))
    if r.random() < 0.3:
        add((int(r.integers(0, 12)) / 3, 36, ctx.v(85)))


def _bar_shuffle(B: _Bar):
    ctx, r, add = B.ctx, B.r, B.add
    for b in range(4):
        add((b, ctx.tk, ctx.v(85 if b % 2 == 0 else 75)))
        add((b + 2 / 3, ctx.tk, ctx.v(55)))
        if b in (1, 3):
            add((b, 38, ctx.v(100)))
        if b in (0, 2) or r.random() < 0.25:
            add((b, 36, ctx.v(90)))
        if r.random() < ctx.ghost:
            add((b + 2 / 3, 38, ctx.v(30)))
        if r.random() < 0.15:
            add((b + 2 / 3, 36, ctx.v(70)))


def _bar_rock(B: _Bar):
    ctx, r, add = B.ctx, B.r, B.add
    B.hats()
    if ctx.style == "punk" and r.random() < 0.5:
        for b in range(4):
            add((b, 36, ctx.v(100)))
            add((b + 0.5, 38, ctx.v(95)))
    else:
        B.kick(KICKS[ctx.style])
        B.backbeat()
    B.ghosts(0.5)


def _bar_funk(B: _Bar):
    ctx, r = B.ctx, B.r
    ctx.hat_div = 4 if ctx.tk == 42 else ctx.hat_div
    B.hats()
    B.kick(KICKS["funk"])
    B.backbeat()
    B.ghosts(1.5)
    if r.random() < 0.3:
        B.add((3.75 if r.random() < 0.5 else 1.75, 38, ctx.v(85)))


def _bar_hiphop(B: _Bar):
    B.hats()
    B.kick(KICKS["hiphop"])
    B.backbeat()
    B.ghosts(1.0)


def _bar_ballad(B: _Bar):
    B.hats(div=int(B.r.choice([2, 4])))
    B.kick(KICKS["ballad"])
    B.backbeat(base=80)


def _bar_reggae(B: _Bar):  # one drop
    ctx, r, add = B.ctx, B.r, B.add
    B.hats(div=2)
    add((2, 36, ctx.v(95)))
    add((2, 37 if ctx.xstick or r.random() < 0.5 else 38, ctx.v(90)))
    if r.random() < 0.3:
        add((3.5, int(r.choice(ctx.toms)), ctx.v(80)))


def _bar_latin(B: _Bar):
    ctx, r, add = B.ctx, B.r, B.add
    kind = ctx.variation % 3
    if kind == 0:  # bossa / samba: cross stick clave + 8ths
        B.hats(div=2 if ctx.tk != 53 else 4)
        B.kick(KICKS["latin"][:1])
        for step, _ in _pat("x..x..x...x..x.." if B.bar % 2 == 0 else "..x.x...x..x....", 16):
            add((step / 4, 37 if ctx.xstick else 38, ctx.v(70)))
    elif kind == 1:  # songo: bell + toms
        for i in range(0, 16, 2):
            add((i / 4, 53 if ctx.tk != 42 else 42, ctx.v(85 if i % 4 == 0 else 70)))
        B.kick(["...x.......x...."])
        for step, _ in _pat("......x...x...x.", 16):
            add((step / 4, int(r.choice([ctx.mid, ctx.low])), ctx.v(85)))
        add((1.75, 38, ctx.v(70)))
        B.ghosts(1.0)
    else:  # mozambique-ish: bell pattern + tom/snare
        for step, _ in _pat("x.xx.x.xx.x.x.x.", 16):
            add((step / 4, 53 if ctx.tk == 53 or r.random() < 0.5 else 51, ctx.v(80)))
        B.kick(KICKS["latin"][1:])
        for step, _ in _pat("...x..x....x..x.", 16):
            add((step / 4, int(r.choice([38, ctx.hi, ctx.low])), ctx.v(85)))


def _bar_metal(B: _Bar):
    ctx, r, add = B.ctx, B.r, B.add
    kind = ctx.variation % 4
    fast = ctx.bpm > 185
    if kind == 3 and not fast:  # gallop
        B.kick(["x.xxx.xxx.xxx.xx"])
    elif kind == 2:  # blast: kick and cymbal on 8ths, snare on the 16th after
        for i in range(0, 16, 2):
            add((i / 4, 36, ctx.v(105)))
            add((i / 4 + 0.25, 38, ctx.v(95)))
            add((i / 4, ctx.tk, ctx.v(90)))
    else:  # double kick
        step = 2 if fast else 1
        for i in range(0, 16, step):
            add((i / 4, 36, ctx.v(100 if i % 4 == 0 else 90)))
    if kind != 2:
        B.hats(div=int(r.choice([1, 2])))
        B.backbeat((2,) if fast else (1, 3), base=110)


def _bar_tribal(B: _Bar):
    ctx, r, add = B.ctx, B.r, B.add
    B.hats()
    for step, _ in _pat(KICKS["tribal"][ctx.variation % 3], 16):
        add((step / 4, 36, ctx.v(95)))
    for step, _ in _pat("..x...x...x..x.x" if B.bar % 2 else "x...x.x...x...x.", 16):
        add((step / 4, int(r.choice(ctx.toms)), ctx.v(90)))
    if r.random() < 0.5:
        B.backbeat()


# style -> bar builder (every style in STYLES has one)
GROOVES = {
    "jazz": _bar_jazz, "shuffle": _bar_shuffle, "rock": _bar_rock, "punk": _bar_rock, "funk": _bar_funk,
    "hiphop": _bar_hiphop, "ballad": _bar_ballad, "reggae": _bar_reggae, "latin": _bar_latin,
    "metal": _bar_metal, "tribal": _bar_tribal,
}


def _groove_bar(ctx: _Ctx, bar: int, beats: float) -> list:
    """Hits (beat position, note, velocity) of one groove bar, up to ``beats`` beats.

    A ``"flam"`` marker is resolved later into a grace note before the main stroke.
    """
    B = _Bar(ctx, bar)
    GROOVES[ctx.style](B)
    return [h for h in B.H if h[0] < beats]


def _fill(ctx: _Ctx, start: float, beats: float) -> list:
    """A fill from beat ``start`` to the bar end (4): tom runs, rolls, flams, linear."""
    r, st = ctx.rng, ctx.steps
    H = []
    kind = int(r.choice(6, p=[0.34, 0.2, 0.14, 0.14, 0.06, 0.12]))
    grid = 1 / (st if kind != 2 else 3) if st == 4 else 1 / 3
    if kind == 2 and st == 4:
        grid = 1 / 6 if ctx.bpm < 120 else 1 / 3
    if kind == 4 and st == 4 and ctx.bpm < 110 and r.random() < 0.5:
        grid = 1 / 8  # 32nd roll at slow tempo
    n = int(round((4 - start) / grid))
    toms = list(ctx.toms)
    if r.random() < 0.2:
        toms = toms[::-1]
    base = int(r.integers(75, 110))
    for i in range(n):
        pos = start + i * grid
        cres = 0.85 + 0.3 * i / max(1, n - 1)
        if kind in (0, 2):  # tom run (descending by group)
            group = max(1, n // len(toms) + (1 if r.random() < 0.3 else 0))
            note = toms[min(len(toms) - 1, i // group)]
            if kind == 0 and i < n // 4 and r.random() < 0.5:
                note = 38
        elif kind == 1:  # snare then toms, kick underneath on beats
            note = 38 if i < n // 2 else toms[min(len(toms) - 1, (i - n // 2) * len(toms) // max(1, n - n // 2))]
            if abs(pos - round(pos)) < 1e-6:
                H.append((pos, 36, ctx.v(90)))
        elif kind == 3:  # flams on 8ths around the kit
            if i % 2:
                continue
            note = int(r.choice([38] + toms))
            H.append((pos, "flam", ctx.v(50)))
        elif kind == 4:  # snare roll / crescendo
            note = 38
        else:  # linear: tom tom kick
            note = 36 if i % 3 == 2 else toms[(i // 3) % len(toms)]
        H.append((pos, note, ctx.v(base * cres)))
    if r.random() < 0.3:  # keep time with the feet
        for b in np.arange(np.ceil(start), 4):
            H.append((float(b), 44, ctx.v(55)))
    return H


def _resolve(ctx: _Ctx, hits_beats: list, bar_start_beat: float, swing: float, swing_unit: float):
    """Beat positions -> beat times with swing; flam markers -> grace notes."""
    out = []
    by_pos = {}
    seen = {}
    uniq = []
    for pos, note, vel in hits_beats:  # same note twice at one grid point -> keep the louder
        key = (round(pos, 4), note)
        if key in seen:
            j = seen[key]
            if vel > uniq[j][2]:
                uniq[j] = (pos, note, vel)
            continue
        seen[key] = len(uniq)
        uniq.append((pos, note, vel))
    hits_beats = uniq
    for pos, note, vel in hits_beats:
        if note != "flam":
            by_pos.setdefault(round(pos, 4), []).append(note)
    for pos, note, vel in hits_beats:
        p = pos
        if swing_unit and swing:
            k = p / swing_unit
            if abs(k - round(k)) < 1e-6 and int(round(k)) % 2 == 1:
                p = p + (swing - 0.5) * 2 * swing_unit
        if note == "flam":
            mains = [n for n in by_pos.get(round(pos, 4), []) if TD_CLASS.get(n) in FLAM_CLASSES]
            if not mains:
                continue
            out.append((bar_start_beat + p, mains[0], vel, -ctx.rng.uniform(0.015, 0.035)))
        else:
            out.append((bar_start_beat + p, note, vel, 0.0))
    return out


def generate_performance(
    rng: np.random.Generator,
    drummer: Drummer,
    *,
    style: str | None = None,
    beat_type: str | None = None,
    max_seconds: float | None = None,
    take: int = 1,
) -> Performance:
    names = list(STYLES)
    if style is None:
        w = np.array([STYLES[s][2] for s in names])
        style = str(rng.choice(names, p=w / w.sum()))
    (lo, hi), steps, _ = STYLES[style]
    bpm = int(rng.integers(lo, hi + 1))
    if beat_type is None:
        beat_type = "fill" if rng.random() < FILL_FRACTION else "beat"
    ctx = _Ctx(rng, style, drummer, steps)
    ctx.bpm = bpm
    spb = 60.0 / bpm
    bar_s = 4 * spb
    # swing: 8th swing for straight styles sometimes, 16th swing for hip-hop
    swing, swing_unit = 0.5, 0.0
    if steps == 4:
        if style in ("hiphop",) or (style in ("funk", "reggae") and rng.random() < 0.4):
            swing, swing_unit = float(rng.uniform(0.54, 0.64) + drummer.swing_bias), 0.25
        elif style in ("rock", "ballad", "reggae") and rng.random() < 0.12:
            swing, swing_unit = float(rng.uniform(0.56, 0.64)), 0.5
    if beat_type == "fill":
        target = float(rng.uniform(2.5, 9.0))
    else:
        target = float(np.exp(rng.uniform(np.log(8.0), np.log(60.0))))
    if max_seconds:
        target = min(target, max_seconds)
    bars = max(1, int(round(target / bar_s)))
    if beat_type == "fill":
        bars = max(bars, 2 if bar_s < 2.5 else 1)
    phrase = int(rng.choice([2, 4, 8], p=[0.3, 0.5, 0.2]))
    lead = float(rng.uniform(0.05, 0.4))

    hits = []  # (beat, note, vel, extra seconds)
    for b in range(bars):
        last_of_phrase = (b + 1) % phrase == 0 or b == bars - 1
        if b > 0 and b % phrase == 0 and rng.random() < 0.3:
            ctx.pick_timekeeper()
        fill_start = 4.0
        if beat_type == "fill" and b == bars - 1:
            fill_start = float(rng.choice([0.0, 1.0, 2.0, 2.0]))
        elif last_of_phrase and bars > 1 and rng.random() < 0.75:
            fill_start = float(rng.choice([3.0, 2.0, 2.0, 0.0, 3.0]))
        elif rng.random() < 0.08:
            fill_start = 3.0
        bar_hits = _groove_bar(ctx, b, fill_start)
        if fill_start < 4.0:
            bar_hits += _fill(ctx, fill_start, 4.0)
        if (b == 0 and rng.random() < 0.5) or (b > 0 and b % phrase == 0 and rng.random() < 0.9):
            crash = ctx.crash if rng.random() < 0.75 else int(rng.choice([ctx.crash2, 55, 52], p=[0.7, 0.2, 0.1]))
            bar_hits = [h for h in bar_hits if not (h[0] == 0 and h[1] in (42, 46, 51, 53, 59))]
            bar_hits += [(0.0, crash, ctx.v(110)), (0.0, 36, ctx.v(100))]
            if rng.random() < 0.15:  # double crash
                bar_hits.append((0.0, ctx.crash2, ctx.v(105)))
        if style in ("rock", "punk", "metal", "funk", "latin") and rng.random() < 0.2:  # accent hits
            for pos in rng.choice([1.0, 1.5, 2.0, 2.5, 3.0, 3.5], size=int(rng.integers(1, 3)), replace=False):
                bar_hits += [(float(pos), int(rng.choice([ctx.crash, ctx.crash2, 55], p=[0.6, 0.3, 0.1])), ctx.v(105)), (float(pos), 36, ctx.v(100))]
        hits += _resolve(ctx, bar_hits, 4.0 * b, swing, swing_unit)
    if beat_type == "fill" or rng.random() < 0.5:  # landing
        hits += [(4.0 * bars, ctx.crash, ctx.v(112), 0.0), (4.0 * bars, 36, ctx.v(105), 0.0)]
        bars_audio = bars + 0.25
    else:
        bars_audio = bars
    # humanize: jitter, per-limb push, slow drift
    limb = {36: "kick", 38: "snare", 40: "snare", 37: "snare"}
    drift = np.cumsum(rng.normal(0, 0.0015, bars + 2))
    drift -= drift.mean()
    events = []
    for beat, note, vel, extra in hits:
        t = lead + beat * spb + extra
        t += drift[min(int(beat // 4), bars + 1)]
        t += rng.normal(0, drummer.jitter_ms / 1000) + drummer.push_ms.get(limb.get(note, "hat"), 0.0) / 1000
        events.append((max(0.0, float(t)), int(note), int(vel)))
    events.sort()
    # same note closer than 12 ms -> keep the louder
    kept, last = [], {}
    for t, n, v in events:
        j = last.get(n)
        if j is not None and t - kept[j][0] < 0.012:
            if v > kept[j][2]:
                kept[j] = (kept[j][0], n, v)
            continue
        last[n] = len(kept)
        kept.append((t, n, v))
    duration = lead + bars_audio * bar_s + float(rng.uniform(1.0, 2.0))
    if max_seconds and duration > max_seconds:
        duration = float(max_seconds)
        kept = [e for e in kept if e[0] < duration - 0.25]
    sub = {"rock": "groove", "funk": "groove", "jazz": "swing", "shuffle": "groove", "latin": ["bossa", "songo", "mozambique"][ctx.variation % 3]}.get(style, "groove")
    if beat_type == "fill":
        sub = "fill"
    return Performance(
        style=f"{style}/{sub}{take}",
        bpm=bpm,
        beat_type=beat_type,
        bars=bars,
        duration=round(duration, 6),
        events=kept,
        drummer=drummer.id,
        lead_in=lead,
        meta={"swing": round(swing, 3)},
    )


def adapt_to_kit(events, playable, stats: Counter | None = None):
    """Keep the events the kit can sound (``playable``: TD notes, see ``sampler.playable``).

    A note is playable when the kit has its sound or another articulation of the
    same drum (the truth keeps the TD note either way); the others are dropped
    and counted in ``stats`` as 'drop:<note>'.
    """
    have = set(playable)
    stats = Counter() if stats is None else stats
    out = []
    for t, n, v in events:
        if n in have:
            out.append((t, n, v))
        else:
            stats[f"drop:{n}"] += 1
    return out, stats
