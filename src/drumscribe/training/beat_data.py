"""Training material of the beat network (:mod:`drumscribe.training.beat_net`): drum events + the beat truth.

Two sources, both GMD performances (played to a click, so their MIDI's tempo map and time signature are
the truth; ``pretty_midi`` ``get_beats`` / ``get_downbeats``, compound meters counted in dotted quarters):

* **transcribed**: an E-GMD-format folder rendered by ``drumscribe synth --performances-from`` (CSV + wav +
  midi), each audio transcribed by a drum model (:func:`transcribed_items`); the events are cached per
  audio file and model (``.npz`` under ``cache``), so a re-run or a new beat model does not run the drum
  model again, and a new drum model gets its own cache entries;
* **oracle**: the GMD MIDI notes themselves (:func:`oracle_items`), a perfect transcription, which the
  training loop time-stretches and thins (:func:`augment`).

An item is a dict: ``t`` (seconds), ``c`` (class index into :data:`drumscribe.core.drums.CLASSES`),
``v`` (velocity), ``duration``, ``beats``, ``downbeats`` (seconds), ``meter`` ("4/4", "3/4", "6/8", ...),
``source`` (a name for the logs).
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np

from drumscribe.core.drums import CLASSES, TD_CLASS
from drumscribe.core.timebase import FrameClock
from drumscribe.transcription.beat_model import CLOCK


def truth_grid(midi_path: Path, duration: float, time_signature: str | None = None
               ) -> tuple[np.ndarray, np.ndarray, str]:
    """(beats, downbeats, meter) of a GMD / rendered MIDI file, cut at ``duration``.

    ``time_signature``: the performance's meter as GMD's CSV writes it (``"6-8"``); it replaces the MIDI's
    own, because a rendered MIDI file (``drumscribe synth``) keeps GMD's tempo map but is written in 4/4."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(midi_path))
    if time_signature and "-" in str(time_signature):
        num, den = (int(x) for x in str(time_signature).split("-"))
        pm.time_signature_changes = [pretty_midi.TimeSignature(num, den, 0.0)]
    beats, downbeats = pm.get_beats(), pm.get_downbeats()
    ts = pm.time_signature_changes
    meter = f"{ts[0].numerator}/{ts[0].denominator}" if ts else "4/4"
    end = duration + 1e-6
    return beats[beats <= end], downbeats[downbeats <= end], meter


def load_drum_model(checkpoint: str | None):
    """The drum model that makes the events: an ``.onnx`` (ONNX Runtime, 1 thread), a ``.ckpt`` /
    ``.safetensors`` (torch), or None: the bundled ONNX model."""
    from drumscribe.transcription.onnx_runtime import default_onnx_path, load_onnx_bundle

    if checkpoint is None or str(checkpoint).endswith(".onnx"):
        return load_onnx_bundle(checkpoint or default_onnx_path(), threads=1)
    from drumscribe.training.checkpoint import load_bundle

    return load_bundle(checkpoint)


def model_id(bundle) -> str:
    """A short id of a drum model (its cache key, else a hash of its file) for event cache names."""
    if getattr(bundle, "cache_key", None):
        return str(bundle.cache_key)
    p = getattr(bundle, "path", None)
    return hashlib.sha1(Path(p).read_bytes()).hexdigest()[:16] if p else "model"


