"""drumscribe: drum audio to drum MIDI.

Importing this package is cheap: onnxruntime, torch and lightning are imported
lazily inside the functions that need them.

    import drumscribe
    t = drumscribe.transcribe("song.wav")   # events; t.to_midi("song.mid"), t.to_json(), t.to_csv()
    model = drumscribe.load_model()         # reuse across calls: drumscribe.transcribe(x, 44100, model=model)

See :mod:`drumscribe.api`.
"""

from drumscribe.core.version import CACHE_FORMAT_VERSION, __version__  # their home: core/version.py

__all__ = ["transcribe", "load_model", "__version__"]


def transcribe(audio, sample_rate=None, **kwargs):
    """Drum audio (a path, or an array at ``sample_rate``) -> Transcription; see :func:`drumscribe.api.transcribe`."""
    from drumscribe.api import transcribe as _transcribe

    return _transcribe(audio, sample_rate, **kwargs)


def load_model(path=None, **kwargs):
    """Load a model to reuse across :func:`transcribe` calls; see :func:`drumscribe.api.load_model`."""
    from drumscribe.api import load_model as _load_model

    return _load_model(path, **kwargs)
