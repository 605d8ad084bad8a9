"""Inference and decoding, the light path (base install: numpy, onnxruntime; no torch, no training code):
windowed inference over any runner, peak-picking decoding, the ONNX Runtime backend, the model bundle and its
thresholds, MIDI/JSON/CSV writers, beat tracking, scores and plots (optional libraries imported lazily)."""
