"""The weights licence and CC BY credits travel with the weights (issue 32's licence, MODEL_CARD.md "Licences"):
``drumscribe export`` of the bundled model and of a checkpoint trained ``--init-from`` it write a sidecar that
carries them (the latter saying where they came from), and ``drumscribe credits`` reads them from the export."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from drumscribe.cli import main  # noqa: E402
from drumscribe.transcription.bundle import default_model_path, read_sidecar  # noqa: E402

torch.set_num_threads(1)


def _export(ckpt, out, capsys) -> dict:
    assert main(["export", "--checkpoint", str(ckpt), str(out)]) == 0
    capsys.readouterr()
    return json.loads(out.with_suffix(".json").read_text())


def _checkpoint(module, path):
    """What Lightning writes for ``module``: its weights and the ``drumscribe`` entry of its save hook."""
    ckpt = {"state_dict": {f"model.{k}": v for k, v in module.model.state_dict().items()}}
    module.on_save_checkpoint(ckpt)
    torch.save(ckpt, path)
    return path


def test_export_of_the_bundled_model_keeps_its_licence_and_credits(tmp_path, capsys):
    shipped = read_sidecar(default_model_path())["licence"]
    assert shipped["credits"]  # the bundled model credits its CC BY material
    side = _export(default_model_path(), tmp_path / "m.onnx", capsys)
    assert side["licence"] == shipped
    assert main(["credits", "--model", str(tmp_path / "m.onnx")]) == 0
    out = capsys.readouterr().out
    assert shipped["weights"] in out and all(c in out for c in shipped["credits"])


def test_a_model_trained_from_the_bundled_one_carries_its_credits_and_says_whence(tmp_path, capsys):
    from drumscribe.training.checkpoint import export_bundle, load_bundle
    from drumscribe.training.module import DrumscribeModule, init_weights_from

    shipped = read_sidecar(default_model_path())["licence"]
    cfg = load_bundle(None).config
    module = DrumscribeModule(cfg)
    assert module.licence is None
    init_weights_from(module, "default", log=lambda *_: None)
    ckpt = _checkpoint(module, tmp_path / "tuned.ckpt")
    lic = torch.load(ckpt, weights_only=False)["drumscribe"]["licence"]
    assert lic["weights"] == shipped["weights"] and lic["credits"] == shipped["credits"]
    assert lic["training_material"] == shipped["training_material"]
    assert [d["model"] for d in lic["derived_from"]] == [default_model_path().name]
    assert "--init-from" in lic["derived_from"][0]["how"]
    # both export routes keep it: ONNX (drumscribe export) and .safetensors (export_bundle)
    side = _export(ckpt, tmp_path / "tuned.onnx", capsys)
    assert side["licence"] == lic
    _, js = export_bundle(ckpt, tmp_path / "tuned")
    assert json.loads(js.read_text())["licence"] == lic
    # a run resumed from that checkpoint keeps it; a model trained from it adds a second step
    resumed = DrumscribeModule(cfg)
    resumed.on_load_checkpoint(torch.load(ckpt, weights_only=False))
    assert resumed.licence == lic
    again = DrumscribeModule(cfg)
    init_weights_from(again, tmp_path / "tuned.safetensors", log=lambda *_: None)
    assert [d["model"] for d in again.licence["derived_from"]] == [default_model_path().name, "tuned.safetensors"]
    assert again.licence["credits"] == shipped["credits"]


def test_a_model_trained_from_scratch_claims_no_licence(tmp_path, capsys):
    from drumscribe.training.checkpoint import load_bundle
    from drumscribe.training.module import DrumscribeModule

    ckpt = _checkpoint(DrumscribeModule(load_bundle(None).config), tmp_path / "scratch.ckpt")
    assert main(["export", "--checkpoint", str(ckpt), str(tmp_path / "s.onnx")]) == 0
    assert "states no weights licence" in capsys.readouterr().out
    assert "licence" not in json.loads((tmp_path / "s.json").read_text())
    assert main(["credits", "--model", str(tmp_path / "s.onnx")]) == 2
    assert "no licence" in capsys.readouterr().err
