"""The one error type users see: bad input, named precisely; the CLI prints it and exits 2."""


class InputError(ValueError):
    """Input that cannot be used: the message names the file, row, column or flag, and the value."""
