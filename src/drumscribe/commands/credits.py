"""Licences and credits: the code's licence, the model's weights licence and the credit lines its CC BY
training material asks for (read from the model's ``.json`` sidecar; see MODEL_CARD.md, Licences)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", help="a model file (.safetensors/.onnx) whose sidecar to read "
                        "(default: the bundled model)")
    parser.add_argument("--material", action="store_true", help="also list every training material and its licence")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from drumscribe.core.errors import DrumscribeError
    from drumscribe.core.version import __version__
    from drumscribe.transcription.bundle import CheckpointError, default_model_path, read_sidecar

    path = Path(args.model) if args.model else default_model_path()
    try:
        meta = read_sidecar(path)
    except CheckpointError as exc:
        raise DrumscribeError(str(exc)) from None
    lic = meta.get("licence")
    if not isinstance(lic, dict):
        raise DrumscribeError(f"{path}: its sidecar states no licence (a model made before licences were recorded)")
    print(f"drumscribe {__version__}: code under the {lic.get('code', 'MIT')} licence (LICENSE)")
    print(f"model {path.name}: weights under {lic.get('weights', '?')}")
    if lic.get("note"):
        print(lic["note"])
    credits = lic.get("credits") or []
    if credits:
        print("Trained with material that asks for credit:")
        for c in credits:
            print(f"  - {c}")
    if args.material:
        print("Training material (licence; in today's recipe):")
        for m in lic.get("training_material") or []:
            print(f"  - {m.get('material')} [{m.get('used_as')}]: {m.get('licence')}; {m.get('in_recipe')}")
    return 0
