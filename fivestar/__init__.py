"""fivestar package."""

from fivestar import logmask as _logmask

# Resident IDs never reach a log line, whichever logger writes it (see fivestar.logmask).
_logmask.install()
