"""Kit discovery: Hydrogen drumkits and General-MIDI soundfont drum presets.

The instrument -> note tables are data (``kits/*.yaml``).  A :class:`Kit` is a
name, a source (hydrogen / soundfont), a pool (train / heldout) and the E-GMD
notes it can sound.  Loading the actual audio is :mod:`drumscribe.synth.sampler`.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..errors import DrumscribeError

# Reserved for blind evaluation: never read, never render, never list.
RESERVED = ("avldrums", "freepats", "exadrums")

HYDROGEN_DIR = Path(os.environ.get("DRUMSCRIBE_HYDROGEN_DIR", "/usr/share/hydrogen/data/drumkits"))
TABLE_DIR = Path(__file__).with_name("kits")

# The project's 8 classes (configs: model.n_classes) and the E-GMD notes in each.
CLASSES = ("kick", "snare", "hihat", "hi_tom", "mid_tom", "low_tom", "crash", "ride")
CLASS_NOTES = {
    "kick": (36,),
    "snare": (38,),
    "hihat": (42, 44, 46),
    "hi_tom": (50,),
    "mid_tom": (47, 48),
    "low_tom": (45, 41, 43),
    "crash": (49, 55, 57),
    "ride": (51, 53, 59),
}
NOTE_CLASS = {n: c for c, ns in CLASS_NOTES.items() for n in ns}
# E-GMD articulations outside the 8 classes (reported as unmapped downstream).
ARTICULATIONS = (37, 40, 22, 26, 58, 52)
HIHAT_NOTES = (42, 44, 46, 22, 26)
OPEN_HIHAT = (46, 26)


def check_path(path) -> Path:
    """Refuse paths of the packages reserved for blind evaluation."""
    p = str(path)
    low = p.lower()
    for word in RESERVED:
        if word in low:
            raise DrumscribeError(f"refusing {p!r}: {word} is reserved for blind evaluation")
    return Path(p)


@dataclass(frozen=True)
class Kit:
    name: str
    source: str  # "hydrogen" | "soundfont"
    pool: str  # "train" | "heldout"
    path: str  # drumkit folder or soundfont file
    notes: dict = field(default_factory=dict, hash=False, compare=False)
    # hydrogen: note -> tuple of instrument names; soundfont: note -> note
    preset: int = -1

    @property
    def classes(self) -> tuple[str, ...]:
        have = {NOTE_CLASS.get(n) for n in self.notes}
        return tuple(c for c in CLASSES if c in have)


@lru_cache(maxsize=None)
def _load_yaml(name: str) -> dict:
    import yaml

    with open(TABLE_DIR / name, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _strip_ns(root) -> str:
    m = re.match(r"\{.*\}", root.tag)
    return m.group(0) if m else ""


@lru_cache(maxsize=None)
def parse_hydrogen(kit_dir: str) -> dict:
    """drumkit.xml -> {instrument name: {volume, gain, pan_l, pan_r, layers:[(file, min, max, gain)]}}."""
    kit_dir = str(check_path(kit_dir))
    root = ET.parse(os.path.join(kit_dir, "drumkit.xml")).getroot()
    ns = _strip_ns(root)
    out = {}
    for ins in root.iter(ns + "instrument"):
        name = (ins.findtext(ns + "name") or "").strip()
        if not name:
            continue

        def num(tag, default):
            t = ins.findtext(ns + tag)
            try:
                return float(t) if t is not None else default
            except ValueError:
                return default

        layers = []
        for lay in ins.iter(ns + "layer"):
            fn = lay.findtext(ns + "filename")
            if not fn:
                continue
            layers.append(
                (
                    os.path.join(kit_dir, fn),
                    float(lay.findtext(ns + "min") or 0.0),
                    float(lay.findtext(ns + "max") or 1.0),
                    float(lay.findtext(ns + "gain") or 1.0),
                )
            )
        if not layers:  # old single-sample format
            fn = ins.findtext(ns + "filename")
            if fn:
                layers.append((os.path.join(kit_dir, fn), 0.0, 1.0, 1.0))
        layers = [l for l in layers if "emptySample" not in l[0] and os.path.exists(l[0])]
        if not layers:
            continue
        out[name] = dict(
            volume=num("volume", 1.0),
            gain=num("gain", 1.0),
            pan_l=num("pan_L", 1.0),
            pan_r=num("pan_R", 1.0),
            layers=layers,
        )
    return out


def _hydrogen_kits() -> list[Kit]:
    table = _load_yaml("hydrogen.yaml")["kits"]
    kits = []
    for name, spec in table.items():
        kit_dir = HYDROGEN_DIR / name
        check_path(kit_dir)
        if not (kit_dir / "drumkit.xml").exists():
            continue
        try:
            instruments = parse_hydrogen(str(kit_dir))
        except (ET.ParseError, OSError):
            continue
        notes = {}
        for note, names in spec["notes"].items():
            present = tuple(n for n in names if n in instruments)
            if present:
                notes[int(note)] = present
        if notes:
            kits.append(Kit(name=name, source="hydrogen", pool=spec["pool"], path=str(kit_dir), notes=notes))
    return kits


def fluidsynth_available() -> bool:
    try:
        import fluidsynth  # noqa: F401
    except Exception:  # ImportError, OSError (libfluidsynth missing)
        return False
    return True


def _soundfont_kits() -> list[Kit]:
    table = _load_yaml("soundfonts.yaml")
    if not fluidsynth_available():
        return []
    kits = []
    for family, spec in table["soundfonts"].items():
        path = check_path(spec["path"])
        if not path.exists():
            continue
        for preset, pname in spec["presets"].items():
            notes = {int(n): int(n) for n in table["notes"]}
            kits.append(
                Kit(name=f"{family}:{pname}", source="soundfont", pool=spec["pool"], path=str(path), notes=notes, preset=int(preset))
            )
    return kits


def backing_soundfonts() -> dict:
    """{soundfont path: weight} for backing tracks, installed ones only."""
    table = _load_yaml("soundfonts.yaml")["backing_soundfonts"]
    return {str(check_path(p)): float(w) for p, w in table.items() if Path(p).exists()}


def backing_soundfont() -> Path | None:
    """The first installed backing soundfont (None: no backing possible)."""
    sfs = backing_soundfonts()
    return Path(next(iter(sfs))) if sfs else None


@lru_cache(maxsize=1)
def _all_kits() -> tuple[Kit, ...]:
    return tuple(_hydrogen_kits() + _soundfont_kits())


def list_kits(pool: str = "all", *, probe: bool = False) -> list[Kit]:
    """Kits installed here (Hydrogen + soundfont presets), optionally one pool.

    ``probe=True`` renders soundfont one-shots (cached) so that the notes listed
    for soundfont kits are those that really sound.
    """
    if pool not in ("train", "heldout", "all"):
        raise DrumscribeError(f"unknown pool {pool!r} (train, heldout, all)")
    kits = [k for k in _all_kits() if pool == "all" or k.pool == pool]
    if probe:
        from .sampler import sounding_notes

        kits = [Kit(k.name, k.source, k.pool, k.path, {n: k.notes[n] for n in sounding_notes(k)}, k.preset) for k in kits]
    return kits


def get_kits(names=None, pool: str = "all") -> list[Kit]:
    """Resolve ``names`` (exact names, or a soundfont family like ``FluidR3``) or a pool."""
    kits = list_kits("all")
    if not names:
        sel = [k for k in kits if pool == "all" or k.pool == pool]
        if not sel:
            raise DrumscribeError(
                f"no drum kits found for pool {pool!r} (install hydrogen-drumkits and/or pyfluidsynth + fluid-soundfont-gm)"
            )
        return sel
    by_name = {k.name.lower(): k for k in kits}
    out = []
    for n in names:
        check_path(n)
        key = n.lower()
        if key in by_name:
            out.append(by_name[key])
            continue
        fam = [k for k in kits if k.source == "soundfont" and k.name.lower().split(":")[0] == key]
        if fam:
            out.extend(fam)
            continue
        raise DrumscribeError(f"unknown kit {n!r}; see `drumscribe synth --list-kits`")
    seen, uniq = set(), []
    for k in out:
        if k.name not in seen:
            seen.add(k.name)
            uniq.append(k)
    return uniq
