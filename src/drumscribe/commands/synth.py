"""Render synthetic E-GMD: drum audio + exact MIDI truth from installed kits.

Writes DIR/e-gmd-v1.0.0.csv and drummerN/sessionM/<n>_<style>_<bpm>_<beat|fill>_4-4_<k>.wav/.midi
pairs, each performance rendered on several kits (same id, different kit_name).
See docs/synth.md.
"""

from __future__ import annotations

import argparse

REALISM_FLAGS = ("reverb", "eq", "compress", "noise", "level", "backing")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="output folder (E-GMD release layout)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--performances", type=int, help="number of performances (default 10)")
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
    parser.add_argument("--max-seconds", type=float, help="cap each performance's duration (tiny datasets, fixtures)")
    g = parser.add_argument_group("realism (off by default)")
    g.add_argument("--realism", action="store_true", help="turn on every effect below")
    for name, text in (
        ("reverb", "synthetic room reverb (RT60 0.15-2 s)"),
        ("eq", "random shelf/peaking EQ (mic colouring)"),
        ("compress", "bus compression"),
        ("noise", "white/pink noise, SNR 25-60 dB"),
        ("level", "random output level, -20..0 dB"),
        ("backing", "mix a bass/keys/pad backing track from a GM soundfont"),
    ):
        g.add_argument(f"--{name}", action="store_true", help=text)
    g.add_argument("--realism-prob", type=float, default=0.75, metavar="P", help="chance per file that an enabled effect is applied (default 0.75)")
    g.add_argument("--backing-ratio", type=float, nargs=2, default=(0.0, 12.0), metavar=("LO", "HI"), help="drum-to-backing RMS ratio range in dB (default 0 12)")
    parser.add_argument("--list-kits", action="store_true", help="list kits, their note coverage (8 classes) and pool, then exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _list_kits(pool: str) -> int:
    from ..synth.kits import ARTICULATIONS, CLASSES, list_kits

    kits = [k for k in list_kits("all", probe=True) if pool == "all" or k.pool == pool]
    short = ("kick", "snare", "hihat", "hiTom", "midTom", "lowTom", "crash", "ride")
    w = max([len(k.name) for k in kits] + [4])
    print(f"{'kit':<{w}}  {'source':<9}  {'pool':<7}  " + " ".join(f"{c:>6}" for c in short) + "  articulations")
    for k in kits:
        have = set(k.classes)
        other = " ".join(str(n) for n in sorted(k.notes) if n in ARTICULATIONS)
        print(f"{k.name:<{w}}  {k.source:<9}  {k.pool:<7}  " + " ".join(f"{'x' if c in have else '-':>6}" for c in CLASSES) + f"  {other}")
    for p in ("train", "heldout"):
        sel = [k for k in kits if k.pool == p]
        if sel:
            cov = sorted({c for k in sel for c in k.classes}, key=CLASSES.index)
            print(f"{p}: {len(sel)} kits, classes covered: {', '.join(cov)}")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..errors import DrumscribeError

    if args.list_kits:
        return _list_kits(args.pool)
    if not args.out:
        raise DrumscribeError("--out DIR is required (or --list-kits)")
    if args.num_workers < 1:
        raise DrumscribeError("--num-workers must be >= 1")
    if not 0.0 <= args.realism_prob <= 1.0:
        raise DrumscribeError("--realism-prob must be in [0, 1]")
    from ..synth.effects import Realism
    from ..synth.render import render_dataset

    on = {f: args.realism or getattr(args, f) for f in REALISM_FLAGS}
    realism = Realism(**on, prob=args.realism_prob, backing_ratio_db=tuple(args.backing_ratio)) if any(on.values()) else None
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
    print("onsets per class: " + ", ".join(f"{k} {v}" for k, v in s["onsets_per_class"].items()))
    if s["unmapped_notes"]:
        print("articulation notes (unmapped downstream): " + ", ".join(f"{k}:{v}" for k, v in s["unmapped_notes"].items()))
    print("kits used: " + ", ".join(f"{k} ({v})" for k, v in s["kits_used"].items()))
    if s["substituted"]:
        print("substituted (kit lacks note): " + ", ".join(f"{k} {v}" for k, v in s["substituted"].items()))
    if s["dropped"]:
        print("dropped (kit lacks instrument): " + ", ".join(f"{k} {v}" for k, v in s["dropped"].items()))
