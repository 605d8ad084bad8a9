"""drumscribe: drum audio to drum MIDI.

Importing this package is cheap: torch and lightning are imported lazily
inside the functions that need them.
"""

__version__ = "0.1.0"

# Version of the on-disk feature cache layout. Bump when the meaning of a
# cached array changes; stale caches are then rebuilt, never served.
CACHE_FORMAT_VERSION = 1