def cached_events(bundle, audio: Path, cache: Path | None, cached_only: bool = False) -> dict | None:
    """``{t, c, v, duration}`` of ``audio`` transcribed by ``bundle`` (from/into ``cache`` when given).

    Class indices are re-mapped to :data:`~drumscribe.core.drums.CLASSES` by name (a class outside it is
    dropped).  ``cached_only``: None instead of transcribing a file that is not in the cache."""
    key = hashlib.sha1(f"{Path(audio).resolve()}|{model_id(bundle)}".encode()).hexdigest()[:16]
    f = Path(cache) / f"{Path(audio).stem}-{key}.npz" if cache else None
    if f is not None and f.exists():
        z = np.load(f)
        return {k: z[k] for k in ("t", "c", "v")} | {"duration": float(z["duration"])}
    if cached_only:
        return None
    from drumscribe.transcription.inference import transcribe_audio

    tr = transcribe_audio(bundle, audio)
    names = list(bundle.class_names)
    ev = [e for e in tr.events if names[e.cls] in CLASSES]
    out = {"t": np.array([e.time for e in ev], dtype=np.float64),
           "c": np.array([CLASSES.index(names[e.cls]) for e in ev], dtype=np.int64),
           "v": np.array([e.velocity for e in ev], dtype=np.int64), "duration": float(tr.duration)}
    if f is not None:
        from drumscribe.core.atomic import atomic_write_bytes
        import io

        buf = io.BytesIO()
        np.savez(buf, **out)
        f.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(f, buf.getvalue())
    return out


def cached_bands(bundle, audio: Path, cache: Path | None) -> np.ndarray:
    """``(frames, N_BANDS)`` band means of the drum model's features of ``audio`` at the model's frame rate
    (:func:`drumscribe.transcription.beat_model.band_means`), from/into ``cache`` (``.npz``, keyed by the audio
    path and the feature settings)."""
    import json

    from drumscribe.audio.features import feature_params, file_features
    from drumscribe.transcription.beat_model import N_BANDS, band_means

    acfg = bundle.config.audio
    key = hashlib.sha1(f"{Path(audio).resolve()}|{json.dumps(feature_params(acfg), sort_keys=True)}|{N_BANDS}"
                       .encode()).hexdigest()[:16]
    f = Path(cache) / f"{Path(audio).stem}-{key}.npz" if cache else None
    if f is not None and f.exists():
        return np.load(f)["bands"].astype(np.float32)
    feats, _, _ = file_features(audio, acfg)
    out = band_means(feats[:, :int(acfg.n_mels)])
    if f is not None:
        from drumscribe.core.atomic import atomic_write_bytes
        import io

        buf = io.BytesIO()
        np.savez(buf, bands=out.astype(np.float16))
        f.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(f, buf.getvalue())
    return out


def _rows(root: Path) -> list[dict]:
    csvs = sorted(Path(root).glob("*.csv"))
    if not csvs:
        raise FileNotFoundError(f"{root}: no E-GMD CSV found")
    with open(csvs[0], newline="") as fh:
        return list(csv.DictReader(fh))


def transcribed_items(root: Path, bundle, cache: Path | None, limit: int | None = None, log=None,
                      cached_only: bool = False, band_cache: Path | None = None,
                      where: dict | None = None) -> list[dict]:
    """Items of every file of a rendered E-GMD-format folder (see the module docstring); ``cached_only``:
    only the files whose events are cached already; ``band_cache``: each item also gets ``bands``, the band
    means of its audio (:func:`cached_bands`), and their ``feature_clock``; ``where``: only the CSV rows
    whose columns have these values (``{"split": "train", "beat_type": "beat"}``: a corpus of every split,
    such as ``data/v6r-corpus``, read for its train grooves only)."""
    items = []
    rows = [r for r in _rows(root) if all(r.get(k) == v for k, v in (where or {}).items())][:limit]
    for i, r in enumerate(rows):
        ev = cached_events(bundle, Path(root) / r["audio_filename"], cache, cached_only)
        if ev is None:
            continue
        beats, downbeats, meter = truth_grid(Path(root) / r["midi_filename"], ev["duration"], r.get("time_signature"))
        item = ev | {"beats": beats, "downbeats": downbeats, "meter": meter,
                     "source": f"{Path(root).name}/{r['audio_filename']}"}
        if band_cache is not None:
            item["bands"] = cached_bands(bundle, Path(root) / r["audio_filename"], band_cache)
            item["feature_clock"] = FrameClock.from_config(bundle.config.audio)
        items.append(item)
        if log and (i + 1) % 100 == 0:
            log(f"{root}: {i + 1}/{len(rows)} files")
    return items


