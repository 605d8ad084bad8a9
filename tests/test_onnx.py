"""ONNX export and the ONNX Runtime path: same events as torch, no torch imported, `drumscribe export`."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "drumscribe" / "data" / "demo" / "demo_clip.flac"
FIXTURE = ROOT / "tests" / "fixtures" / "egmd_tiny"
HEAVY = ("torch", "lightning", "numba", "librosa")


def _agreement(a, b, n_classes, tol=0.05):
    """(onset F1 of events ``b`` against ``a``, max |velocity difference| over matched hits), mir_eval matching."""
    import mir_eval

    tp = n_a = n_b = 0
    dv = 0
    for c in range(n_classes):
        ea = sorted((e for e in a if e.cls == c), key=lambda e: e.time)
        eb = sorted((e for e in b if e.cls == c), key=lambda e: e.time)
        n_a, n_b = n_a + len(ea), n_b + len(eb)
        if not ea or not eb:
            continue
        pairs = mir_eval.util.match_events(np.array([e.time for e in ea]), np.array([e.time for e in eb]), tol)
        tp += len(pairs)
        dv = max([dv] + [abs(ea[i].velocity - eb[j].velocity) for i, j in pairs])
    f1 = 1.0 if n_a == n_b == 0 else 2 * tp / (n_a + n_b)
    return f1, dv


def test_bundled_onnx_gives_the_torch_events_on_the_fixture_and_demo():
    """The shipped ONNX file is the shipped safetensors model: same events (F1 >= 0.999), velocities within 1."""
    pytest.importorskip("torch")
    from drumscribe import load_model, transcribe

    onnx_model, torch_model = load_model(backend="onnx", threads=1), load_model(backend="torch", threads=1)
    assert type(onnx_model.model).__name__ == "OnnxModel"
    files = sorted(FIXTURE.rglob("*.wav")) + [DEMO]
    assert len(files) >= 5
    total = 0
    for f in files:
        a = transcribe(f, model=torch_model)
        b = transcribe(f, model=onnx_model)
        assert np.abs(a.onset_probs - b.onset_probs).max() < 1e-4, f
        f1, dv = _agreement(a.events, b.events, len(a.class_names))
        assert f1 >= 0.999 and dv <= 1, (f, f1, dv)
        total += len(a.events)
    assert total > 150  # the comparison covers real hits, not empty outputs


def test_onnx_path_never_imports_torch(tmp_path):
    """`drumscribe transcribe` and `drumscribe.transcribe` on the default (ONNX) path import no torch/numba/librosa."""
    code = f"""
import sys
from drumscribe.cli import main
rc = main(["transcribe", {str(FIXTURE / "drummer1/session1/1_latin-fill1_125_fill_4-4_1.wav")!r},
           {str(tmp_path / "a.mid")!r}, "--quiet", "--threads", "1"])
assert rc == 0, rc
import drumscribe
t = drumscribe.transcribe({str(DEMO)!r})
assert len(t.events) > 100
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout
    assert (tmp_path / "a.mid").stat().st_size > 50


def test_export_command_round_trip(tmp_path, capsys):
    """`drumscribe export` of a training checkpoint: ONNX Runtime activations equal torch's; CLI uses it."""
    pytest.importorskip("torch")
    import soundfile as sf

    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.cli import main
    from drumscribe.transcription.inference import predict_features
    from drumscribe.transcription.onnx_runtime import load_onnx_bundle
    from drumscribe.core.timebase import FrameClock
    from drumscribe.dataset.toy import render_events, toy_performance
    from eval_helpers import fake_checkpoint, small_config

    cfg = small_config()
    y = render_events(toy_performance(12.0, seed=3), 12.0, seed=3, sr=cfg.audio.sample_rate)
    from drumscribe.audio.features import compute_features

    feats = compute_features(y, cfg.audio)
    ckpt = fake_checkpoint(tmp_path / "m.ckpt", cfg, features=feats, thresholds=[0.3] * cfg.n_classes)
    out = tmp_path / "m.onnx"
    assert main(["export", "--checkpoint", str(ckpt), str(out)]) == 0
    assert "max |onnx - torch|" in capsys.readouterr().out
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["thresholds"] == [0.3] * cfg.n_classes and side["format"] == "drumscribe-model"
    clock = FrameClock.from_config(cfg.audio)
    ref, ref_v = predict_features(load_bundle(ckpt).model, feats, clock, 6.0, 2.0)
    got, got_v = predict_features(load_onnx_bundle(out).model, feats, clock, 6.0, 2.0)
    assert ref.std() > 1e-3 and np.abs(ref - got).max() < 1e-4
    assert ref_v is None and got_v is None  # small_config has no velocity head: the graph has one output
    # refuses to overwrite without --overwrite, one line naming the file
    assert main(["export", "--checkpoint", str(ckpt), str(out)]) == 0  # kept, with a notice (issue 23)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "m.onnx" in err and "exists" in err
    # transcribe with the exported model (onnx backend chosen from the suffix)
    sf.write(tmp_path / "a.wav", y, cfg.audio.sample_rate)
    assert main(["transcribe", str(tmp_path / "a.wav"), str(tmp_path / "a.json"), "--checkpoint", str(out),
                 "--threshold", "0.2", "--quiet"]) == 0
    assert "events" in json.loads((tmp_path / "a.json").read_text())


def test_backend_mismatches_are_one_line_errors(tmp_path, capsys):
    from drumscribe.cli import main

    wav = FIXTURE / "drummer1/session1/1_latin-fill1_125_fill_4-4_1.wav"
    st = ROOT / "src/drumscribe/pretrained/drumscribe-default.safetensors"
    assert main(["transcribe", str(wav), str(tmp_path / "o.mid"), "--checkpoint", str(st), "--backend", "onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "drumscribe export" in err
    onnx = ROOT / "src/drumscribe/pretrained/drumscribe-default.onnx"
    assert main(["transcribe", str(wav), str(tmp_path / "o.mid"), "--checkpoint", str(onnx), "--backend", "torch"]) == 2
    assert "onnx backend" in capsys.readouterr().err
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    bad.with_suffix(".json").write_text(onnx.with_suffix(".json").read_text())
    assert main(["transcribe", str(wav), str(tmp_path / "o.mid"), "--checkpoint", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.onnx" in err
    assert not (tmp_path / "o.mid").exists()


def test_folder_evaluate_runs_on_onnx(tmp_path):
    """`drumscribe evaluate --split FOLDER` with the bundled model uses ONNX Runtime and scores real hits."""
    from drumscribe.cli import main

    out = tmp_path / "r.json"
    assert main(["evaluate", "--split", str(FIXTURE), "--output", str(out), "--threads", "1"]) == 0
    res = json.loads(out.read_text())
    assert res["checkpoint"].endswith("drumscribe-default.onnx") and res["n_files"] == 4
    assert res["micro"]["support"] > 20 and 0.0 <= res["micro"]["f1"] <= 1.0
