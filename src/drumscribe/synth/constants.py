"""The synthesiser's facts that every synth module needs: imported from here, below them all.

(The package ``__init__`` re-exports them; modules inside ``synth/`` import this module, never the
package, so that the package's lazy public surface cannot form an import circle.)
"""

from __future__ import annotations

SR = 44100  # the synthesiser's one sample rate (E-GMD audio is 44.1 kHz)
