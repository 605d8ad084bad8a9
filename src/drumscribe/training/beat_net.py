"""The beat network (torch side): a small non-causal temporal convolution network, its training, its export.

Shapes: input ``(batch, frames, C)`` event maps (:func:`drumscribe.transcription.beat_model.event_features`,
50 fps; round 3: then the audio's band channels, :func:`drumscribe.transcription.beat_model.band_channels`), output ``(batch, frames, 2)`` logits of beat and downbeat.  The layout follows the TCN of
Davies & Böck (2019) / Böck & Davies (2020): an input convolution, then residual blocks of a dilated
convolution (kernel 5, dilations 1, 2, 4, ... 256: a receptive field of about 41 s, several bars at any
tempo), ELU and dropout, and a 1x1 output convolution::

    (B, T, C) -> transpose -> Conv1d(C, ch, 3) -> [Conv1d(ch, ch, 5, dilation d) -> ELU -> Dropout -> Conv1d 1x1, + skip] x 9
              -> Conv1d(ch, 2, 1) -> transpose -> (B, T, 2) logits

The exported ONNX graph ends in a sigmoid (probabilities; :class:`~drumscribe.transcription.beat_model.BeatNet`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

DILATIONS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class _Block(nn.Module):
    def __init__(self, ch: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(ch, ch, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2)
        self.act = nn.ELU()
        self.drop = nn.Dropout(dropout)
        self.mix = nn.Conv1d(ch, ch, 1)

    def forward(self, x):
        return x + self.mix(self.drop(self.act(self.conv(x))))


class BeatTCN(nn.Module):
    """``(batch, frames, n_in)`` -> ``(batch, frames, 2)`` beat / downbeat logits (see the module docstring)."""

    def __init__(self, n_in: int, channels: int = 20, kernel: int = 5, dilations=DILATIONS, dropout: float = 0.1):
        super().__init__()
        self.inp = nn.Conv1d(n_in, channels, 3, padding=1)
        self.act = nn.ELU()
        self.blocks = nn.Sequential(*[_Block(channels, kernel, d, dropout) for d in dilations])
        self.out = nn.Conv1d(channels, 2, 1)

    def forward(self, x):
        h = self.act(self.inp(x.transpose(1, 2)))
        return self.out(self.blocks(h)).transpose(1, 2)


def load_widened(net: BeatTCN, state: dict) -> None:
    """Load ``state`` (a trained :class:`BeatTCN`'s) into ``net``, whose input may have more channels: the
    extra input channels start at zero weight, so ``net`` computes exactly what ``state`` did until it learns
    to use them."""
    state = dict(state)
    w = state["inp.weight"]
    if w.shape[1] < net.inp.in_channels:
        wide = torch.zeros(w.shape[0], net.inp.in_channels, w.shape[2], dtype=w.dtype)
        wide[:, :w.shape[1]] = w
        state["inp.weight"] = wide
    net.load_state_dict(state)


class _WithSigmoid(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.sigmoid(self.net(x))


def export_onnx(net: BeatTCN, path: Path, sidecar: dict) -> None:
    """Write ``path`` (ONNX, probabilities, dynamic frame axis) and its JSON sidecar beside it, atomically."""
    import io

    from drumscribe.core.atomic import atomic_write_bytes, atomic_write_text

    net = net.eval()
    n_in = net.inp.in_channels
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(_WithSigmoid(net), torch.zeros(1, 500, n_in), buf, input_names=["events"],
                          output_names=["beat_downbeat"], dynamic_axes={"events": {1: "frames"},
                                                                        "beat_downbeat": {1: "frames"}},
                          opset_version=17, dynamo=False)
    atomic_write_bytes(Path(path), buf.getvalue())
    atomic_write_text(Path(path).with_suffix(".json"), json.dumps(sidecar, indent=1, sort_keys=True) + "\n")


def batches(items: list[dict], input_classes, batch: int, rng: np.random.Generator, crop_frames: int, augment_fn,
            weights=None, n_bands: int = 0, min_crop_frames: int | None = None):
    """Endless ``(x (B, T, C), y (B, T, 2), mask (B, T))`` float tensors of random items (drawn with
    probabilities ``weights``, default uniform), each through ``augment_fn(item, rng)``, randomly cropped to
    ``crop_frames`` (``min_crop_frames``: to a length drawn between the two, so that a crop of most grooves
    starts anywhere in a bar); ``n_bands``: audio channels after the events
    (:func:`drumscribe.training.beat_data.item_input`)."""
    from drumscribe.training.beat_data import item_input, targets

    while True:
        xs, ys = [], []
        for i in rng.choice(len(items), size=batch, p=weights):
            it = augment_fn(items[i], rng)
            x = item_input(it, input_classes, n_bands)
            y = targets(it, len(x))
            n = crop_frames if min_crop_frames is None else int(rng.integers(min_crop_frames, crop_frames + 1))
            if len(x) > n:
                s = int(rng.integers(0, len(x) - n + 1))
                x, y = x[s:s + n], y[s:s + n]
            xs.append(x)
            ys.append(y)
        n = max(len(x) for x in xs)
        X = np.zeros((batch, n, xs[0].shape[1]), np.float32)
        Y = np.zeros((batch, n, 2), np.float32)
        M = np.zeros((batch, n), np.float32)
        for j, (x, y) in enumerate(zip(xs, ys)):
            X[j, :len(x)], Y[j, :len(y)], M[j, :len(x)] = x, y, 1.0
        yield torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(M)


def masked_loss(logits, y, mask, downbeat_weight: float = 1.0):
    """Binary cross-entropy on logits over the valid frames (beat + ``downbeat_weight`` x downbeat)."""
    bce = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    w = torch.tensor([1.0, downbeat_weight])
    return ((bce * w).sum(-1) * mask).sum() / mask.sum().clamp(min=1.0)


def predict(net: BeatTCN, x: np.ndarray) -> np.ndarray:
    """``(frames, 2)`` probabilities of one ``(frames, C)`` input (torch, eval mode)."""
    net.eval()
    with torch.no_grad():
        return torch.sigmoid(net(torch.from_numpy(np.asarray(x, np.float32))[None]))[0].numpy()
