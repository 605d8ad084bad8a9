"""The Python API: ``drumscribe.load_model`` and ``drumscribe.transcribe`` (re-exported lazily by the package).

::

    import drumscribe

    t = drumscribe.transcribe("song.wav")            # the bundled model on ONNX Runtime
    for e in t.events:                               # Event(time=s, cls=index, velocity=1..127, strength=prob)
        print(t.class_names[e.cls], e.time, e.velocity, e.strength)
    t.to_midi("song.mid"); t.to_json(); t.to_csv()

    model = drumscribe.load_model()                  # reuse one loaded model across calls
    t = drumscribe.transcribe(samples, sample_rate=44100, model=model)

Backends: ``"onnx"`` (ONNX Runtime; the default for the bundled model and ``.onnx`` files,
needs no torch) and ``"torch"`` (``.ckpt``/``.safetensors`` models; needs the ``[train]``
extra, and ``device="cuda"`` runs on a GPU).
"""

from __future__ import annotations

from pathlib import Path

from drumscribe.core.errors import DrumscribeError

BACKENDS = ("onnx", "torch")
VELOCITY_SOURCES = ("auto", "head", "strength", "fixed")  # as ``drumscribe transcribe --velocity``
TORCH_SUFFIXES = (".ckpt", ".safetensors")


def backend_for(path, backend: str | None = None, device: str = "cpu") -> str:
    """The backend for a model path: ``backend`` if given; else torch for ``.ckpt``/``.safetensors`` or a
    non-CPU device, ONNX Runtime otherwise (the bundled model, ``.onnx``)."""
    if backend is not None:
        if backend not in BACKENDS:
            raise DrumscribeError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
        return backend
    if path is not None and Path(path).suffix in TORCH_SUFFIXES:
        return "torch"
    return "onnx" if str(device) == "cpu" else "torch"


DEVICE_TYPES = ("cpu", "cuda", "mps")


