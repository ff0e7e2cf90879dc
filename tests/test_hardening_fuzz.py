"""Fuzzing the readers: whatever a file holds, the answer is a result or a NeurosimError.

Targets: the TOML loaders (layered model files and population networks, from spoiled valid
documents and from arbitrary text), the IDX reader, the npz readers (data sets and parameter
files), the NIR reader. A reader fails this test by raising anything other than
:class:`~neurosim.errors.NeurosimError` (what the command line would print as a traceback) or
by running past the alarm (a hang). Budgets are CI-sized: ``EXAMPLES`` per target, derandomised
so that a run is repeatable.
"""

from __future__ import annotations

import io
import signal
import zipfile

import numpy as np
import pytest
from hardening_files import LAYERED, POPULATIONS, dumps, spoil
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.errors import NeurosimError
from neurosim.limits import memory_budget

#: Examples per fuzzing target.
EXAMPLES = 150
#: Seconds any one target may run before it counts as a hang.
HANG_S = 120
#: Memory budget while fuzzing: a claim above it must be refused, never allocated.
BUDGET = 64 << 20
#: Address space a fuzzing target may add (arrays within the budget, temporaries, h5py).
SPARE = 2 << 30

FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(autouse=True)
def no_hang():
    """Fail a target that runs past ``HANG_S`` seconds, keep claims within ``BUDGET``, and
    make an allocation the budget should have refused fail (MemoryError: a failure of the
    target) rather than reach the machine: the address space may grow by ``SPARE`` only.
    The allocator is set as training leaves it (:func:`keep_freed_memory`), where a huge
    ``np.zeros`` is memory really touched rather than pages mapped lazily."""
    import resource

    from neurosim.rate.heap import keep_freed_memory

    def alarm(signum, frame):
        raise TimeoutError(f"a fuzzing target ran past {HANG_S} s")

    keep_freed_memory()
    previous = signal.signal(signal.SIGALRM, alarm)
    limits = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as fh:
        used = int(fh.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (used + SPARE, limits[1]))
    signal.alarm(HANG_S)
    try:
        with memory_budget(BUDGET):
            yield
    finally:
        signal.alarm(0)
        resource.setrlimit(resource.RLIMIT_AS, limits)
        signal.signal(signal.SIGALRM, previous)


