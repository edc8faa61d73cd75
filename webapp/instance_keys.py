"""Random keys kept in the instance folder, made on first start and reused after.

Outside production nobody has to set SECRET_KEY: a constant default would let anyone
who read the source sign a session cookie. Each key is created once with mode 0600
(readable by its owner only); web processes and workers started together all read
the same file, because it is linked into place atomically and the loser of the race
reads the winner's key.
"""
import os
import secrets
from pathlib import Path


def instance_key(folder, name: str, nbytes: int = 32) -> str:
    """The key stored as `folder/name`, created (random, 0600) if it is not there yet."""
    folder = Path(folder)
    path = folder / name
    if path.exists():
        return _read(path)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(nbytes))
        try:
            os.link(temporary, path)  # fails if another process made it first: use theirs
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable key; delete it to have a new one made")
    return key
