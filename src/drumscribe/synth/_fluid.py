"""fluidsynth helpers shared by the sampler (drum one-shots) and the backing tracks."""

from __future__ import annotations

import ctypes
from contextlib import contextmanager
from functools import lru_cache

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


def _lib():
    import fluidsynth

    fl = fluidsynth._fl
    fl.fluid_synth_get_sfont_by_id.argtypes = [ctypes.c_void_p, ctypes.c_int]
    fl.fluid_synth_get_sfont_by_id.restype = ctypes.c_void_p
    fl.fluid_synth_add_sfont.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    fl.fluid_synth_add_sfont.restype = ctypes.c_int
    fl.fluid_synth_remove_sfont.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    fl.fluid_synth_remove_sfont.restype = ctypes.c_int
    fl.fluid_set_log_function.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    fl.fluid_set_log_function(2, None, None)  # FLUID_WARN: "no preset on channel ..." noise
    return fl


def _new_synth(gain: float, sr: float):
    import fluidsynth

    return fluidsynth.Synth(gain=gain, samplerate=sr, **{"synth.reverb.active": 0, "synth.chorus.active": 0,
                                                         "synth.midi-channels": 16})


@lru_cache(maxsize=4)
def _loaded(path: str, sr: float):
    """A loader synth holding soundfont ``path`` (loaded once per process) and the sfont pointer."""
    loader = _new_synth(0.5, sr)
    sfid = loader.sfload(path)
    if sfid < 0:
        raise OSError(f"fluidsynth could not load {path}")
    return loader, _lib().fluid_synth_get_sfont_by_id(loader.synth, sfid)


@contextmanager
def fresh_synth(path: str, sr: float, gain: float = 0.4):
    """A new synth (fresh state: output is bit-reproducible) playing soundfont ``path``,
    whose samples are loaded once per process and shared: yields (synth, sfid)."""
    fl = _lib()
    _, sfont = _loaded(str(path), float(sr))
    synth = _new_synth(gain, sr)
    sfid = fl.fluid_synth_add_sfont(synth.synth, sfont)
    try:
        yield synth, sfid
    finally:
        fl.fluid_synth_remove_sfont(synth.synth, sfont)  # the loader keeps it
        synth.delete()
