"""Exceptions the library raises on purpose.

`UserInputError` means the caller gave something unusable (a missing file, a bad setting);
the command line maps it to exit status 2 with its message on one line.
"""


class BrushworkError(Exception):
    """Base class for errors brushwork raises deliberately."""


class UserInputError(BrushworkError, ValueError):
    """The caller's input (a file, an image or a setting) cannot be used."""


class ImageReadError(UserInputError):
    """An input image is missing, unreadable, truncated, empty or too large."""


class SettingsError(UserInputError):
    """A setting has a value outside its allowed range."""
