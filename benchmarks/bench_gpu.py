"""Is the accelerator busy? Training and inference speed of the project's model against its ceiling and a peer.

Measures, on whatever device Keras sees (CPU included, at a size given on the command line):

- ``decode_img_s``: image files decoded and resized by the project's loader (threads);
- ``h2d_mb_s``: host-to-device copies of uint8 batches (JAX and torch backends);
- ``train_img_s``: steady-state training through the project's own fine-tuning path
  (``train.fine_tune``: uint8 arrays in, augmentation on the device, validation macro AP each epoch),
  top blocks unfrozen as the walkthrough trains; ``train_img_s_full``: the same with every layer
  unfrozen, which is what the peer figure trains;
- ``step_img_s``: the ceiling, a bare compiled train step of the same model on device-resident data;
- ``infer_img_s``: ``predict`` of the same model on uint8 host arrays;
- ``compile_s``: first epoch minus a steady epoch, for a first and a repeated model of the same shape
  (the repeat hits the compilation cache);
- ``gpu_busy``: mean utilisation reported by ``nvidia-smi`` while the fine-tuning epochs ran;
- ``peer_train_img_s`` / ``peer_infer_img_s``: torchvision's ``efficientnet_b0`` under the same
  conditions (batch, size, data already on the device), when torch is installed; else null.

Writes ``results/bench_gpu.json`` (``--out``) after every stage, so a run that is cut short keeps what it
measured, and prints a table with the ratios the GPU issue asks for.

Usage: ``python benchmarks/bench_gpu.py`` (CPU: 64 px, small), ``python benchmarks/bench_gpu.py --size 224
--batch 128 --images 4096 --precision mixed_bfloat16`` on a GPU.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vienna_utils import config  # noqa: E402

N_LABELS = 29


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=None, help="image side in px (default 224 on a GPU, 64 on CPU)")
    p.add_argument("--batch", type=int, default=None, help="batch size (default 128 on a GPU, 32 on CPU)")
    p.add_argument("--images", type=int, default=None, help="training images per epoch (default 4096 GPU, 128 CPU)")
    p.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs (the first one compiles)")
    p.add_argument("--precision", default="float32", help="float32 or mixed_bfloat16 / mixed_float16")
    p.add_argument("--decode-images", type=int, default=None, help="files for the decode figure")
    p.add_argument("--no-peer", action="store_true", help="skip torchvision's EfficientNet-B0")
    p.add_argument("--stages", default="decode,h2d,fine_tune,full,ceiling,peer",
                   help="comma-separated stages to run (default all)")
    p.add_argument("--out", default=None, help="JSON path (default results/bench_gpu.json)")
    return p.parse_args(argv)


class GpuBusy:
    """Samples ``nvidia-smi`` utilisation every 100 ms in the background; ``mean()`` over a window."""

    def __init__(self):
        self.samples, self.proc = [], None
        exe = shutil.which("nvidia-smi")
        if exe:
            self.proc = subprocess.Popen([exe, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                                          "-lms", "100"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.samples.append((time.perf_counter(), float(line.split(",")[0])))
            except ValueError:
                continue

    def mean(self, t0, t1):
        vals = [u for t, u in self.samples if t0 <= t <= t1]
        return round(float(np.mean(vals)) / 100.0, 3) if vals else None

    def stop(self):
        if self.proc:
            self.proc.terminate()


class Report:
    """The JSON written after every stage."""

    def __init__(self, path: Path, **fields):
        self.path, self.data = path, dict(fields)

    def set(self, **fields):
        self.data.update(fields)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(self.data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def stage(self, name, fn):
        if name not in self.stages:
            return
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as e:  # one broken stage must not cost the others' figures
            self.set(**{f"error_{name}": f"{type(e).__name__}: {e}"})
            print(f"[{name}] FAILED: {type(e).__name__}: {e}", flush=True)
        print(f"[{name}] {time.perf_counter() - t0:.1f} s", flush=True)


def decode_rate(n: int, size: int) -> float:
    """Images/s of the image cache's decoder (worker processes) on freshly written 256 px trademark-like PNGs."""
    from vienna_utils.images import Decoder
    from vienna_utils.synthetic import make_dataset
    with tempfile.TemporaryDirectory() as tmp:
        out = make_dataset(out_dir=Path(tmp) / "marks", n_images=n, image_size=256, seed=90210)
        paths = sorted(str(p) for p in Path(out).rglob("*.png"))[:n]
        with Decoder(processes=(os.cpu_count() or 1) > 2) as dec:
            dec.load(paths[:64], size)  # workers started
            t0 = time.perf_counter()
            dec.load(paths, size)
            return len(paths) / (time.perf_counter() - t0)


