"""Stacked spectrogram resolutions (``audio.stack_n_ffts``): features, cache key, config checks, the
network's input channels, ONNX export, augmentation per resolution and a short training run."""

import sys
from pathlib import Path

import numpy as np
import pytest

from drumscribe.audio.features import compute_features, feature_ffts, feature_params, feature_width, iter_feature_blocks
from drumscribe.core.config import load_config
from drumscribe.core.errors import ConfigError

sys.path.insert(0, str(Path(__file__).parent))
from train_helpers import CONFIGS, FAST_AUDIO, TINY_MODEL, build_toy_cache  # noqa: E402

STACK = ["audio.stack_n_ffts=[256,1024]"]


def _cfg(extra=()):
    return load_config(CONFIGS["test_config"], FAST_AUDIO + TINY_MODEL + list(extra))


def _audio(seconds=3.0, sr=16000, seed=0):
    rng = np.random.default_rng(seed)
    y = 0.05 * rng.standard_normal(int(seconds * sr)).astype(np.float32)
    y[::4000] += 0.9  # clicks
    return y


def test_stacked_features_are_each_resolution_side_by_side():
    single, multi = _cfg(), _cfg(STACK)
    assert feature_ffts(multi.audio) == [512, 256, 1024] and feature_width(multi.audio) == 3 * 32
    y = _audio()
    f = compute_features(y, multi.audio)
    assert f.shape == (1 + len(y) // 256, 96)
    assert np.array_equal(f[:, :32], compute_features(y, single.audio))  # n_fft first, unchanged
    for i, n in enumerate((256, 1024), start=1):
        alone = compute_features(y, _cfg([f"audio.n_fft={n}"]).audio)
        assert np.array_equal(f[:, 32 * i:32 * (i + 1)], alone), n
    assert not np.allclose(f[:, :32], f[:, 64:])  # the resolutions really differ


def test_streamed_stacked_features_equal_whole_file():
    a = _cfg(STACK).audio
    y = _audio(5.0, seed=1)
    blocks = [y[i:i + 3001] for i in range(0, len(y), 3001)]
    streamed = np.concatenate(list(iter_feature_blocks(iter(blocks), a, chunk_frames=37)))
    whole = compute_features(y, a)
    assert streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-4)


def test_cache_key_changes_only_with_a_stack():
    single, multi = _cfg(), _cfg(STACK)
    assert "stack_n_ffts" not in feature_params(single.audio)  # existing caches keep their key
    assert feature_params(multi.audio)["stack_n_ffts"] == [256, 1024]
    assert feature_params(multi.audio) != feature_params(_cfg(["audio.stack_n_ffts=[1024,256]"]).audio)


@pytest.mark.parametrize("bad", ["[512]", "[256,256]", "[0]", "[-1024]"])
def test_bad_stacks_are_config_errors(bad):
    with pytest.raises(ConfigError, match=r"audio\.stack_n_ffts"):
        _cfg([f"audio.stack_n_ffts={bad}"])


def test_network_reads_resolutions_as_channels_and_exports_to_onnx(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from drumscribe.training.model import build_model
    from drumscribe.training.onnx_export import onnx_bytes
    from drumscribe.transcription.onnx_runtime import OnnxModel

    cfg = _cfg(STACK)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    assert model.in_channels == 3 and model.conv[0][0].in_channels == 3 and model.n_features == 96
    x = torch.randn(2, 40, 96)
    out = model(x)
    assert out.onset_logits.shape == (2, 40, cfg.model.n_classes)
    with pytest.raises(ValueError, match="96"):
        model(torch.randn(2, 40, 32))
    # each channel matters: changing only the third resolution changes the output
    x2 = x.clone()
    x2[..., 64:] += 3.0
    assert not torch.allclose(model(x2).onset_logits, out.onset_logits)
    path = tmp_path / "m.onnx"
    path.write_bytes(onnx_bytes(model))
    onset, _ = OnnxModel(path, feature_width(cfg.audio), cfg.model.n_classes, threads=1).run_windows(x.numpy())
    assert np.abs(onset - torch.sigmoid(out.onset_logits).detach().numpy()).max() < 1e-4
    # a single-resolution model has the same parameters as before (one input channel, n_mels norm)
    plain = build_model(_cfg())
    assert plain.in_channels == 1 and plain.input_norm.num_features == 32


def test_augmentation_shifts_each_resolution_within_itself():
    from drumscribe.training.augment import PITCH_SHIFTS, Augmenter, pitch_shift

    cfg = _cfg(STACK + ["augmentation.enabled=true", "augmentation.pitch_shift_prob=1.0",
                        "augmentation.volume_scale_prob=0", "augmentation.reverb_prob=0",
                        "augmentation.noise_prob=0"])
    rng = np.random.default_rng(3)
    feats = rng.normal(-5, 2, (10, 96)).astype(np.float32)
    out = Augmenter(cfg.augmentation, 0.016, cfg.audio.n_mels).apply_features(feats, np.random.default_rng(0))
    assert out.shape == feats.shape and not np.array_equal(out, feats)
    # the result is one shift applied to each resolution on its own (edges repeated within it)
    per_block = [np.concatenate([pitch_shift(feats[:, 32 * r:32 * (r + 1)], s) for r in range(3)], axis=1)
                 for s in PITCH_SHIFTS]
    assert sum(np.array_equal(out, p) for p in per_block) == 1
    assert not any(np.array_equal(out, pitch_shift(feats, s)) for s in PITCH_SHIFTS)  # not one 96-bin shift


def test_short_training_on_stacked_features(tmp_path):
    pytest.importorskip("torch")
    from drumscribe.training.module import fit

    ov = build_toy_cache(tmp_path, FAST_AUDIO + TINY_MODEL + STACK, n_performances=2, seconds=2.0)
    cfg = load_config(CONFIGS["test_config"], ov + ["logging.logger=none", "training.window_seconds=1.0",
                                                    "training.batch_size=2", "training.num_epochs=1",
                                                    "augmentation.enabled=true", "augmentation.pitch_shift_prob=1.0"])
    fit(cfg, enable_progress_bar=False, enable_model_summary=False)
    ckpts = sorted((tmp_path / "ckpt").glob("*.ckpt"))
    assert ckpts
    from drumscribe.training.checkpoint import load_bundle

    b = load_bundle(ckpts[-1])
    assert b.model.in_channels == 3 and b.config.audio.stack_n_ffts == [256, 1024]
