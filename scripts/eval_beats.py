#!/usr/bin/env python
"""Tempo / beat / downbeat accuracy of ``drumscribe.transcription.beats`` against GMD's click-track truth.

GMD and E-GMD performances were played to a click: their MIDI's tempo and bar
grid are the truth (``pretty_midi`` ``get_beats`` / ``get_downbeats``, cut at
the performance's end), ``bpm`` in the CSV is the tempo.

Two sources of drum events:

* ``--gmd DIR --split S``: the GMD MIDI onsets themselves (the *oracle*: a
  perfect transcription), mapped to the model's classes through
  ``drumscribe.core.drums.TD_CLASS``;
* ``--audio DIR``: an E-GMD-format folder (``drumscribe synth`` output: CSV +
  wav + midi) transcribed by a model (default the bundled one); the tracker
  then sees only what the transcriber found.  Render *human* performances
  (``drumscribe synth --performances-from ../shared/gmd``): their MIDI keeps
  GMD's click grid.  The synth's *generated* performances are no beat truth:
  their notes start after a random 0.05-0.4 s lead-in that the MIDI's tempo
  grid (starting at 0) does not include, which put every truth beat off by
  that much (beat F 0.17 in a first trial, tempo fine).

Metrics (per file, then summarised): tempo within 4% of the truth (MIREX
"accuracy 1"), within 4% allowing octave errors x2, x1/2, x3, x1/3
("accuracy 2"), beat F-measure (``mir_eval.beat.f_measure``, +-70 ms, first
5 s trimmed as mir_eval does; files shorter than that are left out of the
mean), downbeat F-measure likewise, and meter accuracy.

* ``--real-dev DIR``: the real studio recordings of ``../shared/real-dev`` (MDB Drums; its CSV
  names the drum tracks and the multitrack sums), truth = the human beat annotations in
  ``beats/<song>.beats`` (time, beat in bar; 1 = downbeat); the meter is the largest beat number,
  the tempo the median inter-beat interval.  ``--subset drums|multitrack_sum`` picks one half.

``--cache DIR`` keeps each file's transcribed events (``.npz``, keyed by the audio path and the
model; the cache of ``scripts/train_beats.py``, :func:`drumscribe.training.beat_data.cached_events`), so the
tracker can be re-measured without running the model again.  The drum model is the bundled ONNX one, or
``--checkpoint`` (``.onnx``, ``.ckpt``, ``.safetensors``).  ``--tracker rules|learned`` picks the tracker
(``--beat-model X.onnx``: another beat network); the summary counts tempo octave and 3:2 errors
(``level_errors``: estimate / truth = 2, 1/2, 3/2, 2/3) and meter accuracy on 4/4 and on other meters.

    python scripts/eval_beats.py --gmd ../shared/gmd --split train --out /tmp/beats_train.json
    python scripts/eval_beats.py --audio data/beats-gmdtest-clean --out docs/results/beats_gmd_test_clean.json
    python scripts/eval_beats.py --real-dev ../shared/real-dev --out docs/results/beats_realdev.json
    python scripts/eval_beats.py --table OLD.json [MID.json ...] NEW.json   # per-file markdown table, old / new
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

OCTAVES = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
# the metrical-level errors reported on their own row (issue 30): estimated / true tempo within 4 % of these
LEVEL_ERRORS = {"x2": 2.0, "x1/2": 0.5, "x3/2": 1.5, "x2/3": 2.0 / 3.0}


def make_tracker(kind: str, beat_model: str | None):
    """``fn(times, classes, velocities, class_names, duration) -> BeatMap`` of the chosen tracker:
    ``rules`` (beats.track), ``learned`` (beats.track_learned with ``beat_model`` or the bundled one), or
    ``auto`` (what ``drumscribe transcribe`` uses: beats.track_events' choice)."""
    from drumscribe.transcription import beats

    if kind == "rules":
        return beats.track
    net = None
    if beat_model:
        from drumscribe.transcription.beat_model import load

        net = load(beat_model)

    def learned(t, c, v, names, duration, audio=None):
        bm = beats.track_learned(t, c, v, names, duration, net=net, audio=audio) if len(t) >= 4 else None
        return bm if bm is not None else beats.track(t, c, v, names, duration)

    def hybrid(t, c, v, names, duration, audio=None):  # the learned bar pointer within the model's tempo band of the rules' tempo
        rules = beats.track(t, c, v, names, duration)
        bm = beats.track_learned(t, c, v, names, duration, tempo_hint=rules.bpm * rules.quarters_per_beat,
                                 net=net, audio=audio) if len(t) >= 4 else None
        return bm if bm is not None else rules

    from drumscribe.transcription.beat_model import load_default

    hears = getattr(net or load_default(), "input_bands", 0) > 0
    learned.hears_audio = hybrid.hears_audio = hears  # run_audio hands such a tracker the audio's bands

    return hybrid if kind in ("hybrid", "auto") else learned  # auto: what track_events does


def truth_grid(midi_path: Path, duration: float, time_signature: str | None = None):
    """(MIDI, beats, downbeats, meter); ``time_signature`` (the CSV's ``"6-8"``) replaces the MIDI's own
    (a rendered MIDI is written in 4/4; :func:`drumscribe.training.beat_data.truth_grid`)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(midi_path))
    if time_signature and "-" in str(time_signature):
        num, den = (int(x) for x in str(time_signature).split("-"))
        pm.time_signature_changes = [pretty_midi.TimeSignature(num, den, 0.0)]
    beats = pm.get_beats()
    downbeats = pm.get_downbeats()
    ts = pm.time_signature_changes
    meter = f"{ts[0].numerator}/{ts[0].denominator}" if ts else "4/4"
    end = duration + 1e-6
    return pm, beats[beats <= end], downbeats[downbeats <= end], meter


def score_file(bm, ref_beats, ref_downbeats, ref_bpm, ref_meter, duration):
    import mir_eval

    est_q_bpm = bm.bpm * bm.quarters_per_beat  # MIDI/GMD tempo counts quarter notes
    rel = abs(est_q_bpm - ref_bpm) / ref_bpm
    acc1 = rel <= 0.04
    acc2 = any(abs(est_q_bpm - ref_bpm * k) / (ref_bpm * k) <= 0.04 for k in OCTAVES)
    est_beats = bm.beats[bm.beats <= duration + 1e-6]
    est_down = bm.downbeats[bm.downbeats <= duration + 1e-6]
    rb, eb = mir_eval.beat.trim_beats(ref_beats), mir_eval.beat.trim_beats(est_beats)
    beat_f = float(mir_eval.beat.f_measure(rb, eb)) if len(rb) >= 2 else None
    rd, ed = mir_eval.beat.trim_beats(ref_downbeats), mir_eval.beat.trim_beats(est_down)
    down_f = float(mir_eval.beat.f_measure(rd, ed)) if len(rd) >= 2 else None
    level = next((k for k, f in LEVEL_ERRORS.items() if abs(est_q_bpm - ref_bpm * f) / (ref_bpm * f) <= 0.04), "")
    return {"ref_bpm": ref_bpm, "est_bpm": round(est_q_bpm, 2), "acc1": bool(acc1), "acc2": bool(acc2),
            "level_error": level,
            "beat_f": beat_f, "downbeat_f": down_f, "ref_meter": ref_meter, "est_meter": bm.meter,
            "duration": duration}


def summarise(rows: list[dict]) -> dict:
    def mean(key, sub=None):
        vals = [r[key] for r in (sub or rows) if r[key] is not None]
        return (round(float(np.mean(vals)), 4), len(vals)) if vals else (None, 0)

    out = {"files": len(rows), "tempo_acc1": mean("acc1")[0], "tempo_acc2": mean("acc2")[0]}
    out["beat_f"], out["beat_f_files"] = mean("beat_f")
    out["downbeat_f"], out["downbeat_f_files"] = mean("downbeat_f")
    out["meter_acc"] = round(float(np.mean([r["ref_meter"] == r["est_meter"] for r in rows])), 4) if rows else None
    four = [r for r in rows if r["ref_meter"] == "4/4"]
    other = [r for r in rows if r["ref_meter"] != "4/4"]
    out["meter_acc_4_4"] = round(float(np.mean([r["est_meter"] == "4/4" for r in four])), 4) if four else None
    out["meter_acc_other"] = (round(float(np.mean([r["ref_meter"] == r["est_meter"] for r in other])), 4)
                              if other else None)
    out["meter_other_files"] = len(other)
    out["level_errors"] = {k: sum(r.get("level_error") == k for r in rows) for k in LEVEL_ERRORS}
    for kind in ("beat", "fill"):
        sub = [r for r in rows if r.get("beat_type") == kind]
        if sub:
            out[kind] = {"files": len(sub), "tempo_acc1": mean("acc1", sub)[0], "tempo_acc2": mean("acc2", sub)[0],
                         "beat_f": mean("beat_f", sub)[0], "beat_f_files": mean("beat_f", sub)[1]}
    return out


def run_gmd(root: Path, split: str, limit: int | None, track):
    from drumscribe.core.drums import CLASSES, TD_CLASS

    rows, secs, cpu = [], 0.0, 0.0
    with open(root / "info.csv", newline="") as fh:
        meta = [r for r in csv.DictReader(fh) if r["split"] == split]
    for r in meta[:limit]:
        duration = float(r["duration"])
        pm, rb, rd, meter = truth_grid(root / r["midi_filename"], duration)
        notes = [(n.start, TD_CLASS[n.pitch], n.velocity) for i in pm.instruments for n in i.notes
                 if n.pitch in TD_CLASS]
        t = np.array([n[0] for n in notes])
        c = np.array([CLASSES.index(n[1]) for n in notes], dtype=np.int64)
        v = np.array([n[2] for n in notes])
        t0 = time.process_time()
        bm = track(t, c, v, CLASSES, duration)
        cpu += time.process_time() - t0
        secs += duration
        row = score_file(bm, rb, rd, float(r["bpm"]), meter, duration)
        row.update(file=r["midi_filename"], beat_type=r["beat_type"])
        rows.append(row)
    return rows, secs, cpu


def annotated_grid(beats_path: Path, duration: float):
    """(beats, downbeats, meter, bpm) of a ``.beats`` file (time, beat in bar; 1 = downbeat)."""
    a = np.loadtxt(beats_path, ndmin=2)
    a = a[a[:, 0] <= duration + 1e-6]
    beats, pos = a[:, 0], a[:, 1].astype(int)
    meter = f"{int(pos.max())}/4"
    return beats, beats[pos == 1], meter, 60.0 / float(np.median(np.diff(beats)))


def run_audio(root: Path, checkpoint: str | None, limit: int | None, cache: Path | None = None,
              real_dev: bool = False, subset: str | None = None, track=None, band_cache: Path | None = None):
    from drumscribe.core.drums import CLASSES
    from drumscribe.core.timebase import FrameClock
    from drumscribe.training.beat_data import cached_bands, cached_events, load_drum_model

    bundle = load_drum_model(checkpoint)
    csvs = sorted(root.glob("*.csv"))
    if not csvs:
        sys.exit(f"eval_beats: {root}: no E-GMD CSV found")
    with open(csvs[0], newline="") as fh:
        meta = list(csv.DictReader(fh))
    if subset:
        meta = [r for r in meta if r["audio_filename"].startswith(subset + "/")]
    rows, secs, cpu = [], 0.0, 0.0
    for r in meta[:limit]:
        audio = root / r["audio_filename"]
        ev = cached_events(bundle, audio, cache)
        duration = ev["duration"]
        if real_dev:
            rb, rd, meter, bpm = annotated_grid(root / "beats" / f"{r['style']}.beats", duration)
        else:
            _, rb, rd, meter = truth_grid(root / r["midi_filename"], duration, r.get("time_signature"))
            bpm = float(r["bpm"])
        extra = {}
        if getattr(track, "hears_audio", False):  # the band means of the drum model's features (cached)
            extra["audio"] = (cached_bands(bundle, audio, band_cache), FrameClock.from_config(bundle.config.audio))
        t0 = time.process_time()
        bm = track(ev["t"], ev["c"], ev["v"], CLASSES, duration, **extra)
        cpu += time.process_time() - t0
        secs += duration
        row = score_file(bm, rb, rd, bpm, meter, duration)
        row.update(file=r["audio_filename"], beat_type=r.get("beat_type", ""))
        rows.append(row)
    return rows, secs, cpu


def side_by_side(*jsons: Path) -> str:
    """Markdown: one row per file of two or more result JSONs (e.g. old rules / round 1 / round 2, in that
    order, each cell ``a / b / c``), then the means and the tempo level errors."""
    runs = [json.loads(Path(p).read_text()) for p in jsons]
    by_file = [{r["file"]: r for r in run["files"]} for run in runs]
    f = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    ok = lambda r: "yes" if r["acc1"] else (f"no ({r['level_error']})" if r.get("level_error") else "no")  # noqa: E731
    j = " / ".join
    out = ["| file | true bpm | est bpm | tempo 4 % | beat F | downbeat F | meter true: est |",
           "|---|--:|--:|---|--:|--:|---|"]
    for r in runs[0]["files"]:
        rs = [m[r["file"]] for m in by_file]
        bpms = j(f"{x['est_bpm']:.0f}" for x in rs)
        out.append(f"| {r['file']} | {r['ref_bpm']:.0f} | {bpms} "
                   f"| {j(ok(x) for x in rs)} | {j(f(x['beat_f']) for x in rs)} | {j(f(x['downbeat_f']) for x in rs)} "
                   f"| {r['ref_meter']}: {j(x['est_meter'] for x in rs)} |")
    ss = [run["summary"] for run in runs]
    tempo, meter = j(f"{s_['tempo_acc1']:.3f}" for s_ in ss), j(f"{s_['meter_acc']:.3f}" for s_ in ss)
    out.append(f"| **mean ({ss[0]['files']} files)** | | | {tempo} "
               f"| {j(f(s_['beat_f']) for s_ in ss)} | {j(f(s_['downbeat_f']) for s_ in ss)} | {meter} |")
    le = lambda s_: ", ".join(f"{k} {v}" for k, v in s_.get("level_errors", {}).items())  # noqa: E731
    out.append(f"| tempo level errors (files) | | | {j(le(s_) for s_ in ss)} | | | |")
    for kind, name in (("beat", "grooves"), ("fill", "fills")):
        if all(kind in s_ for s_ in ss):
            acc = j(f"{s_[kind]['tempo_acc1']:.3f}" for s_ in ss)
            out.append(f"| tempo 4 % on {name} ({ss[0][kind]['files']} files) | | | {acc} | | | |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    if argv is None and len(sys.argv) >= 4 and sys.argv[1] == "--table":  # --table OLD.json [MID.json] NEW.json
        print(side_by_side(*(Path(a) for a in sys.argv[2:])))
        return 0
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--gmd", type=Path, help="GMD root (info.csv + drummerN/...): oracle events from its MIDI")
    src.add_argument("--audio", type=Path, help="E-GMD-format folder of rendered audio to transcribe")
    src.add_argument("--real-dev", type=Path, help="real-dev folder (E-GMD-format CSV + beats/<song>.beats)")
    ap.add_argument("--subset", choices=("drums", "multitrack_sum"), default=None, help="with --real-dev: one half")
    ap.add_argument("--cache", type=Path, default=None, help="keep transcribed events here (re-runs skip the model)")
    ap.add_argument("--per-file", action="store_true", help="print one line per file")
    ap.add_argument("--split", default="validation", help="GMD split with --gmd (train/validation/test)")
    ap.add_argument("--checkpoint", default=None, help="model for --audio (default: the bundled one)")
    ap.add_argument("--limit", type=int, default=None, help="first N files only")
    ap.add_argument("--out", type=Path, default=None, help="write per-file rows + summary as JSON here")
    ap.add_argument("--show-errors", action="store_true", help="print the files whose tempo is wrong")
    ap.add_argument("--tracker", choices=("auto", "rules", "learned", "hybrid"), default="auto",
                    help="rules: the rule tracker; learned: the beat network + bar pointer (--beat-model or the "
                         "bundled one; its own tempo); hybrid = auto (default): what transcribe uses, the bar pointer "
                         "within the model's tempo band of the rule tracker's tempo")
    ap.add_argument("--beat-model", default=None, help="beat model ONNX for --tracker learned")
    ap.add_argument("--band-cache", type=Path, default=Path("data/beats3-bands"),
                    help="a beat model that hears the audio: its band means cached here")
    args = ap.parse_args(argv)
    track = make_tracker(args.tracker, args.beat_model)
    if args.gmd:
        rows, secs, cpu = run_gmd(args.gmd, args.split, args.limit, track)
        label = f"GMD {args.split} (oracle: MIDI onsets)"
    elif args.real_dev:
        rows, secs, cpu = run_audio(args.real_dev, args.checkpoint, args.limit, args.cache, True, args.subset, track,
                                    args.band_cache)
        label = f"{args.real_dev} (real recordings, annotated beats; transcribed)"
    else:
        rows, secs, cpu = run_audio(args.audio, args.checkpoint, args.limit, args.cache, track=track,
                                    band_cache=args.band_cache)
        label = f"{args.audio} (transcribed)"
    label += f", tracker {args.tracker}" + (f" ({args.beat_model})" if args.beat_model else "")
    summary = summarise(rows)
    summary["tracker_ms_per_audio_minute"] = round(1000 * cpu / max(secs / 60, 1e-9), 2)
    print(label)
    print(json.dumps(summary, indent=1))
    if args.per_file:
        for r in rows:
            f = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
            print(f"  {r['file']:48s} bpm {r['ref_bpm']:6.1f} est {r['est_bpm']:6.1f} beatF {f(r['beat_f'])} "
                  f"downF {f(r['downbeat_f'])} meter {r['ref_meter']}/{r['est_meter']} {r['level_error']}")
    if args.show_errors:
        for r in rows:
            if not r["acc1"]:
                print(f"  {r['file']}: ref {r['ref_bpm']} est {r['est_bpm']} beatF {r['beat_f']}")
    if args.out:
        from drumscribe.core.atomic import atomic_write_text

        atomic_write_text(args.out, json.dumps({"source": label, "summary": summary, "files": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
