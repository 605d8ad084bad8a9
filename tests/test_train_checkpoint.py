"""training/checkpoint.py: load_bundle / export_bundle / save_thresholds on a Lightning-shaped checkpoint."""

import json
from pathlib import Path

import pytest
import torch

from drumscribe.training.checkpoint import export_bundle, load_bundle, save_thresholds
from drumscribe.transcription.bundle import CheckpointError, default_model_path, make_meta
from drumscribe.core.config import load_config
from drumscribe.core.errors import DrumscribeError
from drumscribe.training.model import build_model

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]
SMALL = ["model.conv_filters=[4,8]", "model.hidden_size=8", "model.num_gru_layers=1"]


def _fake_ckpt(tmp_path, overrides=()):
    cfg = load_config(ROOT / "configs" / "test_config.yaml", list(SMALL) + list(overrides))
    torch.manual_seed(0)
    model = build_model(cfg)
    # give the BatchNorm running stats non-default values so they must round-trip too
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 9, cfg.audio.n_mels) * 2 - 7)
    model.eval()
    ckpt = {
        "epoch": 3, "global_step": 10, "pytorch-lightning_version": "2.6",
        "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()},
        "hyper_parameters": {"config": cfg.to_dict()},
        "drumscribe": make_meta(cfg),
    }
    path = tmp_path / "x.ckpt"
    torch.save(ckpt, path)
    return path, model, cfg


def test_ckpt_roundtrip_and_export(tmp_path):
    path, model, cfg = _fake_ckpt(tmp_path, ["model.velocity_head=true"])
    b = load_bundle(path)
    assert not b.model.training
    assert b.class_names == cfg.class_names and b.thresholds == cfg.thresholds()
    assert b.config.to_dict() == cfg.to_dict()
    x = torch.randn(1, 20, cfg.audio.n_mels) - 8
    with torch.no_grad():
        ref = model(x)
        out = b.model(x)
    assert torch.equal(ref.onset_logits, out.onset_logits)
    assert torch.equal(ref.velocity_logits, out.velocity_logits)
    st, js = export_bundle(path, tmp_path / "shipped")
    assert st.name == "shipped.safetensors" and js.name == "shipped.json"
    b2 = load_bundle(st)
    with torch.no_grad():
        assert torch.equal(b2.model(x).onset_logits, ref.onset_logits)
    assert b2.thresholds == b.thresholds and b2.class_names == b.class_names


def test_save_thresholds_ckpt_and_sidecar(tmp_path):
    path, _, cfg = _fake_ckpt(tmp_path)
    th = [0.1 * (i + 1) for i in range(cfg.n_classes)]
    save_thresholds(path, th)
    b = load_bundle(path)
    assert b.thresholds == pytest.approx(th) and b.config.thresholds() == pytest.approx(th)
    st, js = export_bundle(b, tmp_path / "m")
    save_thresholds(st, [0.3] * cfg.n_classes)
    assert load_bundle(st).thresholds == [0.3] * cfg.n_classes
    with pytest.raises(CheckpointError, match="thresholds"):
        save_thresholds(path, [0.5])
    assert not list(tmp_path.glob(".*tmp*"))


def test_strict_loading_and_clear_errors(tmp_path):
    path, _, cfg = _fake_ckpt(tmp_path)
    with pytest.raises(DrumscribeError, match="not found"):
        load_bundle(tmp_path / "nope.ckpt")
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"garbage" * 10)
    with pytest.raises(DrumscribeError, match="bad.ckpt"):
        load_bundle(bad)
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, other)
    with pytest.raises(DrumscribeError, match="not a drumscribe"):
        load_bundle(other)
    # weights that do not match the stored config -> strict error
    ck = torch.load(path, weights_only=False)
    ck["drumscribe"]["config"]["model"]["hidden_size"] = 16
    torch.save(ck, tmp_path / "mismatch.ckpt")
    with pytest.raises(DrumscribeError, match="do not match"):
        load_bundle(tmp_path / "mismatch.ckpt")
    st, js = export_bundle(path, tmp_path / "s")
    js.unlink()
    with pytest.raises(DrumscribeError, match="sidecar"):
        load_bundle(st)


def test_default_model_path():
    p = default_model_path()
    assert p.name == "drumscribe-default.safetensors" and p.parent.name == "pretrained"
    if not p.is_file():
        with pytest.raises(DrumscribeError, match="no bundled model"):
            load_bundle(None)


