"""``neurosim train MODEL.toml [--mode stdp]``: a network that learns without labels by STDP
(a model file of ``kind = "stdp-wta"``, :mod:`neurosim.specs.plasticity`).

Learns on the first ``[training] images`` training images in one pass, labels the neurons
on the training images shown again with learning off, and classifies the test images.
Writes into the run folder (``--out``, default ``runs/<model name>``): ``wta.npz`` (input
weights ``w (n_input, n_exc)``, thresholds ``theta`` in mV, neuron ``labels``, the model's
TOML text under ``__model__``), ``metrics.json`` (test accuracy, images, time per training
image, synaptic operations), ``receptive-fields.png`` and ``checkpoint.npz`` (every
``checkpoint_every`` images and on Ctrl-C; ``--resume`` continues from it).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def run_stdp(args, model) -> int:
    from ..atomic import atomic_savez, atomic_write_text
    from ..data import load_dataset
    from ..errors import NeurosimError
    from ..kernels.wta import OPS_EI, OPS_IE, OPS_INPUT, OPS_UPDATES
    from ..learning.wta import WtaLearner, label_neurons, predict_labels
    from ..plot.receptive_fields import plot_receptive_fields

    for name in ("epochs",):
        if getattr(args, name, None) is not None:
            raise NeurosimError(f"--{name}: an STDP network learns in one pass over "
                                "[training] images; set images in the model file instead")
    tr = model.training
    if args.seed is not None:
        from dataclasses import replace
        model = replace(model, training=replace(tr, seed=args.seed))
        tr = model.training
    ds = load_dataset(args.dataset or model.dataset, data_dir=args.data_dir, flat=True)
    n_in = model.network.n_input
    if ds.x_train.shape[1] != n_in:
        raise NeurosimError(f"{model.source}: network: n_input: {n_in} inputs but the "
                            f"{ds.name} images have {ds.x_train.shape[1]} pixels")
    if tr.images > len(ds.x_train):
        raise NeurosimError(f"{model.source}: training: images: {tr.images} asked, the "
                            f"{ds.name} training split has {len(ds.x_train)}")
    n = tr.images or len(ds.x_train)
    x_learn = ds.x_train[:n]
    from ..runs import run_folder

    out = run_folder(args.out, model.name)  # a sanitised name inside runs/, or --out
    if out.exists() and not out.is_dir():
        raise NeurosimError(f"{out}: --out exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)

    learner = WtaLearner(model, progress=not args.no_progress,
                         checkpoint_path=out / "checkpoint.npz")
    t0 = time.perf_counter()
    try:
        learner.fit(x_learn, resume=args.resume)
    except KeyboardInterrupt:
        print(f"neurosim train: interrupted; the learned images are saved in "
              f"{out / 'checkpoint.npz'}. Continue with the same command and --resume",
              file=sys.stderr)
        return 130
    t_learn = time.perf_counter() - t0
    ops = learner.ops_.copy()
    n_label = tr.label_images or n
    t1 = time.perf_counter()
    lab_counts = learner.responses(x_learn[:n_label])
    labels, _ = label_neurons(lab_counts, ds.y_train[:n_label], ds.n_classes)
    test_counts = learner.responses(ds.x_test, seed=tr.seed + 2)
    t_eval = time.perf_counter() - t1
    pred = predict_labels(test_counts, labels, ds.n_classes)
    acc = float(np.mean(pred == ds.y_test))
    from ..specs.io import dumps_wta
    atomic_savez(out / "wta.npz", w=learner.w_, theta=learner.theta_, labels=labels,
                 __model__=np.array(dumps_wta(model)))
    side = int(round(np.sqrt(n_in)))
    shape = (side, side) if side * side == n_in else (1, n_in)
    plot_receptive_fields(learner.w_, shape, out / "receptive-fields.png", labels=labels,
                          title=f"{model.name}: input weights after {n} images "
                                f"(label of each neuron in orange)")
    hist = learner.history_
    metrics = {
        "model": model.name, "model_file": str(args.model), "mode": "stdp",
        "dataset": {"name": ds.name, "description": ds.description, "n_learn": n,
                    "n_label": n_label, "n_test": int(len(ds.x_test))},
        "seed": tr.seed,
        "test_accuracy": acc,
        "neurons_per_class": np.bincount(labels, minlength=ds.n_classes).tolist(),
        "mean_exc_spikes_per_image": float(np.mean(hist["spikes"])) if hist["spikes"] else 0,
        "mean_showings_per_image": float(np.mean(hist["showings"])) if hist["showings"] else 0,
        "ops_learning": {"sops_input_exc": int(ops[OPS_INPUT]), "sops_exc_inh": int(ops[OPS_EI]),
                         "sops_inh_exc": int(ops[OPS_IE]),
                         "neuron_updates": int(ops[OPS_UPDATES])},
        "timing": {"learn_seconds": t_learn, "seconds_per_training_image": t_learn / max(n, 1),
                   "label_and_test_seconds": t_eval},
    }
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    print(f"{model.name}: test accuracy {100 * acc:.2f}% on {len(ds.x_test)} {ds.name} test "
          f"images after learning on {n} images without labels "
          f"({t_learn / max(n, 1) * 1e3:.1f} ms per training image); run folder {out}")
    return 0
