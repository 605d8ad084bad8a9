"""Audio in: reading, resampling and checks (:mod:`.io`), log-mel features, whole-file and streamed
(:mod:`.features`).  Light (numpy, soundfile, soxr)."""
