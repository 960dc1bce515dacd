"""The one exception every subcommand raises for a user error (a leaf module: no imports)."""


class CommandError(Exception):
    """A user error in a command: printed as one line, exit status 1."""
