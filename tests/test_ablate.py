"""The training time budget (``training.max_minutes``) and the ablation harness (scripts/ablate.py) on tiny data."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch
import yaml

from drumscribe.core.config import load_config
from drumscribe.training.module import fit

sys.path.insert(0, str(Path(__file__).parent))
from train_helpers import CONFIGS, FAST_AUDIO, TINY_MODEL, ROOT, build_toy_cache, read_history  # noqa: E402

torch.set_num_threads(1)
FIXTURE = Path(__file__).parent / "fixtures" / "egmd_tiny"


def _load_ablate():
    spec = importlib.util.spec_from_file_location("ablate", ROOT / "scripts" / "ablate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_time_budget_stops_training_and_writes_last_and_history(tmp_path):
    ov = build_toy_cache(tmp_path, FAST_AUDIO + TINY_MODEL, n_performances=2, seconds=2.0)
    cfg = load_config(CONFIGS["test_config"], ov + [
        "logging.logger=none", "training.window_seconds=1.0", "training.batch_size=2", "training.precision=32",
        "training.num_epochs=100000", "training.max_minutes=0.02"])  # 1.2 s
    res = fit(cfg, enable_progress_bar=False, enable_model_summary=False)
    trainer = res.trainer
    assert 0 < trainer.current_epoch < 100000  # stopped by the budget, not the epoch count
    assert res.last_checkpoint and Path(res.last_checkpoint).name == "test-last.ckpt"
    ckpt = torch.load(res.last_checkpoint, map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == trainer.global_step  # last.ckpt holds the final state, not an older epoch
    rows = read_history(res.history_path)
    assert rows and int(rows[-1]["step"]) == trainer.global_step


def _candidates(tmp_path, minutes=0.03):
    fast = ["audio.sample_rate=16000", "audio.n_mels=32", "model.n_mels=32", "audio.fmax=8000"]
    spec = {
        "base_config": str(CONFIGS["default_config"]), "minutes": minutes,
        "common": ["training.num_epochs=1000", "early_stopping.enabled=false", "hardware.num_workers=0",
                   "logging.logger=none", "model.conv_filters=[8,16]", "model.hidden_size=16",
                   "model.num_gru_layers=1", "training.batch_size=2", "training.window_seconds=1.0",
                   "training.precision=32", "augmentation.enabled=false", "data.split_strategy=random",
                   "data.train_split=0.5", "data.val_split=0.25", "data.test_split=0.25", *fast],
        "candidates": {
            "fps62": ["audio.n_fft=512", "audio.hop_length=256"],
            "fps100": ["audio.n_fft=1024", "audio.hop_length=160"],
            "fps62-gru8": ["audio.n_fft=512", "audio.hop_length=256", "model.hidden_size=8"],
        },
    }
    path = tmp_path / "cands.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_ablate_runs_skips_and_shares_caches(tmp_path, capsys):
    ablate = _load_ablate()
    cands, out = _candidates(tmp_path), tmp_path / "out"
    argv = ["--candidates", str(cands), "--data", str(FIXTURE), "--val", str(FIXTURE), "--out", str(out),
            "--in-process"]
    assert ablate.main(argv) == 0, capsys.readouterr()
    res = json.loads((out / "ablation.json").read_text())["results"]
    assert [r["name"] for r in res] == ["fps62", "fps100", "fps62-gru8"]
    for r in res:
        assert r["status"] == "done"
        assert r["steps"] > 0 and r["epochs"] >= 1 and r["train_cpu_s"] > 0
        v = r["val"][str(FIXTURE)]
        assert 0.0 <= v["f1_micro"] <= 1.0 and v["f1_5class"] is not None and v["n_files"] == 4
        assert set(v["per_class_f1"]) == {"kick", "snare", "hihat", "hi_tom", "mid_tom", "low_tom", "crash", "ride"}
        assert set(v["false_alarms_on_other_onsets"]) == set(v["per_class_f1"])
        ck = torch.load(r["checkpoint"], map_location="cpu", weights_only=False)
        assert ck["drumscribe"]["config"]["training"]["max_minutes"] == 0.03
    # different features -> own cache; equal features (fps62, fps62-gru8) -> one shared cache
    assert res[0]["cache_key"] != res[1]["cache_key"] and res[0]["cache_key"] == res[2]["cache_key"]
    assert sorted(p.name for p in (out / "cache").iterdir()) == sorted({r["cache_key"] for r in res})
    json_100 = json.loads((out / "runs" / "fps100" / "eval-egmd_tiny.json").read_text())
    assert json_100["micro"]["f1"] == res[1]["val"][str(FIXTURE)]["f1_micro"]
    md = (out / "ablation.md").read_text().splitlines()
    rows = [ln for ln in md if ln.startswith("| fps")]
    assert [ln.split(" | ")[0] for ln in rows] == ["| fps62", "| fps100", "| fps62-gru8"]
    assert "FA-on-other hihat" in md[2] and "train CPU s" in md[2]

    # rerun: every candidate is skipped, its result untouched
    before = {r["name"]: (out / "runs" / r["name"] / "result.json").stat().st_mtime_ns for r in res}
    capsys.readouterr()
    assert ablate.main(argv) == 0
    assert capsys.readouterr().out.count("done earlier, skipped") == 3
    assert before == {n: (out / "runs" / n / "result.json").stat().st_mtime_ns for n in before}

    # changed settings of a finished candidate: refused (one line, exit 2) unless --force
    changed = _candidates(tmp_path, minutes=0.02)
    argv2 = ["--candidates", str(changed)] + argv[2:] + ["--only", "fps100"]
    assert ablate.main(argv2) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "fps100" in err and "--force" in err


def test_ablate_refuses_foreign_out_folder_and_bad_input(tmp_path, capsys):
    ablate = _load_ablate()
    cands = _candidates(tmp_path)
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    base = ["--candidates", str(cands), "--data", str(FIXTURE), "--val", str(FIXTURE), "--in-process"]
    assert ablate.main(base + ["--out", str(user)]) == 2
    assert "not an ablation folder" in capsys.readouterr().err
    assert (user / "notes.txt").read_text() == "keep me" and len(list(user.iterdir())) == 1
    assert ablate.main(base + ["--out", str(tmp_path / "o"), "--only", "nope"]) == 2
    assert "no candidate named 'nope'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("candidates: {x: [not-an-override]}\n")
    assert ablate.main(["--candidates", str(bad)] + base[2:] + ["--out", str(tmp_path / "o")]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize("value,ok", [("null", True), ("0.5", True), ("0", False), ("-1", False)])
def test_max_minutes_validation(value, ok):
    from drumscribe.core.errors import ConfigError

    if ok:
        load_config(CONFIGS["default_config"], [f"training.max_minutes={value}"])
    else:
        with pytest.raises(ConfigError, match="training.max_minutes"):
            load_config(CONFIGS["default_config"], [f"training.max_minutes={value}"])
