"""Render synthetic E-GMD: drum audio + exact MIDI truth from installed kits.

Writes DIR/e-gmd-v1.0.0.csv and drummerN/sessionM/<n>_<style>_<bpm>_<beat|fill>_4-4_<k>.wav/.midi
pairs, each performance rendered on several kits (same id, different kit_name).
See docs/synth.md.
"""

from __future__ import annotations

import argparse

from drumscribe.core.outputs import add_output_argument

REALISM_FLAGS = ("reverb", "eq", "compress", "noise", "level", "backing", "bleed", "master", "bandlimit", "codec")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_output_argument(parser, "--out", kind="resumable",
                        help="output folder (E-GMD release layout); a re-run with the same settings completes it, "
                             "one with other settings is refused")
    parser.add_argument(
        "--performances-from", metavar="DIR",
        help="render the human performances of a GMD folder (info.csv + .mid) or an E-GMD folder (its CSV + .midi) "
        "instead of generated patterns; keeps id/style/bpm/beat_type/split and the TD notes",
    )
    parser.add_argument("--splits", nargs="+", choices=("train", "validation", "test"), help="with --performances-from: only these splits")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--performances", type=int, help="number of performances (default: 10 generated ones; with --performances-from, all of them)")
    size.add_argument("--hours", type=float, help="render until this many hours of audio (all renderings)")
    parser.add_argument("--kits", nargs="+", metavar="NAME", help="kit names (or a soundfont family: FluidR3, TimGM6mb, MuseScore)")
    parser.add_argument("--pool", choices=("train", "heldout", "all"), default="train", help="kit pool when --kits is not given (default train)")
    parser.add_argument("--kits-per-performance", type=int, default=3, metavar="K", help="renderings per performance on distinct kits (default 3)")
    parser.add_argument(
        "--eval-on-heldout", action="store_true",
        help="train-split performances only on train-pool kits, validation/test only on held-out kits (ignores --pool)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-workers", type=int, default=1, metavar="N", help="parallel render processes (output identical for any N)")
    parser.add_argument("--channels", type=int, choices=(1, 2), default=1, help="1 = mono (default), 2 = stereo; 44.1 kHz 16-bit either way")
    parser.add_argument("--max-seconds", type=float,
                        help="cap each performance's duration, seconds > 0 (tiny datasets, fixtures; default: no cap)")
    g = parser.add_argument_group("realism (off by default)")
    g.add_argument("--realism", action="store_true", help="turn on every effect below")
    for name, text in (
        ("reverb", "synthesised room impulse response, booth .. church (RT60 0.08-3.5 s)"),
        ("eq", "random shelf/peaking EQ (mic colouring)"),
        ("compress", "drum-bus compression"),
        ("bleed", "mic bleed: every close-mic stem leaks into the others (delayed, lowpassed)"),
        ("noise", "white/pink noise, SNR 25-60 dB"),
        ("level", "random output level, -20..0 dB"),
        ("backing", "a song around the drums: bass, chords, lead, distorted guitar, pad, formant voice (GM soundfonts)"),
        ("master", "mastering: bus compression, loudness -16..-7 LUFS, look-ahead limiter"),
        ("bandlimit", "highpass 20-150 Hz + lowpass 6-16 kHz"),
        ("codec", "lossy-codec artefacts: MDCT quantisation (spectral holes) + lowpass 11-16 kHz"),
    ):
        g.add_argument(f"--{name}", action="store_true", help=text)
    g.add_argument("--realism-prob", type=float, default=0.75, metavar="P", help="chance per file that an enabled effect is applied (default 0.75)")
    g.add_argument("--full-mix", type=float, metavar="P",
                   help="chance per file of a full mix (backing + master + codec, as enabled); the other files get none of the three")
    g.add_argument("--backing-ratio", type=float, nargs=2, default=(-6.0, 12.0), metavar=("LO", "HI"), help="drum-to-backing RMS ratio range in dB (default -6 12)")
    for name, default, text in (
        ("real-ir", 0.6, "chance that a reverberated file uses a real impulse response of --kit-dir (default 0.6)"),
        ("real-instruments", 0.5, "chance that a backing has real recorded guitar/piano parts when installed (default 0.5)"),
        ("multitrack-sum", 0.0, "chance that a backing file is an unmastered multitrack sum: every part about as loud as the drums, no bus processing (default 0)"),
        ("backing-only", 0.0, "chance that a backing file has no drums at all: empty truth (default 0)"),
    ):
        g.add_argument(f"--{name}", type=float, default=default, metavar="P", help=text)
    v = parser.add_argument_group("variety (off by default; --variety turns on the documented defaults)")
    v.add_argument("--variety", action="store_true", help="kit mix 0.25, procedural 0.15, vary 0.5, dropout 0.2, random onsets 0.05, solo 0.05")
    for name, text in (
        ("kit-mix", "chance a rendering draws each piece (kick, snare, hi-hat, toms, crash, ride) from a different kit"),
        ("procedural", "chance a rendering uses a fresh procedural kit (synthesised drums, seed per rendering)"),
        ("vary", "chance of per-piece variation (pitch, decay, EQ, level; toms keep their order)"),
        ("dropout", "chance of muting random drums per phrase (truth follows)"),
        ("random-onsets", "chance of a file of unmusical random hits per drum"),
        ("solo", "chance of a one-drum file"),
        ("swap", "chance of a whole piece dropped or exchanged for the file (no hi-hat, hi-hat on the ride, no hi-hat "
                 "where the snare plays, kick and snare only, kick alone, crash<->ride, toms reversed; truth follows)"),
        ("real-kits", "chance a rendering uses a real recorded kit of the pool (--kit-dir)"),
    ):
        v.add_argument(f"--{name}", type=float, metavar="P", help=text)
    parser.add_argument("--kit-dir", action="append", metavar="DIR",
                        help="a folder of real recorded kits and impulse responses (index.csv layout, e.g. shared/real-sounds); "
                             "its kits join the pools (kits/real.yaml), its IRs the reverb; repeatable")
    parser.add_argument("--licence-doubtful", action="store_true",
                        help="also use the --kit-dir sources whose licence is unclear or restrictive (the Voxengo and "
                             "pymixconsole IRs; MODEL_CARD.md, Licences); left out by default")
    parser.add_argument("--list-kits", action="store_true", help="list kits, their note coverage (8 classes) and pool, then exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _list_kits(pool: str) -> int:
    from collections import Counter

    from drumscribe.core.drums import CLASSES, TD_CLASS
    from drumscribe.synth.kits import ARTICULATIONS, list_kits
    from drumscribe.synth.sampler import load_bank, sounding_kit

    kits = [sounding_kit(k) for k in list_kits("all") if pool == "all" or k.pool == pool]
    short = [c.split("_")[0] + "".join(p.title() for p in c.split("_")[1:]) for c in CLASSES]  # hi_tom -> hiTom
    w = max([len(k.name) for k in kits] + [4])
    fam_w = max([len(k.family) for k in kits] + [6])
    print(f"{'kit':<{w}}  {'source':<{fam_w}}  {'pool':<7}  " + " ".join(f"{c:>6}" for c in short) + "  own articulation sounds")
    procedural = [k for k in kits if k.source == "procedural"]
    for k in kits:
        if k.source == "procedural":
            continue
        own = set(load_bank(k, 1).voices)  # toms a kit lacks are derived (x*)
        have = {TD_CLASS[n] for n in own}
        derived = {TD_CLASS[n] for n in own if n not in k.notes}
        other = " ".join(str(n) for n in sorted(own & set(k.notes)) if n in ARTICULATIONS)
        cells = ["x*" if c in derived else "x" if c in have else "-" for c in CLASSES]
        print(f"{k.name:<{w}}  {k.family:<{fam_w}}  {k.pool:<7}  " + " ".join(f"{c:>6}" for c in cells) + f"  {other}")
    if procedural:
        by_pool = Counter(k.pool for k in procedural)
        print("procedural (synthesised, every TD note; any seed: procedural:N): "
              + ", ".join(f"{n} {p}" for p, n in sorted(by_pool.items())) + " listed")
    print("x* = tom derived by pitch-shifting the kit's nearest tom")
    sampled = [k for k in kits if k.source != "procedural"]
    fams = Counter(k.family for k in sampled)
    print(f"sampled/soundfont kits: {len(sampled)} from {len(fams)} sources: " + ", ".join(f"{f} {n}" for f, n in sorted(fams.items())))
    for p in ("train", "heldout"):
        sel = [k for k in kits if k.pool == p]
        if sel:
            cov = sorted({c for k in sel for c in k.classes}, key=CLASSES.index)
            srcs = sorted({k.family for k in sel})
            print(f"{p}: {len(sel)} kits from {', '.join(srcs)}; classes covered: {', '.join(cov)}")
    return 0


def run(args: argparse.Namespace) -> int:
    from drumscribe.core.errors import DrumscribeError

    from drumscribe.synth.kits import set_licence_doubtful

    set_licence_doubtful(args.licence_doubtful)
    if args.kit_dir:
        from drumscribe.synth.kits import set_kit_dirs

        set_kit_dirs(args.kit_dir)
    if args.list_kits:
        return _list_kits(args.pool)
    if not args.out:
        raise DrumscribeError("--out DIR is required (or --list-kits)")
    from drumscribe.core.options import check_args

    check_args("synth", args)  # every number in its range (drumscribe.core.options), before any work
    if args.num_workers < 1:
        raise DrumscribeError("--num-workers must be >= 1")
    if not 0.0 <= args.realism_prob <= 1.0:
        raise DrumscribeError("--realism-prob must be in [0, 1]")
    if args.full_mix is not None and not 0.0 <= args.full_mix <= 1.0:
        raise DrumscribeError("--full-mix must be in [0, 1]")
    from drumscribe.synth.realism import Realism
    from drumscribe.synth.priors import Variety
    from drumscribe.synth.render import render_dataset

    base = Variety.default() if args.variety else Variety()
    over = {}
    for name in ("kit_mix", "procedural", "vary", "dropout", "random_onsets", "solo", "swap", "real_kits"):
        val = getattr(args, name)
        if val is not None:
            if not 0.0 <= val <= 1.0:
                raise DrumscribeError(f"--{name.replace('_', '-')} must be in [0, 1]")
            over["real_kit" if name == "real_kits" else name] = val
    import dataclasses

    variety = dataclasses.replace(base, **over)
    if variety.breakers > 1.0:
        raise DrumscribeError("--dropout + --random-onsets + --solo + --swap must be <= 1")

    on = {f: args.realism or getattr(args, f) for f in REALISM_FLAGS}
    if args.multitrack_sum + args.backing_only > 1.0:
        raise DrumscribeError("--multitrack-sum + --backing-only must be <= 1")
    realism = (Realism(**on, prob=args.realism_prob, backing_ratio_db=tuple(args.backing_ratio), full_mix=args.full_mix,
                       real_ir=args.real_ir, real_instruments=args.real_instruments,
                       multitrack_sum=args.multitrack_sum, backing_only=args.backing_only)
               if any(on.values()) else None)
    summary = render_dataset(
        args.out,
        performances=args.performances,
        hours=args.hours,
        kits=args.kits,
        pool=args.pool,
        seed=args.seed,
        num_workers=args.num_workers,
        realism=realism,
        kits_per_performance=args.kits_per_performance,
        eval_on_heldout=args.eval_on_heldout,
        max_seconds=args.max_seconds,
        channels=args.channels,
        progress=not args.no_progress,
        performances_from=args.performances_from,
        splits=args.splits,
        variety=variety,
    )
    print_summary(summary)
    return 0


def print_summary(s: dict) -> None:
    print(f"wrote {s['csv']}")
    print(
        f"performances {s['performances']}, files {s['files']} (rendered {s['rendered']}, skipped {s['skipped']}), "
        f"{s['hours']:.3f} h audio in {s['elapsed_s']:.1f} s ({s['realtime_factor']}x real time)"
    )
    print("splits: " + ", ".join(f"{k} {v}" for k, v in sorted(s["splits"].items())))
    if s.get("patterns"):
        print("files by pattern: " + ", ".join(f"{k} {v}" for k, v in sorted(s["patterns"].items())))
    print("onsets per class: " + ", ".join(f"{k} {v}" for k, v in s["onsets_per_class"].items()))
    print("onsets per TD note: " + ", ".join(f"{k}:{v}" for k, v in s["onsets_per_note"].items()))
    if s["unmapped_notes"]:
        print("notes outside the TD set: " + ", ".join(f"{k}:{v}" for k, v in s["unmapped_notes"].items()))
    print("kits used: " + ", ".join(f"{k} ({v})" for k, v in s["kits_used"].items()))
    if s["substituted"]:
        print("substituted (kit lacks note): " + ", ".join(f"{k} {v}" for k, v in s["substituted"].items()))
    if s["dropped"]:
        print("dropped (kit lacks instrument): " + ", ".join(f"{k} {v}" for k, v in s["dropped"].items()))
