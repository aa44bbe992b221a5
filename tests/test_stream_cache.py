"""Chunked caches: resumable builds, integrity checks, rebuild notes, read-only folders, content keys; row reads."""
import errno
import json
import multiprocessing
import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from vienna_utils import cache, pipeline
from vienna_utils.cache import ArrayCache, CacheWarning


def _data(n=10, d=6, dtype=np.float32):
    return (np.arange(n * d).reshape(n, d) + 1).astype(dtype)


class Filler:
    """Fill function that records the chunks it computed and can fail after some."""

    def __init__(self, data, fail_after=None):
        self.data, self.fail_after, self.calls = data, fail_after, []

    def __call__(self, s, e):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt("killed")
        self.calls.append((s, e))
        return self.data[s:e]


def _cache(tmp_path, data, chunk_rows=3, key="k"):
    return ArrayCache(tmp_path / "c", key, data.shape, data.dtype, chunk_rows, what="test cache")


def test_build_load_and_no_leftovers(tmp_path):
    data = _data()
    c = _cache(tmp_path, data)
    assert c.load() is None
    got = c.build(Filler(data))
    np.testing.assert_array_equal(got, data)
    assert isinstance(got, np.memmap) and not got.flags.writeable
    np.testing.assert_array_equal(c.load(), data)
    # the finished file, its checksums and the (empty) lock file of the key: nothing partial
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [".k.lock", "k.npy", "k.npy.json"]


class SlowFiller(Filler):
    def __call__(self, s, e):
        time.sleep(0.2)
        return super().__call__(s, e)


def _build_in_process(folder, n, queue, barrier):
    """One of two processes that need the same cache (spawned: a fresh interpreter)."""
    data = _data(n=n)
    filler = SlowFiller(data)
    cache_ = ArrayCache(folder, "k", data.shape, data.dtype, 3, what="test cache")
    barrier.wait(60)  # both ask at the same moment (start-up times differ)
    got = cache_.build(filler)
    queue.put((np.asarray(got).tolist(), filler.calls))


