"""On-disk caches for decoded images and backbone embeddings: chunked, checked, resumable.

One cached array is one uint8 or float32 ``.npy`` file (memory-mappable, read
back in batches with ``os.pread``) plus a JSON sidecar written last that
holds its shape, dtype and a CRC-32 per chunk of rows. It is built in chunks
of rows into ``<key>.npy.partial``; each finished chunk leaves a done-marker
(its CRC), written after the chunk's bytes, so a killed build resumes at the
first unfinished chunk and never trusts a half-written one. The finished file
is renamed into place (atomic), then its sidecar. Builders of one key take
a lock file (``.<key>.lock``) in the cache folder, so two processes that
need the same array (two notebooks, two test lanes) build it once: the second
waits and then loads the first one's file; a damaged file is repaired only
under that lock, so a reader never removes a file that a builder is finishing.

A cache is returned only after its checks pass (once per process and file):
the sidecar parses and matches the expected shape, dtype and key, the file
has the exact size, every chunk's CRC matches, and a float array is not all
zeros. Otherwise a :class:`CacheWarning` says why, and the chunks that fail
are rebuilt (the good ones are kept). A cache folder that cannot be written
(read-only, full disk) does not stop the run: a note, and the array is built
in a private temporary folder that is removed at exit.

Cache keys. The default key of a set of image files (``"stat"``) covers each
file's path, size, modification time, inode change time (ctime) and inode:
it costs one ``stat`` per file (770,000 files in seconds) and catches an
image replaced by another of the same size with its mtime set back, because
no user-level tool can set ctime back. ``"content"`` hashes every file's bytes
(SHA-256, read once per call: minutes for hundreds of GB); use it where ctime
is unreliable (some network or FAT file systems) or to keep a cache across
copies that reset the times. Choose it per call (``cache_key=``) or for a
whole session with ``VIENNA_CACHE_KEY=content``.
"""
from __future__ import annotations

import atexit
import errno
import hashlib
import json
import os
import shutil
import tempfile
import threading
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .safe_files import file_lock

__all__ = ["CacheWarning", "KEY_MODES", "cache_dir", "fingerprint", "files_fingerprint", "ArrayCache",
           "read_rows"]

KEY_MODES = ("stat", "content")
_VERSION = 2
_READ_BLOCK = 8 << 20
_verified: set = set()
_UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}
_lock = threading.Lock()


class CacheWarning(UserWarning):
    """A cache was found damaged, stale or unwritable; the run continues (rebuilt or uncached)."""


def _note(message: str):
    warnings.warn(message, CacheWarning, stacklevel=3)


def cache_dir() -> Path:
    """``data/cache`` (``VIENNA_CACHE_DIR`` overrides)."""
    from .config import data_dir
    return Path(os.environ.get("VIENNA_CACHE_DIR") or data_dir() / "cache")