def h2d_rate(batch: np.ndarray, backend: str):
    """MB/s of uint8 host -> device copies (None where the backend gives no handle on it)."""
    if backend == "jax":
        import jax
        dev = jax.devices()[0]
        jax.device_put(batch, dev).block_until_ready()
        t0 = time.perf_counter()
        for _ in range(20):
            jax.device_put(batch, dev).block_until_ready()
        return batch.nbytes * 20 / (time.perf_counter() - t0) / 1e6
    if backend == "torch":
        import torch
        if not torch.cuda.is_available():
            return None
        src = torch.from_numpy(batch).pin_memory()
        src.to("cuda")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(20):
            src.to("cuda", non_blocking=True)
        torch.cuda.synchronize()
        return batch.nbytes * 20 / (time.perf_counter() - t0) / 1e6
    return None


def bare_step_rate(model, x: np.ndarray, y: np.ndarray, steps: int = 20):
    """Images/s of a compiled train step on device-resident data (JAX: stateless step; else train_on_batch)."""
    keras = config.import_keras()
    if keras.backend.backend() != "jax":
        model.train_on_batch(x, y)
        t0 = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(x, y)
        return len(x) * steps / (time.perf_counter() - t0)
    import jax
    loss_fn = keras.losses.BinaryCrossentropy()
    opt = model.optimizer

    def loss_and_updates(trainable, non_trainable, xb, yb):
        pred, non_trainable = model.stateless_call(trainable, non_trainable, xb, training=True)
        return loss_fn(yb, pred), non_trainable

    grad_fn = jax.value_and_grad(loss_and_updates, has_aux=True)

    @jax.jit
    def step(state, xb, yb):
        trainable, non_trainable, opt_vars = state
        (loss, non_trainable), grads = grad_fn(trainable, non_trainable, xb, yb)
        trainable, opt_vars = opt.stateless_apply(opt_vars, grads, trainable)
        return loss, (trainable, non_trainable, opt_vars)

    state = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
             [v.value for v in opt.variables])
    xd, yd = jax.device_put(x), jax.device_put(y)
    loss, state = step(state, xd, yd)
    loss.block_until_ready()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss, state = step(state, xd, yd)
    loss.block_until_ready()
    return len(x) * steps / (time.perf_counter() - t0)


def peer_rates(size: int, batch: int, steps: int, precision: str):
    """torchvision efficientnet_b0: training and inference images/s on device-resident data, or (None, None)."""
    try:
        import torch
        import torchvision
    except ImportError:
        return None, None, "torch/torchvision not installed"
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    net = torchvision.models.efficientnet_b0(weights=None, num_classes=N_LABELS).to(dev)
    net = net.to(memory_format=torch.channels_last)
    x = torch.rand(batch, 3, size, size, device=dev).to(memory_format=torch.channels_last)
    y = (torch.rand(batch, N_LABELS, device=dev) > 0.9).float()
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    amp = dict(device_type=dev, dtype=torch.bfloat16, enabled=precision != "float32")

    def sync():
        if dev == "cuda":
            torch.cuda.synchronize()

    def train_steps(k):
        for _ in range(k):
            opt.zero_grad(set_to_none=True)
            with torch.autocast(**amp):
                loss = loss_fn(net(x).float(), y)
            loss.backward()
            opt.step()
        sync()

    net.train()
    train_steps(3)
    t0 = time.perf_counter()
    train_steps(steps)
    train = batch * steps / (time.perf_counter() - t0)
    net.eval()
    with torch.no_grad(), torch.autocast(**amp):
        for _ in range(3):
            net(x)
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            net(x)
        sync()
    infer = batch * steps / (time.perf_counter() - t0)
    return train, infer, f"torchvision {torchvision.__version__} efficientnet_b0, {dev}, channels_last, {precision}"


