"""Licences users can rely on (issue 32): the code's LICENSE, the weights' licence and every CC BY credit,
reachable from the installed package (the bundled model's sidecar and `drumscribe credits`)."""

from __future__ import annotations

import json
from pathlib import Path

from drumscribe.cli import main
from drumscribe.transcription.bundle import default_model_path, read_sidecar

ROOT = Path(__file__).resolve().parents[1]


def test_the_code_has_an_mit_licence_file_matching_pyproject():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "CC BY-SA 4.0" in text
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text()


def test_the_sidecar_states_the_weights_licence_and_a_credit_for_every_cc_by_material():
    lic = read_sidecar(default_model_path())["licence"]
    assert lic["weights"] == "CC-BY-SA-4.0" and lic["code"] == "MIT"
    material = lic["training_material"]
    assert len(material) >= 20
    needs_credit = [m for m in material if "CC BY" in m["licence"] and m["in_recipe"] == "yes"]
    assert len(needs_credit) >= 8
    for m in needs_credit:  # each CC BY source has its credit line, and the line is among the credits shown
        assert m["credit"] and m["credit"] in lic["credits"], m
    left_out = {m["material"].split()[0] for m in material if m["in_recipe"] != "yes"}
    assert left_out == {"Voxengo", "pymixconsole"}


def test_credits_command_prints_licences_and_credits(capsys, tmp_path):
    assert main(["credits", "--material"]) == 0
    out = capsys.readouterr().out
    lic = read_sidecar(default_model_path())["licence"]
    assert "MIT" in out and "CC-BY-SA-4.0" in out
    assert all(c in out for c in lic["credits"]) and "Voxengo" in out
    # a model whose sidecar records no licence: one line, exit 2
    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    meta = json.loads(default_model_path().with_suffix(".json").read_text())
    meta.pop("licence")
    model.with_suffix(".json").write_text(json.dumps(meta))
    assert main(["credits", "--model", str(model)]) == 2
    assert "no licence" in capsys.readouterr().err
