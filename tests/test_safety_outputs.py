"""Issue 23, items 1 and 6: one overwrite rule for every file drumscribe writes.

The rule (``drumscribe.core.outputs``): an input (also through a link) and an existing audio file are never
written over, even with ``--overwrite`` (one line, exit 2); any other existing output is kept with a one-line
notice unless ``--overwrite``.  The tests below walk every command's parser for its output options (marked by
``add_output_argument``), so a new output option without a case here fails ``test_every_output_option_has_a_case``.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from drumscribe.cli import build_parser, main
from drumscribe.dataset.toy import render_events, toy_performance

from eval_helpers import fake_checkpoint, small_config

torch.set_num_threads(1)
HAND = b"hand-made, keep me"


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _lines(err):
    return [x for x in err.splitlines() if x.strip()]


def _subparsers():
    p = build_parser()
    return next(a for a in p._actions if isinstance(a, argparse._SubParsersAction)).choices


def output_options():
    """``{(command, dest): kind}`` of every option marked as something the command writes."""
    return {(name, a.dest): a.output_kind for name, sp in _subparsers().items() for a in sp._actions
            if getattr(a, "output_kind", None)}


WRITE_WORDS = re.compile(r"\b(write|writes|written|rewritten)\b", re.I)
OUTPUT_NAMES = {"out", "output", "json", "json_out", "plot"}


def test_every_path_option_that_is_written_is_marked():
    """A string option named like an output, or whose help says it is written, must be a marked output."""
    unmarked = []
    for name, sp in _subparsers().items():
        for a in sp._actions:
            if a.nargs == 0 or a.choices or a.type not in (None, str) or a.dest == "help":
                continue
            names = {a.dest, *(s.lstrip("-") for s in a.option_strings)}
            if (names & OUTPUT_NAMES or WRITE_WORDS.search(a.help or "")) and not getattr(a, "output_kind", None):
                unmarked.append(f"{name} {'/'.join(a.option_strings) or a.dest}")
    assert not unmarked, unmarked
    assert output_options(), "no output option is marked"


def test_every_command_with_outputs_takes_overwrite():
    for name, sp in _subparsers().items():
        kinds = {a.output_kind for a in sp._actions if getattr(a, "output_kind", None)}
        if kinds - {"in-place", "resumable"}:  # tune rewrites its checkpoint; synth resumes its folder
            assert any("--overwrite" in a.option_strings for a in sp._actions), name


# ---------------------------------------------------------------- the cases, one per output option

@pytest.fixture(scope="module")
def env(tmp_path_factory, toy_root):
    base = tmp_path_factory.mktemp("outputs")
    cfg = small_config()
    ckpt = fake_checkpoint(base / "m.ckpt", cfg)
    sr = 22050
    take = base / "take.wav"
    sf.write(take, render_events(toy_performance(2.0, 1), 2.0, 1, sr=sr), sr)
    pairs = base / "pairs"
    shutil.copytree(toy_root / "drummer1" / "session1", pairs)
    run = base / "run"
    run.mkdir()
    (run / "metrics_history.csv").write_text("epoch,val_loss\n0,0.5\n1,0.4\n2,0.3\n")
    (run / "eval_results.json").write_text(json.dumps({"micro": {"f1": 0.4}, "per_class": {}}))
    return {"ckpt": ckpt, "take": take, "pairs": pairs, "run": run}


def _case(name, env, tmp, target):
    """argv of the command writing ``target`` through option ``name``, and the inputs it reads."""
    e = env
    ck, take, pairs, run = str(e["ckpt"]), str(e["take"]), str(e["pairs"]), str(e["run"])
    t = str(target)
    return {
        ("transcribe", "output"): (["transcribe", take, t, "--checkpoint", ck, "--quiet"], [take, ck]),
        ("transcribe", "plot"): (["transcribe", take, str(tmp / "o.mid"), "--plot", t, "--checkpoint", ck, "--quiet"],
                                 [take, ck]),
        ("evaluate", "output"): (["evaluate", "--checkpoint", ck, "--split", pairs, "--output", t], [ck]),
        ("evaluate", "plot"): (["evaluate", "--checkpoint", ck, "--split", pairs, "--plot", t, "--plot-files", "1"],
                               [ck]),
        ("report", "json_out"): (["report", "--run", run, "--json", t], [f"{run}/eval_results.json"]),
        ("export", "output"): (["export", "--checkpoint", ck, t], [ck]),
        ("demo", "out"): (["demo", "--out", t, "--threads", "1"], []),
        ("synth", "out"): (["synth", "--out", t, "--kits", "procedural:1", "--performances", "1",
                            "--kits-per-performance", "1", "--max-seconds", "2", "--no-progress"], []),
        ("tune", "checkpoint"): (["tune", "--checkpoint", t, "--split", pairs], []),
    }[name]


# the file inside a folder output that the command writes (a hand-made one there must survive)
FOLDER_FILE = {("demo", "out"): "demo_clip.mid", ("synth", "out"): "e-gmd-v1.0.0.csv"}
FILE_CASES = [("transcribe", "output"), ("transcribe", "plot"), ("evaluate", "output"), ("report", "json_out"),
              ("export", "output")]
ALL_CASES = FILE_CASES + [("evaluate", "plot"), ("demo", "out"), ("synth", "out"), ("tune", "checkpoint")]


def test_every_output_option_has_a_case():
    assert set(output_options()) == set(ALL_CASES)


SUFFIX = {("transcribe", "plot"): ".png", ("export", "output"): ".onnx", ("transcribe", "output"): ".mid"}


@pytest.mark.parametrize("name", FILE_CASES + list(FOLDER_FILE), ids=lambda n: "-".join(n))
def test_existing_output_is_kept_without_overwrite(name, env, tmp_path, capsys):
    if name in FOLDER_FILE:
        target = tmp_path / "folder"
        kept = target / FOLDER_FILE[name]
        kept.parent.mkdir(parents=True)
    else:
        target = kept = tmp_path / ("existing" + SUFFIX.get(name, ".json"))
    kept.write_bytes(HAND)
    argv, _ = _case(name, env, tmp_path, target)
    rc = main(argv)
    err = capsys.readouterr().err
    assert kept.read_bytes() == HAND, f"{name}: replaced {kept}"
    notice = [x for x in _lines(err) if str(kept) in x]
    assert notice and "Traceback" not in err, err
    if name == ("synth", "out"):  # a folder whose CSV no synth run recorded: refused before any work
        assert rc == 2 and not list(target.rglob("*.wav")), err
    else:
        assert rc == 0 and "--overwrite" in notice[0], err


@pytest.mark.parametrize("name", FILE_CASES, ids=lambda n: "-".join(n))
def test_an_input_is_never_written_even_with_overwrite(name, env, tmp_path, capsys):
    """Through a symbolic link named like the output, pointing at an input: refused in one line, exit 2."""
    argv, inputs = _case(name, env, tmp_path, "PLACEHOLDER")
    victim = Path(inputs[0])
    link = tmp_path / ("link" + SUFFIX.get(name, ".json"))
    link.symlink_to(victim)
    before = _digest(victim)
    argv, _ = _case(name, env, tmp_path, link)
    rc = main(argv + ["--overwrite"])
    err = capsys.readouterr().err
    assert rc == 2 and len(_lines(err)) == 1 and "is the input" in err, err
    assert _digest(victim) == before and link.is_symlink()


def test_evaluate_output_onto_its_checkpoint_is_refused(env, capsys):
    """The issue's example: `evaluate --checkpoint m.ckpt --output m.ckpt` replaced the checkpoint (exit 0)."""
    ck = env["ckpt"]
    before = _digest(ck)
    for extra in ([], ["--overwrite"]):
        rc = main(["evaluate", "--checkpoint", str(ck), "--split", str(env["pairs"]), "--output", str(ck), *extra])
        err = capsys.readouterr().err
        assert rc == 2 and "is the input" in err and len(_lines(err)) == 1, err
    assert _digest(ck) == before


