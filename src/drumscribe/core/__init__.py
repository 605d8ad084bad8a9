"""Facts and infrastructure every other folder uses (no torch): the atomic writer, errors, the time base,
the drum vocabulary and the typed config.  Imports nothing else from drumscribe."""
