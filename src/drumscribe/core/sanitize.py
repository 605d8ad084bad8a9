"""The one place where external text (audio tags, file names, names read from a model's files) is cleaned
before it reaches a line-based or event-based file format: ``song.ini``, a ``.chart`` file, a MIDI text or
track-name event, a CSV field.

What an untrusted value must not do there:

* start a new line (``\\n``, ``\\r``, the Unicode line and paragraph separators, any other control
  character): that would add a key or a section (``[song2]``) to an INI file, a line to a ``.chart``;
* start with ``[``/``]``/``=`` (an INI section header, an empty key) or with a spreadsheet formula sign
  (``=``, ``+``, ``-``, ``@``) in a CSV cell;
* carry a bracketed game event (``[section x]``, ``[end]``) into a MIDI text event or a ``.chart`` line;
* be longer than :data:`MAX_TEXT` characters.

:func:`clean_text` does all of that; the writers call it with what the format needs.
"""

from __future__ import annotations

import re
import unicodedata

MAX_TEXT = 200  # characters kept of one value (a title, an artist, a track name)
# every character of Unicode category C* (controls, format, unassigned) and the line/paragraph separators
_BREAKS = re.compile(r"[\u2028\u2029\u0085]")
LEADING_BAD = "[]=+-@;#"  # an INI section/comment/empty key, a CSV formula


def clean_text(value, max_len: int = MAX_TEXT, brackets: bool = True) -> str:
    """``value`` as one safe line: control characters and line breaks become spaces, runs of white space one
    space, no leading :data:`LEADING_BAD` character, at most ``max_len`` characters.  ``brackets=False`` also
    turns ``[``/``]`` into ``(``/``)`` (text that must not read as a game event).  None gives ``""``."""
    if value is None:
        return ""
    text = _BREAKS.sub(" ", str(value))
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    if not brackets:
        text = text.replace("[", "(").replace("]", ")")
    text = " ".join(text.split())
    text = text.lstrip(LEADING_BAD + " ")
    if "=" in text and not brackets:  # "a = b" must not read as a key of a line-based format
        text = text.replace("=", "-")
    return text[:max_len].rstrip()


def clean_name(value, max_len: int = MAX_TEXT) -> str:
    """A value that must also not read as a game event or a key (MIDI text events, ``.chart`` strings): no
    brackets, no ``=``, no double quotes."""
    return clean_text(value, max_len, brackets=False).replace('"', "'")
