"""Data-parallel training: padded batches, exact loss reduction, and equality with one device."""
import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from vienna_utils import config, distribution

pytestmark = pytest.mark.keras


def test_padded_batches_pad_each_batch_and_keep_the_batch_mean():
    x = np.arange(62 * 2, dtype="float32").reshape(62, 2)
    y = np.ones((62, 3), "float32")
    b = distribution.PaddedBatches(x, y, batch_size=16, multiple=4)
    assert b.sizes == [16, 16, 16, 14] and b.padded_sizes == [16, 16, 16, 16]
    xb, yb, wb = b[3]
    assert xb.shape == (16, 2) and (xb[14:] == 0).all() and (xb[:14] == x[48:]).all()
    # weighted sum over the padded size = plain mean over the real rows
    assert wb[14:].sum() == 0 and np.isclose((wb * 2.0).sum() / 16, 2.0)
    assert b.real_rows().sum() == 62 and len(b.real_rows()) == 64


def test_sum_reduction_keeps_weight_one_and_global_weighting_is_constant():
    x, y = np.zeros((22, 1), "float32"), np.zeros((22, 1), "float32")
    assert distribution.PaddedBatches(x, y, 16, 4, reduction="sum")[1][2][:6].tolist() == [1.0] * 6
    g = distribution.PaddedBatches(x, y, 16, 4, weighting="global")
    assert np.allclose(g[0][2], 24 / 22) and np.allclose(g[1][2][:6], 24 / 22) and (g[1][2][6:] == 0).all()


def test_each_host_feeds_its_slice_of_the_global_batch():
    x = np.arange(10, dtype="float32")[:, None]
    parts = [distribution.PaddedBatches(x, None, 10, 4, process=(p, 2))[0][0] for p in range(2)]
    assert np.concatenate(parts).ravel().tolist() == list(range(10)) + [0, 0]
    with pytest.raises(ValueError, match="hosts"):
        distribution.PaddedBatches(x, None, 10, 3, process=(0, 2))


def test_padding_correction_turns_padded_weighted_means_into_real_ones():
    values, sizes, padded = [0.9, 0.7, 0.4], [16, 16, 14], [16, 16, 16]
    reported = np.cumsum(np.multiply(values, padded)) / np.cumsum(padded)  # Keras' running means
    cb = distribution.PaddingCorrection((sizes, padded), keys=["loss"])
    cb.on_epoch_begin(0)
    cb.on_train_batch_end(1, {"loss": reported[1]})
    logs = {"loss": reported[2]}
    cb.on_epoch_end(0, logs)
    assert logs["loss"] == pytest.approx(np.dot(values, sizes) / sum(sizes), abs=1e-12)
    assert abs(reported[2] - logs["loss"]) > 1e-3  # the uncorrected value is really off


def test_one_device_and_unknown_names():
    d = distribution.resolve(None)
    assert d.devices == 1 and d.hosts == 1
    assert d.as_dict(32)["strategy"] == "one device" and d.as_dict(32)["global_batch_size"] == 32
    assert d.as_dict(32)["backend"] == config.keras_backend()
    with pytest.raises(ValueError, match="data_parallel"):
        distribution.resolve("model_parallel")


COMPARE = textwrap.dedent("""
    import json, sys, numpy as np
    {setup}
    from vienna_utils import train
    from vienna_utils.distribution import resolve
    keras = train.keras
    rng = np.random.default_rng(0)
    n_tr, n_va, L = {n_tr}, {n_va}, 3
    y = (rng.random((n_tr + n_va, L)) < 0.4).astype("float32")
    x = rng.normal(0, 1, (n_tr + n_va, 16)).astype("float32")
    x[:, :L] += 2 * y
    out = {{}}
    for name in [None, "data_parallel"]:
        dist = resolve(name)
        cfg = train.FitConfig(epochs=3, batch_size=16, patience=10, dropout={dropout}, seed=0, learning_rate=1e-2,
                              metrics=("binary_accuracy",))
        r = train.fit_head(x[:n_tr], y[:n_tr], x[n_tr:], y[n_tr:], cfg, distribution=dist)
        res = {{"devices": dist.devices, "record": r.distribution}}
        model, hist = r.model, r.history
        res["loss"] = [float(v) for v in hist["loss"]]
        res["val_macro_ap"] = [float(v) for v in hist["val_macro_ap"]]
        skip = ("loss", "val_macro_ap", "epoch_seconds")
        res["other"] = {{k: [float(v) for v in vs] for k, vs in hist.items() if k not in skip}}
        res["weights"] = [w.ravel().tolist() for w in model.get_weights()]
        res["scores"] = dist.predict(model, x[n_tr:], batch_size=8).tolist()
        out[str(name)] = res
    print(json.dumps(out))
""")

