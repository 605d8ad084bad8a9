"""The accepted range of every numeric command-line option, checked before any work (one line, exit 2).

:data:`RANGES` is keyed by argparse ``dest`` (the same meaning in every command that has it), with
``(command, dest)`` entries where one command differs.  ``drumscribe.cli.main`` calls :func:`check_args`
right after parsing; relations between options (``--overlap`` shorter than ``--window``) stay with their
command.  ``tests/test_safety_no_traceback.py`` requires a range for every numeric option of every parser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """``lo <= x <= hi`` (``lo_open``/``hi_open``: strict), finite; ``pair``: two values, ``lo <= first <= second``."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    unit: str = ""
    pair: bool = False
    related: str = ""  # another option this one is also checked against, by its command (``--window``)

    def _ok(self, x) -> bool:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            return False
        if self.lo is not None and (x <= self.lo if self.lo_open else x < self.lo):
            return False
        if self.hi is not None and (x >= self.hi if self.hi_open else x > self.hi):
            return False
        return True

    def accepts(self, value) -> bool:
        if self.pair:
            return len(value) == 2 and all(self._ok(v) for v in value) and value[0] <= value[1]
        return self._ok(value)

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        lo = None if self.lo is None else f"{'above' if self.lo_open else 'at least'} {self.lo:g}"
        hi = None if self.hi is None else f"{'below' if self.hi_open else 'at most'} {self.hi:g}"
        if lo and hi:
            text = (f"from {self.lo:g} to {self.hi:g}" if not (self.lo_open or self.hi_open) else f"{lo} and {hi}")
        else:
            text = lo or hi or "a finite number"
        return f"two values LO HI, LO <= HI, each {text}{unit}" if self.pair else f"must be {text}{unit}"


PROB = Range(0.0, 1.0)
COUNT = Range(1)

RANGES: dict = {
    "threads": Range(1, 1024), "num_workers": Range(1, 1024),
    "epochs": COUNT, "max_epochs": COUNT, "max_files": COUNT, "plot_files": COUNT, "kits_per_performance": COUNT,
    "performances": Range(1, 100_000),  # E-GMD has 1,059; planning 10^9 would run for hours before any audio
    "seed": Range(0, 2**63 - 1),
    "threshold": Range(0.0, 1.0, lo_open=True, hi_open=True),
    "tolerance": Range(0.0, 1.0, lo_open=True, unit="seconds"),
    "tempo": Range(20.0, 400.0, unit="bpm"),
    "window": Range(2.0, 3600.0, unit="seconds"),  # shorter windows give the GRU too little context
    "overlap": Range(0.0, 3600.0, unit="seconds", related="--window"),  # shorter than it: checked by transcribe
    "hours": Range(0.0, 10000.0, lo_open=True, unit="hours"),
    "max_seconds": Range(0.0, 86400.0, lo_open=True, unit="seconds (leave it out for no cap)"),
    "backing_ratio": Range(-60.0, 60.0, unit="dB", pair=True),
    # an audio file's or array's rate: below 1 kHz nothing a drum is known by survives (and resampling 1 Hz to the
    # model's rate would run for hours); above 768 kHz no recorder writes (a damaged or hostile header)
    "sample_rate": Range(1000, 768_000, unit="Hz"),
    **{k: PROB for k in ("realism_prob", "full_mix", "kit_mix", "procedural", "vary", "dropout",
                         "random_onsets", "solo", "swap", "real_kits", "real_ir", "real_instruments", "multitrack_sum",
                         "backing_only")},
}


def range_for(command: str, dest: str) -> Range | None:
    return RANGES.get((command, dest), RANGES.get(dest))


def flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def check_value(command: str, dest: str, value) -> None:
    """:class:`~drumscribe.core.errors.ConfigError` ``--flag VALUE: must be ...`` when ``value`` is outside its range."""
    r = range_for(command, dest)
    if value is None or r is None:
        return
    if not r.accepts(list(value) if r.pair else value):
        from drumscribe.core.errors import ConfigError

        shown = " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) if r.pair else (
            f"{value:g}" if isinstance(value, float) else str(value))
        raise ConfigError(f"{flag(dest)} {shown}: {r.describe()}")


def check_argument(name: str, value, dest: str | None = None) -> None:
    """The Python API's twin of :func:`check_value`: ``name VALUE: must be ...`` (the argument as Python spells
    it) when ``value`` is outside the range of ``dest`` (default ``name``) in :data:`RANGES`; None is not checked."""
    r = range_for("api", dest or name)
    if value is None or r is None:
        return
    import numbers

    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and r.accepts(float(value))
    if ok and (dest or name) in WHOLE_NUMBERS:
        ok = float(value) == int(value)
    if not ok:
        from drumscribe.core.errors import ConfigError

        raise ConfigError(f"{name} {value!r}: {r.describe()}" + (", a whole number" if (dest or name) in WHOLE_NUMBERS
                                                                  else ""))


WHOLE_NUMBERS = ("threads", "sample_rate")


def check_args(command: str, args) -> None:
    """Every numeric option of a parsed command line within its range (defaults ``None`` are not checked)."""
    for dest, value in sorted(vars(args).items()):
        if dest.startswith("_") or isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)) or (isinstance(value, (list, tuple)) and value
                                              and all(isinstance(v, (int, float)) for v in value)):
            check_value(command, dest, value)