def test_report_json_onto_its_eval_is_refused(env, capsys):
    ev = env["run"] / "eval_results.json"
    before = _digest(ev)
    rc = main(["report", "--history", str(env["run"] / "metrics_history.csv"), "--epochs", "2", "--eval", str(ev),
               "--json", str(ev), "--overwrite"])
    err = capsys.readouterr().err
    assert rc == 2 and "is the input" in err and len(_lines(err)) == 1, err
    assert _digest(ev) == before


def test_evaluate_output_over_an_existing_file_needs_overwrite(env, tmp_path, capsys):
    out = tmp_path / "r.json"
    out.write_bytes(HAND)
    assert main(["evaluate", "--checkpoint", str(env["ckpt"]), "--split", str(env["pairs"]), "--output", str(out)]) == 0
    assert out.read_bytes() == HAND and "--overwrite" in capsys.readouterr().err
    assert main(["evaluate", "--checkpoint", str(env["ckpt"]), "--split", str(env["pairs"]), "--output", str(out),
                 "--overwrite"]) == 0
    assert "micro" in json.loads(out.read_text())


def test_evaluate_plot_files_are_kept(env, tmp_path, capsys):
    plots = tmp_path / "plots"
    argv = ["evaluate", "--checkpoint", str(env["ckpt"]), "--split", str(env["pairs"]), "--plot", str(plots),
            "--plot-files", "1"]
    assert main(argv) == 0
    pngs = sorted(plots.glob("*.png"))
    assert pngs
    pngs[0].write_bytes(HAND)
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert pngs[0].read_bytes() == HAND and str(pngs[0]) in err and "--overwrite" in err


