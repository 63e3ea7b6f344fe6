"""Every hook is documented in docs/plugin_hooks.md under its exact signature."""

import re
from pathlib import Path

import pytest

from mdzoom.core import PluginManager

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugin_hooks.md"


def _hooks():
    pm = PluginManager(entry_points=False)
    return {name: caller for name, caller in vars(pm.pm.hook).items()
            if name.startswith("mdzoom_")}


HOOKS = _hooks()


def test_there_are_hooks():
    assert "mdzoom_forces" in HOOKS and "mdzoom_cli" in HOOKS


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_has_spec_docstring(name):
    spec = HOOKS[name].spec
    assert spec is not None, f"{name} has no hookspec"
    doc = spec.function.__doc__
    assert doc and doc.strip(), f"hookspec {name} has no docstring (the docstring is the contract)"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_documented_with_exact_signature(name):
    heading = f"### {name}({', '.join(HOOKS[name].spec.argnames)})"
    lines = DOCS.read_text(encoding="utf-8").splitlines()
    assert heading in lines, f"docs/plugin_hooks.md lacks the heading {heading!r}"
    # the section says something: the contract and an example
    k = lines.index(heading)
    body = []
    for line in lines[k + 1:]:
        if line.startswith("#"):
            break
        body.append(line)
    text = "\n".join(body)
    assert len(text.strip()) > 80, f"section {heading!r} is nearly empty"
    assert "```" in text, f"section {heading!r} has no example"


def test_docs_name_no_unknown_hook():
    text = DOCS.read_text(encoding="utf-8")
    headings = re.findall(r"^#+\s+(mdzoom_\w+)", text, flags=re.M)
    called = re.findall(r"\b(mdzoom_\w+)\(", text)
    unknown = sorted(set(headings + called) - set(HOOKS))
    assert not unknown, f"docs/plugin_hooks.md names hooks that do not exist: {unknown}"
    assert len(headings) == len(set(headings)), "a hook is documented twice"