def check_device(device, name: str = "device") -> str:
    """``device`` as a torch device string naming a device present here, else a one-line
    :class:`DrumscribeError` naming the argument (``name``: ``device`` for the API, ``--device`` for the CLI).
    ``"cpu"`` needs no torch."""
    cli = name.startswith("--")
    shown = (lambda d: d) if cli else repr
    fix = "--device cpu" if cli else "device='cpu'"
    if not isinstance(device, str) and type(device).__name__ != "device":  # a str or a torch.device
        raise DrumscribeError(f"{name} {device!r}: expected a device name ({', '.join(DEVICE_TYPES)}, cuda:1)")
    device = str(device)
    if device == "cpu":
        return device
    require_torch(f"{name} {device}")
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise DrumscribeError(f"{name} {shown(device)}: not a device name (cpu, cuda, cuda:1, mps)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise DrumscribeError(f"{name} {shown(device)}: no CUDA GPU is available here; use {fix}")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DrumscribeError(f"{name} {shown(device)}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise DrumscribeError(f"{name} {shown(device)}: MPS is not available here; use {fix}")
    elif dev.type not in DEVICE_TYPES:
        raise DrumscribeError(f"{name} {shown(device)}: unsupported device type {dev.type!r} ({', '.join(DEVICE_TYPES)})")
    return device


def check_threads(threads, name: str = "threads") -> None:
    """``threads`` None or a whole number within the CLI's ``--threads`` range (:data:`drumscribe.core.options.RANGES`)."""
    from drumscribe.core.options import check_argument

    if threads is not None and not (isinstance(threads, int) or type(threads).__module__ == "numpy"):
        raise DrumscribeError(f"{name} {threads!r}: must be a whole number (or None)")
    check_argument(name, threads, "threads")


def require_torch(what: str) -> None:
    """Raise a one-line :class:`DrumscribeError` naming the extra to install when torch is missing."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise DrumscribeError(f"{what} needs PyTorch: pip install \"drumscribe[train]\"")


def load_model(path: str | Path | None = None, backend: str | None = None, device: str = "cpu",
               threads: int | None = None):
    """Load a model once for many :func:`transcribe` calls -> :class:`~drumscribe.transcription.bundle.ModelBundle`.

    ``path``: None (the bundled model), an ``.onnx`` file (with its ``.json`` sidecar), a shipped
    ``.safetensors`` or a training ``.ckpt``.  ``threads``: CPU threads for the model
    (ONNX Runtime's intra-op threads, or ``torch.set_num_threads``); None keeps the library default.
    """
    check_threads(threads)
    if path is not None and not isinstance(path, (str, Path)):
        raise DrumscribeError(f"path: expected a model file path or None, got {type(path).__name__}")
    if path is not None and Path(path).expanduser().exists() and not Path(path).expanduser().is_file():
        what = "a folder" if Path(path).expanduser().is_dir() else "not a regular file"
        raise DrumscribeError(f"{path}: is {what}, not a model file (.onnx, .safetensors or .ckpt)")
    if not isinstance(device, str):
        device = check_device(device)
    backend = backend_for(path, backend, device)
    if backend == "onnx":
        if path is not None and Path(path).suffix in TORCH_SUFFIXES:
            raise DrumscribeError(f"{path}: a PyTorch model; export it for ONNX Runtime with "
                                  f"`drumscribe export --checkpoint {path} OUT.onnx`, or use the torch backend")
        if str(device) != "cpu":
            raise DrumscribeError(f"device {device!r}: the onnx backend runs on the CPU; use the torch backend")
        from drumscribe.transcription.onnx_runtime import load_onnx_bundle

        return load_onnx_bundle(path, threads=threads)
    if path is not None and Path(path).suffix == ".onnx":
        raise DrumscribeError(f"{path}: an ONNX model runs on the onnx backend, not torch")
    require_torch("the torch backend")
    device = check_device(device)  # before loading: a missing GPU or a bad name is one line, not a torch error
    import torch

    from drumscribe.training.checkpoint import load_bundle

    if threads:
        torch.set_num_threads(int(threads))  # within RANGES["threads"] (checked above)
    bundle = load_bundle(path)
    bundle.model.to(device)
    bundle.meta["device"] = str(device)
    return bundle


def load_for_transcription(checkpoint, overrides, threshold, backend=None, device="cpu", threads=None):
    """(bundle with the overridden config, thresholds).  ``backend``: see :func:`drumscribe.api.backend_for`."""
    from drumscribe.transcription.bundle import resolve

    bundle = load_model(checkpoint, backend, device, threads)
    cfg, th = resolve(bundle, None, overrides, threshold)
    if overrides:
        bundle.config = cfg
    return bundle, th


def transcribe(audio, sample_rate: int | None = None, *, model=None, threshold: float | None = None,
               velocity: str = "auto", backend: str | None = None, device: str = "cpu", threads: int | None = None,
               articulations: str = "shown"):
    """Transcribe drums -> :class:`~drumscribe.transcription.inference.Transcription`.

    ``audio``: a path (any format libsndfile reads, any rate and channel count), or an array shaped
    ``(samples,)`` or ``(samples, channels)`` (as ``soundfile.read`` gives it; a ``(channels, samples)``
    array is refused: pass ``audio.T``), float at full scale 1.0 or integer PCM (int16 etc., scaled by
    its full scale), non-empty and finite.  ``sample_rate``: the array's rate in Hz, a positive whole
    number (default: the model's rate); files carry their own.
    ``model``: a :func:`load_model` result, a model path, or None (the bundled model).
    ``threshold``: one onset threshold for every class (default: the model's tuned ones).
    ``velocity``: ``auto``, ``head``, ``strength`` or ``fixed`` (as ``drumscribe transcribe --velocity``).
    ``articulations``: ``shown`` (the articulations shown right for the model; the others as their drum's
    plain stroke), ``all`` or ``none`` (as ``--classes shown/all/8``).
    The result's ``events`` (time s, class index, velocity, strength = confidence) can be written with
    ``to_midi(path)``, ``to_json([path])``, ``to_csv([path])``: an existing file only with ``overwrite=True``
    (else :class:`~drumscribe.core.errors.OutputExistsError`), the source audio never.
    Every argument is checked first: a bad one is a :class:`DrumscribeError` naming it.
    """
    from drumscribe.transcription.bundle import ModelBundle
    from drumscribe.transcription.inference import transcribe_audio

    if velocity not in VELOCITY_SOURCES:
        raise DrumscribeError(f"velocity {velocity!r}: expected one of {', '.join(VELOCITY_SOURCES)}")
    from drumscribe.core.drums import ARTICULATION_VIEWS

    if articulations not in ARTICULATION_VIEWS:
        raise DrumscribeError(f"articulations {articulations!r}: expected one of {', '.join(ARTICULATION_VIEWS)}")
    import numbers

    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, numbers.Real)
                                  or not 0.0 < float(threshold) < 1.0):
        raise DrumscribeError(f"threshold must be in (0, 1), got {threshold!r}")
    if model is not None and not isinstance(model, (ModelBundle, str, Path)):
        raise DrumscribeError(f"model: expected a load_model() result or a model path, got {type(model).__name__}")
    if isinstance(model, ModelBundle):  # already loaded: its runtime settings were load_model()'s to choose
        given = [f"{k}={v!r}" for k, v in (("backend", backend), ("threads", threads)) if v is not None]
        if device is None or str(device) not in ("cpu", str(model.meta.get("device", "cpu"))):
            given.append(f"device={device!r}")
        if given:
            raise DrumscribeError(f"{', '.join(given)}: the model passed is already loaded; give them to "
                                  "load_model() instead")
    bundle = model if isinstance(model, ModelBundle) else load_model(model, backend, device, threads)
    return transcribe_audio(bundle, audio if not isinstance(audio, str) else Path(audio), sample_rate=sample_rate,
                            thresholds=threshold, velocity_source=velocity,
                            device=bundle.meta.get("device", "cpu"), articulations=articulations)
