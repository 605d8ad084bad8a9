"""The dataset: E-GMD-style index (:mod:`.index`), splits, MIDI targets (:mod:`.targets`), the HDF5 feature
cache and the preprocessing that fills it, and a toy dataset generator."""
