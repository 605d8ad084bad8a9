"""The signal chain: filters and dynamics that change a mix's sound, never its onsets.

Channel EQ (RBJ biquads), a causal feed-forward compressor, noise, a look-ahead peak limiter,
BS.1770 loudness (pyloudnorm), mastering (bus compression + loudness target + limiter), band
limiting and a lossy-codec simulation (MDCT quantisation with spectral holes).  Every function is
pure: ``(n, channels)`` float32 in, float32 out; the settings are the strings
:func:`drumscribe.synth.realism.draw_settings` writes into the CSV.  Every filter is causal, the
compressor's gain uses the level up to the block before, the limiter's 1.5 ms look-ahead only lowers
the gain, and the codec's 256-sample MDCT hop keeps pre-echo under 6 ms.
"""

from __future__ import annotations

import numpy as np

from drumscribe.synth.constants import SR


# ------------------------------------------------------------------ small helpers
def sos_filter(sos, x: np.ndarray) -> np.ndarray:
    from scipy.signal import sosfilt

    return sosfilt(np.asarray(sos, np.float64), x, axis=0).astype(np.float32)



def _block_env(x: np.ndarray, block: int) -> tuple[np.ndarray, int]:
    """Mean square per block of ``block`` samples (mono sum of channels)."""
    n = len(x)
    nb = -(-n // block)
    ms = np.zeros(nb * block, np.float32)
    ms[:n] = (x.astype(np.float32) ** 2).mean(axis=1)
    return ms.reshape(nb, block).mean(axis=1), nb


def _block_gain_to_samples(g: np.ndarray, block: int, n: int) -> np.ndarray:
    """Block gains -> per-sample gains, linear from each block start to the next."""
    g = np.asarray(g, np.float32)
    nxt = np.append(g[1:], g[-1:])
    ramp = np.arange(block, dtype=np.float32) / block
    return (g[:, None] + (nxt - g)[:, None] * ramp[None, :]).reshape(-1)[:n]

def rms(x):
    e = (x**2).mean(axis=1)
    e = e[e > e.max() * 1e-4] if e.size and e.max() > 0 else e
    return float(np.sqrt(e.mean())) if e.size else 0.0


# ------------------------------------------------------------------ channel EQ, compression, noise
def _biquad(kind: str, f0: float, gain_db: float, q: float):
    """RBJ cookbook biquad -> (b, a)."""
    A = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / SR
    cw, sw = np.cos(w0), np.sin(w0)
    alpha = sw / (2 * q)
    if kind == "peak":
        b = [1 + alpha * A, -2 * cw, 1 - alpha * A]
        a = [1 + alpha / A, -2 * cw, 1 - alpha / A]
    else:
        sA = 2 * np.sqrt(A) * alpha
        if kind == "low_shelf":
            b = [A * ((A + 1) - (A - 1) * cw + sA), 2 * A * ((A - 1) - (A + 1) * cw), A * ((A + 1) - (A - 1) * cw - sA)]
            a = [(A + 1) + (A - 1) * cw + sA, -2 * ((A - 1) + (A + 1) * cw), (A + 1) + (A - 1) * cw - sA]
        else:
            b = [A * ((A + 1) + (A - 1) * cw + sA), -2 * A * ((A - 1) + (A + 1) * cw), A * ((A + 1) + (A - 1) * cw - sA)]
            a = [(A + 1) - (A - 1) * cw + sA, 2 * ((A - 1) - (A + 1) * cw), (A + 1) - (A - 1) * cw - sA]
    return np.array(b) / a[0], np.array(a) / a[0]


def eq(x: np.ndarray, spec: str) -> np.ndarray:
    sos = []
    for item in spec.split(";"):
        kind, f0, g, q = item.split(":")
        b, a = _biquad(kind, float(f0), float(g), float(q))
        sos.append(np.concatenate([b, a]))
    return sos_filter(np.array(sos), x)


def compress(x: np.ndarray, spec: str, time_s: float = 0.010, release_s: float = 0.05) -> np.ndarray:
    """Feed-forward RMS compressor on 32-sample blocks, causal (a block's gain uses
    the level up to the block before it), so transients pass like a real one's.
    Threshold in dB below the loudest envelope value; makeup from the 90th
    percentile of the gain reduction."""
    from scipy.signal import lfilter

    thr_db, ratio = (float(v) for v in spec.split(":"))
    block = 32
    ms, nb = _block_env(x, block)
    a = np.exp(-block / (time_s * SR))
    env = np.sqrt(lfilter([1 - a], [1, -a], ms) + 1e-12)
    env = np.concatenate([[env[0]], env[:-1]])  # causal: the previous block's level
    lvl = 20 * np.log10(env / (env.max() + 1e-9) + 1e-9)
    gr = -np.maximum(lvl - thr_db, 0) * (1 - 1 / ratio)
    r = np.exp(-block / (release_s * SR))
    gr = lfilter([1 - r], [1, -r], gr)
    makeup = -np.percentile(gr, 90) / 2
    g = _block_gain_to_samples(10 ** ((gr + makeup) / 20), block, len(x))
    return (x * g[:, None]).astype(np.float32)


def add_noise(x: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import lfilter

    n = rng.standard_normal(x.shape).astype(np.float32)
    if rng.random() < 0.5:  # pinkish
        n = lfilter([0.05], [1, -0.95], n, axis=0).astype(np.float32)
    rms_x = np.sqrt((x**2).mean()) + 1e-9
    rms_n = np.sqrt((n**2).mean()) + 1e-9
    return (x + n * (rms_x / rms_n) * 10 ** (-snr_db / 20)).astype(np.float32)

# ------------------------------------------------------------------ mastering, band limit, codec
def limiter(x: np.ndarray, ceiling_db: float, release_s: float = 0.08) -> np.ndarray:
    """Peak limiter on 32-sample blocks: 1.5 ms look-ahead (gain only ever lowered
    early), instant attack, exponential release; a hard clip at the ceiling catches
    what interpolation leaves."""
    from scipy.ndimage import minimum_filter1d

    block = 32
    ceil = 10 ** (ceiling_db / 20)
    n = len(x)
    nb = -(-n // block)
    pk = np.zeros(nb * block, np.float32)
    pk[:n] = np.abs(x).max(axis=1)
    req = np.minimum(1.0, ceil / (pk.reshape(nb, block).max(axis=1) + 1e-9))
    req = minimum_filter1d(req, size=4, origin=-1)  # blocks j-1 .. j+2: look-ahead
    # instant attack, exponential release: the reduction d = 1 - g follows
    # d[j] = max(dreq[j], d[j-1] * rel), i.e. a running max in the log domain
    log_rel = -block / (release_s * SR)
    j = np.arange(len(req))
    dlog = np.log(np.maximum(1.0 - req, 1e-12)) - j * log_rel
    g = 1.0 - np.exp(np.maximum.accumulate(dlog) + j * log_rel)
    y = x * _block_gain_to_samples(g, block, n)[:, None]
    return np.clip(y, -ceil, ceil).astype(np.float32)


def loudness(x: np.ndarray) -> float:
    """Integrated loudness (LUFS, ITU-R BS.1770-4, pyloudnorm) of (n, ch) audio."""
    import pyloudnorm

    return float(pyloudnorm.Meter(SR).integrated_loudness(x.astype(np.float64)))


MAX_LIMIT_DB = 8.0


def master(x: np.ndarray, spec: str) -> np.ndarray:
    """Mix-bus compression (30 ms), gain towards a BS.1770 loudness target (at most
    ``MAX_LIMIT_DB`` of peak limiting), look-ahead limiting to the ceiling."""
    parts = dict(p.split(":", 1) for p in spec.split(";"))
    x = compress(x, parts["comp"], time_s=0.030, release_s=0.15)
    if len(x) > 0.5 * SR:
        lufs = loudness(x)
        if np.isfinite(lufs):
            # never more than MAX_LIMIT_DB of limiting: a sparse drum track is not
            # squashed flat to reach a pop master's loudness
            peak_db = 20 * np.log10(float(np.abs(x).max()) + 1e-12)
            gain_db = min(float(parts["lufs"]) - lufs, float(parts["ceil"]) - peak_db + MAX_LIMIT_DB)
            x = x * np.float32(10 ** (gain_db / 20))
    return limiter(x, float(parts["ceil"]))


def bandlimit(x: np.ndarray, spec: str) -> np.ndarray:
    """Highpass (2nd order) and lowpass (4th order) Butterworth, causal."""
    from scipy.signal import butter

    hp, lp = (float(v) for v in spec.split(":"))
    sos = np.concatenate([butter(2, hp, "highpass", fs=SR, output="sos"), butter(4, min(lp, SR / 2 - 100), fs=SR, output="sos")])
    return sos_filter(sos, x)


MDCT_HOP = 256  # 512-sample sine-windowed frames: pre-echo stays within ~6 ms


def _sine_window(N: int) -> np.ndarray:
    return np.sin(np.pi * (np.arange(2 * N) + 0.5) / (2 * N)).astype(np.float32)


def mdct(x: np.ndarray, hop: int = MDCT_HOP) -> np.ndarray:
    """MDCT of a 1-d signal (sine window, frames of 2*hop, zero-padded by ``hop``
    each side): (frames, hop) float32, as an orthonormal DCT-IV of the folded frames."""
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.fft import dct

    N, h = hop, hop // 2
    n_fr = -(-len(x) // N) + 1
    xp = np.zeros((n_fr + 1) * N, np.float32)
    xp[N : N + len(x)] = x
    z = sliding_window_view(xp, 2 * N)[::N] * _sine_window(N)
    a, b, c, d = z[:, :h], z[:, h:N], z[:, N : N + h], z[:, N + h :]
    folded = np.concatenate([-c[:, ::-1] - d, a - b[:, ::-1]], axis=1)
    return dct(folded, type=4, norm="ortho", axis=1).astype(np.float32)


def imdct(X: np.ndarray, n: int, hop: int = MDCT_HOP) -> np.ndarray:
    """Inverse of :func:`mdct` (windowed overlap-add, time-domain aliasing cancels); length ``n``."""
    from scipy.fft import dct

    N, h = hop, hop // 2
    u = dct(X, type=4, norm="ortho", axis=1).astype(np.float32)
    u1, u2 = u[:, :h], u[:, h:]
    y = np.concatenate([u2, -u2[:, ::-1], -u1[:, ::-1], -u1], axis=1) * _sine_window(N)
    out = np.zeros((len(X) + 1) * N, np.float32)
    out[: len(X) * N] += y[:, :N].reshape(-1)
    out[N:] += y[:, N:].reshape(-1)
    return out[N : N + n]


def codec(x: np.ndarray, spec: str) -> np.ndarray:
    """Lossy-codec artefacts: MDCT coefficients quantised per band and frame with a
    step that leaves the band's noise ``smr`` dB (+-4 dB per band) below its energy,
    so weak coefficients vanish (spectral holes, "birdies"); everything above the
    lowpass is removed."""
    _, lp, smr, seed = spec.split(":")
    lp, smr = float(lp), float(smr)
    rng = np.random.default_rng(int(seed))
    N = MDCT_HOP
    freqs = (np.arange(N) + 0.5) * SR / (2 * N)
    starts = np.unique(np.concatenate([[0], np.round(np.geomspace(4, N, 22)).astype(int)]))
    starts = starts[starts < N]  # ~20 bands, narrow at the bottom
    band_of = np.searchsorted(starts, np.arange(N), side="right") - 1
    nb = len(starts)
    cnt = np.bincount(band_of, minlength=nb)
    smr_b = smr + rng.uniform(-4, 4, nb)
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        X = mdct(x[:, c])
        e = np.add.reduceat(X**2, starts, axis=1) / cnt
        step = np.sqrt(12 * e * 10 ** (-smr_b / 10))[:, band_of] + 1e-9
        Xq = np.round(X / step) * step
        Xq[:, freqs > lp] = 0
        out[:, c] = imdct(Xq, len(x))
    return out.astype(np.float32)