TF_SETUP = """import tensorflow as tf
tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)"""


def _compare(backend, tmp_path, setup="", env_extra=None, **kw):
    if config.keras_backend() != backend:
        pytest.skip(f"runs in the {backend} pass (KERAS_BACKEND={backend} pytest -m keras)")
    env = {**os.environ, "KERAS_BACKEND": backend, "VIENNA_CACHE_DIR": str(tmp_path), **(env_extra or {})}
    out = subprocess.run([sys.executable, "-c", COMPARE.format(setup=setup, **kw)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return got["None"], got["data_parallel"]


def _max_diff(a, b):
    return max(np.max(np.abs(np.subtract(u, v))) for u, v in zip(a, b, strict=True))


def _assert_same(one, many, tol=1e-5):
    assert _max_diff([one["loss"]], [many["loss"]]) < tol
    assert _max_diff([one["val_macro_ap"]], [many["val_macro_ap"]]) < tol
    assert _max_diff(one["weights"], many["weights"]) < tol
    assert _max_diff([one["scores"]], [many["scores"]]) < tol  # every validation row scored once
    assert set(one["other"]) == {"binary_accuracy", "val_binary_accuracy", "val_loss"} == set(many["other"])
    for key, vals in one["other"].items():
        assert _max_diff([vals], [many["other"][key]]) < tol, key


# a busy CPU can keep one virtual device's thread from an all-reduce past XLA's 40 s default: wait longer
JAX_4_DEVICES = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4 "
                              "--xla_cpu_collective_call_terminate_timeout_seconds=600"}


def test_data_parallel_on_4_jax_devices_equals_one_device(tmp_path):
    """62 training / 22 validation rows on 4 devices (padded batches, dropout on): the same model.

    Weights, validation loss, metrics and mAP, and every validation score equal one device's. The
    reported *training* loss and accuracy of an epoch with a padded batch are only bounded: on JAX, Keras
    feeds a PyDataset read by several threads in a rotated order (batches 1, 2, 3, 0), so the padded
    batch is not where PaddingCorrection expects it (README, "Several GPUs and hosts").
    """
    one, many = _compare("jax", tmp_path, env_extra=JAX_4_DEVICES, n_tr=62, n_va=22, dropout=0.2)
    assert one["devices"] == 1 and many["devices"] == 4
    assert many["record"] == {"strategy": "DataParallel", "devices": 4, "hosts": 1, "global_batch_size": 16,
                              "name": "data_parallel", "backend": "jax"}
    assert len(many["scores"]) == 22
    assert _max_diff(one["weights"], many["weights"]) < 1e-5
    assert _max_diff([one["scores"]], [many["scores"]]) < 1e-5
    assert _max_diff([one["val_macro_ap"]], [many["val_macro_ap"]]) < 1e-5
    for key in ("val_loss", "val_binary_accuracy"):
        assert _max_diff([one["other"][key]], [many["other"][key]]) < 1e-5, key
    assert _max_diff([one["loss"]], [many["loss"]]) < 1e-2  # the bound of the padded batch's share


def test_data_parallel_on_4_jax_devices_without_padding_equals_one_device_in_every_log(tmp_path):
    """64 / 24 rows: no batch is padded, so even the training loss and accuracy are one device's."""
    one, many = _compare("jax", tmp_path, env_extra=JAX_4_DEVICES, n_tr=64, n_va=24, dropout=0.2)
    _assert_same(one, many)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def test_data_parallel_on_2_hosts_equals_one_device(tmp_path):
    """Two processes on this machine stand for two hosts (2 CPU devices each, JAX's gloo collectives),
    started as the README's several-hosts recipe says: each feeds its slice of every global batch, and
    prediction gathers every host's outputs. 62 / 22 rows, dropout on: the one-device model, as on 4 devices
    of one host."""
    if config.keras_backend() != "jax":
        pytest.skip("runs in the jax pass (KERAS_BACKEND=jax pytest -m keras)")
    port = _free_port()
    setup = "from vienna_utils.distribution import resolve; resolve('data_parallel')  # initialize first"
    script = COMPARE.format(setup=setup, n_tr=62, n_va=22, dropout=0.2)
    procs = []
    for rank in range(2):
        env = {**os.environ, "KERAS_BACKEND": "jax", "VIENNA_CACHE_DIR": str(tmp_path / str(rank)),
               "XLA_FLAGS": "--xla_force_host_platform_device_count=2 "
                            "--xla_cpu_collective_call_terminate_timeout_seconds=600",
               "JAX_CPU_COLLECTIVES_IMPLEMENTATION": "gloo",
               "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"localhost:{port},localhost:{port}",
               "KERAS_DISTRIBUTION_NUM_PROCESSES": "2", "KERAS_DISTRIBUTION_PROCESS_ID": str(rank)}
        logs = [open(tmp_path / f"host{rank}.{kind}", "w+") for kind in ("out", "err")]  # noqa: SIM115
        procs.append((subprocess.Popen([sys.executable, "-c", script], env=env, stdout=logs[0], stderr=logs[1],
                                       text=True), logs))
    try:
        for p, _ in procs:
            p.wait(timeout=600)
    finally:
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
    got = []
    for p, (out, err) in procs:
        out.seek(0), err.seek(0)
        text_out, text_err = out.read(), err.read()
        out.close(), err.close()
        assert p.returncode == 0, text_err[-3000:]
        got.append(json.loads(text_out.strip().splitlines()[-1]))
    for host in got:
        one, many = host["None"], host["data_parallel"]
        assert many["record"] == {"strategy": "DataParallel", "devices": 4, "hosts": 2, "global_batch_size": 16,
                                  "name": "data_parallel", "backend": "jax"}
        assert len(many["scores"]) == 22  # every validation row, on every host
        assert _max_diff(one["weights"], many["weights"]) < 1e-5
        assert _max_diff([one["scores"]], [many["scores"]]) < 1e-5
        assert _max_diff([one["val_macro_ap"]], [many["val_macro_ap"]]) < 1e-5
        for key in ("val_loss", "val_binary_accuracy"):
            assert _max_diff([one["other"][key]], [many["other"][key]]) < 1e-5, key
        assert _max_diff([one["loss"]], [many["loss"]]) < 1e-2  # as on one host (see the 4-device test)
    assert got[0]["data_parallel"]["scores"] == got[1]["data_parallel"]["scores"]


def test_mirrored_strategy_on_2_tf_devices_equals_one_device(tmp_path):
    """61 / 21 rows (odd, so batches are padded) on 2 logical CPUs, dropout off (see the README)."""
    one, many = _compare("tensorflow", tmp_path, setup=TF_SETUP, n_tr=61, n_va=21, dropout=0.0)
    assert many["devices"] == 2 and many["record"]["strategy"] == "MirroredStrategy"
    _assert_same(one, many)


EMBED = textwrap.dedent("""
    import json, numpy as np
    {setup}
    from vienna_utils import features
    from vienna_utils.distribution import resolve
    from vienna_utils.weights import resolve_weights
    imgs = np.random.default_rng(0).integers(0, 255, (22, 32, 32, 3), dtype=np.uint8)
    w = resolve_weights("project")  # pretrained: random-init features are all near zero
    one = features.embeddings_from_arrays(imgs, w, batch_size=8)
    dist = resolve("data_parallel")
    many = features.embeddings_from_arrays(imgs, w, batch_size=8, distribution="data_parallel")  # by name
    print(json.dumps({{"devices": dist.devices, "shape": list(many.shape),
                      "max_diff": float(np.abs(one - many).max()), "scale": float(np.abs(one).max())}}))
""")


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_embeddings_on_several_devices_equal_one_device(backend, tmp_path):
    """22 images (batches of 8, so the last one is padded) through the project's pretrained backbone."""
    if config.keras_backend() != backend:
        pytest.skip(f"runs in the {backend} pass")
    env = {**os.environ, "KERAS_BACKEND": backend, "VIENNA_CACHE_DIR": str(tmp_path),
           **(JAX_4_DEVICES if backend == "jax" else {})}
    setup = TF_SETUP if backend == "tensorflow" else ""
    out = subprocess.run([sys.executable, "-c", EMBED.format(setup=setup)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["devices"] == (4 if backend == "jax" else 2) and got["shape"] == [22, 1280]
    assert got["scale"] > 0.01 and got["max_diff"] < 1e-5