def test_average_checkpoints_script(tmp_path):
    """scripts/average_checkpoints.py: float tensors averaged, the rest from the last input; never overwrites."""
    import subprocess
    import sys

    from drumscribe.training.checkpoint import TRAINING_STATE_KEYS

    paths = []
    for seed in (0, 1):
        (tmp_path / f"s{seed}").mkdir()
        p, _, _ = _fake_ckpt(tmp_path / f"s{seed}")
        ck = torch.load(p, weights_only=False)
        torch.manual_seed(seed)
        ck["state_dict"] = {k: (v + torch.randn_like(v) if v.is_floating_point() else v + seed)
                            for k, v in ck["state_dict"].items()}
        for key in TRAINING_STATE_KEYS:
            ck.setdefault(key, [] if key.endswith("states") else {})
        torch.save(ck, p)
        paths.append(p)
    out = tmp_path / "avg.ckpt"
    script = ROOT / "scripts" / "average_checkpoints.py"
    r = subprocess.run([sys.executable, script, out, *paths], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    a, b, m = (torch.load(p, weights_only=False)["state_dict"] for p in (*paths, out))
    for k in m:
        if m[k].is_floating_point():
            assert torch.allclose(m[k], (a[k] + b[k]) / 2, atol=1e-6), k
        else:
            assert torch.equal(m[k], b[k]), k
    assert load_bundle(out).model is not None
    before = out.read_bytes()
    r = subprocess.run([sys.executable, script, out, *paths], capture_output=True, text=True)
    assert r.returncode == 2 and "exists" in r.stderr and out.read_bytes() == before


def test_interpolate_weights_script(tmp_path):
    """scripts/interpolate_weights.py (WiSE-FT): alpha * FT + (1 - alpha) * BASE, BASE laid out as FT's network;
    FT's offset rows, which a base without an offset head lacks, are kept; never overwrites."""
    import subprocess
    import sys

    from drumscribe.training.checkpoint import TRAINING_STATE_KEYS

    (tmp_path / "base").mkdir()
    (tmp_path / "ft").mkdir()
    base_path, base_model, _ = _fake_ckpt(tmp_path / "base", ["model.velocity_head=true"])
    ft_path, _, cfg = _fake_ckpt(tmp_path / "ft", ["model.velocity_head=true", "model.offset_head=true"])
    ck = torch.load(ft_path, weights_only=False)
    torch.manual_seed(1)
    ck["state_dict"] = {k: (v + torch.randn_like(v) if v.is_floating_point() else v) for k, v in ck["state_dict"].items()}
    for key in TRAINING_STATE_KEYS:
        ck.setdefault(key, [] if key.endswith("states") else {})
    torch.save(ck, ft_path)
    out = tmp_path / "wise.ckpt"
    script = ROOT / "scripts" / "interpolate_weights.py"
    r = subprocess.run([sys.executable, script, out, "--finetuned", ft_path, "--base", base_path, "--alpha", "0.25"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ft = ck["state_dict"]
    base = base_model.state_dict()
    m = torch.load(out, weights_only=False)["state_dict"]
    c = cfg.model.n_classes
    for k, v in m.items():
        name = k[len("model."):]
        if not v.is_floating_point():
            assert torch.equal(v, ft[k]), k
        elif name.startswith("velocity_head."):
            assert torch.allclose(v[:c], 0.25 * ft[k][:c] + 0.75 * base[name], atol=1e-6), k
            assert torch.equal(v[c:], ft[k][c:]), k  # the offset rows: FT's own
        else:
            assert torch.allclose(v, 0.25 * ft[k] + 0.75 * base[name], atol=1e-6), k
    assert load_bundle(out).model is not None
    before = out.read_bytes()
    r = subprocess.run([sys.executable, script, out, "--finetuned", ft_path, "--alpha", "0.5"], capture_output=True, text=True)
    assert r.returncode == 2 and "exists" in r.stderr and out.read_bytes() == before


def test_graft_offsets_script(tmp_path):
    """scripts/graft_offsets.py: a model whose offset rows alone were trained becomes a shipped bundle with
    the base's sidecar and offset_head set; the same onsets as the base; refused when anything else changed."""
    import subprocess
    import sys

    from drumscribe.training.checkpoint import TRAINING_STATE_KEYS
    from drumscribe.training.module import DrumscribeModule, init_weights_from

    pytest.importorskip("onnxruntime")
    base_ck, _, _ = _fake_ckpt(tmp_path, ["model.velocity_head=true"])
    base_st, _ = export_bundle(base_ck, tmp_path / "base")
    cfg = load_config(ROOT / "configs" / "test_config.yaml",
                      list(SMALL) + ["model.velocity_head=true", "model.offset_head=true", "training.frozen=all_but_offsets"])

    def trained(extra_change: bool):
        m = DrumscribeModule(cfg)
        init_weights_from(m, base_st, log=lambda *_: None)
        with torch.no_grad():
            m.model.velocity_head.weight[cfg.n_classes:] += 0.5  # "trained" offset rows
            if extra_change:
                m.model.onset_head.bias += 0.1
        ck = {"epoch": 0, "global_step": 4, "pytorch-lightning_version": "2.6",
              "state_dict": {f"model.{k}": v for k, v in m.model.state_dict().items()}, "drumscribe": make_meta(cfg)}
        for key in TRAINING_STATE_KEYS:
            ck.setdefault(key, [] if key.endswith("states") else {})
        p = tmp_path / f"offsets-{extra_change}.ckpt"
        torch.save(ck, p)
        return p

    script = ROOT / "scripts" / "graft_offsets.py"
    bad = subprocess.run([sys.executable, script, "--model", base_st, "--offsets", trained(True), "--out", tmp_path / "bad"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "onset_head.bias differs" in bad.stderr and not list(tmp_path.glob("bad.*"))
    r = subprocess.run([sys.executable, script, "--model", base_st, "--offsets", trained(False), "--out", tmp_path / "g"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    g = load_bundle(tmp_path / "g.safetensors")
    b = load_bundle(base_st)
    meta = json.loads((tmp_path / "g.json").read_text())
    assert meta["config"]["model"]["offset_head"] is True and meta["thresholds"] == b.thresholds
    x = torch.randn(1, 30, cfg.audio.n_mels) - 8
    with torch.no_grad():
        og, ob = g.model(x), b.model(x)
    assert torch.equal(og.onset_logits, ob.onset_logits)
    assert torch.allclose(og.velocity_logits[..., :cfg.n_classes], ob.velocity_logits, atol=1e-6)  # a wider matmul
    assert (tmp_path / "g.onnx").is_file()
    again = subprocess.run([sys.executable, script, "--model", base_st, "--offsets", trained(False), "--out", tmp_path / "g"],
                           capture_output=True, text=True)
    assert again.returncode == 2 and "exist" in again.stderr
