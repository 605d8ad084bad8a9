"""Versions: the package's, and the on-disk feature cache layout's.

Their one home (the package ``__init__`` re-exports them): modules import them from here, so that no
module depends on the package's lazy public surface (``drumscribe.transcribe``) that depends on it.
"""

__version__ = "0.1.0"

# Version of the on-disk feature cache layout. Bump when the meaning of a
# cached array changes; stale caches are then rebuilt, never served.
CACHE_FORMAT_VERSION = 1
