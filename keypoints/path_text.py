"""How a path is put into words: any file name printable, and what a path that is not a file is.

:func:`show` and the ``ESCAPE`` codec error handler write the bytes of a name that are not UTF-8 as ``\\xe9``;
:func:`missing_reason` says what a path the user named is instead of a readable file or folder. Every message that
names a path uses them (``keypoints.atomic`` gives them to the rest of the package).
"""

import codecs
import errno
import os
import stat
from pathlib import Path

ESCAPE = "keypoints.escape"
"""A codec error handler (registered on import): a file name's stray byte 0xE9 is written as the text ``\\xe9``.

Python keeps bytes of a name that are not UTF-8 as lone surrogates; an output
stream or file opened with ``errors=ESCAPE`` prints them as their byte values
(as :func:`show` does) instead of failing, and escapes any other character the
encoding lacks."""


def _escape(error):
    text = error.object[error.start : error.end]
    escaped = "".join(
        f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else c.encode("unicode_escape").decode("ascii")
        for c in text
    )
    return escaped, error.end


codecs.register_error(ESCAPE, _escape)


def show(path):
    """A path as text that can always be printed: bytes that are not UTF-8 appear as ``\\xe9`` escapes.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
    """
    return os.fsencode(str(path)).decode("utf-8", errors="backslashreplace")


def missing_reason(path):
    """Why a path the user named is neither a file nor a folder that can be read, in words after ``path:``.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
        ``no such file or folder``, or what it is instead: a symbolic link to nothing, a symbolic link
        loop, a named pipe, a device, a socket.
    """
    path = Path(path)
    try:
        status = path.lstat()
    except FileNotFoundError:
        return "no such file or folder"
    except OSError as error:
        return f"cannot be looked at ({error.strerror or error})"
    if stat.S_ISLNK(status.st_mode):
        try:
            status = path.stat()
        except FileNotFoundError:
            return f"a symbolic link to {show(os.readlink(path))}, which does not exist"
        except OSError as error:
            if error.errno == errno.ELOOP:
                return "a symbolic link loop (its links lead back to themselves, never to a file)"
            return f"a symbolic link that cannot be followed ({error.strerror or error})"
    if stat.S_ISFIFO(status.st_mode):
        return "a named pipe (FIFO), not a file"
    if stat.S_ISCHR(status.st_mode) or stat.S_ISBLK(status.st_mode):
        return "a device, not a file"
    if stat.S_ISSOCK(status.st_mode):
        return "a socket, not a file"
    if stat.S_ISDIR(status.st_mode):
        return "a folder"
    return "a file"
