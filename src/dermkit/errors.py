"""One domain exception for everything a user can get wrong.

Library code raises :class:`DermkitError` (or a subclass) with a message that names the
offending file or value, says why it is wrong and what to do; the CLI turns it into a clean
error instead of a traceback (the pattern of isic-challenge-scoring's ScoreError).
"""

from __future__ import annotations


class DermkitError(Exception):
    """A problem the user can fix: bad input file, bad config value, missing dependency."""


class DataError(DermkitError):
    """A data set, image or mask cannot be used as given."""


class ConfigError(DermkitError):
    """A configuration file or override is invalid."""


class DataProblems(DataError):
    """The data were read and checked, and the check found problems (bad files, rows left out):
    the command "ran and found problems" (exit code 1), not a usage error."""
