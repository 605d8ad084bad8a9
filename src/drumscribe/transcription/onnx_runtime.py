"""Run an exported model with ONNX Runtime (CPU): no torch, Lightning, numba or librosa.

``load_onnx_bundle(path)`` reads ``X.onnx`` and its sidecar ``X.json`` (config, class names,
thresholds; the same sidecar a shipped ``.safetensors`` model has) and returns a
:class:`~drumscribe.transcription.bundle.ModelBundle` whose ``model`` is an :class:`OnnxModel`;
:mod:`drumscribe.transcription.inference` windows, batches and stitches it exactly as it does the torch
network.  The graph contract is in :mod:`drumscribe.training.onnx_export`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from drumscribe.audio.features import feature_width
from drumscribe.transcription.bundle import (DEFAULT_MODEL_STEM, CheckpointError, ModelBundle, config_from_meta,
                                             read_sidecar, sidecar_path)


def default_onnx_path() -> Path:
    """The bundled model's ONNX file (beside its safetensors)."""
    return Path(__file__).resolve().parents[1] / "pretrained" / f"{DEFAULT_MODEL_STEM}.onnx"


class OnnxModel:
    """An ``onnxruntime.InferenceSession`` with the CRNN's interface for :mod:`drumscribe.transcription.inference`.

    ``threads``: intra-op threads (None: ONNX Runtime's default, one per core).
    """

    def __init__(self, path: str | Path, n_features: int, n_classes: int, threads: int | None = None,
                 n_articulations: int = 0):
        import onnxruntime as ort

        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = int(threads)
            so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self.session = ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise CheckpointError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc})") from None
        self.path = Path(path)
        self.n_features = int(n_features)
        self.n_classes = int(n_classes)
        self.n_articulations = int(n_articulations)
        self.n_outputs = self.n_classes + self.n_articulations  # onset columns: drums, then articulations
        inputs = self.session.get_inputs()
        outputs = [o.name for o in self.session.get_outputs()]
        if len(inputs) != 1 or inputs[0].shape[-1] != self.n_features or not outputs:
            raise CheckpointError(f"{path}: ONNX graph does not take (batch, frames, {self.n_features}) features")
        n_out = self.session.get_outputs()[0].shape[-1]
        if isinstance(n_out, int) and n_out != self.n_outputs:  # the graph's own class count, when static
            says = f"{self.n_classes} classes" + (f" + {self.n_articulations} articulations" if self.n_articulations else "")
            raise CheckpointError(f"{sidecar_path(Path(path))}: says {says}, but the graph in "
                                  f"{Path(path).name} has {n_out} outputs (class counts disagree); not usable")
        self.input_name = inputs[0].name
        self.output_names = outputs
        self.has_velocity = len(outputs) > 1

    def run_windows(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``x`` (B, T, n_features) float32 -> (onset_probs, velocity_probs|None), each (B, T, n_classes).

        Windows run one at a time: on ONNX Runtime's CPU provider a batch is no faster, and its memory
        arena keeps the largest batch's buffers (measured: 95 MB peak RSS at batch 1 vs 280 MB at 8).
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        outs = [self.session.run(self.output_names, {self.input_name: x[i:i + 1]}) for i in range(x.shape[0])]
        onset = np.concatenate([o[0] for o in outs])
        return onset, (np.concatenate([o[1] for o in outs]) if self.has_velocity else None)


def load_onnx_bundle(path: str | Path | None = None, threads: int | None = None) -> ModelBundle:
    """Load ``X.onnx`` + ``X.json``; ``path=None``: the bundled model.

    Raises :class:`~drumscribe.transcription.bundle.CheckpointError` naming the file when either is
    missing, corrupt or not a drumscribe model.
    """
    path = default_onnx_path() if path is None else Path(path).expanduser()
    if path.suffix == ".json":
        path = path.with_suffix(".onnx")
    if not path.is_file():
        raise CheckpointError(f"{path}: model file not found")
    side = sidecar_path(path)
    meta = read_sidecar(path)
    cfg, thresholds = config_from_meta(meta, side)
    model = OnnxModel(path, feature_width(cfg.audio), cfg.model.n_classes, threads, len(cfg.model.articulations))
    return ModelBundle(model=model, config=cfg, thresholds=thresholds,
                       class_names=list(meta.get("class_names") or cfg.class_names), path=path,
                       cache_key=meta.get("cache_key"), meta={k: v for k, v in meta.items() if k != "config"})
