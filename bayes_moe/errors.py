"""The two error types users see, each printed by the CLI as one line naming the file or flag at fault."""


class InputError(ValueError):
    """Input that cannot be used: the message names the file, row, column or flag, and the value.
    The CLI exits 2."""


class MachineFault(RuntimeError):
    """A fault of the machine, not of the input: a full disk, an I/O error, a lock held past the timeout.
    Nothing half-written is left; the same command works once the machine is mended. The CLI exits 1."""
