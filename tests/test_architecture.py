"""The import direction that keeps the data flow visible:

``neurons, specs <- graph <- builder <- {rate, spike} <- convert/compare <- {report, plot}``;
compare computes and report writes (report.md, report.json from a Comparison, never the
engine); Numba only in ``kernels`` and in each neuron model's module (``neurons``: its
compiled step), kernels importing nothing else of neurosim but the neuron models' steps;
matplotlib only in ``plot``; NEST and Brian2 only in ``engines``, imported inside the
functions that run them; other peers (torch, snntorch) never in the package; never
unpickling; ``import neurosim`` loads none of them; NIR (``interchange``) reads specs, the
graph, the builder, the neuron models and the general engine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "neurosim"


def imports_of(path: Path) -> set[str]:
    """Absolute module names imported by a file (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    package = parts if path.name == "__init__.py" else parts[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:
                    found.update(f"{mod}.{a.name}" for a in node.names)
                else:
                    found.add(mod)
            else:
                found.add(node.module)
    return found


FILES = sorted(PKG.rglob("*.py"))


def area(path: Path) -> str:
    rel = path.relative_to(PKG).parts
    return rel[0].removesuffix(".py") if len(rel) > 1 or rel[0] != "__init__.py" else "__init__"


# area -> neurosim areas it must not import
FORBIDDEN = {
    "specs": {"builder", "rate", "spike", "kernels", "convert", "compare", "plot", "commands",
             "demos", "cli", "data"},
    "builder": {"rate", "spike", "convert", "compare", "plot", "commands", "demos", "cli"},
    # rate may use kernels: ARCHITECTURE.md lets the classic mode's convolution lowering use
    # Numba (the input gradient's col2im scatter-add, neurosim.kernels.conv)
    "rate": {"spike", "convert", "compare", "plot", "commands", "demos", "cli"},
    "spike": {"rate", "convert", "compare", "plot", "commands", "demos", "cli"},
    "monitor": {"rate", "spike", "kernels", "convert", "compare", "plot", "commands", "demos",
                "cli"},
    "convert": {"compare", "plot", "commands", "demos", "cli"},
    "compare": {"report", "plot", "commands", "demos", "cli"},
    # reporting reads a Comparison: no engine, no figures, no command line
    "report": {"plot", "commands", "demos", "cli", "rate", "spike", "kernels"},
    "plot": {"commands", "demos", "cli"},
    # a neuron model is one module: its spec, its compiled step (kernel helpers) and its twin
    "neurons": {"builder", "graph", "rate", "spike", "convert", "compare", "report", "plot",
                "commands", "demos", "cli", "data", "monitor"},
    # the one network model: specs and neuron models in, nothing of the engines
    "graph": {"builder", "rate", "spike", "kernels", "convert", "compare", "report", "plot",
              "commands", "demos", "cli", "data"},
    # NEST and Brian2 take the built graph and return the spike engine's Result: no kernels,
    # no classic mode, no figures, no command line
    "engines": {"rate", "kernels", "convert", "compare", "report", "plot", "commands",
                "demos", "cli", "data"},
    # NIR in and out: specs, the graph, the builder, the neuron models and the general
    # engine; no kernels, no classic mode, no figures, no command line
    "interchange": {"rate", "kernels", "convert", "compare", "report", "plot", "commands",
                    "demos", "cli", "data", "engines"},
    # sweeps run points through the public computing functions: no command line
    "sweep": {"commands", "demos", "cli"},
}

#: Peer simulators run as engines: imported in ``neurosim/engines`` only, and only inside
#: functions, so that importing neurosim never needs them.
ENGINE_PEERS = {"nest", "brian2"}

#: Where Numba may be imported: the kernels, and each neuron model's own compiled step.
NUMBA_AREAS = {"kernels", "neurons"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_import_direction(path):
    mods = imports_of(path)
    here = area(path)
    inner = {m.split(".")[1] for m in mods if m.startswith("neurosim.") and m.count(".") >= 1}
    bad = inner & FORBIDDEN.get(here, set())
    assert not bad, f"{path.name} ({here}) imports {sorted(bad)}"
    tops = {m.split(".")[0] for m in mods}
    if here not in NUMBA_AREAS:
        assert "numba" not in tops, f"{path.name}: Numba belongs in neurosim/kernels and " \
                                    "neurosim/neurons only"
    if here == "kernels":
        # the layered fast path calls the IF and LIF models' batched steps
        assert inner <= {"kernels", "neurons"}, \
            f"{path.name}: kernels import only kernels and neurons ({inner})"
    if here != "plot":
        assert "matplotlib" not in tops, f"{path.name}: matplotlib belongs in neurosim/plot"
    assert not tops & {"torch", "snntorch", "pickle"}, f"{path.name}: {tops}"
    if here != "engines":
        assert not tops & ENGINE_PEERS, f"{path.name}: NEST and Brian2 belong in " \
                                        "neurosim/engines"


def module_level_imports(path: Path) -> set[str]:
    """Top-level package names imported at module level (outside any function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) \
                else ():
            if isinstance(sub, ast.Import):
                found.update(a.name.split(".")[0] for a in sub.names)
            elif isinstance(sub, ast.ImportFrom) and not sub.level and sub.module:
                found.add(sub.module.split(".")[0])
    return found


def test_engine_peers_are_imported_lazily():
    engine_files = [p for p in FILES if area(p) == "engines"]
    assert len(engine_files) >= 3, engine_files  # the scan found the engines
    for path in engine_files:
        assert not module_level_imports(path) & ENGINE_PEERS, \
            f"{path.name}: import NEST and Brian2 inside the functions that run them"


def test_no_file_allows_pickle():
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        assert "allow_pickle=True" not in text.replace(" ", ""), path


def test_import_neurosim_is_light():
    """The public API is imported on first use: ``import neurosim`` (and ``neurosim --help``'s
    modules) load no Numba or matplotlib."""
    import subprocess
    import sys

    code = ("import sys, neurosim, neurosim.cli, neurosim.engines.nest_engine, "
            "neurosim.engines.brian2_engine; neurosim.cli.build_parser(); "
            "print(sorted(m for m in ('numba', 'matplotlib', 'nest', 'brian2') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PKG.parent)
    assert out.stdout.strip() == "[]"


def test_kernel_signatures_are_small():
    """Kernels receive a few named records, never long positional lists: every compiled
    function of neurosim (kernels and the neuron models' steps) takes at most 8 parameters."""
    import importlib
    import inspect

    import numba

    from neurosim.neurons import BUILTIN

    modules = [f"neurosim.kernels.{p.stem}" for p in (PKG / "kernels").glob("*.py")
               if p.stem != "__init__"] + [f"neurosim.neurons.{m}" for m in BUILTIN]
    widest = {}
    for name in modules:
        mod = importlib.import_module(name)
        for attr, obj in vars(mod).items():
            if isinstance(obj, numba.core.registry.CPUDispatcher) and obj.__module__ == name:
                widest[f"{name}.{attr}"] = len(inspect.signature(obj.py_func).parameters)
    assert len(widest) > 20, widest  # the scan found the kernels
    too_wide = {k: v for k, v in widest.items() if v > 8}
    assert not too_wide, too_wide
