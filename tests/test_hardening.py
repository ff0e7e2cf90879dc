"""The catalogue of bad inputs and faults: every case is answered in one line.

Each case runs ``neurosim`` in-process (``cli.main``) in a fresh folder that already holds the
outputs of a previous run, and asserts four facts:

1. the exit status (2: bad input, 1: a fault such as a full disk, 130: interrupted);
2. stderr is exactly one line, ``neurosim CMD: error: ...`` (no traceback);
3. the line names what is wrong: the file and the field (or the path, for an I/O fault);
4. the previous run's files are untouched, and nothing new was written (bad input is
   refused before any work).

Faults that need a running command (a full disk at a checkpoint or a figure, a read-only
folder, a lock held by another process, Ctrl-C in start-up) are simulated by patching the one
function that would meet them; as this suite runs as root, permission bits cannot make a
folder read-only, so the write probe is made to fail with ``EROFS`` as a read-only mount does.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import shutil
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from hardening_files import LAYERED, POPULATIONS, dumps, spoil

from neurosim import cli

NET, MLP = "net.toml", "mlp.toml"
SIM = ["simulate", NET, "--no-plots", "--no-progress"]
TRAIN = ["train", MLP, "--no-progress"]


@dataclass(frozen=True)
class Case:
    """One bad input: the files to create, the command line, the expected status and the
    words the one line must contain."""

    id: str
    argv: tuple[str, ...]
    expect: tuple[str, ...]
    files: dict = field(default_factory=dict)
    status: int = 2


def _net(path, value=None, **kw):
    doc = spoil(POPULATIONS, path, value) if "drop" not in kw else spoil(POPULATIONS, path)
    return {NET: dumps(doc)}


def _mlp(path, value=None, drop=False):
    return {MLP: dumps(spoil(LAYERED, path) if drop else spoil(LAYERED, path, value))}


# -- population networks (simulate) ---------------------------------------------------------
N0 = "populations.0."
NEURON = N0 + "neuron."
PROJ = "projections.0."
NET_VALUES = [
    (NEURON + "tau_m", v, "tau_m") for v in (float("nan"), -1.0, 0.0, float("inf"), "x", True)
] + [
    (NEURON + "r_m", -1.0, "r_m"), (NEURON + "r_m", float("nan"), "r_m"),
    (NEURON + "v_th", -70.0, "v_th"), (NEURON + "t_ref", -1.0, "t_ref"),
    (NEURON + "v_rest", float("inf"), "v_rest"), (NEURON + "v_reset", float("nan"), "v_reset"),
    (NEURON + "kind", "nope", "kind"), (NEURON + "kind", 3, "kind"),
    (NEURON + "bogus", 1.0, "bogus"), (NEURON + "reset", "sideways", "reset"),
    (N0 + "size", 0, "size"), (N0 + "size", -5, "size"), (N0 + "size", 1.5, "size"),
    (N0 + "size", "ten", "size"), (N0 + "size", True, "size"),
    (N0 + "size", 10**9, "memory"), (N0 + "name", "", "name"), (N0 + "name", 7, "name"),
    ("populations.1.name", "exc", "duplicate"),
    (N0 + "current", float("nan"), "current"), (N0 + "current", float("inf"), "current"),
    (N0 + "v_init.dist", "bogus", "dist"), (N0 + "v_init.low", float("nan"), "low"),
    (N0 + "v_init.high", -70.0, "high"), (N0 + "v_init.low", -1e300, "low"),
    (N0 + "v_init.bogus", 1.0, "bogus"), (N0 + "v_init", {"dist": "constant",
                                                         "value": float("nan")}, "value"),
    (N0 + "v_init", {"dist": "normal", "mean": -55.0, "std": -1.0}, "std"),
    (N0 + "v_init", "x", "v_init"),
    (PROJ + "weight", float("nan"), "weight"), (PROJ + "weight", float("inf"), "weight"),
    (PROJ + "weight", 1e300, "weight"), (PROJ + "weight", "x", "weight"),
    (PROJ + "weight", True, "weight"), (PROJ + "weight", [[0.1] * 5] * 20, "weight"),
    ("projections.1.weight", [[0.1] * 20] * 4, "weight"),
    ("projections.1.weight", [[float("nan")] * 20] * 5, "weight"),
    ("projections.1.weight", [["a"] * 20] * 5, "weight"),
    (PROJ + "delay", -1.0, "delay"), (PROJ + "delay", float("nan"), "delay"),
    (PROJ + "delay", float("inf"), "delay"), (PROJ + "delay", "x", "delay"),
    (PROJ + "delay", 1e9, "memory"),
    (PROJ + "p", 1.5, "p"), (PROJ + "p", -0.1, "p"), (PROJ + "p", float("nan"), "p"),
    (PROJ + "connectivity", "bogus", "connectivity"),
    (PROJ + "connectivity", "one_to_one", "connectivity"),
    (PROJ + "pre", "nobody", "pre"), (PROJ + "post", "nobody", "post"),
    (PROJ + "synapse.tau", 0.0, "tau"), (PROJ + "synapse.tau", float("nan"), "tau"),
    (PROJ + "synapse.tau", -1.0, "tau"), (PROJ + "synapse.kind", "bogus", "kind"),
    (PROJ + "synapse", 5, "synapse"), (PROJ + "target", 5, "target"),
    (PROJ + "bogus", 1, "bogus"), (PROJ + "autapses", "yes", "autapses"),
    (PROJ + "seed", -1, "seed"), (PROJ + "seed", 1.5, "seed"),
    (NEURON + "tau_m", 1e-300, "tau_m"), (PROJ + "delay", 1e300, "memory"),
    ("simulation.dt", 1e-300, "memory"),
    ("simulation.dt", 0.0, "dt"), ("simulation.dt", -0.1, "dt"),
    ("simulation.dt", float("nan"), "dt"), ("simulation.dt", float("inf"), "dt"),
    ("simulation.dt", "x", "dt"), ("simulation.dt", 50.0, "dt"),
    ("simulation", {"dt": 25.0, "duration": 200.0}, "tau_m"),
    ("simulation.duration", 0.0, "duration"), ("simulation.duration", -1.0, "duration"),
    ("simulation.duration", float("inf"), "duration"),
    ("simulation.duration", float("nan"), "duration"),
    ("simulation.duration", 1e12, "memory"),
    ("simulation.seed", -1, "seed"), ("simulation.seed", "x", "seed"),
    ("simulation.monitors.spikes", ["ghost"], "spikes"),
    ("simulation.monitors.rates", ["ghost"], "rates"),
    ("simulation.monitors.state", [{"population": "ghost"}], "population"),
    ("simulation.monitors.state", [{"population": "exc", "variables": ["q"]}], "variables"),
    ("simulation.monitors.state", [{"population": "exc", "indices": [99]}], "indices"),
    ("simulation.monitors.state", "x", "state"),
    ("simulation.monitors", 3, "monitors"), ("simulation", "x", "simulation"),
    ("simulation.bogus", 1, "bogus"), ("bogus", 1, "bogus"), ("name", 5, "name"),
    ("populations", [], "populations"), ("populations", "x", "populations"),
    ("projections", "x", "projections"), ("populations.0", "x", "population 0"),
]
CASES = [Case(f"net-{path}={value!r}"[:80], tuple(SIM), (NET, word), _net(path, value))
         for path, value, word in NET_VALUES]
CASES += [
    Case("net-no-neuron", tuple(SIM), (NET, "neuron"), _net(N0 + "neuron", drop=True)),
    Case("net-no-synapse", tuple(SIM), (NET, "synapse"), _net(PROJ + "synapse", drop=True)),
    Case("net-indegree-too-large", tuple(SIM), (NET, "indegree"), {NET: dumps(spoil(
        POPULATIONS, "projections.0", {"pre": "exc", "post": "inh", "target": "e",
                                       "synapse": {"kind": "exp_current", "tau": 5.0},
                                       "connectivity": "fixed_indegree", "indegree": 99,
                                       "allow_multapses": False}))}),
    Case("net-two-synapses-one-target", tuple(SIM), (NET, "synapse"), {NET: dumps(spoil(
        POPULATIONS, "projections", POPULATIONS["projections"] + [
            spoil(POPULATIONS["projections"][0], "synapse.tau", 3.0)]))}),
    Case("net-malformed-toml", tuple(SIM), (NET, "malformed TOML"), {NET: "name = \n"}),
    Case("net-binary", tuple(SIM), (NET, "cannot read"), {NET: b"\xff\xfe\x00garbage"}),
    Case("net-empty", tuple(SIM), (NET, "missing"), {NET: ""}),
    Case("net-missing", tuple(SIM), (NET, "no such model file")),
    Case("net-is-a-folder", tuple(SIM), (NET, "folder"), {NET: "<dir>"}),
    Case("net-is-a-fifo", tuple(SIM), (NET, "FIFO"), {NET: "<fifo>"}),
    Case("net-is-dev-zero", ("simulate", "/dev/zero", "--no-plots"), ("/dev/zero", "device")),
    Case("simulate-layered-model", ("simulate", MLP, "--no-plots"), (MLP, "population"),
         _mlp("name", "tiny-mlp")),
    Case("simulate-duration-inf", (*SIM, "--duration", "inf"), ("--duration", "finite"),
         _net("name", "tiny-net")),
    Case("simulate-duration-nan", (*SIM, "--duration", "nan"), ("--duration",),
         _net("name", "tiny-net")),
    Case("simulate-duration-negative", (*SIM, "--duration", "-5"), ("--duration",),
         _net("name", "tiny-net")),
    Case("simulate-dt-above-duration", (*SIM, "--duration", "0.01"), ("--duration", "dt"),
         _net("name", "tiny-net")),
    Case("simulate-duration-text", (*SIM, "--duration", "long"), ("--duration",),
         _net("name", "tiny-net")),
    Case("simulate-duration-huge", (*SIM, "--duration", "1e13"), (NET, "memory"),
         _net("name", "tiny-net")),
    Case("simulate-seed-negative", (*SIM, "--seed", "-1"), ("--seed",),
         _net("name", "tiny-net")),
    Case("simulate-nir-option", (*SIM, "--timesteps", "10"), (NET, "--timesteps"),
         _net("name", "tiny-net")),
    Case("simulate-engine-bogus", (*SIM, "--engine", "gpu"), ("--engine",),
         _net("name", "tiny-net")),
    Case("simulate-max-memory-text", (*SIM, "--max-memory", "lots"), ("--max-memory",),
         _net("name", "tiny-net")),
    Case("simulate-max-memory-zero", (*SIM, "--max-memory", "0"), ("--max-memory",),
         _net("name", "tiny-net")),
    Case("simulate-max-memory-below-need", (*SIM, "--max-memory", "1K"),
         (NET, "memory", "budget"), _net("name", "tiny-net")),
    Case("no-command", (), ("COMMAND",)),
    Case("unknown-command", ("frobnicate",), ("frobnicate",)),
]

# -- layered models (train) -----------------------------------------------------------------
L0 = "layers.0."
TR = "training."
MLP_VALUES = [
    (L0 + "units", v, "units") for v in (0, -3, 1.5, "x", True)
] + [
    (L0 + "units", 10**9, "memory"), (L0 + "activation", "bogus", "activation"),
    (L0 + "activation", "softmax", "softmax"), (L0 + "kind", "bogus", "kind"),
    (L0 + "bogus", 1, "bogus"), ("layers", [], "layers"), ("layers", "x", "layers"),
    ("layers.1.units", 5, "units"),
    ("input_shape", [], "input_shape"), ("input_shape", [0], "input_shape"),
    ("input_shape", ["a"], "input_shape"), ("input_shape", [1, 2], "layer 0"),
    ("input_shape", "x", "input_shape"), ("input_shape", [63], "input_shape"),
    (TR + "learning_rate", float("inf"), "learning_rate"),
    (TR + "learning_rate", float("nan"), "learning_rate"),
    (TR + "learning_rate", 0.0, "learning_rate"), (TR + "learning_rate", -1.0, "learning_rate"),
    (TR + "learning_rate", "x", "learning_rate"),
    (TR + "batch_size", 0, "batch_size"), (TR + "epochs", -1, "epochs"),
    (TR + "momentum", 2.0, "momentum"), (TR + "beta2", float("nan"), "beta2"),
    (TR + "optimizer", "bogus", "optimizer"), (TR + "loss", "bogus", "loss"),
    (TR + "schedule", "bogus", "schedule"), (TR + "validation_fraction", 0.95,
                                             "validation_fraction"),
    (TR + "l2", -1.0, "l2"), (TR + "l1", float("inf"), "l1"), (TR + "patience", -1, "patience"),
    (TR + "seed", -1, "seed"), (TR + "eps", 0.0, "eps"), (TR + "gamma", float("inf"), "gamma"),
    (TR + "step_size", 0, "step_size"), (TR + "bogus", 1, "bogus"),
    ("init.weights", "bogus", "weights"), ("init.seed", -1, "seed"),
    ("data.dataset", "bogus", "dataset"), ("data.scaling", "bogus", "scaling"),
    ("name", 3, "name"), ("bogus", 1, "bogus"),
]
CASES += [Case(f"mlp-{path}={value!r}"[:80], tuple(TRAIN), (MLP, word), _mlp(path, value))
          for path, value, word in MLP_VALUES]
OK_MLP = _mlp("name", "tiny-mlp")
CASES += [
    Case("mlp-no-name", tuple(TRAIN), (MLP, "name"), _mlp("name", drop=True)),
    Case("mlp-no-layers", tuple(TRAIN), (MLP, "layers"), _mlp("layers", drop=True)),
    Case("train-population-network", ("train", NET), (NET, "layered"),
         _net("name", "tiny-net")),
    Case("train-epochs-negative", (*TRAIN, "--epochs", "-1"), ("--epochs",), OK_MLP),
    Case("train-seed-negative", (*TRAIN, "--seed", "-1"), ("--seed",), OK_MLP),
    Case("train-npz-without-file", (*TRAIN, "--dataset", "npz"), ("npz", "--data-dir"),
         OK_MLP),
    Case("train-data-dir-missing", (*TRAIN, "--dataset", "mnist", "--data-dir", "nowhere"),
         ("nowhere",), OK_MLP),
    Case("train-resume-without-checkpoint", (*TRAIN, "--out", "fresh", "--resume"),
         ("checkpoint.npz", "no checkpoint"), OK_MLP),
    Case("train-unknown-option", (*TRAIN, "--colour", "red"), ("--colour",), OK_MLP),
    Case("train-model-is-dev-zero", ("train", "/dev/zero"), ("/dev/zero", "device")),
    Case("compare-timesteps-zero", ("compare", MLP, "--timesteps", "0"), ("--timesteps",),
         OK_MLP),
    Case("compare-timesteps-text", ("compare", MLP, "--timesteps", "x,y"), ("--timesteps",),
         OK_MLP),
    Case("compare-timesteps-huge", ("compare", MLP, "--timesteps", "1000000000",
                                    "--no-progress"), (MLP, "memory", "rasters"), OK_MLP),
    Case("compare-samples-zero", ("compare", MLP, "--samples", "0"), ("--samples",), OK_MLP),
    Case("compare-dt-zero", ("compare", MLP, "--dt", "0"), ("--dt",), OK_MLP),
    Case("compare-dt-nan", ("compare", MLP, "--dt", "nan"), ("--dt",), OK_MLP),
    Case("compare-dt-inf", ("compare", MLP, "--dt", "inf"), ("--dt",), OK_MLP),
    Case("compare-seed-negative", ("compare", MLP, "--seed", "-1"), ("--seed",), OK_MLP),
    Case("compare-params-missing", ("compare", MLP, "--params", "nowhere"), ("nowhere",),
         OK_MLP),
    Case("compare-population-network", ("compare", NET), (NET,), _net("name", "tiny-net")),
    Case("export-out-is-folder", ("export", MLP, "--out", "runs"), ("runs", "folder"),
         OK_MLP),
    Case("export-dt-zero", ("export", MLP, "--out", "m.nir", "--dt", "0"), ("--dt",),
         OK_MLP),
    Case("export-samples-zero", ("export", MLP, "--out", "m.nir", "--samples", "0"),
         ("--samples",), OK_MLP),
    Case("export-params-for-population", ("export", NET, "--out", "n.nir", "--params",
                                          "runs/tiny-mlp"), (NET, "--params"),
         _net("name", "tiny-net")),
    Case("export-seed-negative", ("export", NET, "--out", "n.nir", "--seed", "-2"),
         ("--seed",), _net("name", "tiny-net")),
    Case("evaluate-no-folder", ("evaluate", "nowhere"), ("nowhere", "no such run folder")),
    Case("evaluate-no-params", ("evaluate", "runs/tiny-net"), ("params.npz",)),
    Case("demo-unknown", ("demo", "no-such-demo"), ("no-such-demo",)),
    Case("demo-no-name", ("demo",), ("NAME",)),
    Case("demo-seed-negative", ("demo", "lif", "--seed", "-1"), ("--seed",)),
]


# -- data files (train --dataset npz / IDX) ---------------------------------------------------
def _npz_bytes(**arrays) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _digits_like(n=40, **over):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.random((n, 64), dtype=np.float32),
              "y_train": np.arange(n) % 10, "x_test": rng.random((10, 64), dtype=np.float32),
              "y_test": np.arange(10)}
    arrays.update(over)
    return {k: v for k, v in arrays.items() if v is not None}


def _forged_npz() -> bytes:
    """A 2 KB archive whose header claims 10^12 float32 values."""
    raw = _npz_bytes(**_digits_like())
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float32))
    header["shape"] = (10**12,)
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    buf.write(b"\0" * 1024)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = buf.getvalue() if item.filename == "x_train.npy" else src.read(item)
            dst.writestr(item.filename, data)
    return out.getvalue()


NPZ = (*TRAIN, "--dataset", "npz", "--data-dir", "d.npz")
DATA_CASES = [
    ("missing-array", _npz_bytes(**_digits_like(y_test=None)), "y_test"),
    ("object-array", _npz_bytes(**_digits_like(x_train=np.array([{"a": 1}], dtype=object))),
     "object"),
    ("nan-sample", _npz_bytes(**_digits_like(x_train=np.full((40, 64), np.nan, np.float32))),
     "NaN"),
    ("inf-sample", _npz_bytes(**_digits_like(x_test=np.full((10, 64), np.inf))), "infinite"),
    ("float64-overflow", _npz_bytes(**_digits_like(x_test=np.full((10, 64), 1e300))),
     "x_test"),
    ("negative-label", _npz_bytes(**_digits_like(y_train=-np.ones(40, np.int64))), "labels"),
    ("float-labels", _npz_bytes(**_digits_like(y_train=np.zeros(40))), "y_train"),
    ("label-matrix", _npz_bytes(**_digits_like(y_train=np.zeros((40, 2), np.int64))),
     "y_train"),
    ("label-count", _npz_bytes(**_digits_like(y_train=np.zeros(39, np.int64))), "y_train"),
    ("sample-shapes", _npz_bytes(**_digits_like(x_test=np.zeros((10, 63), np.float32))),
     "x_test"),
    ("wrong-input-size", _npz_bytes(**_digits_like(
        x_train=np.zeros((40, 63), np.float32), x_test=np.zeros((10, 63), np.float32))),
     "input_shape"),
    ("too-many-classes", _npz_bytes(**_digits_like(y_train=np.arange(40) % 20)), "units"),
    ("string-samples", _npz_bytes(**_digits_like(x_train=np.array(["a"] * 40))), "x_train"),
    ("empty-training-set", _npz_bytes(**_digits_like(
        x_train=np.zeros((0, 64), np.float32), y_train=np.zeros(0, np.int64))), "empty"),
    ("not-a-zip", b"PK\x03\x04 but not really", "not a readable"),
    ("empty-file", b"", "not a readable"),
    ("forged-header", _forged_npz(), "header claims"),
    ("fifo", "<fifo>", "FIFO"),
    ("folder", "<dir>", "folder"),
]
CASES += [Case(f"npz-{name}", NPZ, ("d.npz", word), {**OK_MLP, "d.npz": content})
          for name, content, word in DATA_CASES]
CASES += [Case("npz-dev-zero", (*TRAIN, "--dataset", "npz", "--data-dir", "/dev/zero"),
               ("/dev/zero", "device"), OK_MLP)]


def _idx(code: int, dims, data: bytes | None = None) -> bytes:
    head = bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    if data is None:
        data = bytes(int(np.prod(dims)))
    return head + data


def _idx_folder(**over) -> dict:
    files = {"idx/train-images-idx3-ubyte": _idx(8, (20, 2, 2)),
             "idx/train-labels-idx1-ubyte": _idx(8, (20,), bytes(range(10)) * 2),
             "idx/t10k-images-idx3-ubyte": _idx(8, (10, 2, 2)),
             "idx/t10k-labels-idx1-ubyte": _idx(8, (10,), bytes(range(10)))}
    for k, v in over.items():
        name = f"idx/{k.replace('_', '-')}"
        if v is None:
            files.pop(name)
        else:
            files[name] = v
    return files


IDX_MLP = {MLP: dumps(spoil(LAYERED, "input_shape", [4]))}
IDX = (*TRAIN, "--dataset", "mnist", "--data-dir", "idx")
IDX_CASES = [
    ("bad-magic", {"t10k_images_idx3_ubyte": b"\x01\x02\x08\x03" + bytes(52)}, "magic"),
    ("truncated", {"t10k_images_idx3_ubyte": _idx(8, (10, 2, 2))[:-5]}, "truncated"),
    ("trailing", {"t10k_images_idx3_ubyte": _idx(8, (10, 2, 2)) + b"xx"}, "trailing"),
    ("huge-claim", {"t10k_images_idx3_ubyte": _idx(8, (10**4, 10**4, 10**4), b"")},
     "memory"),
    ("no-dimensions", {"t10k_images_idx3_ubyte": b"\x00\x00\x08\x00"}, "dimensions"),
    ("short", {"t10k_images_idx3_ubyte": b"\x00\x00"}, "too short"),
    ("two-dims", {"t10k_images_idx3_ubyte": _idx(8, (10, 4))}, "3 dimensions"),
    ("label-count", {"t10k_labels_idx1_ubyte": _idx(8, (9,))}, "labels"),
    ("no-labels", {"t10k_labels_idx1_ubyte": None}, "missing"),
    ("image-sizes", {"train_images_idx3_ubyte": _idx(8, (20, 3, 3))}, "differ"),
    ("fifo", {"t10k_images_idx3_ubyte": "<fifo>"}, "FIFO"),
    ("gz-huge-claim", {"t10k_images_idx3_ubyte": None,
                       "t10k_images_idx3_ubyte.gz": gzip.compress(
                           _idx(8, (10**4, 10**4, 10**4), bytes(1000)))}, "memory"),
    ("gz-corrupt", {"t10k_images_idx3_ubyte": None,
                    "t10k_images_idx3_ubyte.gz": b"\x1f\x8b\x08garbage"}, "cannot read"),
]
CASES += [Case(f"idx-{name}", IDX, ("idx", word), {**IDX_MLP, **_idx_folder(**over)})
          for name, over, word in IDX_CASES]


# -- run files (evaluate, compare --params, train --resume) -----------------------------------
RUN = "runs/tiny-mlp"
METRICS_CASES = [
    ("string-seed", {"seeds": {"training": "3"}}, "seeds.training"),
    ("negative-seed", {"seeds": {"training": -1}}, "seeds.training"),
    ("bad-dataset", {"dataset": {"name": "bogus"}}, "dataset.name"),
    ("data-dir-number", {"dataset": {"name": "digits", "data_dir": 5}}, "data_dir"),
    ("no-dataset", {"dataset": "digits"}, "metrics"),
    ("list", [], "metrics"),
    ("not-json", "{not json", "metrics"),
]


def _metrics(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        base = {"dataset": {"name": "digits", "data_dir": None}, "seeds": {"training": 0}}
        base.update(content)
        content = base
    return json.dumps(content)


CASES += [Case(f"metrics-{name}", ("evaluate", RUN), ("metrics.json", word),
               {f"{RUN}/metrics.json": _metrics(content)}) for name, content, word in
          METRICS_CASES]
CASES += [Case(f"compare-params-metrics-{name}", ("compare", MLP, "--params", RUN),
               ("metrics.json", word), {**OK_MLP, f"{RUN}/metrics.json": _metrics(content)})
          for name, content, word in METRICS_CASES[:3]]


def _params_file(tmp: Path, how: str) -> bytes:
    """params.npz of the previous run, spoiled in one way."""
    with np.load(tmp / RUN / "params.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if how == "population-spec":
        arrays["__spec__"] = np.array(dumps(POPULATIONS))
    elif how == "nan-weight":
        arrays["0.W"] = np.full_like(arrays["0.W"], np.nan)
    elif how == "float64-overflow":
        arrays["0.W"] = np.full(arrays["0.W"].shape, 1e300)
    elif how == "wrong-shape":
        arrays["0.W"] = np.zeros((3, 3), np.float32)
    elif how == "no-spec":
        del arrays["__spec__"]
    elif how == "spec-not-text":
        arrays["__spec__"] = np.arange(3)
    elif how == "spec-bad-toml":
        arrays["__spec__"] = np.array("name = ")
    elif how == "extra-array":
        arrays["9.Q"] = np.zeros(2)
    elif how == "string-weight":
        arrays["0.W"] = np.array(["x"] * arrays["0.W"].size).reshape(arrays["0.W"].shape)
    elif how == "missing-bias":
        del arrays["1.b"]
    return _npz_bytes(**arrays)


PARAMS_CASES = [("population-spec", "population network"), ("nan-weight", "W"),
                ("float64-overflow", "float32"), ("wrong-shape", "shape"),
                ("no-spec", "__spec__"), ("spec-not-text", "__spec__"),
                ("spec-bad-toml", "malformed"), ("extra-array", "9.Q"),
                ("string-weight", "W"), ("missing-bias", "parameters")]
CASES += [Case(f"params-{how}", ("evaluate", RUN), ("params.npz", word),
               {f"{RUN}/params.npz": how}) for how, word in PARAMS_CASES]
CASES += [Case(f"compare-params-{how}", ("compare", MLP, "--params", RUN),
               ("params.npz", word), {**OK_MLP, f"{RUN}/params.npz": how})
          for how, word in PARAMS_CASES[:4]]
CASES += [
    Case("params-not-a-zip", ("evaluate", RUN), ("params.npz", "not a readable"),
         {f"{RUN}/params.npz": b"not a zip"}),
    Case("params-fifo", ("evaluate", RUN), ("params.npz", "FIFO"),
         {f"{RUN}/params.npz": "<fifo>"}),
    Case("params-forged-header", ("evaluate", RUN), ("params.npz", "header claims"),
         {f"{RUN}/params.npz": _forged_npz()}),
]


def _checkpoint(tmp: Path, how: str) -> bytes:
    with np.load(tmp / RUN / "checkpoint.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if how == "negative-epoch":
        arrays["extra.epoch"] = np.array(-3)
    elif how == "history-lengths":
        arrays["extra.history.loss"] = np.zeros(5)
    elif how == "nan-optimizer":
        key = next(k for k in arrays if k.startswith("extra.opt.") and arrays[k].size > 1)
        arrays[key] = np.full_like(arrays[key], np.nan)
    elif how == "old-format":
        for k in ("extra.seed.init", "extra.seed.training", "extra.data.fingerprint"):
            del arrays[k]
    elif how == "best-epoch":
        arrays["extra.best_epoch"] = np.array(7)
    elif how == "stopped":
        arrays["extra.stopped"] = np.array(5)
    return _npz_bytes(**arrays)


RESUME = (*TRAIN, "--out", RUN, "--resume")
CASES += [
    Case(f"resume-{how}", RESUME, ("checkpoint.npz", word),
         {**OK_MLP, f"{RUN}/checkpoint.npz": f"ckpt:{how}"})
    for how, word in (("negative-epoch", "epoch"), ("history-lengths", "history"),
                      ("nan-optimizer", "opt."), ("old-format", "seed.init"),
                      ("best-epoch", "best_epoch"), ("stopped", "stopped"))]
CASES += [
    Case("resume-other-seed", (*RESUME, "--seed", "5"), ("checkpoint.npz", "seed.init"),
         OK_MLP),
    Case("resume-other-learning-rate", RESUME, ("checkpoint.npz", "training.learning_rate"),
         _mlp("training.learning_rate", 0.5)),
    Case("resume-other-optimizer", RESUME, ("checkpoint.npz", "training.optimizer"),
         _mlp("training.optimizer", "sgd")),
    Case("resume-other-init", RESUME, ("checkpoint.npz", "init.weights"),
         _mlp("init.weights", "glorot")),
    Case("resume-other-network", RESUME, ("checkpoint.npz", "different network"),
         _mlp("layers.0.units", 17)),
    Case("resume-other-data", (*RESUME, "--dataset", "npz", "--data-dir", "d.npz"),
         ("checkpoint.npz", "data.fingerprint"),
         {**OK_MLP, "d.npz": _npz_bytes(**_digits_like())}),
]


# -- NIR graphs (simulate GRAPH.nir) ---------------------------------------------------------------
def _npy(a) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    return buf.getvalue()


GRAPH = "runs/tiny.nir"
NIR = ("simulate", GRAPH, "--convention", "exact", "--input", "x.npy", "--no-progress")
X = {"x.npy": _npy(np.full(64, 0.5))}
CASES += [
    Case("nir-timesteps-huge", (*NIR, "--timesteps", "1000000000"), (GRAPH, "memory", "drive"),
         X),
    Case("nir-timesteps-zero", (*NIR, "--timesteps", "0"), ("--timesteps",), X),
    Case("nir-no-timesteps", NIR, ("--timesteps",), X),
    Case("nir-no-convention", ("simulate", GRAPH, "--input", "x.npy", "--timesteps", "5"),
         ("--convention",), X),
    Case("nir-unknown-convention", (*NIR[:3], "keras", *NIR[4:], "--timesteps", "5"),
         ("--convention",), X),
    Case("nir-no-input", ("simulate", GRAPH, "--convention", "exact", "--timesteps", "5"),
         ("--input",)),
    Case("nir-input-missing", (*NIR, "--timesteps", "5"), ("x.npy", "no such input file")),
    Case("nir-input-object", (*NIR, "--timesteps", "5"), ("x.npy",),
         {"x.npy": _npy(np.array([{"a": 1}], dtype=object))}),
    Case("nir-input-text", (*NIR, "--timesteps", "5"), ("x.npy", "numeric"),
         {"x.npy": _npy(np.array(["a", "b"]))}),
    Case("nir-input-garbage", (*NIR, "--timesteps", "5"), ("x.npy",), {"x.npy": b"garbage"}),
    Case("nir-input-wrong-size", (*NIR, "--timesteps", "5"), ("x.npy",),
         {"x.npy": _npy(np.zeros(7))}),
    Case("nir-dt-zero", (*NIR, "--timesteps", "5", "--dt", "0"), ("--dt",), X),
    Case("nir-engine-nest", (*NIR, "--timesteps", "5", "--engine", "nest"), ("--engine",), X),
    Case("nir-not-hdf5", (*NIR, "--timesteps", "5"), (GRAPH, "HDF5"),
         {**X, GRAPH: "not a graph"}),
    Case("nir-fifo", (*NIR, "--timesteps", "5"), (GRAPH, "FIFO"), {**X, GRAPH: "<fifo>"}),
    Case("nir-missing", ("simulate", "none.nir", "--convention", "exact", "--input", "x.npy",
                         "--timesteps", "5"), ("none.nir", "no such file"), X),
]


# -- sweep files (sweep) -------------------------------------------------------------------------
SWEEP_OK = ('[sweep.a]\nmodel = "mlp.toml"\nseed = 0\n[sweep.a.axes]\n'
            'timesteps = [10, 25]\n')
CASES += [
    Case("sweep-missing", ("sweep", "s.toml"), ("s.toml", "no such sweep file")),
    Case("sweep-fifo", ("sweep", "s.toml"), ("s.toml", "FIFO"), {"s.toml": "<fifo>"}),
    Case("sweep-dev-zero", ("sweep", "/dev/zero"), ("/dev/zero", "device")),
    Case("sweep-malformed", ("sweep", "s.toml"), ("s.toml", "malformed"), {"s.toml": "[a"}),
    Case("sweep-unknown-field", ("sweep", "s.toml"), ("s.toml", "bogus"),
         {"s.toml": SWEEP_OK + "bogus = 1\n", **OK_MLP}),
    Case("sweep-negative-seed", ("sweep", "s.toml"), ("s.toml", "seed"),
         {"s.toml": SWEEP_OK.replace("seed = 0", "seed = -1"), **OK_MLP}),
    Case("sweep-no-model", ("sweep", "s.toml"), ("s.toml", "model"),
         {"s.toml": SWEEP_OK.replace('model = "mlp.toml"', 'model = "none.toml"')}),
    Case("sweep-workers-zero", ("sweep", "s.toml", "--workers", "0"), ("--workers",),
         {"s.toml": SWEEP_OK, **OK_MLP}),
]


# -- the harness --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def previous_run(tmp_path_factory):
    """A folder with the outputs of earlier runs: runs/tiny-mlp (trained one epoch) and
    runs/tiny-net (a simulation), made once and copied into each case's folder."""
    root = tmp_path_factory.mktemp("previous")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        (root / MLP).write_text(dumps(LAYERED))
        (root / NET).write_text(dumps(POPULATIONS))
        assert cli.main(["train", MLP, "--no-progress"]) == 0
        assert cli.main(["simulate", NET, "--no-progress", "--no-plots"]) == 0
        assert cli.main(["export", MLP, "--out", GRAPH]) == 0
        (root / "runs/tiny-net/overview.png").write_bytes(b"an older figure")
    finally:
        os.chdir(cwd)
    os.remove(root / MLP)
    os.remove(root / NET)
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".neurosim.lock"}


