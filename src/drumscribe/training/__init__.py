"""Model and training (needs the ``[train]`` extra: torch, Lightning): the CRNN, windows and augmentation,
the LightningModule and ``fit``, checkpoints (the torch half), resume, ONNX export and the torch inference
runner.  Nothing in :mod:`drumscribe.transcription` imports this folder."""
