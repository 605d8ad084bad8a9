"""Kit discovery: Hydrogen drumkits, General-MIDI soundfont drum presets,
one-shot sample folders, and procedural (synthesised) kits.

The instrument -> note tables are data (``kits/*.yaml``); notes are E-GMD's
(Roland TD) numbering, facts from :mod:`drumscribe.core.drums`.  A :class:`Kit` is a
name, a source kind (hydrogen / soundfont / samples / procedural), a family (the
Debian package or soundfont it comes from), a pool (train / heldout) and the TD
notes it can sound.  Loading the audio is :mod:`drumscribe.synth.sampler`.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from drumscribe.core.errors import DrumscribeError

# Reserved for blind evaluation: never read, never render, never list.
RESERVED = ("avldrums", "freepats", "exadrums")

HYDROGEN_DIR = Path(os.environ.get("DRUMSCRIBE_HYDROGEN_DIR", "/usr/share/hydrogen/data/drumkits"))
TABLE_DIR = Path(__file__).with_name("kits")

from drumscribe.core.drums import CLASSES, TD_CLASS, TD_CLASS_NOTES, TD_MAIN, TD_TO_GM

CLASS_NOTES = TD_CLASS_NOTES
NOTE_CLASS = TD_CLASS
# TD notes other than each drum's main (head/bow) note
ARTICULATIONS = tuple(sorted(n for n in TD_CLASS if n not in TD_MAIN.values()))
SAMPLES_ROOTS = {}  # overridable in tests: source -> folder
KIT_DIRS_ENV = "DRUMSCRIBE_KIT_DIRS"  # folders of real recorded kits (index.csv layout), os.pathsep-separated
# Sources (index.csv ``source``/``kit``) whose licence is unclear or restricts the use: left out of every render
# unless --licence-doubtful (MODEL_CARD.md "Licences": the training material and its terms).
LICENCE_DOUBTFUL = {
    "voxengo": "Voxengo IR licence: redistribution only of unaltered copies, no profit; modelled, not recorded",
    "pymixconsole": "'a Creative Commons license' with no version or terms; one IR of unverified origin",
}
DOUBTFUL_ENV = "DRUMSCRIBE_LICENCE_DOUBTFUL"  # "1": use the LICENCE_DOUBTFUL sources too (inherited by workers)
# procedural kits listed by --list-kits: seeds 0..N_PROCEDURAL-1; the last
# N_PROCEDURAL_HELDOUT of them form the held-out procedural pool
N_PROCEDURAL = 64
N_PROCEDURAL_HELDOUT = 16


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
    source: str  # "hydrogen" | "soundfont" | "samples" | "real" | "procedural"
    pool: str  # "train" | "heldout"
    path: str  # drumkit folder, soundfont file, sample folder ("" for procedural)
    notes: dict = field(default_factory=dict, hash=False, compare=False)
    # hydrogen: TD note -> tuple of instrument names; soundfont: TD note -> GM note;
    # samples: TD note -> tuple of variants (file or tuple of velocity-layer files);
    # real: TD note -> tuple of variants (tuple of (peak dBFS, file or stem folder), soft -> loud);
    # procedural: TD note -> TD note
    preset: int = -1  # soundfont preset; procedural: the seed
    family: str = ""  # where it comes from (Debian package / soundfont family)

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
            kits.append(Kit(name=name, source="hydrogen", pool=spec["pool"], path=str(kit_dir), notes=notes,
                            family=spec.get("package", "hydrogen-drumkits")))
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
            kits.append(
                Kit(name=f"{family}:{pname}", source="soundfont", pool=spec["pool"], path=str(path), notes=dict(TD_TO_GM),
                    preset=int(preset), family=spec.get("package", family))
            )
    return kits


def _sample_kits() -> list[Kit]:
    table = _load_yaml("samples.yaml")["sources"]
    kits = []
    for source, spec in table.items():
        root = check_path(SAMPLES_ROOTS.get(source, spec["dir"]))
        if not root.is_dir():
            continue
        for kname, notes in spec["kits"].items():
            have = {}
            for note, variants in notes.items():
                ok = []
                for v in variants:
                    files = (v,) if isinstance(v, str) else tuple(v)
                    if all((root / f).is_file() for f in files):
                        ok.append(files)
                if ok:
                    have[int(note)] = tuple(ok)
            if have:
                kits.append(Kit(name=f"{source}:{kname}", source="samples", pool=spec["pool"], path=str(root), notes=have,
                                family=spec.get("package", source)))
    return kits


def procedural_kit(seed: int) -> Kit:
    """Procedural kit ``seed`` (any int: unlimited timbres; the listed ones are 0..N_PROCEDURAL-1)."""
    pool = "heldout" if N_PROCEDURAL - N_PROCEDURAL_HELDOUT <= seed < N_PROCEDURAL else "train"
    return Kit(name=f"procedural:{seed:03d}", source="procedural", pool=pool, path="", notes={n: n for n in TD_CLASS},
               preset=int(seed), family="procedural")


# ------------------------------------------------------------------ real recorded kits
def kit_dirs() -> tuple[str, ...]:
    """The real-kit folders in use (``--kit-dir`` / :data:`KIT_DIRS_ENV`)."""
    return tuple(d for d in os.environ.get(KIT_DIRS_ENV, "").split(os.pathsep) if d)


def set_kit_dirs(dirs) -> None:
    """Use the real-kit folders ``dirs`` (each with an ``index.csv``), here and in worker processes.

    A folder that does not exist or has no ``index.csv`` is refused in one line."""
    dirs = [str(check_path(d)) for d in (dirs or [])]
    for d in dirs:
        if not (Path(d) / "index.csv").is_file():
            raise DrumscribeError(f"--kit-dir {d}: no index.csv there (a folder in the real-sounds layout, see docs/synth.md)")
    os.environ[KIT_DIRS_ENV] = os.pathsep.join(dirs)
    _all_kits.cache_clear()
    _index_rows.cache_clear()


INDEX_NEEDS = ("kit", "piece", "articulation", "velocity_layer", "mic", "path", "peak_dbfs")
INDEX_NUMBERS = {"velocity_layer": int, "channels": int, "seconds": float, "peak_dbfs": float}  # may be empty


@lru_cache(maxsize=None)
def _index_rows(folder: str) -> tuple[dict, ...]:
    """The rows of a kit folder's ``index.csv``, validated: an untrusted file (text in a number column,
    bytes that are not UTF-8 CSV, a row naming a file that is not there or lies outside the folder) is
    refused in one line naming the file, the row (1 = the first after the header) and the column."""
    import csv
    import math

    index = Path(folder) / "index.csv"
    try:
        with open(index, newline="", encoding="utf-8") as f:
            rows = tuple(csv.DictReader(f))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DrumscribeError(f"{index}: not a UTF-8 CSV table ({type(exc).__name__}: {str(exc)[:80]})") from None
    except OSError as exc:
        raise DrumscribeError(f"{index}: unreadable ({exc.strerror or exc})") from None
    if rows and not set(INDEX_NEEDS) <= set(rows[0]):
        raise DrumscribeError(f"{index}: needs the columns {', '.join(sorted(INDEX_NEEDS))}")
    root = Path(folder).resolve()
    for i, r in enumerate(rows, start=1):
        if None in r or any(v is None for v in r.values()):
            raise DrumscribeError(f"{index}: row {i}: {'more' if None in r else 'fewer'} cells than the header has columns")
        for col, kind in INDEX_NUMBERS.items():
            v = (r.get(col) or "").strip()
            if not v:
                continue
            try:
                ok = math.isfinite(kind(v))
            except ValueError:
                ok = False
            if not ok:
                raise DrumscribeError(f"{index}: row {i}, column {col}: {v[:40]!r} is not {'an integer' if kind is int else 'a number'}")
        rel = r["path"]
        target = (root / rel).resolve() if rel else root
        if not rel or Path(rel).is_absolute() or root not in target.parents or not target.is_file():
            problem = "empty" if not rel else "outside the folder" if root not in target.parents else "no such file"
            raise DrumscribeError(f"{index}: row {i}, column path: {rel[:80]!r}: {problem}")
    return rows


def _hit_key(row: dict, multimic) -> tuple[str, str]:
    """(variant, hit) of an index row: a multi-mic hit is its folder (``vNN_<k>``; ``l``/``r`` in ``k``:
    two physical instruments = two variants); a single-file hit is the file, its variant the series
    (``buttend_``/``alt_`` prefix) and mic (``_top``/``_bottom``)."""
    path = row["path"]
    if multimic:
        folder = path.rsplit("/", 1)[0]
        k = folder.rsplit("/", 1)[1].split("_", 1)[-1]
        return (k[0] if k[:1] in ("l", "r") else ""), folder
    series = re.sub(r"\d+", "", Path(path).stem).strip("_")
    return f"{series}|{row['mic']}" if (series or row["mic"]) else "", path


def real_kits(folder: str) -> list[Kit]:
    """Kits of one real-sounds folder: one Kit per index.csv ``kit`` the table knows the notes of.

    ``notes``: TD note -> variants; a variant is a tuple of hits ``(level, path)`` sorted soft -> loud
    by the file's peak (a multi-mic hit's ``path`` is its stem folder)."""
    table = _load_yaml("real.yaml")
    note_of = {k: int(v) for k, v in table["notes"].items()}
    groups: dict = {}
    for r in _index_rows(folder):
        if not r["piece"] or _doubtful(r):
            continue  # an impulse response, or a source whose licence is in doubt
        kit = r["kit"]
        spec = table["kits"].get(kit, {})
        td = note_of.get(f"{r['piece']}/{r['articulation']}")
        if td is None:
            continue
        multimic = spec.get("multimic")
        variant, hit = _hit_key(r, multimic)
        level = float(r["peak_dbfs"] or -99.0)
        g = groups.setdefault(kit, {}).setdefault(td, {}).setdefault((r["piece"], r["articulation"], variant), {})
        g[hit] = max(level, g.get(hit, -99.0))  # a multi-mic hit: its loudest stem
    kits = []
    for kit, notes in sorted(groups.items()):
        spec = table["kits"].get(kit, {})
        have = {td: tuple(tuple(sorted(((lv, h) for h, lv in hits.items()))) for _, hits in sorted(vs.items()))
                for td, vs in notes.items()}
        kits.append(Kit(name=f"real:{kit}", source="real", pool=spec.get("pool", "train"), path=str(folder),
                        notes=have, preset=-1, family=f"real:{kit}"))
    return kits


def real_kit_spec(kit: Kit) -> dict:
    """The table's entry for a real kit (pool, credit, multimic stems)."""
    return _load_yaml("real.yaml")["kits"].get(kit.name.split(":", 1)[1], {})


