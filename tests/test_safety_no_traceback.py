"""Issue 14, "done when": the bad-input cases of every numbered point, run in a separate Python process
through the real CLI entry point, print no "Traceback" on stderr and exit 1 or 2 (or 0 for a skip)."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import soundfile as sf

from eval_helpers import fake_checkpoint, small_config
from conftest import CONFIGS

DRIVER = textwrap.dedent("""
    import json, sys, traceback
    from drumscribe.cli import main
    cases = json.load(open(sys.argv[1]))
    for argv in cases:
        print("### " + " ".join(argv), file=sys.stderr, flush=True)
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse usage errors
            rc = exc.code
        except BaseException:
            traceback.print_exc()
            rc = "raised"
        print(f"### rc={rc}", file=sys.stderr, flush=True)
""")


def test_bad_input_suite_prints_no_traceback(tmp_path, toy_root):
    ckpt = str(fake_checkpoint(tmp_path / "m.ckpt", small_config()))
    sr = 22050
    y = (0.1 * np.random.default_rng(0).standard_normal(sr * 2)).astype(np.float32)
    take = tmp_path / "take.wav"
    sf.write(take, y, sr)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "gt.mid").write_bytes(b"hand-made")
    (tmp_path / "corrupt.ckpt").write_bytes(b"garbage" * 50)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(take.read_bytes()[:20000])
    nomidi = tmp_path / "nomidi"
    nomidi.mkdir()
    sf.write(nomidi / "x.wav", y, sr)
    hist = tmp_path / "run"
    hist.mkdir()
    (hist / "metrics_history.csv").write_text("epoch,val_loss\n0,0.5\n1,0.4\n")
    (hist / "eval_results.json").write_text(json.dumps({"micro": {"f1": 0.3}}))
    t = ["transcribe", str(take)]
    c = ["--checkpoint", ckpt, "--quiet"]
    train = ["train", "--config", str(CONFIGS / "test_config.yaml"), "--set", f"data.processed_root={tmp_path}",
             "--set", f"data.splits_dir={tmp_path}", "--set", f"logging.save_dir={tmp_path / 'logs'}"]
    cases = [
        [*t, str(take), *c],                                    # 1. output is the input
        [*t, str(tmp_path / "gt.mid"), *c],                     # 2. existing output, skipped
        [*t, str(tmp_path / "afile" / "x.mid"), *c],            # 4. output under a file
        [*t, str(tmp_path / "o.mid"), "--window", "-1", *c],    # 5. options
        [*t, str(tmp_path / "o.mid"), "--overlap", "50", *c],
        [*t, str(tmp_path / "o.mid"), "--threads", "0", *c],
        [*t, str(tmp_path / "o.mid"), "--device", "cuda:7", *c],
        ["transcribe", str(cut), str(tmp_path / "cut.mid"), *c],  # 10. truncated: a warning, exit 0
        ["evaluate", "--checkpoint", ckpt, "--split", str(nomidi)],                                   # 7.
        ["evaluate", "--checkpoint", ckpt, "--split", str(nomidi), "--output", str(tmp_path / "afile" / "r.json")],
        [*train, "--resume", str(tmp_path / "corrupt.ckpt")],    # 6.
        [*train, "--resume", ckpt],                              # 6. not a training checkpoint
        [*train, "--set", "training.precision=12"],              # 8.
        ["report", "--run", str(hist), "--epochs", "-4"],        # 11.
        ["report", "--run", str(hist), "--json", str(tmp_path / "afile" / "d.json")],                 # 4.
        ["preprocess", "--config", str(CONFIGS / "test_config.yaml"), "--set", f"data.egmd_root={tmp_path / 'none'}"],
    ]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    p = subprocess.run([sys.executable, "-c", DRIVER, str(tmp_path / "cases.json")], capture_output=True, text=True,
                       timeout=600)
    err = p.stderr
    (tmp_path / "stderr.txt").write_text(err)
    assert p.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err
    rcs = [line.split("=", 1)[1] for line in err.splitlines() if line.startswith("### rc=")]
    assert len(rcs) == len(cases)
    expected = ["2", "0", "1", "2", "2", "2", "2", "0", "2", "1", "2", "2", "2", "2", "1", "2"]
    assert rcs == expected, err
    # every case answered with one line (warnings included), never a screen of text
    blocks = err.split("### ")[1:]
    for head, body in zip(blocks[::2], blocks[1::2]):
        lines = [x for x in head.splitlines()[1:] if x.strip()]
        assert len(lines) <= 1, head


# ---------------------------------------------------------------- issue 23: every option that takes a number

# Per command, a run that fails fast *after* its options are checked (a missing input), so a value that is
# accepted costs nothing and a value that is refused must be refused first, naming its option.
FAST_FAIL = {
    "demo": ["--input", "{tmp}/missing.wav", "--out", "{tmp}/d"],
    "synth": ["--out", "{tmp}/afile/s", "--kits", "procedural:1", "--no-progress"],
    "preprocess": ["--config", "{tmp}/missing.yaml"],
    "train": ["--config", "{tmp}/missing.yaml"],
    "tune": ["--checkpoint", "{tmp}/missing.ckpt"],
    "evaluate": ["--checkpoint", "{tmp}/missing.ckpt"],
    "transcribe": ["{tmp}/missing.wav", "{tmp}/o.mid"],
    "export": ["--checkpoint", "{tmp}/missing.ckpt", "{tmp}/o.onnx"],
    "report": ["--run", "{tmp}/missing"],
}
FLOAT_VALUES = ["nan", "inf", "-1", "0", "0.5", "19", "401", "1e9", "1e308"]
INT_VALUES = ["-1", "0", "1", "3", "1000000000"]


def numeric_options():
    """``(command, flag, dest, type, nargs)`` of every option of every command that takes a number."""
    import argparse

    from drumscribe.cli import build_parser

    p = build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return [(name, a.option_strings[0], a.dest, a.type, a.nargs) for name, sp in sub.choices.items()
            for a in sp._actions if a.type in (int, float) and a.option_strings and not a.choices]


def test_every_numeric_option_has_a_range():
    from drumscribe.core.options import range_for

    opts = numeric_options()
    assert len(opts) > 30 and set(FAST_FAIL) >= {o[0] for o in opts}
    missing = [f"{c} {f}" for c, f, d, _, _ in opts if range_for(c, d) is None]
    assert not missing, missing


def test_every_numeric_option_refuses_bad_values_in_one_line(tmp_path):
    from drumscribe.core.options import range_for

    (tmp_path / "afile").write_text("x")
    cases, expect = [], []
    for cmd, flag, dest, typ, nargs in numeric_options():
        values = FLOAT_VALUES if typ is float else INT_VALUES
        groups = [[v, v2] for v, v2 in zip(values, values[1:] + values[:1])] if nargs == 2 else [[v] for v in values]
        for vals in groups:
            base = [x.format(tmp=tmp_path) for x in FAST_FAIL[cmd]]
            cases.append([cmd, *base, flag, *vals])
            r = range_for(cmd, dest)
            ok = r.accepts([typ(v) for v in vals] if nargs == 2 else typ(vals[0]))
            expect.append((flag, ok, bool(r.related)))
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    p = subprocess.run([sys.executable, "-c", DRIVER, str(tmp_path / "cases.json")], capture_output=True, text=True,
                       timeout=600)
    err = p.stderr
    assert p.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[err.index("Traceback") - 2000:][:5000]
    blocks = err.split("### ")[1:]
    assert len(blocks) == 2 * len(cases)
    for (head, body), (flag, ok, related), argv in zip(zip(blocks[::2], blocks[1::2]), expect, cases):
        lines = [x for x in head.splitlines()[1:] if x.strip()]
        assert len(lines) <= 1, head
        rc = body.split("=", 1)[1].strip()
        named = bool(lines) and f"error: {flag} " in lines[0]
        if ok:  # in range; an option related to another one may still be refused for that relation
            assert not named or related, (argv, head)
        else:
            assert rc == "2" and named, (argv, head)
