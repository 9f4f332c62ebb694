"""Exceptions that carry a location (file, line, key) a user can act on."""


class CommuniqueError(Exception):
    """Base class: any error the CLI reports as a clean one-line message."""


class ConfigError(CommuniqueError):
    """A config key is unknown, has the wrong type, or an impossible value."""


class DataError(CommuniqueError):
    """An input record is malformed or invalid; the message names file and line."""


class RunDirError(CommuniqueError):
    """A run directory is missing, incomplete, or would be overwritten."""