def _real_kits() -> list[Kit]:
    return [k for d in kit_dirs() for k in real_kits(d)]


def doubtful_allowed() -> bool:
    """Whether the :data:`LICENCE_DOUBTFUL` sources are used (``--licence-doubtful``; default no)."""
    return os.environ.get(DOUBTFUL_ENV, "") == "1"


def set_licence_doubtful(allowed: bool) -> None:
    """Use (``True``) or leave out (default) the :data:`LICENCE_DOUBTFUL` sources, here and in worker processes."""
    os.environ[DOUBTFUL_ENV] = "1" if allowed else ""
    _all_kits.cache_clear()


def _doubtful(row: dict) -> bool:
    return not doubtful_allowed() and bool({row.get("source", ""), row["kit"]} & set(LICENCE_DOUBTFUL))


def real_irs(pool: str = "train") -> list[tuple[str, str]]:
    """``(name, path)`` of the real impulse responses of the kit folders for ``pool`` (train: all but
    the held-out ones; heldout: those only; all); sources of :data:`LICENCE_DOUBTFUL` only when allowed."""
    held = set(_load_yaml("real.yaml").get("heldout_irs", []))
    out = []
    for d in kit_dirs():
        for r in _index_rows(d):
            if r["piece"] or _doubtful(r):
                continue
            name = f"{r['kit']}/{Path(r['path']).stem}"
            if pool == "all" or (name in held) == (pool == "heldout"):
                out.append((name, str(Path(d) / r["path"])))
    return sorted(out)


