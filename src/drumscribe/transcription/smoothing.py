"""1-D smoothing filters for beat tracking, in numpy: the results of ``scipy.ndimage`` / ``scipy.signal``.

``scipy.signal`` and ``scipy.ndimage`` cost about 1.3 s of CPU to import, more than the whole
rest of ``drumscribe transcribe`` on a short file, for three small 1-D filters on arrays of a
few thousand values.  These are those filters, following scipy's own arithmetic (same kernel,
same order of additions as ``NI_Correlate1D`` in ``scipy/ndimage/src/ni_filters.c``), so the
Gaussian and median filters give bit-identical results; the Savitzky-Golay filter agrees to
rounding (its least-squares coefficients come from numpy's LAPACK instead of scipy's).
``tests/test_smoothing.py`` checks each against scipy.

- :func:`gaussian_filter1d` = ``scipy.ndimage.gaussian_filter1d(x, sigma, mode="constant")``
- :func:`median_filter1d` = ``scipy.ndimage.median_filter(x, size, mode="nearest")`` (1-D, odd size)
- :func:`savgol_filter` = ``scipy.signal.savgol_filter(x, window_length, polyorder, mode="interp")``
"""

from __future__ import annotations

import numpy as np

_DBL_EPSILON = float(np.finfo(np.float64).eps)


def correlate1d_constant(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.correlate1d(x, weights, mode="constant", cval=0.0)`` of a 1-D array (float64).

    The same sums in the same order as scipy's C loop: for an odd, symmetric kernel (within
    ``DBL_EPSILON``) ``x[i]*w[c]`` then ``(x[i-k] + x[i+k]) * w[c-k]`` for ``k = r .. 1``;
    otherwise ``x[i+size2]*w[last]`` then ``x[i+j]*w[c+j]`` for ``j = -size1 .. size2-1``.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    n, size = len(x), len(w)
    size1 = size // 2
    size2 = size - size1 - 1
    xp = np.concatenate([np.zeros(size1), x, np.zeros(size2)])

    def at(j: int) -> np.ndarray:  # x[i + j] for every output i
        return xp[size1 + j: size1 + j + n]

    symmetric = 0
    if size % 2 == 1:
        symmetric = 1
        for k in range(1, size1 + 1):
            if abs(w[size1 + k] - w[size1 - k]) > _DBL_EPSILON:
                symmetric = 0
                break
        if symmetric == 0:
            symmetric = -1
            for k in range(1, size1 + 1):
                if abs(w[size1 + k] + w[size1 - k]) > _DBL_EPSILON:
                    symmetric = 0
                    break
    if symmetric != 0:
        out = at(0) * w[size1]
        for k in range(size1, 0, -1):
            pair = at(-k) + at(k) if symmetric > 0 else at(-k) - at(k)
            out = out + pair * w[size1 - k]
        return out
    out = at(size2) * w[size1 + size2]
    for j in range(-size1, size2):
        out = out + at(j) * w[size1 + j]
    return out


def gaussian_kernel(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """scipy's normalised Gaussian kernel, radius ``int(truncate * sigma + 0.5)`` samples."""
    sd = float(sigma)
    radius = int(truncate * sd + 0.5)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sd * sd) * x ** 2)
    return phi / phi.sum()


def gaussian_filter1d(x: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Gaussian smoothing with zeros outside ``x`` (``scipy.ndimage.gaussian_filter1d(..., mode="constant")``)."""
    return correlate1d_constant(x, gaussian_kernel(sigma, truncate)[::-1])


def median_filter1d(x: np.ndarray, size: int) -> np.ndarray:
    """Running median over ``size`` (odd) values, edges repeated (``scipy.ndimage.median_filter(mode="nearest")``)."""
    if size % 2 != 1:
        raise ValueError("median_filter1d: size must be odd")
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return x.copy()
    r = size // 2
    xp = np.concatenate([np.full(r, x[0]), x, np.full(r, x[-1])])
    # the median of an odd count is one of the values: np.sort + middle element is exact
    return np.sort(np.lib.stride_tricks.sliding_window_view(xp, size), axis=1)[:, r].copy()


def _lstsq(a: np.ndarray, b: np.ndarray, rcond: float) -> np.ndarray:
    return np.linalg.lstsq(a, b, rcond=rcond)[0]


def _polyfit(x: np.ndarray, y: np.ndarray, deg: int) -> np.ndarray:
    """scipy.signal's polyfit (powers highest first, columns scaled to unit norm before the solve)."""
    order = deg + 1
    lhs = x[:, None] ** np.arange(order, dtype=np.float64)[::-1][None, :]
    scale = np.sqrt(np.sum(lhs * lhs, axis=0))
    lhs = lhs / scale
    c = _lstsq(lhs, y, rcond=x.shape[0] * _DBL_EPSILON)
    return c / scale


def savgol_filter(x: np.ndarray, window_length: int, polyorder: int) -> np.ndarray:
    """Savitzky-Golay smoothing, ``mode="interp"`` (edges: the polynomial fitted to the first/last window)."""
    x = np.asarray(x, dtype=np.float64)
    if polyorder >= window_length:
        raise ValueError("polyorder must be less than window_length")
    if window_length > len(x):
        raise ValueError("window_length must be at most the length of x")
    halflen, rem = divmod(window_length, 2)
    pos = halflen if rem else halflen - 0.5
    t = np.arange(-pos, window_length - pos, dtype=np.float64)[::-1]  # reversed: coefficients for a convolution
    a = t ** np.arange(polyorder + 1, dtype=np.float64).reshape(-1, 1)
    y = np.zeros(polyorder + 1)
    y[0] = 1.0
    coeffs = _lstsq(a, y, rcond=_DBL_EPSILON * max(a.shape))
    out = correlate1d_constant(x, coeffs[::-1])  # convolve1d = correlate1d with the kernel reversed
    n = len(x)
    for w0, w1, i0, i1 in ((0, window_length, 0, halflen), (n - window_length, n, n - halflen, n)):
        p = _polyfit(np.arange(0, w1 - w0, dtype=np.float64), x[w0:w1], polyorder)
        i = np.arange(i0 - w0, i1 - w0, dtype=np.float64)
        v = np.zeros_like(i)
        for c in p:
            v = v * i + c
        out[i0:i1] = v
    return out
