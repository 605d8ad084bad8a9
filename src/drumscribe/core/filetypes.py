"""File names by kind: which suffixes are audio (read by ``drumscribe.audio.io``, never written over by
the overwrite rule in :mod:`drumscribe.core.outputs`)."""

# Audio files a dataset folder holds (E-GMD: .wav), and what transcription/evaluation accept
# (also .m4a, which only librosa/audioread can read).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
AUDIO_SUFFIXES = AUDIO_EXTENSIONS + (".m4a",)

# a model file whose config, class names and thresholds live in a ``.json`` sidecar beside it
SIDECAR_MODEL_SUFFIXES = (".onnx", ".safetensors")