def _make(root: Path, files: dict) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str) and content.startswith("ckpt:"):
            content = _checkpoint(root, content[5:])
        elif isinstance(content, str) and content in dict(PARAMS_CASES):
            content = _params_file(root, content)
        if path.exists() and not path.is_dir():
            path.unlink()
        if content == "<dir>":
            path.mkdir()
        elif content == "<fifo>":
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _main(argv) -> int:
    """``cli.main``, with argparse's exit (a bad command line) as a status."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return exc.code


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    return lines[0]


@pytest.fixture
def folder(previous_run, tmp_path, monkeypatch):
    """A fresh copy of the previous runs, as the working directory."""
    work = tmp_path / "w"
    shutil.copytree(previous_run, work)
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_one_line_and_changes_nothing(case, folder, capsys):
    _make(folder, case.files)
    before = _snapshot(folder)
    status = _main(list(case.argv))
    line = _one_line(capsys)
    assert status == case.status, line
    assert line.startswith("neurosim") and ": error: " in line, line
    for word in case.expect:
        assert word in line, line
    assert "Traceback" not in line
    assert _snapshot(folder) == before  # previous files untouched, nothing new written


# -- faults during a run ------------------------------------------------------------------------
def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _fault_checkpoint(monkeypatch):
    real = np.savez

    def savez(fh, **arrays):  # the write into the checkpoint's temporary file fails
        if "checkpoint.npz" in getattr(fh, "name", ""):
            _enospc()
        real(fh, **arrays)

    monkeypatch.setattr(np, "savez", savez)
    return ["train", "m.toml", "--no-progress", "--out", RUN], 1, ("checkpoint.npz",
                                                                    "no space left")


def _fault_figure(monkeypatch):
    import matplotlib.figure

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _enospc)
    return ["train", "m.toml", "--no-progress", "--out", RUN], 1, ("training-curves.png",
                                                                    "no space left")


def _fault_summary(monkeypatch):
    real = Path.write_bytes

    def write(self, data):  # the write into summary.json's temporary file fails
        if "summary.json" in self.name:
            _enospc()
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write)
    return ["simulate", NET, "--no-plots", "--no-progress"], 1, ("summary.json", "no space")


def _fault_read_only(monkeypatch):
    import neurosim.runs as runs

    def no_write(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(runs, "open", no_write, raising=False)
    _never_simulate(monkeypatch)
    return ["simulate", NET, "--no-plots"], 2, ("runs/tiny-net", "not writable")


def _never_simulate(monkeypatch):
    import neurosim.engines

    def fail(*args, **kwargs):  # the failure must be found before any work
        raise AssertionError("simulated before checking the folder")

    monkeypatch.setattr(neurosim.engines, "simulate", fail)


def _fault_out_below_file(command):
    def setup(monkeypatch):
        argv = {"simulate": ["simulate", NET, "--no-plots"], "train": ["train", "m.toml"],
                "compare": ["compare", "m.toml", "--no-progress"],
                "export": ["export", "m.toml"], "demo": ["demo", "lif"]}[command]
        out = "runs/tiny-mlp/params.npz/sub" + (".nir" if command == "export" else "")
        return [*argv, "--out", out], 2, ("params.npz", "regular file")
    return setup


def _fault_out_is_file(monkeypatch):
    return ["simulate", NET, "--no-plots", "--out", "runs/tiny-mlp/params.npz"], 2, (
        "params.npz", "not a folder")


def _fault_locked(monkeypatch):
    import fcntl

    lock = open("runs/tiny-net/.neurosim.lock", "w")  # noqa: SIM115 -- held for the test
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    monkeypatch.setattr(_fault_locked, "held", lock, raising=False)
    _never_simulate(monkeypatch)
    return ["simulate", NET, "--no-plots"], 2, ("runs/tiny-net", "another neurosim process")


def _fault_interrupt_startup(monkeypatch):
    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.importlib, "import_module", interrupted)
    return ["simulate", NET], 130, ("interrupted",)


def _fault_interrupt_loading(monkeypatch):
    import neurosim.specs.io as io

    def interrupted(path, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(io, "load_model", interrupted)
    return ["simulate", NET, "--no-plots"], 130, ("interrupted",)


def _fault_internal(monkeypatch):
    import neurosim.engines

    def broken(*args, **kwargs):
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr(neurosim.engines, "simulate", broken)
    return ["simulate", NET, "--no-plots"], 1, ("internal error", "RuntimeError", "--debug")


def _fault_memory(monkeypatch):
    import neurosim.engines

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(neurosim.engines, "simulate", exhausted)
    return ["simulate", NET, "--no-plots"], 1, ("out of memory",)


def _fault_mkdir(monkeypatch):
    real = Path.mkdir

    def refuse(self, *args, **kwargs):
        if self.name == "elsewhere":
            raise OSError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    _never_simulate(monkeypatch)
    return ["simulate", NET, "--no-plots", "--out", "elsewhere"], 2, ("elsewhere",
                                                                      "not writable")


def _fault_export_read_only(monkeypatch):
    import neurosim.runs as runs

    monkeypatch.setattr(runs, "open", _enospc, raising=False)
    return ["export", "m.toml", "--out", "out/m.nir"], 2, ("out", "no space")


FAULTS = {
    "enospc-at-checkpoint": _fault_checkpoint,
    "enospc-at-figure": _fault_figure,
    "enospc-at-summary": _fault_summary,
    "read-only-folder": _fault_read_only,
    "out-below-file-simulate": _fault_out_below_file("simulate"),
    "out-below-file-train": _fault_out_below_file("train"),
    "out-below-file-compare": _fault_out_below_file("compare"),
    "out-below-file-export": _fault_out_below_file("export"),
    "out-below-file-demo": _fault_out_below_file("demo"),
    "out-is-a-file": _fault_out_is_file,
    "locked-by-another-process": _fault_locked,
    "ctrl-c-in-start-up": _fault_interrupt_startup,
    "ctrl-c-while-loading": _fault_interrupt_loading,
    "internal-error": _fault_internal,
    "memory-exhausted": _fault_memory,
    "folder-not-creatable": _fault_mkdir,
    "export-full-disk": _fault_export_read_only,
}


@pytest.mark.parametrize("name", FAULTS)
def test_fault_is_one_line_naming_the_path(name, folder, monkeypatch, capsys):
    (folder / NET).write_text(dumps(POPULATIONS))
    (folder / "m.toml").write_text(dumps(LAYERED))
    before = _snapshot(folder)
    argv, status, words = FAULTS[name](monkeypatch)
    got = _main(argv)
    line = _one_line(capsys)
    assert got == status, line
    for word in words:
        assert word in line, line
    after = _snapshot(folder)
    # the previous run's results are intact; only what the failed command was rewriting is
    # gone (its stale figure) and the folder it failed in is marked incomplete
    changed = {k for k in before if before[k] != after.get(k)}
    if name == "enospc-at-figure":  # the new results are written, the old figure is gone
        assert f"{RUN}/training-curves.png" not in after
        assert changed <= {f"{RUN}/{n}" for n in ("training-curves.png", "checkpoint.npz",
                                                  "params.npz", "metrics.json")}
        assert f"{RUN}/INCOMPLETE" in after
    elif name == "enospc-at-checkpoint":
        assert changed == {f"{RUN}/training-curves.png"}  # removed: it would be stale
        assert f"{RUN}/INCOMPLETE" in after
    elif name in ("internal-error", "memory-exhausted"):  # failed inside the engine's run
        assert changed == {"runs/tiny-net/overview.png"}
        assert "runs/tiny-net/INCOMPLETE" in after
    elif name == "enospc-at-summary":
        assert "runs/tiny-net/overview.png" not in after
        assert changed <= {"runs/tiny-net/overview.png", "runs/tiny-net/spikes.npz"}
        assert "runs/tiny-net/INCOMPLETE" in after
    else:
        assert changed == set() and set(after) - set(before) <= {NET, "m.toml"}


# -- what works, and must keep working ------------------------------------------------------------
@pytest.mark.parametrize("name, folder_name", [("../../x", "x"), ("/tmp/evil", "tmp-evil"),
                                               ("cuba $E$ .", "cuba-E")])
def test_a_model_name_cannot_write_outside_runs(name, folder_name, folder, capsys):
    """The name in a model file only names a folder inside runs/; `$` reaches the figure
    escaped (matplotlib would parse `$E$` as mathtext)."""
    (folder / NET).write_text(dumps(spoil(POPULATIONS, "name", name)))
    top = folder.parent  # "../../x" would write here, beside the working folder
    before = set(_snapshot(top))
    plots = [] if "$" in name else ["--no-plots"]
    assert _main(["simulate", NET, "--no-progress", *plots]) == 0, capsys.readouterr().err
    out = folder / "runs" / folder_name
    new = set(_snapshot(top)) - before
    assert new and all(p.startswith(f"w/runs/{folder_name}/") for p in new)
    assert not Path(name).is_absolute() or not Path(name).exists()
    assert (out / "summary.json").exists() and not (out / "INCOMPLETE").exists()
    if "$" in name:
        assert (out / "overview.png").stat().st_size > 0


def test_orphaned_temporary_files_are_removed_and_the_marker_goes(folder, capsys):
    run = folder / "runs/tiny-net"
    (run / ".summary.json.k3j2.tmp").write_text("left by a killed process")
    (run / "INCOMPLETE").write_text("an earlier run failed")
    (folder / NET).write_text(dumps(POPULATIONS))
    assert _main(SIM) == 0, capsys.readouterr().err
    assert not list(run.glob(".*.tmp")) and not (run / "INCOMPLETE").exists()
    assert json.loads((run / "summary.json").read_text())["model"] == "tiny-net"


def test_debug_shows_the_traceback_then_the_line(folder, monkeypatch, capsys):
    _fault_internal(monkeypatch)
    (folder / NET).write_text(dumps(POPULATIONS))
    assert _main([*SIM, "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: a bug" in err
    assert err.strip().splitlines()[-1].startswith("neurosim simulate: error: internal error")
