"""fluidsynth helpers shared by the sampler (drum one-shots) and the backing tracks."""

from __future__ import annotations

import ctypes

import numpy as np

_write_float = None


def synth_float(synth, n: int) -> np.ndarray:
    """Render n stereo frames as float32 (no dither: deterministic)."""
    global _write_float
    if _write_float is None:
        import fluidsynth

        f = fluidsynth._fl.fluid_synth_write_float
        f.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        f.restype = ctypes.c_int
        _write_float = f
    buf = np.zeros((n, 2), np.float32)
    if n > 0:
        _write_float(synth.synth, n, buf.ctypes.data, 0, 2, buf.ctypes.data, 1, 2)
    return buf