def oracle_items(gmd: Path, splits=("train",), beat_types=("beat",), max_seconds: float | None = None,
                 extra_meters: bool = True) -> list[dict]:
    """Items from GMD's MIDI notes (TD note map -> classes, velocity kept); ``beat_types`` of info.csv
    (``beat`` grooves, ``fill``), plus every performance not in 4/4 when ``extra_meters``."""
    import pretty_midi

    with open(Path(gmd) / "info.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] in splits
                and (r["beat_type"] in beat_types or (extra_meters and r["time_signature"] != "4-4"))]
    items = []
    for r in rows:
        duration = float(r["duration"])
        if max_seconds:
            duration = min(duration, max_seconds)
        pm = pretty_midi.PrettyMIDI(str(Path(gmd) / r["midi_filename"]))
        notes = sorted((n.start, CLASSES.index(TD_CLASS[n.pitch]), n.velocity) for i in pm.instruments
                       for n in i.notes if n.pitch in TD_CLASS and n.start <= duration)
        beats, downbeats, meter = truth_grid(Path(gmd) / r["midi_filename"], duration)
        items.append({"t": np.array([n[0] for n in notes]), "c": np.array([n[1] for n in notes], dtype=np.int64),
                      "v": np.array([n[2] for n in notes]), "duration": duration, "beats": beats,
                      "downbeats": downbeats, "meter": meter, "source": f"oracle/{r['midi_filename']}"})
    return items


def augment(item: dict, rng: np.random.Generator, stretch=(0.8, 1.25), drop: float = 0.15,
            max_seconds: float = 60.0) -> dict:
    """A time-stretched (tempo x 1/s), thinned (each hit dropped with ``drop``), velocity-jittered copy."""
    s = float(np.exp(rng.uniform(np.log(stretch[0]), np.log(stretch[1]))))
    keep = rng.random(len(item["t"])) >= drop * rng.random()
    v = np.clip(np.asarray(item["v"])[keep] * rng.uniform(0.7, 1.3, keep.sum()), 1, 127)
    dur = min(item["duration"] * s, max_seconds)
    t = np.asarray(item["t"])[keep] * s
    sel = t <= dur
    b, d = item["beats"] * s, item["downbeats"] * s
    out = {"t": t[sel], "c": np.asarray(item["c"])[keep][sel], "v": v[sel], "duration": dur,
           "beats": b[b <= dur], "downbeats": d[d <= dur], "meter": item["meter"], "source": item["source"],
           "stretch": s * float(item.get("stretch", 1.0))}
    if "bands" in item:  # the audio is stretched with the events (band_channels reads it at t / stretch)
        out["bands"], out["feature_clock"] = item["bands"], item["feature_clock"]
    return out


def item_input(item: dict, input_classes, n_bands: int) -> np.ndarray:
    """``(frames, C [+ 2 n_bands])`` network input of an item
    (:func:`drumscribe.transcription.beat_model.network_input`: its event map, then its audio channels read at
    the item's tempo stretch; zeros for an item without audio, an oracle item)."""
    from drumscribe.transcription.beat_model import network_input

    audio = (item["bands"], item["feature_clock"]) if "bands" in item else None
    return network_input(item["t"], item["c"], item["v"], CLASSES, item["duration"], input_classes, n_bands, audio,
                         float(item.get("stretch", 1.0)))


def targets(item: dict, n_frames: int) -> np.ndarray:
    """``(n_frames, 2)`` float32 beat and downbeat targets: 1 at the nearest frame, 0.5 one frame either side."""
    y = np.zeros((n_frames, 2), dtype=np.float32)
    for col, times in ((0, item["beats"]), (1, item["downbeats"])):
        f = CLOCK.to_frames(np.asarray(times, dtype=np.float64))
        f = f[(f >= 0) & (f < n_frames)]
        for off, val in ((-1, 0.5), (1, 0.5), (0, 1.0)):
            g = np.clip(f + off, 0, n_frames - 1)
            y[g, col] = np.maximum(y[g, col], val)
    return y
