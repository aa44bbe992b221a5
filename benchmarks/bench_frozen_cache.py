"""Per-epoch time of the frozen path: head on cached embeddings vs fitting through the frozen backbone.

Prints both, their ratio (target: at least 20x), and the one-time cost of computing the embeddings.
Then ``train.fit_head`` as the notebooks run it (validation macro AP every epoch, building and tracing
included) with ``HEAD_STEPS_PER_EXECUTION`` steps per call against one, and whether both train the same head.
"""
import os
import tempfile

import numpy as np

from _common import dataset, header, timer

from vienna_utils import config, model, pipeline, train
from vienna_utils.features import embeddings_from_arrays
from vienna_utils.weights import resolve_weights

N, SIZE, EPOCHS_CACHED = 1024, 96, 20
keras = config.import_keras()

paths, Y, source = dataset(N)
header("frozen backbone: cached embeddings vs fitting through the backbone", source)
w = resolve_weights("none")
os.environ.setdefault("VIENNA_CACHE_DIR", tempfile.mkdtemp(prefix="bench-frozen-"))
images = pipeline.image_array(paths, SIZE)  # the on-disk uint8 cache (memory map)

with timer() as t_emb:
    feats = embeddings_from_arrays(images, w)
cfg = train.FitConfig(epochs=EPOCHS_CACHED, patience=EPOCHS_CACHED, batch_size=32)
head = model.build_head(1280, Y.shape[1])
head.compile(optimizer="adam", loss=cfg.make_loss())
head.fit(**pipeline.fit_input(feats[:64], Y[:64], 32), epochs=1, verbose=0)  # build, compile: not timed
with timer() as t_cached:
    head.fit(**pipeline.fit_input(feats, Y, 32), epochs=EPOCHS_CACHED, verbose=0)
per_epoch_cached = t_cached.seconds / EPOCHS_CACHED

full = model.build_model(Y.shape[1], mode="frozen", weights=w, image_size=SIZE, augment=False)
full.compile(optimizer="adam", loss=cfg.make_loss())
full.fit(**pipeline.fit_input(pipeline.Rows(images, range(64)), Y[:64], 32), epochs=1, verbose=0)
with timer() as t_full:
    full.fit(**pipeline.fit_input(images, Y, 32), epochs=1, verbose=0)
per_epoch_full = t_full.seconds

ratio = per_epoch_full / per_epoch_cached
print(f"images: {N} at {SIZE} px, batch 32")
print(f"embeddings, once:                    {t_emb.seconds:8.2f} s")
print(f"epoch on cached embeddings:          {per_epoch_cached:8.4f} s  (mean of {EPOCHS_CACHED})")
print(f"epoch through the frozen backbone:   {per_epoch_full:8.2f} s")
print(f"ratio (backbone / cached):           {ratio:8.1f}x   target >= 20x: {'met' if ratio >= 20 else 'NOT met'}")
print(f"cache pays off after {t_emb.seconds / max(per_epoch_full - per_epoch_cached, 1e-9):.1f} epochs")

# fit_head: several training steps per call of the traced function (TensorFlow, one device) against one
# (the quick profile's 60 head epochs, all run)
HEAD_EPOCHS = config.get_profile("quick").head_epochs
cfg_head = train.FitConfig(epochs=HEAD_EPOCHS, patience=HEAD_EPOCHS, batch_size=32)
n_tr = N * 3 // 4
steps_default = train.HEAD_STEPS_PER_EXECUTION
fits = {}
for steps in (1, steps_default):
    train.HEAD_STEPS_PER_EXECUTION = steps
    with timer() as t_head:
        res = train.fit_head(feats[:n_tr], Y[:n_tr], feats[n_tr:], Y[n_tr:], cfg_head)
    fits[steps] = (t_head.seconds, res.model.steps_per_execution, res.model.get_weights())
train.HEAD_STEPS_PER_EXECUTION = steps_default
same = all(np.array_equal(a, b) for a, b in zip(fits[1][2], fits[steps_default][2]))
print(f"fit_head, {HEAD_EPOCHS} epochs of {n_tr} rows, 1 step per call:   {fits[1][0]:8.2f} s")
print(f"fit_head, {steps_default} steps per call (ran {fits[steps_default][1]}):       "
      f"{fits[steps_default][0]:8.2f} s   ratio {fits[1][0] / fits[steps_default][0]:.2f}x; "
      f"same weights: {same}")
if not same:
    raise SystemExit("fit_head trained a different head with several steps per call: it must train the same one")
