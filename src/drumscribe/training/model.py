"""The drum transcription network: a CRNN over log-mel frames.

A plain :class:`torch.nn.Module` (no Lightning), so inference needs only torch.
Importing this module imports torch; ``import drumscribe`` does not import it.

Shapes (B = batch, T = frames, M = ``n_mels``, R = ``in_channels``, C = ``n_classes``)::

    features (B, T, R*M) log-mel  --input BatchNorm1d over the R*M bins-->
    (B, R, T, M) --conv blocks: Conv2d(k, 'same') + BatchNorm2d + ReLU
                   + MaxPool over frequency only (1, pool_size) + Dropout-->
    (B, F_last, T, M // pool_size**n_blocks) --flatten channels x bins-->
    (B, T, F_last * M') --(bi)GRU--> (B, T, H * (2 if bidirectional else 1))
    --Dropout + Linear--> onset logits (B, T, C + A)
                 [+ Linear--> velocity logits (B, T, C) if velocity_head,
                              (B, T, 2C) with offset_head: velocity, then sub-frame onset offset]

``A`` = ``len(model.articulations)``: the onset head's last ``A`` outputs are the articulations
(open hi-hat, cross-stick...), each an attribute of its parent drum's hits (see
:mod:`drumscribe.transcription.decoding`); the first ``C`` are the drums.

``R`` is the number of stacked spectrogram resolutions (``audio.stack_n_ffts``; 1 by default),
read as input channels of the first conv block.  The time axis is never pooled: output frame ``t`` describes input frame ``t``
(see :mod:`drumscribe.core.timebase` for frames <-> seconds).  The outputs are
*logits*: apply ``torch.sigmoid`` for onset probabilities; ``sigmoid`` of the
velocity logits is the MIDI velocity / 127.  With ``offset_head`` the velocity head is twice as
wide: its second ``C`` columns, through ``sigmoid`` and :func:`drumscribe.core.timebase.offset_from_prob`,
are each drum's onset position relative to the frame (in frames), learned from the exact note times.

The input normalisation is a ``BatchNorm1d`` over mel bins (its running
statistics are learned during training and saved with the weights), so the
absolute scale of ``log(power + 1e-6)`` features does not matter.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
from torch import nn

from drumscribe.audio.features import feature_ffts


class CRNNOutput(NamedTuple):
    """``onset_logits``: (B, T, C + A); ``velocity_logits``: (B, T, C), (B, T, 2C) with the offset head, or None."""

    onset_logits: torch.Tensor
    velocity_logits: Optional[torch.Tensor] = None


class DrumTranscriptionCRNN(nn.Module):
    """Conv blocks over (time, frequency) + (bi)GRU over time + per-frame linear heads.

    Build it from a :class:`drumscribe.core.config.ModelConfig` with
    :meth:`from_config`, or with the same fields as keyword arguments.
    """

    def __init__(
        self,
        n_mels: int,
        n_classes: int,
        conv_filters: list[int] | tuple[int, ...] = (32, 64, 128),
        conv_kernel_size: int = 3,
        pool_size: int = 2,
        dropout_cnn: float = 0.25,
        hidden_size: int = 128,
        num_gru_layers: int = 2,
        dropout_gru: float = 0.3,
        bidirectional: bool = True,
        velocity_head: bool = False,
        in_channels: int = 1,
        n_articulations: int = 0,
        offset_head: bool = False,
    ):
        super().__init__()
        if conv_kernel_size % 2 != 1:
            raise ValueError("conv_kernel_size must be odd so that 'same' padding keeps the time axis")
        self.n_mels = int(n_mels)
        self.in_channels = int(in_channels)
        self.n_features = self.in_channels * self.n_mels  # width of an input frame
        self.n_classes = int(n_classes)
        self.n_articulations = int(n_articulations)
        self.n_outputs = self.n_classes + self.n_articulations  # onset outputs: drums, then articulations
        self.input_norm = nn.BatchNorm1d(self.n_features)
        blocks = []
        in_ch = self.in_channels
        freq = self.n_mels
        for filters in conv_filters:
            blocks.append(nn.Sequential(
                nn.Conv2d(in_ch, int(filters), kernel_size=conv_kernel_size, padding=conv_kernel_size // 2),
                nn.BatchNorm2d(int(filters)),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=(1, pool_size)),
                nn.Dropout(dropout_cnn),
            ))
            in_ch = int(filters)
            freq = freq // pool_size
        if freq < 1:
            raise ValueError("pooling removes every mel band; use fewer conv blocks or a smaller pool_size")
        self.conv = nn.Sequential(*blocks)
        self.rnn_input_size = in_ch * freq
        self.gru = nn.GRU(
            input_size=self.rnn_input_size,
            hidden_size=hidden_size,
            num_layers=num_gru_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout_gru if num_gru_layers > 1 else 0.0,
        )
        out_size = hidden_size * (2 if bidirectional else 1)
        self.dropout = nn.Dropout(dropout_gru)
        self.onset_head = nn.Linear(out_size, self.n_outputs)
        if offset_head and not velocity_head:
            raise ValueError("offset_head needs velocity_head (the offsets are that head's second block)")
        self.has_offsets = bool(offset_head)
        width = self.n_classes * (2 if offset_head else 1)
        self.velocity_head = nn.Linear(out_size, width) if velocity_head else None

    @classmethod
    def from_config(cls, model_cfg, in_channels: int = 1) -> "DrumTranscriptionCRNN":
        """Build from a ``ModelConfig`` (``cfg.model``); ``in_channels``: stacked resolutions."""
        return cls(
            in_channels=in_channels,
            n_mels=model_cfg.n_mels,
            n_classes=model_cfg.n_classes,
            conv_filters=list(model_cfg.conv_filters),
            conv_kernel_size=model_cfg.conv_kernel_size,
            pool_size=model_cfg.pool_size,
            dropout_cnn=model_cfg.dropout_cnn,
            hidden_size=model_cfg.hidden_size,
            num_gru_layers=model_cfg.num_gru_layers,
            dropout_gru=model_cfg.dropout_gru,
            bidirectional=model_cfg.bidirectional,
            velocity_head=model_cfg.velocity_head,
            n_articulations=len(getattr(model_cfg, "articulations", None) or ()),
            offset_head=bool(getattr(model_cfg, "offset_head", False)),
        )

    def forward(self, features: torch.Tensor) -> CRNNOutput:
        """``features``: (B, T, R*n_mels) log-mel -> :class:`CRNNOutput` of (B, T, n_classes) logits."""
        if features.dim() != 3 or features.shape[-1] != self.n_features:
            raise ValueError(f"expected features of shape (batch, frames, {self.n_features}), got {tuple(features.shape)}")
        x = self.input_norm(features.transpose(1, 2)).transpose(1, 2)  # (B, T, R*M)
        if self.in_channels == 1:
            x = x.unsqueeze(1)  # (B, 1, T, M)
        else:
            b, t, _ = x.shape
            x = x.reshape(b, t, self.in_channels, self.n_mels).permute(0, 2, 1, 3)  # (B, R, T, M)
        x = self.conv(x)  # (B, F, T, M')
        b, f, t, m = x.shape
        x = x.permute(0, 2, 1, 3).reshape(b, t, f * m)  # (B, T, F*M')
        x, _ = self.gru(x)
        x = self.dropout(x)
        onset = self.onset_head(x)
        velocity = self.velocity_head(x) if self.velocity_head is not None else None
        return CRNNOutput(onset, velocity)

    def window_runner(self, device: str = "cpu"):
        """The inference runner (:func:`drumscribe.training.torch_runner.torch_window_runner`) that
        :mod:`drumscribe.transcription.inference` calls on batches of feature windows."""
        from drumscribe.training.torch_runner import torch_window_runner

        return torch_window_runner(self, device)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build_model(cfg) -> DrumTranscriptionCRNN:
    """Model for a full :class:`~drumscribe.core.config.Config` (``cfg.model``; ``cfg.audio`` for the channels)."""
    if cfg.model.name != "DrumTranscriptionCRNN":
        from drumscribe.core.errors import ConfigError

        raise ConfigError(f"model.name: unknown model {cfg.model.name!r} (supported: DrumTranscriptionCRNN)")
    return DrumTranscriptionCRNN.from_config(cfg.model, in_channels=len(feature_ffts(cfg.audio)))
