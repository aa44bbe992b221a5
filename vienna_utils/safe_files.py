"""Files that many processes and threads write at once: atomic replaces and a locked, appended CSV.

- :func:`write_atomic`: readers see the old file or the new one, never half of one. The temporary
  name holds the process id, the thread id and a random part, so threads and processes never share one.
- :func:`append_csv_row`: appends one row under an exclusive lock on ``<table>.lock`` (``fcntl.flock``,
  or ``msvcrt.locking`` on Windows), which serialises writers across processes and threads alike
  (each call opens its own lock file descriptor).
"""
from __future__ import annotations

import csv
import io
import os
import secrets
import threading
import time
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

__all__ = ["temporary_name", "write_atomic", "file_lock", "append_csv_row"]


def temporary_name(path: Path) -> Path:
    """A hidden sibling of ``path`` no other process or thread will pick."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(4)}")


def write_atomic(path: Path, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` via a uniquely named temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


@contextmanager
def file_lock(lock_path: Path):
    """Hold an exclusive lock on ``lock_path`` (created if needed) for the ``with`` block."""
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        f = open(lock_path, "a+b")
    except PermissionError:
        if not lock_path.is_file():
            raise
        f = open(lock_path, "rb")  # another user's lock file: a read-only descriptor locks as well
    with f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        else:
            f.seek(0)
            while True:  # LK_LOCK gives up after about 10 s; a cache build takes minutes
                try:
                    msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    time.sleep(0.2)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            else:
                f.seek(0)
                msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)


def append_csv_row(table: Path, fieldnames: list, row: dict) -> None:
    """Append ``row`` to the CSV ``table`` under its lock, writing the header into a new or empty file.

    A table written with other columns (by an older version) is first rewritten atomically with
    ``fieldnames`` followed by its own other columns: every old row and value is kept, new columns are
    empty in old rows. A last line cut short by a crash is ended before the new row, so rows never merge.
    """
    table = Path(table)
    with file_lock(table.with_name(table.name + ".lock")):
        old = table.read_bytes().decode("utf-8-sig") if table.is_file() else ""
        old_columns = next(csv.reader(io.StringIO(old)), []) if old.strip() else []
        columns = list(fieldnames) + [c for c in old_columns if c not in fieldnames]
        if old_columns and old_columns != columns:
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
            w.writeheader()
            w.writerows({k: v for k, v in r.items() if k is not None} for r in csv.DictReader(io.StringIO(old)))
            old = buf.getvalue()
            write_atomic(table, old.encode("utf-8"))
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        if not old_columns:
            w.writeheader()
        elif not old.endswith("\n"):
            buf.write("\n")
        w.writerow(row)
        with open(table, "ab" if old_columns else "wb") as f:
            f.write(buf.getvalue().encode("utf-8"))