def _procedural_kits() -> list[Kit]:
    return [procedural_kit(i) for i in range(N_PROCEDURAL)]


def backing_soundfonts(pool: str = "train") -> dict:
    """{soundfont path: weight} for backing tracks of ``pool`` (train / heldout / all), installed ones only.

    Each soundfont has a pool like the drum kits: files rendered on held-out
    kits get their backing from held-out soundfonts too.
    """
    table = _load_yaml("soundfonts.yaml")["backing_soundfonts"]
    return {str(check_path(p)): float(spec["weight"]) for p, spec in table.items()
            if (pool == "all" or spec["pool"] == pool) and Path(p).exists()}


def backing_soundfont(pool: str = "all") -> Path | None:
    """The first installed backing soundfont of ``pool`` (None: no backing possible)."""
    sfs = backing_soundfonts(pool)
    return Path(next(iter(sfs))) if sfs else None


@lru_cache(maxsize=1)
def _all_kits() -> tuple[Kit, ...]:
    return tuple(_hydrogen_kits() + _soundfont_kits() + _sample_kits() + _real_kits() + _procedural_kits())


def list_kits(pool: str = "all") -> list[Kit]:
    """Kits installed here (Hydrogen, soundfont presets, sample folders, real, procedural), optionally one pool.

    The notes listed for a soundfont kit are those its table names; :func:`drumscribe.synth.sampler.sounding_kit`
    keeps those that really sound (it renders the one-shots)."""
    if pool not in ("train", "heldout", "all"):
        raise DrumscribeError(f"unknown pool {pool!r} (train, heldout, all)")
    return [k for k in _all_kits() if pool == "all" or k.pool == pool]


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
        m = re.fullmatch(r"procedural:(\d+)", key)
        if m:
            out.append(procedural_kit(int(m.group(1))))
            continue
        fam = [k for k in kits if k.source in ("soundfont", "samples") and k.name.lower().split(":")[0] == key]
        if key == "procedural":
            fam = [k for k in kits if k.source == "procedural"]
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
