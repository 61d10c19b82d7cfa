"""Private folders and files for what holds raw submissions: the archive and the feedback.

In: a folder or file path, and FIVESTAR_SHARE_GROUP (settings). Out: folders 0700 and
files 0600 (0750 / 0640 when the group may read), whatever the process umask: the
received workbooks hold raw resident IDs and are for IT staff only (submission.md).
The modes are set explicitly (chmod), not left to the umask, which can only take bits
away; a folder that already exists gets its mode corrected too, so an archive created
world-readable by an older version is closed on the next run.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from fivestar.settings import load_settings

log = logging.getLogger("fivestar.files")


def private_modes() -> tuple[int, int]:
    """(folder mode, file mode) for private data under the current settings."""
    return (0o750, 0o640) if load_settings().share_group else (0o700, 0o600)


def private_dir(folder: Path, top: Path) -> Path:
    """Create `folder` (at or below `top`) and its missing parents up to `top`, each with
    the private folder mode; `top` and everything between get the mode even if they exist.
    Folders above `top` are created with the default mode, as before."""
    dir_mode, _ = private_modes()
    folder, top = Path(folder), Path(top)
    chain = [folder, *folder.parents]
    below = chain[: chain.index(top) + 1] if top in chain else [folder]
    below[-1].parent.mkdir(parents=True, exist_ok=True)
    for d in reversed(below):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=dir_mode)
        if (os.stat(d).st_mode & 0o7777) != dir_mode:
            try:
                os.chmod(d, dir_mode)
            except PermissionError as exc:  # another owner's folder: use it as it is, and say so
                log.warning("cannot make %s private (mode %o): %s", d, dir_mode, exc)
    return folder


def private_file(path: Path) -> None:
    """Give an existing file the private file mode."""
    _, file_mode = private_modes()
    if (os.stat(path).st_mode & 0o7777) != file_mode:
        os.chmod(path, file_mode)