def test_transcribe_plot_onto_the_output_is_refused(env, tmp_path, capsys):
    out = tmp_path / "o.png"
    rc = main(["transcribe", str(env["take"]), str(out), "--plot", str(out), "--checkpoint", str(env["ckpt"]),
               "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and len(_lines(err)) == 1 and "o.png" in err and not out.exists(), err


def test_demo_keeps_a_hand_made_midi_and_an_earlier_chart(tmp_path, capsys):
    d = tmp_path / "d"
    d.mkdir()
    (d / "demo_clip.mid").write_bytes(HAND)
    (d / "demo_clip.musicxml").write_bytes(HAND)
    assert main(["demo", "--out", str(d), "--threads", "1"]) == 0
    err = capsys.readouterr().err
    assert (d / "demo_clip.mid").read_bytes() == HAND and (d / "demo_clip.musicxml").read_bytes() == HAND
    assert "demo_clip.mid" in err and "--overwrite" in err
    assert (d / "demo_clip.png").read_bytes()[:4] == b"\x89PNG"  # what did not exist is written
    assert main(["demo", "--out", str(d), "--threads", "1", "--overwrite"]) == 0
    assert (d / "demo_clip.mid").read_bytes()[:4] == b"MThd"


# ---------------------------------------------------------------- synth --out re-runs

def _synth(out, *extra):
    return main(["synth", "--out", str(out), "--kits", "procedural:1", "--performances", "1",
                 "--kits-per-performance", "1", "--max-seconds", "2", "--no-progress", *extra])


def _rows(out):
    import csv

    with open(out / "e-gmd-v1.0.0.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_synth_rerun_with_other_settings_keeps_every_row(tmp_path, capsys):
    out = tmp_path / "s"
    assert _synth(out) == 0
    first = _rows(out)
    assert len(first) == 1
    capsys.readouterr()
    rc = _synth(out, "--seed", "7")
    err = capsys.readouterr().err
    assert rc == 2 and len(_lines(err)) == 1 and "--seed" in err, err
    assert _rows(out) == first
    listed = {r["audio_filename"] for r in first}
    assert {str(p.relative_to(out)) for p in out.rglob("*.wav")} == listed  # nothing rendered, nothing unlisted
    # the same settings again: a resume, every row kept, nothing re-rendered
    assert _synth(out) == 0
    assert _rows(out) == first


# ---------------------------------------------------------------- the Python API's writers

@pytest.fixture(scope="module")
def tr():
    import drumscribe

    root = Path(__file__).resolve().parents[1]
    return drumscribe.transcribe(root / "tests/fixtures/egmd_tiny/drummer1/session1/1_latin-fill1_125_fill_4-4_1.wav",
                                 model=drumscribe.load_model(threads=1))


@pytest.mark.parametrize("method", ["to_midi", "to_json", "to_csv"])
def test_api_writers_keep_the_rule(tr, tmp_path, method):
    from drumscribe.core.errors import OutputExistsError

    out = tmp_path / f"x.{method[3:]}"
    getattr(tr, method)(out)
    assert out.stat().st_size > 0
    out.write_bytes(HAND)
    with pytest.raises(OutputExistsError, match="overwrite"):
        getattr(tr, method)(out)
    assert out.read_bytes() == HAND
    getattr(tr, method)(out, overwrite=True)
    assert out.read_bytes() != HAND
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(100, dtype=np.float32), 8000)
    with pytest.raises(OutputExistsError, match="audio"):
        getattr(tr, method)(wav, overwrite=True)
    assert sf.read(wav)[0].shape == (100,)
    if method != "to_midi":  # without a path: the text
        assert isinstance(getattr(tr, method)(), str)


def test_api_writer_refuses_the_source_audio(tr, capsys):
    from drumscribe.core.errors import OutputExistsError

    with pytest.raises(OutputExistsError, match="input"):
        tr.to_midi(tr.source, overwrite=True)


# ---------------------------------------------------------------- 6. temp files: messages and leftovers

@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_export_write_error_names_the_target(env, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        rc = main(["export", "--checkpoint", str(env["ckpt"]), str(ro / "m.onnx")])
    finally:
        ro.chmod(0o755)
    err = capsys.readouterr().err
    assert rc == 1 and ".tmp-" not in err and "ro" in err and len(_lines(err)) == 1, err


def test_write_errors_name_the_target_not_the_temp_file(env, tmp_path, capsys, monkeypatch):
    """A full disk while `tune` rewrites its checkpoint and while `export` writes: the message names them."""
    import errno

    ck = tmp_path / "m.ckpt"
    shutil.copy(env["ckpt"], ck)
    before = _digest(ck)

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    for argv, target in ((["tune", "--checkpoint", str(ck), "--split", str(env["pairs"])], ck),
                         (["export", "--checkpoint", str(ck), str(tmp_path / "m.onnx")], tmp_path / "m.onnx")):
        rc = main(argv)
        err = capsys.readouterr().err
        line = [x for x in _lines(err) if "error" in x]
        assert rc == 1 and len(line) == 1 and str(target) in line[0] and ".tmp-" not in err, err
    monkeypatch.undo()
    assert _digest(ck) == before and not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_tune_rewrites_the_checkpoint_behind_a_link(env, tmp_path, capsys):
    real = tmp_path / "epoch=1.ckpt"
    shutil.copy(env["ckpt"], real)
    link = tmp_path / "best.ckpt"
    link.symlink_to(real.name)
    before = _digest(real)
    assert main(["tune", "--checkpoint", str(link), "--split", str(env["pairs"])]) == 0
    assert link.is_symlink() and _digest(real) != before


def test_a_dead_writers_temp_file_is_removed_by_the_next_run(env, tmp_path, capsys):
    """kill -9 mid-write leaves ``.<name>.tmp-<host>-<pid>-<hex>``; the next write into that folder removes it."""
    from drumscribe.core.atomic import writer_tag

    host = writer_tag().rsplit("-", 1)[0]
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()  # a pid that is surely dead now
    stale = [tmp_path / f".m.onnx.tmp-{host}-{p.pid}-deadbeef", tmp_path / f".r.json.tmp-{host}-{p.pid}-deadbeef"]
    for s in stale:
        s.write_bytes(b"half a file")
    live = tmp_path / f".r.json.tmp-{host}-{os.getpid()}-cafecafe"  # a live writer's: kept
    live.write_bytes(b"being written")
    assert main(["export", "--checkpoint", str(env["ckpt"]), str(tmp_path / "m.onnx")]) == 0
    assert main(["evaluate", "--checkpoint", str(env["ckpt"]), "--split", str(env["pairs"]), "--output",
                 str(tmp_path / "r.json")]) == 0
    assert not any(s.exists() for s in stale) and live.exists()
