#!/usr/bin/env python
"""Build the held-out kit FAMILY folder (real-sounds layout) from downloaded / installed sources.

The family is the synthetic yardstick for "drum kits the model never heard" (issue 28 point 4): kits that
share no sample source, no author and no soundfont with any training kit (checked by
``scripts/audit_kits.py``; results in docs/results/heldout_audit/).  Sources (nothing is downloaded here):

* ``--oramics DIR``: a copy of github:oramics/sampled (a folder with ``DRUMS/`` and ``DM/``, or the bare
  git directory the ``fetch`` tool gives, read with ``git archive``) @ 84d3405e107a:
  - ``DRUMS/pearl-master-studio``: "Pearl Master Studio Pack 1" by enoe, CC BY 3.0 (real acoustic kit)
  - ``DM/LM-2``: LinnDrum LM-2 (sampled acoustic drums in a 1982 drum machine), "Public Domain" per oramics
  - ``DM/TR-505``: Roland TR-505 (PCM drum machine), "Public Domain" per oramics (progsounds pack)
* ``--stk DIR``: the STK rawwaves (Debian package ``stk``: /usr/share/stk/rawwaves; or ``dpkg -x`` of
  ``apt-get download stk``): the drum samples of STK's Drummer (Perry R. Cook and Gary P. Scavone, STK
  licence: MIT-style permission to use, copy, modify, distribute).
* ``--irs DIR``: a real-sounds folder; its held-out impulse responses (real.yaml ``heldout_irs``) are copied
  unaltered so that reverberated family renderings use only held-out rooms (``--real-ir``).

Written to ``--out`` (default data/heldout-family, git-ignored; NEVER commit the audio): ``index.csv``
(columns of shared/real-sounds), ``kits/<kit>/<piece>/<articulation>/[<variant>_]NNN.flac`` (44.1 kHz,
16-bit FLAC, soxr VHQ, leading/trailing exact zeros removed, channels kept), ``irs/<set>/<name>``,
``LICENSES.md`` and ``manifest.json`` (md5 of every source file used).  The folder is built beside the target
and renamed into place; an existing folder is kept unless ``--overwrite``.

    .venv/bin/python scripts/make_heldout_family.py --oramics /work/.mirror/oramics+sampled/repo \\
        --stk /usr/share/stk/rawwaves --irs ../shared/real-sounds --out data/heldout-family
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np

from drumscribe.core.errors import DrumscribeError
from drumscribe.synth.constants import SR

# kit -> (source, licence, credit, [(source file, piece, articulation, variant)]).  Variant "" = one series:
# its files are velocity layers / round robins (the loader orders them by peak); a named variant is a
# separate timbre (one chosen per rendering).
ORAMICS = "oramics"
STK = "stk"
FAMILY = {
    "family-pearl-master-studio": (
        ORAMICS, "CC BY 3.0", '"Pearl Master Studio Pack 1" by enoe (CC BY 3.0), via oramics/sampled', [
            ("DRUMS/pearl-master-studio/samples/kick-01.wav", "kick", "hit", ""),
            ("DRUMS/pearl-master-studio/samples/snare-01.wav", "snare", "hit", ""),
            ("DRUMS/pearl-master-studio/samples/snare-02.wav", "snare", "hit", ""),
            ("DRUMS/pearl-master-studio/samples/snare-03.wav", "snare", "hit", ""),
            ("DRUMS/pearl-master-studio/samples/hihat-closed.wav", "hihat", "closed", ""),
            ("DRUMS/pearl-master-studio/samples/hihat-open.wav", "hihat", "open", ""),
            ("DRUMS/pearl-master-studio/samples/crash-01.wav", "crash", "hit", "a"),
            ("DRUMS/pearl-master-studio/samples/crash-02.wav", "crash", "hit", "b"),
            ("DRUMS/pearl-master-studio/samples/splash-01.wav", "splash", "hit", "a"),
            ("DRUMS/pearl-master-studio/samples/splash-02.wav", "splash", "hit", "b"),
            ("DRUMS/pearl-master-studio/samples/ride-01.wav", "ride", "bow", "a"),
            ("DRUMS/pearl-master-studio/samples/ride-02.wav", "ride", "bow", "b"),
            # ordered by measured fundamental (shared/real-sounds README): 192.8 / 146.0 / 67.0 Hz
            ("DRUMS/pearl-master-studio/samples/tom-01.wav", "tom_high", "hit", ""),
            ("DRUMS/pearl-master-studio/samples/tom-02.wav", "tom_mid", "hit", ""),
            ("DRUMS/pearl-master-studio/samples/tom-03.wav", "tom_floor", "hit", ""),
        ]),
    "family-linndrum-lm2": (
        ORAMICS, "Public Domain (per oramics/sampled)", "LinnDrum LM-2 samples (Public Domain per oramics/sampled; "
        "origin machines.hyperreal.org)", [
            ("DM/LM-2/samples/kick.wav", "kick", "hit", "a"),
            ("DM/LM-2/samples/kick-alt.wav", "kick", "hit", "b"),
            ("DM/LM-2/samples/snare-h.wav", "snare", "hit", "tuneh"),
            ("DM/LM-2/samples/snare-m.wav", "snare", "hit", "tunem"),
            ("DM/LM-2/samples/snare-l.wav", "snare", "hit", "tunel"),
            ("DM/LM-2/samples/stick-h.wav", "snare", "sidestick", "tuneh"),
            ("DM/LM-2/samples/stick-m.wav", "snare", "sidestick", "tunem"),
            ("DM/LM-2/samples/stick-l.wav", "snare", "sidestick", "tunel"),
            ("DM/LM-2/samples/hihat-closed.wav", "hihat", "closed", "a"),
            ("DM/LM-2/samples/hihat-closed-short.wav", "hihat", "closed", "short"),
            ("DM/LM-2/samples/hihat-closed-long.wav", "hihat", "half_open", ""),
            ("DM/LM-2/samples/hihat-open.wav", "hihat", "open", ""),
            ("DM/LM-2/samples/crash.wav", "crash", "hit", ""),
            ("DM/LM-2/samples/ride.wav", "ride", "bow", ""),
            # five tunings of one tom: hh/h -> tom 1, m/l -> tom 2, ll -> floor (tom 1 > tom 2 > tom 3 for any pick)
            ("DM/LM-2/samples/tom-hh.wav", "tom_high", "hit", "tunehh"),
            ("DM/LM-2/samples/tom-h.wav", "tom_high", "hit", "tuneh"),
            ("DM/LM-2/samples/tom-m.wav", "tom_mid", "hit", "tunem"),
            ("DM/LM-2/samples/tom-l.wav", "tom_low", "hit", "tunel"),
            ("DM/LM-2/samples/tom-ll.wav", "tom_floor", "hit", "tunell"),
        ]),
    "family-roland-tr505": (
        ORAMICS, "Public Domain (per oramics/sampled)", "Roland TR-505 samples (Public Domain per oramics/sampled; "
        "origin progsounds.com)", [
            ("DM/TR-505/samples/tr505-kick.wav", "kick", "hit", ""),
            ("DM/TR-505/samples/tr505-snare.wav", "snare", "hit", ""),
            ("DM/TR-505/samples/tr505-rim.wav", "snare", "sidestick", ""),
            ("DM/TR-505/samples/tr505-hihat-closed.wav", "hihat", "closed", ""),
            ("DM/TR-505/samples/tr505-hihat-open.wav", "hihat", "open", ""),
            ("DM/TR-505/samples/tr505-crash.wav", "crash", "hit", ""),
            ("DM/TR-505/samples/tr505-ride.wav", "ride", "bow", ""),
            ("DM/TR-505/samples/tr505-tom-h.wav", "tom_high", "hit", ""),
            ("DM/TR-505/samples/tr505-tom-m.wav", "tom_mid", "hit", ""),
            ("DM/TR-505/samples/tr505-tom-l.wav", "tom_floor", "hit", ""),
        ]),
    "family-stk-drummer": (
        STK, "STK licence (MIT-style)", "STK Drummer samples by Perry R. Cook and Gary P. Scavone (STK licence), "
        "Debian stk", [
            ("bassdrum.raw", "kick", "hit", ""),
            ("snardrum.raw", "snare", "hit", ""),
            ("hihatcym.raw", "hihat", "closed", ""),
            ("crashcym.raw", "crash", "hit", ""),
            ("ridecymb.raw", "ride", "bow", ""),
            ("tomhidrm.raw", "tom_high", "hit", ""),
            ("tommiddr.raw", "tom_mid", "hit", ""),
            ("tomlowdr.raw", "tom_floor", "hit", ""),
        ]),
}
STK_RATE = 22050  # STK rawwaves: headerless 16-bit big-endian mono at 22.05 kHz
COLUMNS = ["source", "kit", "piece", "articulation", "velocity_layer", "mic", "path", "channels", "seconds",
           "peak_dbfs", "licence"]


class Source:
    """Read files of one source folder (a plain folder, or a bare git directory read with git archive)."""

    def __init__(self, root: Path, paths: list[str]):
        self.root = root
        self.files: dict[str, bytes] = {}
        if (root / "HEAD").is_file() and (root / "objects").is_dir():
            out = subprocess.run(["git", f"--git-dir={root}", "archive", "HEAD", *sorted(set(paths))],
                                 capture_output=True, check=False)
            if out.returncode:
                raise DrumscribeError(f"{root}: git archive failed: {out.stderr.decode().strip()[:200]}")
            with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
                for m in tar.getmembers():
                    if m.isfile():
                        self.files[m.name] = tar.extractfile(m).read()
        else:
            for p in paths:
                f = root / p
                if not f.is_file():
                    raise DrumscribeError(f"{f}: source file missing")
                self.files[p] = f.read_bytes()
        missing = [p for p in paths if p not in self.files]
        if missing:
            raise DrumscribeError(f"{root}: source files missing: {', '.join(missing[:5])}")


def decode(name: str, data: bytes) -> tuple[np.ndarray, int]:
    """Audio as float64 (n, channels) and its sample rate."""
    import soundfile as sf

    if name.endswith(".raw"):
        x = np.frombuffer(data, dtype=">i2").astype(np.float64) / 32768.0
        return x[:, None], STK_RATE
    x, sr = sf.read(io.BytesIO(data), dtype="float64", always_2d=True)
    return x, sr


def convert(x: np.ndarray, sr: int) -> np.ndarray:
    """44.1 kHz (soxr VHQ), exact digital zeros trimmed at both ends, clipped to full scale."""
    import soxr

    nz = np.flatnonzero(np.abs(x).max(axis=1) > 0)
    if len(nz) == 0:
        raise DrumscribeError("silent sample")
    x = x[nz[0]: nz[-1] + 1]
    if sr != SR:
        x = soxr.resample(x, sr, SR, quality="VHQ")
    return np.clip(x, -1.0, 32767 / 32768)


def build(args) -> Path:
    import soundfile as sf

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise DrumscribeError(f"{out}: exists; kept (--overwrite replaces it)")
    tmp = out.with_name(f".{out.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    srcs = {}
    need = {ORAMICS: [], STK: []}
    for kit, (src, *_rest, files) in FAMILY.items():
        need[src] += [f for f, *_ in files]
    if args.oramics:
        srcs[ORAMICS] = Source(Path(args.oramics), need[ORAMICS])
    if args.stk:
        srcs[STK] = Source(Path(args.stk), need[STK])
    rows, manifest = [], {"kits": {}, "irs": {}}
    for kit, (src, licence, credit, files) in FAMILY.items():
        if src not in srcs:
            print(f"{kit}: skipped (no --{src} source given)", file=sys.stderr)
            continue
        count: dict = {}
        manifest["kits"][kit] = {"credit": credit, "licence": licence, "files": {}}
        for name, piece, art, variant in files:
            data = srcs[src].files[name]
            x, sr = decode(name, data)
            y = convert(x, sr)
            key = (piece, art, variant)
            count[key] = count.get(key, 0) + 1
            stem = f"{variant}_{count[key]:03d}" if variant else f"{count[key]:03d}"
            rel = f"kits/{kit}/{piece}/{art}/{stem}.flac"
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(tmp / rel, y.astype(np.float32), SR, subtype="PCM_16", format="FLAC")
            peak = float(np.abs(np.round(y * 32767) / 32767).max())
            rows.append({"source": src, "kit": kit, "piece": piece, "articulation": art,
                         "velocity_layer": "", "mic": "", "path": rel, "channels": y.shape[1],
                         "seconds": f"{len(y) / SR:.4f}", "peak_dbfs": f"{20 * np.log10(max(peak, 1e-9)):.2f}",
                         "licence": licence})
            manifest["kits"][kit]["files"][rel] = {"from": name, "md5": hashlib.md5(data).hexdigest(), "sr": sr}
    if args.irs:
        rs = Path(args.irs)
        from drumscribe.synth.kits import _load_yaml  # the one table of held-out IR names

        held = set(_load_yaml("real.yaml").get("heldout_irs", []))
        with open(rs / "index.csv", newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                if r["piece"] or f"{r['kit']}/{Path(r['path']).stem}" not in held:
                    continue
                (tmp / r["path"]).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(rs / r["path"], tmp / r["path"])  # unaltered (Voxengo's licence asks for it)
                rows.append({c: r.get(c, "") for c in COLUMNS})
                manifest["irs"][r["path"]] = hashlib.md5((rs / r["path"]).read_bytes()).hexdigest()
        lic = rs / "LICENSES"
        if lic.is_dir():
            shutil.copytree(lic, tmp / "LICENSES")
    with open(tmp / "index.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        w.writerows(rows)
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (tmp / "LICENSES.md").write_text(
        "# Held-out kit family: credits and licences\n\nLocal evaluation material: never commit or ship it.\n\n"
        + "".join(f"* {k}: {v[2]} - licence: {v[1]}\n" for k, v in FAMILY.items() if v[0] in srcs)
        + ("* irs/: held-out impulse responses copied unaltered from real-sounds (see LICENSES/)\n" if args.irs else ""))
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old)
    else:
        tmp.rename(out)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--oramics", help="oramics/sampled: a folder or its bare git directory")
    ap.add_argument("--stk", help="the STK rawwaves folder (Debian package stk)")
    ap.add_argument("--irs", help="a real-sounds folder whose held-out impulse responses are copied")
    ap.add_argument("--out", default="data/heldout-family")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    args = ap.parse_args(argv)
    if not (args.oramics or args.stk):
        ap.error("give --oramics and/or --stk")
    try:
        out = build(args)
    except DrumscribeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    with open(out / "index.csv", newline="", encoding="utf-8") as f:
        n = sum(1 for r in csv.DictReader(f) if r["piece"])
    print(f"wrote {out}: {n} drum samples of {len(FAMILY)} kits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
