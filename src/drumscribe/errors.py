"""Errors that the CLI reports as one clear line (no traceback)."""


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