def test_two_processes_build_one_cache_once(tmp_path):
    """Two notebooks (or test lanes) asking for the same array: one computes it, the other waits and loads it."""
    ctx = multiprocessing.get_context("spawn")
    queue, barrier = ctx.Queue(), ctx.Barrier(2)
    procs = [ctx.Process(target=_build_in_process, args=(tmp_path / "c", 12, queue, barrier)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    for values, _ in got:
        np.testing.assert_array_equal(values, _data(n=12))
    computed = sorted(c for _, calls in got for c in calls)
    assert computed == [(0, 3), (3, 6), (6, 9), (9, 12)]  # each chunk once, by one of the two


def test_threads_building_one_cache_share_it(tmp_path):
    data = _data(n=12)
    fillers = [SlowFiller(data) for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda f: _cache(tmp_path, data).build(f), fillers))
    for r in results:
        np.testing.assert_array_equal(r, data)
    assert sum(len(f.calls) for f in fillers) == 4


def test_a_reader_does_not_remove_a_file_its_builder_is_finishing(tmp_path):
    """Between the rename of the finished file and its sidecar, a reader waits for the builder's lock."""
    data = _data()
    c = _cache(tmp_path, data)
    c.build(Filler(data))
    meta = (tmp_path / "c" / "k.npy.json")
    saved = meta.read_bytes()
    meta.unlink()  # the moment after os.replace(partial, final), before the sidecar
    cache._verified.clear()
    released = threading.Event()

    def builder_finishes():
        with c._key_lock(tmp_path / "c"):
            started.set()
            time.sleep(0.3)
            meta.write_bytes(saved)
        released.set()

    started = threading.Event()
    t = threading.Thread(target=builder_finishes)
    t.start()
    started.wait(5)
    got = _cache(tmp_path, data).load()  # finds no sidecar, waits for the lock, looks again
    t.join()
    assert released.is_set()
    np.testing.assert_array_equal(got, data)


def test_killed_build_resumes_where_it_stopped(tmp_path):
    data = _data(n=11)
    c = _cache(tmp_path, data)
    with pytest.raises(KeyboardInterrupt):
        c.build(Filler(data, fail_after=2))
    assert c.load() is None  # a partial build is never returned
    second = Filler(data)
    with pytest.warns(CacheWarning, match="resuming an interrupted build, 2 of 4"):
        got = c.build(second)
    assert second.calls == [(6, 9), (9, 11)]
    np.testing.assert_array_equal(got, data)


def test_half_written_chunk_is_not_trusted_on_resume(tmp_path):
    data = _data(n=9)
    c = _cache(tmp_path, data)
    with pytest.raises(KeyboardInterrupt):
        c.build(Filler(data, fail_after=2))
    partial = tmp_path / "c" / "k.npy.partial"
    with open(partial, "r+b") as f:  # chunk 1's bytes damaged after its marker was written
        f.seek(os.path.getsize(partial) - 3 * 6 * 4 - 8)
        f.write(b"\xff" * 8)
    second = Filler(data)
    with pytest.warns(CacheWarning):
        np.testing.assert_array_equal(c.build(second), data)
    assert second.calls == [(3, 6), (6, 9)]


def _damage(path, how):
    size = os.path.getsize(path)
    if how == "flipped byte":
        with open(path, "r+b") as f:
            f.seek(size - 5)
            b = f.read(1)
            f.seek(size - 5)
            f.write(bytes([b[0] ^ 0xFF]))
    elif how == "truncated":
        os.truncate(path, size - 7)
    elif how == "empty":
        os.truncate(path, 0)
    elif how == "header only":
        os.truncate(path, 128)
    elif how == "checksum file missing":
        os.unlink(f"{path}.json")
    elif how == "checksum file truncated":
        meta = f"{path}.json"
        open(meta, "w").write(open(meta).read()[:20])
    elif how == "not a npy":
        open(path, "wb").write(b"garbage" * 100)


@pytest.mark.parametrize("how", ["flipped byte", "truncated", "empty", "header only", "checksum file missing",
                                 "checksum file truncated", "not a npy"])
def test_damaged_cache_is_never_returned_and_is_rebuilt_with_a_note(tmp_path, how):
    data = _data(n=12)
    c = _cache(tmp_path, data)
    c.build(Filler(data))
    cache._verified.clear()  # a new process
    _damage(c.path, how)
    with pytest.warns(CacheWarning, match="is not used"):
        assert c.load() is None
    again = Filler(data)
    np.testing.assert_array_equal(c.build(again), data)
    if how == "flipped byte":  # only the damaged chunk is computed again
        assert again.calls == [(9, 12)]
    cache._verified.clear()
    np.testing.assert_array_equal(c.load(), data)


def test_wrong_shape_or_dtype_or_all_zero_is_not_returned(tmp_path):
    data = _data(n=6)
    _cache(tmp_path, data).build(Filler(data))
    for shape, dtype in [((7, 6), np.float32), ((6, 6), np.float64), ((6, 5), np.float32)]:
        other = ArrayCache(tmp_path / "c", "k", shape, dtype, 3)
        with pytest.warns(CacheWarning, match="another shape"):
            assert other.load() is None
        _cache(tmp_path, data).build(Filler(data))
    zeros = np.zeros((6, 6), np.float32)
    z = _cache(tmp_path, zeros, key="z")
    z.build(Filler(zeros))
    cache._verified.clear()
    with pytest.warns(CacheWarning, match="only zeros"):
        assert z.load() is None


def test_unwritable_cache_folder_does_not_stop_the_run(tmp_path, monkeypatch):
    data = _data()
    c = _cache(tmp_path, data)
    real = ArrayCache._build_in

    def read_only(self, folder, fill, progress):
        if folder == tmp_path / "c":
            raise OSError(errno.EROFS, "Read-only file system")
        return real(self, folder, fill, progress)

    monkeypatch.setattr(ArrayCache, "_build_in", read_only)
    with pytest.warns(CacheWarning, match="cannot write"):
        got = c.build(Filler(data))
    np.testing.assert_array_equal(got, data)
    assert not (tmp_path / "c" / "k.npy").exists()


def test_fill_errors_are_not_mistaken_for_an_unwritable_folder(tmp_path):
    def fill(s, e):
        raise FileNotFoundError(errno.ENOENT, "image gone")
    with pytest.raises(FileNotFoundError):
        _cache(tmp_path, _data()).build(fill)


def test_keys_see_a_same_size_same_mtime_replacement(tmp_path):
    p = tmp_path / "a.bmp"  # same dimensions: same file size
    Image.new("RGB", (8, 8), (255, 0, 0)).save(p)
    st = os.stat(p)
    k_stat, k_content = cache.files_fingerprint([p], "stat"), cache.files_fingerprint([p], "content")
    Image.new("RGB", (8, 8), (0, 0, 255)).save(p)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.path.getsize(p) == st.st_size and os.stat(p).st_mtime_ns == st.st_mtime_ns
    assert cache.files_fingerprint([p], "stat") != k_stat
    assert cache.files_fingerprint([p], "content") != k_content
    with pytest.raises(ValueError, match="VIENNA_CACHE_KEY"):
        cache.files_fingerprint([p], "mtime")


def test_read_rows_reads_shuffled_and_repeated_rows_from_the_file(tmp_path):
    data = _data(n=50, d=7, dtype=np.uint8)
    mm = _cache(tmp_path, data, chunk_rows=8).build(Filler(data))
    rows = np.array([49, 3, 4, 5, 3, 0, 17, 18, 49])
    np.testing.assert_array_equal(cache.read_rows(mm, rows), data[rows])
    np.testing.assert_array_equal(cache.read_rows(mm[10:20], [1, 2]), data[[11, 12]])  # a view: indexed
    with pytest.raises(IndexError):
        cache.read_rows(mm, [50])


def test_rows_select_and_join():
    a, b = _data(5, 3), -_data(2, 3)
    r = pipeline.Rows.join([a, b], [0, 1, 0, 1], [4, 0, 4, 1])
    np.testing.assert_array_equal(r.take([0, 1, 3]), np.stack([a[4], b[0], b[1]]))
    assert r.shape == (4, 3) and r.dtype == np.float32
    np.testing.assert_array_equal(r.select([3, 2])[:], np.stack([b[1], a[4]]))


def test_batches_reshuffle_every_epoch_with_a_seed():
    x = np.arange(10)[:, None]
    ds = pipeline.Batches(x, np.zeros((10, 1)), batch_size=4, shuffle=True, seed=3)
    epochs = []
    for _ in range(2):
        epochs.append(np.concatenate([ds[i][0][:, 0] for i in range(len(ds))]))
        ds.on_epoch_end()
    assert len(ds) == 3 and all(sorted(e) == list(range(10)) for e in epochs)
    assert not np.array_equal(epochs[0], epochs[1])
    again = pipeline.Batches(x, np.zeros((10, 1)), batch_size=4, shuffle=True, seed=3)
    np.testing.assert_array_equal(np.concatenate([again[i][0][:, 0] for i in range(3)]), epochs[0])


def test_image_array_is_a_checked_memory_map(tmp_path, monkeypatch):
    monkeypatch.setenv("VIENNA_CACHE_DIR", str(tmp_path / "cache"))
    paths = []
    for i in range(5):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.new("RGB", (20, 10), (i * 50, 10, 0)).save(paths[-1])
    a = pipeline.image_array(paths, 16)
    assert isinstance(a, np.memmap) and a.shape == (5, 16, 16, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, pipeline.image_array(paths, 16, use_cache=False))
    files = list((tmp_path / "cache" / "images").glob("*.npy"))
    meta = json.loads(open(f"{files[0]}.json").read())
    assert meta["shape"] == [5, 16, 16, 3] and len(meta["crc32"]) == 1
    cache._verified.clear()
    _damage(files[0], "flipped byte")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        b = pipeline.image_array(paths, 16)
    assert any(issubclass(x.category, CacheWarning) for x in w)
    np.testing.assert_array_equal(a, b)


def test_rows_of_a_rebuilt_cache_come_from_the_new_file(tmp_path):
    data = _data(n=6, dtype=np.uint8)
    c = _cache(tmp_path, data)
    first = c.build(Filler(data))
    np.testing.assert_array_equal(cache.read_rows(first, [5, 0]), data[[5, 0]])
    os.unlink(c.path)  # the cache is rebuilt (new file, same name) with other bytes
    second = c.build(Filler(data + 1))
    np.testing.assert_array_equal(cache.read_rows(second, [5, 0]), data[[5, 0]] + 1)