def _content_digest(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def files_fingerprint(paths, how: str | None = None) -> str:
    """Hash of a list of files that changes when any file changes.

    Parameters
    ----------
    paths : list of str
    how : {"stat", "content"}, optional
        ``"stat"``: path, size, mtime, ctime and inode of each file (default,
        cheap); ``"content"``: path and SHA-256 of each file's bytes. Default
        ``VIENNA_CACHE_KEY``, else ``"stat"`` (see the module docstring).
    """
    how = how or os.environ.get("VIENNA_CACHE_KEY", "stat")
    if how not in KEY_MODES:
        raise ValueError(f"cache key {how!r} is not one of {KEY_MODES}; set VIENNA_CACHE_KEY or cache_key= "
                         "to one of them.")
    paths = [str(p) for p in paths]
    if how == "content":
        with ThreadPoolExecutor() as pool:
            parts = list(pool.map(_content_digest, paths))
    else:
        parts = []
        for p in paths:
            st = os.stat(p)
            parts.append(f"{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}")
    h = hashlib.sha256(how.encode())
    for p, part in zip(paths, parts):
        h.update(f"{p}\0{part}\n".encode())
    return h.hexdigest()


def fingerprint(**inputs) -> str:
    """A short key from JSON-serialisable inputs."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _npy_offset(path) -> int:
    with open(path, "rb") as f:
        major, _ = np.lib.format.read_magic(f)
        reader = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        reader(f)
        return f.tell()


def _header(shape, dtype) -> bytes:
    import io
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                               "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue()


_fds: dict = {}


def _fd(path: str) -> int:
    """A read-only descriptor of the file now at ``path`` (a rebuilt cache is a new file: a new descriptor)."""
    ino = os.stat(path).st_ino
    with _lock:
        old = _fds.get(path)
        if old is not None and old[0] == ino:
            return old[1]
        _fds[path] = (ino, os.open(path, os.O_RDONLY))
        if old is not None:
            os.close(old[1])
        return _fds[path][1]


def _whole_file_memmap(x) -> bool:
    if not isinstance(x, np.memmap) or x.filename is None or not x.flags.c_contiguous:
        return False
    try:
        return x.offset + x.nbytes == os.path.getsize(x.filename) and x.offset == _npy_offset(x.filename)
    except (OSError, ValueError):
        return False


def read_rows(array, rows) -> np.ndarray:
    """``array[rows]`` as a new in-memory array, without mapping the rest of a file into memory.

    A whole-file memory map (what the caches return) is read with ``os.pread``
    (the process's resident memory grows by the rows read, not by the pages a
    memory map would touch); anything else is indexed.
    """
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    if not _whole_file_memmap(array):
        return np.asarray(array[rows])
    row_shape, dtype = array.shape[1:], array.dtype
    row_bytes = int(np.prod(row_shape, dtype=np.int64)) * dtype.itemsize
    out = np.empty((len(rows), *row_shape), dtype=dtype)
    if len(rows) == 0:
        return out
    if rows.min() < 0 or rows.max() >= len(array):
        raise IndexError(f"rows out of range for {array.filename} with {len(array)} rows")
    flat = out.reshape(len(rows), -1).view(np.uint8)
    order = np.argsort(rows, kind="stable")
    srt = rows[order]
    cut = np.flatnonzero(np.diff(srt) != 1) + 1
    fd = _fd(array.filename)
    for s, e in zip(np.r_[0, cut], np.r_[cut, len(srt)]):
        want = (e - s) * row_bytes
        data = os.pread(fd, want, array.offset + int(srt[s]) * row_bytes)
        if len(data) != want:
            raise OSError(f"{array.filename}: cache file is truncated; delete it to rebuild.")
        flat[order[s:e]] = np.frombuffer(data, np.uint8).reshape(e - s, row_bytes)
    return out


class ArrayCache:
    """One cached array ``<folder>/<key>.npy``, built in chunks of rows, checked before use.

    Parameters
    ----------
    folder : Path
    key : str
    shape : tuple
        The full array's shape (rows first).
    dtype : numpy dtype
    chunk_rows : int
        Rows per chunk: the unit of writing, resuming and checking.
    what : str
        What the array holds, for notes ("image cache", "embedding cache").
    """

    def __init__(self, folder, key: str, shape, dtype, chunk_rows: int, what: str = "cache"):
        self.folder, self.key, self.what = Path(folder), key, what
        self.shape, self.dtype = tuple(int(s) for s in shape), np.dtype(dtype)
        self.chunk_rows = max(1, int(chunk_rows))
        self.row_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize
        self.n_chunks = -(-self.shape[0] // self.chunk_rows)

    @property
    def path(self) -> Path:
        return self.folder / f"{self.key}.npy"

    def _meta_path(self, path) -> Path:
        return Path(f"{path}.json")

    def _chunk(self, i) -> tuple:
        return i * self.chunk_rows, min(self.shape[0], (i + 1) * self.chunk_rows)

    def _expected_meta(self) -> dict:
        return {"version": _VERSION, "key": self.key, "shape": list(self.shape), "dtype": self.dtype.str,
                "chunk_rows": self.chunk_rows}

    def _chunk_crcs(self, path, offset, chunks=None) -> tuple:
        """CRC-32 of the chunks' bytes (read in blocks: no memory map) and whether any byte is non-zero."""
        crcs, nonzero = {}, False
        buf = bytearray(min(_READ_BLOCK, max(1, self.chunk_rows * self.row_bytes)))
        with open(path, "rb") as f:
            for i in (range(self.n_chunks) if chunks is None else sorted(chunks)):
                s, e = self._chunk(i)
                f.seek(offset + s * self.row_bytes)
                left, crc = (e - s) * self.row_bytes, 0
                while left:
                    view = memoryview(buf)[:min(left, len(buf))]
                    got = f.readinto(view)
                    if not got:
                        break
                    crc = zlib.crc32(view[:got], crc)
                    nonzero = nonzero or bool(np.frombuffer(view[:got], np.uint8).any())
                    left -= got
                crcs[i] = crc if not left else None
        return crcs, nonzero

    def _problem(self, path) -> tuple:
        """(problem or None, bad chunk numbers) of the finished file at ``path``."""
        meta_path = self._meta_path(path)
        if not meta_path.is_file():
            return "its checksum file is missing", None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            crcs = meta.pop("crc32")
        except (ValueError, KeyError, OSError) as e:
            return f"its checksum file is unreadable ({e})", None
        if meta != self._expected_meta() or len(crcs) != self.n_chunks:
            return "it was written for another shape, dtype or layout", None
        try:
            offset = _npy_offset(path)
        except (OSError, ValueError) as e:
            return f"its header is unreadable ({e})", None
        if path.stat().st_size != offset + self.shape[0] * self.row_bytes:
            return "it is truncated or has the wrong size", None
        got, nonzero = self._chunk_crcs(path, offset)
        bad = [i for i, crc in enumerate(crcs) if got[i] != crc]
        if bad:
            return f"{len(bad)} of {self.n_chunks} chunks fail their checksum", bad
        if self.dtype.kind == "f" and self.shape[0] and not nonzero:
            return "it holds only zeros", None
        return None, []

    def load(self, note_missing: bool = False, _locked: bool = False):
        """The cached array as a read-only memory map, or None (with a note when a cache was there but bad)."""
        path = self.path
        if not path.is_file():
            return None
        try:
            stamp = self._stamp(path)
            problem, bad = self._problem(path) if stamp not in _verified else (None, [])
        except FileNotFoundError:  # moved away by another process's repair: look again under the lock
            if _locked:
                return None
            with self._key_lock(self.folder):
                return self.load(note_missing, _locked=True)
        if stamp not in _verified:
            if problem and not _locked:
                # Another process may be finishing this file (renamed in, sidecar not yet written):
                # look again once its builder has let go of the key's lock.
                with self._key_lock(self.folder):
                    return self.load(note_missing, _locked=True)
            if problem:
                _note(f"{self.what} {path} is not used: {problem}; rebuilding it.")
                self._salvage(path, bad)
                return None
            _verified.add(stamp)
        return np.load(path, mmap_mode="r", allow_pickle=False)

    @contextmanager
    def _key_lock(self, folder):
        """Hold ``<folder>/.<key>.lock`` (processes and threads); a folder that cannot hold it: no lock."""
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
            lock = file_lock(Path(folder) / f".{self.key}.lock")
            lock.__enter__()
        except OSError as e:
            if e.errno not in _UNWRITABLE:
                raise
            lock = None
        try:
            yield
        finally:
            if lock is not None:
                lock.__exit__(None, None, None)

    def _stamp(self, path) -> tuple:
        """What a check was made on: the file's identity and what it was checked to hold."""
        st = Path(path).stat()
        return str(path), st.st_ino, st.st_mtime_ns, st.st_size, json.dumps(self._expected_meta())

    def _salvage(self, path, bad):
        """Move a finished file with some bad chunks back to building, keeping the good chunks."""
        partial, marks = self._partial_paths(self.folder)
        try:
            if bad is None:
                path.unlink(missing_ok=True)
                return
            crcs = json.loads(self._meta_path(path).read_text(encoding="utf-8"))["crc32"]
            os.replace(path, partial)
            marks.mkdir(parents=True, exist_ok=True)
            for i, crc in enumerate(crcs):
                if i not in bad:
                    (marks / f"{i}").write_text(str(crc))
        except OSError:
            pass  # read-only: the build goes to a temporary folder
        finally:
            try:
                self._meta_path(path).unlink(missing_ok=True)
            except OSError:
                pass

    def _partial_paths(self, folder) -> tuple:
        return Path(folder) / f"{self.key}.npy.partial", Path(folder) / f"{self.key}.npy.chunks"

    def build(self, fill, progress: bool = False) -> np.memmap:
        """Compute the missing chunks with ``fill(start, stop) -> array`` and return the finished cache.

        A build interrupted earlier resumes: chunks with a valid done-marker
        are not computed again. An unwritable cache folder is replaced by a
        temporary one (with a note).
        """
        try:
            with self._key_lock(self.folder):
                hit = self.load(_locked=True) if self.path.is_file() else None  # built while we waited
                return hit if hit is not None else self._build_in(self.folder, fill, progress)
        except OSError as e:
            if e.errno not in _UNWRITABLE:
                raise
            hit = self.load() if self.path.is_file() else None
            if hit is not None:
                return hit
            tmp = Path(tempfile.mkdtemp(prefix="vienna-cache-"))
            atexit.register(shutil.rmtree, tmp, ignore_errors=True)
            _note(f"{self.what}: cannot write to {self.folder} ({e.strerror or e}); caching is optional, so "
                  f"this run uses the temporary folder {tmp} (removed at exit). Make the folder writable or "
                  "set VIENNA_CACHE_DIR to keep the cache.")
            return self._build_in(tmp, fill, progress)

    def _build_in(self, folder, fill, progress) -> np.memmap:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        partial, marks = self._partial_paths(folder)
        marks.mkdir(exist_ok=True)
        header = _header(self.shape, self.dtype)
        size = len(header) + self.shape[0] * self.row_bytes
        fd = os.open(partial, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.pread(fd, len(header), 0) != header or os.fstat(fd).st_size != size:
                os.ftruncate(fd, 0)
                for m in marks.iterdir():
                    m.unlink()
                os.pwrite(fd, header, 0)
                os.ftruncate(fd, size)
            done = self._resumable_chunks(partial, marks, len(header))
            todo = [i for i in range(self.n_chunks) if i not in done]
            if done and todo:
                _note(f"{self.what} {self.path}: resuming an interrupted build, "
                      f"{len(done)} of {self.n_chunks} chunks already done.")
            it = todo
            if progress:
                from tqdm.auto import tqdm
                it = tqdm(todo, desc=self.what, leave=False)
            for i in it:
                s, e = self._chunk(i)
                block = np.ascontiguousarray(fill(s, e), dtype=self.dtype)
                if block.shape != (e - s, *self.shape[1:]):
                    raise ValueError(f"{self.what}: chunk {i} has shape {block.shape}, "
                                     f"expected {(e - s, *self.shape[1:])}")
                raw = memoryview(block.reshape(-1)).cast("B")  # no copy
                written = os.pwrite(fd, raw, len(header) + s * self.row_bytes)
                if written != len(raw):
                    raise OSError(errno.ENOSPC, f"short write to {partial}")
                done[i] = zlib.crc32(raw)
                (marks / f"{i}").write_text(str(done[i]))  # done-marker, after the bytes
            os.fsync(fd)
        finally:
            os.close(fd)
        crcs = [done[i] for i in range(self.n_chunks)]
        meta = {**self._expected_meta(), "crc32": crcs}
        final = folder / self.path.name
        tmp_meta = folder / f".{final.name}.json.tmp-{os.getpid()}-{threading.get_ident()}"
        tmp_meta.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(partial, final)
        os.replace(tmp_meta, self._meta_path(final))
        shutil.rmtree(marks, ignore_errors=True)
        _verified.add(self._stamp(final))
        return np.load(final, mmap_mode="r", allow_pickle=False)

    def _resumable_chunks(self, partial, marks, offset) -> dict:
        """Chunks whose done-marker exists and whose bytes still match it."""
        marked = {}
        for m in marks.iterdir():
            try:
                marked[int(m.name)] = int(m.read_text())
            except ValueError:
                m.unlink()
        if not marked:
            return {}
        got, _ = self._chunk_crcs(partial, offset, [i for i in marked if i < self.n_chunks])
        return {i: crc for i, crc in marked.items() if i < self.n_chunks and got[i] == crc}