def main(argv=None):
    args = parse_args(argv)
    keras = config.import_keras()
    backend = keras.backend.backend()
    on_gpu = not config.device().startswith("CPU")
    size = args.size or (224 if on_gpu else 64)
    batch = args.batch or (128 if on_gpu else 32)
    n = args.images or (4096 if on_gpu else 128)
    n = max(batch, n // batch * batch)
    if args.precision != "float32":
        keras.mixed_precision.set_global_policy(args.precision)
    results = config.results_dir()
    out = Path(args.out) if args.out else results / "bench_gpu.json"
    rep = Report(out, device=config.device(), backend=backend, keras=keras.__version__, image_size=size,
                 batch_size=batch, train_images=n, precision=args.precision, cpu_cores=os.cpu_count(),
                 date=time.strftime("%Y-%m-%d"))
    print(f"# bench_gpu: {config.device()}, Keras {keras.__version__} ({backend}), {size} px, batch {batch}, "
          f"{n} training images/epoch, {args.precision}", flush=True)
    rep.stages = set(args.stages.split(","))
    busy = GpuBusy()

    from vienna_utils import model as model_mod
    from vienna_utils import train
    from vienna_utils.weights import Weights
    # random numbers under the pretrained BatchNormalization policy: speed does not depend on the values
    w = Weights("imagenet", None, None, "speed benchmark (random values, pretrained BN policy)")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    y = (rng.random((n, N_LABELS)) < 0.1).astype("float32")
    n_val = max(batch, n // 8)
    xv, yv = x[:n_val], y[:n_val]

    rep.stage("decode", lambda: rep.set(decode_img_s=round(decode_rate(
        args.decode_images or (2000 if on_gpu else 200), size), 1)))
    rep.stage("h2d", lambda: rep.set(h2d_mb_s=(lambda r: None if r is None else round(r, 1))(
        h2d_rate(x[:batch], backend))))

    def fine_tune_runs(mode, repeat):
        head = model_mod.build_head(1280, N_LABELS)
        cfg = train.FitConfig(epochs=args.epochs, batch_size=batch, learning_rate=1e-4, early_stop=False)
        suffix = "" if mode == "top_blocks" else f"_{mode}"
        for label in ("first", "repeat")[:1 + repeat]:
            t0 = time.perf_counter()
            fit = train.fine_tune(x, y, xv, yv, head, mode, w, cfg)
            t1 = time.perf_counter()
            ep = fit.history.get("epoch_seconds")
            if not ep or len(ep) < 2:
                raise RuntimeError("train.fine_tune recorded no epoch_seconds")
            steady = float(np.median(ep[1:]))
            fields = {f"compile_s_{label}{suffix}": round(ep[0] - steady, 1),
                      f"fine_tune_wall_s_{label}{suffix}": round(t1 - t0, 1)}
            if label == "first":
                fields.update({f"train_img_s{suffix}": round(n / steady, 1), f"epoch_s{suffix}": round(steady, 2),
                               f"gpu_busy{suffix}": busy.mean(t1 - steady * (len(ep) - 1), t1),
                               "jit_compile": bool(fit.model.jit_compile)})
                if mode == "top_blocks":
                    rep.model = fit.model
            rep.set(**fields)
        if repeat:
            rep.set(compile_s=rep.data[f"compile_s_repeat{suffix}"])

    rep.stage("fine_tune", lambda: fine_tune_runs("top_blocks", repeat=True))
    rep.stage("full", lambda: fine_tune_runs("full", repeat=False))

    def ceiling_and_inference():
        m = getattr(rep, "model", None) or model_mod.build_model(N_LABELS, "top_blocks", weights=w, image_size=size)
        if m.optimizer is None or not m.compiled:
            m.compile(optimizer=keras.optimizers.Adam(1e-4), loss="binary_crossentropy")
        rep.set(step_img_s=round(bare_step_rate(m, x[:batch], y[:batch]), 1))
        m.predict(x[:2 * batch], batch_size=2 * batch, verbose=0)  # compiles for this batch shape
        t0 = time.perf_counter()
        m.predict(x, batch_size=2 * batch, verbose=0)
        rep.set(infer_img_s=round(n / (time.perf_counter() - t0), 1))

    rep.stage("ceiling", ceiling_and_inference)
    def peer():
        tr, inf, what = peer_rates(size, batch, 20, args.precision)
        rep.set(peer_train_img_s=None if tr is None else round(tr, 1),
                peer_infer_img_s=None if inf is None else round(inf, 1), peer=what)

    if args.no_peer:
        rep.set(peer_train_img_s=None, peer_infer_img_s=None, peer="skipped (--no-peer)")
    else:
        rep.stage("peer", peer)
    busy.stop()
    d = rep.data

    def ratio(a, b):
        return f"{d[a] / d[b]:.2f}" if d.get(a) and d.get(b) else "n/a"

    print(f"\n{'figure':<22}{'value':>12}")
    for k in ("decode_img_s", "h2d_mb_s", "train_img_s", "train_img_s_full", "step_img_s", "infer_img_s",
              "compile_s_first",
              "compile_s_repeat", "gpu_busy", "peer_train_img_s", "peer_infer_img_s"):
        print(f"{k:<22}{str(d.get(k)):>12}")
    print(f"train / ceiling: {ratio('train_img_s', 'step_img_s')};  train (top blocks) / peer (all layers): "
          f"{ratio('train_img_s', 'peer_train_img_s')};  train (all layers) / peer: "
          f"{ratio('train_img_s_full', 'peer_train_img_s')};  infer / peer: {ratio('infer_img_s', 'peer_infer_img_s')}")
    print(f"written: {out}")
    return d


if __name__ == "__main__":
    main()
