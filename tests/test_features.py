"""The one log-mel implementation: equal to librosa's (what the bundled model was trained on), and the
feature cache holds exactly what inference computes."""

from pathlib import Path

import numpy as np
import pytest

from drumscribe.audio.features import compute_features, feature_params, mel_filterbank

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "egmd_tiny"
DEMO = ROOT / "src" / "drumscribe" / "data" / "demo" / "demo_clip.flac"


def _cfg():
    from drumscribe.core.config import load_config

    return load_config(ROOT / "configs" / "medium_test_config.yaml")


def _librosa_logmel(y, a):
    """The features as drumscribe computed them before (librosa 0.10+/0.11): the training reference."""
    librosa = pytest.importorskip("librosa")
    stft = librosa.stft(y, n_fft=a.n_fft, hop_length=a.hop_length, center=True, pad_mode="constant")
    power = (np.abs(stft) ** 2).astype(np.float32)
    basis = librosa.filters.mel(sr=a.sample_rate, n_fft=a.n_fft, n_mels=a.n_mels, fmin=a.fmin, fmax=a.fmax)
    return np.log(basis.astype(np.float32) @ power + 1e-6).T


@pytest.mark.parametrize("fmax", [11025.0, None, 8000.0])
def test_filterbank_equals_librosa(fmax):
    librosa = pytest.importorskip("librosa")
    ref = librosa.filters.mel(sr=22050, n_fft=2048, n_mels=128, fmin=30.0, fmax=fmax)
    ours = mel_filterbank(22050, 2048, 128, 30.0, fmax)
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    assert np.allclose(ours, ref, rtol=1e-6, atol=1e-9)


@pytest.mark.filterwarnings("ignore:n_fft=.*is too large")
def test_logmel_equals_librosa_on_real_and_edge_audio():
    """Within float32 rounding of librosa's, on the demo clip, noise with a near-silent stretch and odd lengths."""
    from drumscribe.audio.io import load_audio

    a = _cfg().audio
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(a.sample_rate * 3)).astype(np.float32)
    noise[: a.sample_rate] *= 1e-4
    cases = [load_audio(DEMO, a.sample_rate)[: a.sample_rate * 8], noise, noise[:5000], noise[:1], noise[:513]]
    for y in cases:
        ours, ref = compute_features(y, a), _librosa_logmel(y, a)
        assert ours.shape == ref.shape == (1 + len(y) // a.hop_length, a.n_mels)
        assert ours.dtype == np.float32
        assert np.abs(ours - ref).max() < 1e-4, len(y)


def test_feature_kind_marks_the_implementation():
    """The numbers are not bit-identical to the librosa version, so the cache key's feature kind changed."""
    assert feature_params(_cfg().audio)["kind"] == "logmel-v2"


def test_bundled_sidecar_cache_key_is_current():
    """The bundled model reads caches made by this code (its stored cache key is today's for its config)."""
    from drumscribe.dataset.cache import cache_key
    from drumscribe.transcription.onnx_runtime import load_onnx_bundle

    b = load_onnx_bundle(None)
    assert b.cache_key == cache_key(b.config)


def test_cached_features_equal_inference_features(tmp_path):
    """Preprocessing caches exactly the features `transcribe` computes for the same 44.1 kHz file."""
    from drumscribe.audio.io import iter_audio_blocks
    from drumscribe.dataset.cache import cache_path, read_item
    from drumscribe.audio.features import iter_feature_blocks
    from drumscribe.dataset.preprocess import process_single_file

    pytest.importorskip("h5py")
    cfg = _cfg()
    rel = "drummer1/session1/1_latin-fill1_125_fill_4-4_1.wav"
    r = process_single_file(rel, FIXTURE, tmp_path, cfg)
    assert r.status == "processed", r
    cached = read_item(cache_path(tmp_path, rel), ("features",))["features"]
    streamed = np.concatenate(list(iter_feature_blocks(iter_audio_blocks(FIXTURE / rel, cfg.audio.sample_rate),
                                                       cfg.audio)))
    assert cached.shape == streamed.shape and cached.shape[0] > 50
    assert np.array_equal(cached, streamed)


def test_mix_to_mono_equals_numpy_mean():
    from drumscribe.audio.io import mix_to_mono

    rng = np.random.default_rng(0)
    for ch in (1, 2, 3, 6, 9):
        d = rng.standard_normal((10007, ch)).astype(np.float32)
        assert np.array_equal(mix_to_mono(d), d.mean(axis=1)), ch