def _leaves(doc, prefix=""):
    """Dotted paths of every entry of a nested document (tables and arrays included)."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for k, v in items:
        path = f"{prefix}{k}"
        yield path
        if isinstance(v, (dict, list)) and v:
            yield from _leaves(v, path + ".")


values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
              st.sampled_from([0, -1, 1, 10**9, 1e300, -1e-300, "lif", "dense", "exc",
                               "random", "all_to_all", float("nan")])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


def spoiled(doc):
    """A strategy: ``doc`` with one to three entries replaced by arbitrary values (or
    removed), sometimes with an extra key."""
    paths = sorted(set(_leaves(doc)))

    @st.composite
    def build(draw):
        out = doc
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(paths))
            try:
                if draw(st.booleans()) and draw(st.booleans()):
                    out = spoil(out, path)
                else:
                    out = spoil(out, path, draw(values))
            except (KeyError, IndexError, TypeError):
                continue  # the path went away with an earlier change
        return out
    return build()


def _toml(doc) -> str | None:
    try:
        return dumps(doc)
    except (TypeError, ValueError):
        return None  # None or a key TOML cannot hold: no file to read


def _load(text: str):
    from neurosim.specs.io import loads_model

    try:
        return loads_model(text, "fuzz.toml")
    except NeurosimError:
        return None


@FUZZ
@given(spoiled(LAYERED))
def test_layered_model_files(doc):
    text = _toml(doc)
    if text is None:
        return
    spec = _load(text)
    if spec is not None and hasattr(spec, "layers"):
        from neurosim.builder.params import check_training_memory

        try:
            check_training_memory(spec)
        except NeurosimError:
            pass


@FUZZ
@given(spoiled(POPULATIONS))
def test_population_network_files(doc):
    text = _toml(doc)
    if text is None:
        return
    spec = _load(text)
    if spec is not None and hasattr(spec, "populations"):
        from neurosim.builder.lower import check_network_memory, lower_populations

        try:
            check_network_memory(spec)
        except NeurosimError:
            return
        lower_populations(spec)  # within the budget: the connectivity is drawn


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_as_a_model_file(text):
    _load(text)


@FUZZ
@given(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x01]),
       st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 6), min_size=0, max_size=4),
       st.binary(max_size=64), st.booleans())
def test_idx_reader(tmp_path_factory, code, dims, data, compress):
    import gzip

    from neurosim.data import read_idx

    raw = bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + data
    path = tmp_path_factory.mktemp("idx") / ("f.gz" if compress else "f")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    try:
        read_idx(path)
    except NeurosimError:
        pass


_dtypes = st.sampled_from(["<f4", "<f8", "<i8", "<u1", "|b1", "<U3", "<c8"])
_arrays = st.builds(lambda shape, dtype, seed: np.random.default_rng(seed).random(shape)
                    .astype(dtype) if dtype[1] != "U" else np.full(shape, "ab", dtype),
                    st.lists(st.integers(0, 5), max_size=3).map(tuple), _dtypes,
                    st.integers(0, 9))
_names = st.sampled_from(["x_train", "y_train", "x_test", "y_test", "__spec__", "0.W", "0.b",
                          "1.W", "extra.epoch", "other"])


@st.composite
def npz_files(draw):
    """An npz archive of arbitrary arrays under the names readers look for, sometimes with
    a few bytes overwritten (a corrupt or forged file)."""
    arrays = draw(st.dictionaries(_names, _arrays | st.just(np.array(dumps(LAYERED))),
                                  max_size=6))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    raw = bytearray(buf.getvalue())
    for _ in range(draw(st.integers(0, 3))):
        if raw:
            pos = draw(st.integers(0, len(raw) - 1))
            raw[pos] = draw(st.integers(0, 255))
    return bytes(raw)


@FUZZ
@given(npz_files())
def test_npz_readers(tmp_path_factory, raw):
    from neurosim.builder.params import load_params
    from neurosim.data import load_dataset

    path = tmp_path_factory.mktemp("npz") / "f.npz"
    path.write_bytes(raw)
    for read in (lambda: load_dataset("npz", data_dir=path), lambda: load_params(path)):
        try:
            read()
        except NeurosimError:
            pass
        except zipfile.BadZipFile as err:  # pragma: no cover - would be a failure
            raise AssertionError(f"BadZipFile escaped: {err}") from err


def _nir_file(path, mutate):
    import h5py
    import nir

    graph = nir.NIRGraph(nodes={
        "in": nir.Input(input_type=np.array([2])),
        "fc": nir.Affine(weight=np.ones((3, 2)), bias=np.zeros(3)),
        "lif": nir.LIF(tau=np.full(3, 0.01), r=np.ones(3), v_leak=np.zeros(3),
                       v_threshold=np.ones(3), v_reset=np.zeros(3)),
        "out": nir.Output(output_type=np.array([3]))},
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")])
    nir.write(path, graph)
    with h5py.File(path, "r+") as f:
        names = []
        f["node"].visititems(lambda n, obj: names.append(n)
                             if isinstance(obj, h5py.Dataset) else None)
        for pick, action, value in mutate:
            name = "node/" + sorted(names)[pick % len(names)]
            if name not in f:
                continue
            del f[name]
            if action == "replace":
                f[name] = value
            elif action == "text":
                f[name] = str(value)


_nir_values = st.one_of(_arrays.filter(lambda a: a.dtype.kind != "U"),
                        st.floats(allow_nan=True, allow_infinity=True),
                        st.integers(-10, 10))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 100), st.sampled_from(["delete", "replace", "text"]),
                          _nir_values), min_size=1, max_size=3),
       st.sampled_from(["exact", "snntorch", "norse"]))
def test_nir_reader(tmp_path_factory, mutate, convention):
    import warnings

    from neurosim.interchange.nir_import import import_nir

    path = tmp_path_factory.mktemp("nir") / "g.nir"
    _nir_file(path, mutate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import_nir(path, convention)
        except NeurosimError:
            pass


@FUZZ
@given(st.binary(max_size=200))
def test_arbitrary_bytes_as_a_nir_file(tmp_path_factory, raw):
    from neurosim.interchange.nir_import import import_nir

    path = tmp_path_factory.mktemp("nirb") / "g.nir"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + raw)
    try:
        import_nir(path, "exact")
    except NeurosimError:
        pass


#: A sweep file of two points over the tiny layered model (written beside it as m.toml).
SWEEP = {"description": "fuzzed", "sweep": {"a": {
    "model": "m.toml", "seed": 0, "replicates": 1,
    "axes": {"timesteps": [10, 25], "encoder": ["current"]}}}}


@FUZZ
@given(spoiled(SWEEP))
def test_sweep_files(tmp_path_factory, doc):
    from neurosim.sweep.spec import load_sweeps

    text = _toml(doc)
    if text is None:
        return
    folder = tmp_path_factory.mktemp("sweep")
    (folder / "m.toml").write_text(dumps(LAYERED))
    (folder / "s.toml").write_text(text)
    try:
        load_sweeps(folder / "s.toml")
    except NeurosimError:
        pass
