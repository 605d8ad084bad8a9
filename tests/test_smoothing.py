"""drumscribe.transcription.smoothing gives scipy's results (the beat tracker swapped scipy's filters for these)."""

import numpy as np
import pytest

from drumscribe.transcription import smoothing
ndimage = pytest.importorskip("scipy.ndimage")
signal = pytest.importorskip("scipy.signal")


@pytest.mark.parametrize("n", [1, 2, 5, 9, 40, 3001])
@pytest.mark.parametrize("sigma", [0.3, 0.5, 1.0, 2.5, 7.3, 40.0])
def test_gaussian_filter1d_is_scipys_bit_for_bit(n, sigma):
    rng = np.random.default_rng(n)
    x = rng.random(n) * (rng.random(n) < 0.2)  # sparse, like an onset envelope
    want = ndimage.gaussian_filter1d(x, sigma, mode="constant")
    assert np.array_equal(smoothing.gaussian_filter1d(x, sigma), want)


def test_correlate1d_asymmetric_kernel_is_scipys():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(200)
    for w in (rng.random(4), rng.random(7), np.array([1.0, 0.0, -1.0])):
        assert np.array_equal(smoothing.correlate1d_constant(x, w), ndimage.correlate1d(x, w, mode="constant"))


@pytest.mark.parametrize("n", [1, 2, 3, 6, 50])
def test_median_filter1d_is_scipys(n):
    x = np.random.default_rng(n).integers(20, 60, n).astype(float)
    for size in (3, 5):
        assert np.array_equal(smoothing.median_filter1d(x, size), ndimage.median_filter(x, size=size, mode="nearest"))
    with pytest.raises(ValueError):
        smoothing.median_filter1d(x, 4)


@pytest.mark.parametrize("n", [9, 10, 33, 400])
def test_savgol_filter_matches_scipy(n):
    rng = np.random.default_rng(n)
    beats = np.cumsum(0.5 + 0.02 * rng.standard_normal(n))  # beat times, seconds
    for window, order in ((9, 1), (5, 2), (7, 1)):
        want = signal.savgol_filter(beats, window, order, mode="interp")
        # equal bit for bit with this machine's numpy and scipy; the least-squares coefficients come
        # from two LAPACK builds, so allow rounding on others
        np.testing.assert_allclose(smoothing.savgol_filter(beats, window, order), want, rtol=0, atol=1e-12)


def test_beats_module_imports_no_scipy_filters():
    import subprocess
    import sys

    code = ("import sys, numpy as np, drumscribe.transcription.beats as b\n"
            "t = np.arange(0, 30, 0.5); c = np.zeros(len(t), int); v = np.full(len(t), 100)\n"
            "b.track(t, c, v, ['kick', 'snare', 'hihat'], 30.0)\n"
            "print(sorted(m for m in ('scipy.signal', 'scipy.ndimage') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
