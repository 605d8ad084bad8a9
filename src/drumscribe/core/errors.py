"""Errors that the CLI reports as one clear line (no traceback)."""

from __future__ import annotations


class DrumscribeError(Exception):
    """Base class: a user-facing problem (bad input, bad config, missing file)."""


class ConfigError(DrumscribeError):
    """A config file or override is wrong; the message names the dotted key."""


class AudioError(DrumscribeError):
    """An audio file is missing, unreadable, corrupt or empty."""


class MidiError(DrumscribeError):
    """A MIDI file is missing, unreadable or empty."""


class CacheError(DrumscribeError):
    """The feature cache is missing, incomplete or was made with another config."""


class OutputExistsError(DrumscribeError):
    """An output path is taken by a file that must not be replaced (the input, an audio file, or any
    existing file without ``--overwrite``)."""


def os_error_line(exc: OSError, path=None) -> str:
    """One line for an operating-system error: ``<path>: <reason>`` (the path the OS named, else ``path``)."""
    where = exc.filename if exc.filename is not None else path
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    return f"{where}: {reason}" if where is not None else reason
