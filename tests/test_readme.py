"""The README's Python example is a test: it must run as printed."""

from __future__ import annotations

import re


def test_readme_python_example_runs(repo_root, monkeypatch):
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README.md has no python example"
    monkeypatch.chdir(repo_root)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_readme_quick_start_is_what_ci_runs(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    ci = (repo_root / ".ci" / "run").read_text(encoding="utf-8")
    test_command = 'pip install -e ".[test]" && python -m pytest -q'
    assert test_command in readme and test_command in ci
    assert "neurosim compare models/digits-mlp.toml" in readme
