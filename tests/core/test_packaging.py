"""Packaging: every package folder ships in the wheel; the layering contract holds;
the README's two fresh-machine commands stay true."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def package_folders():
    """Every folder under core/ and plugins/ holding an __init__.py, as a dotted name."""
    out = set()
    for top, prefix in (("core", "mdzoom.core"), ("plugins", "mdzoom.plugins")):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top)
            if "__pycache__" in rel.parts:
                continue
            out.add(".".join([prefix, *rel.parts]) if rel.parts else prefix)
    return out


def test_explicit_package_list_names_every_folder():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(conf["tool"]["setuptools"]["packages"])
    assert listed == package_folders()


def test_wheel_contains_every_package(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True)
    wheel = next(tmp_path.glob("mdzoom-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for pkg in package_folders():
        assert pkg.replace(".", "/") + "/__init__.py" in names, f"{pkg} missing from wheel"
    assert not any(n.startswith(("core/", "plugins/", "tests/")) for n in names)
    # the unpacked wheel imports on its own (not through the editable install's finder)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import mdzoom.core, mdzoom.plugins.martini, mdzoom.core.io; "
            "print(mdzoom.core.__file__); "
            "print(sorted(mdzoom.core.get_plugin_manager().registry.names('integrator')))")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin",
                                         "MDZOOM_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0].startswith(str(site))
    assert "langevin" in res.stdout


def test_layering_contract_core_imports_no_plugin_and_plugins_are_independent():
    lint = Path(sys.executable).parent / "lint-imports"
    res = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Contracts: 2 kept, 0 broken" in res.stdout


def test_readme_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    commands = [b.strip() for b in blocks if "python3 -m venv" in b]
    assert len(commands) == 2, "README must give exactly two fresh-machine commands"
    demo, tests = commands
    assert "mdzoom demo" in demo and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines(), ".ci/run must run the README's test command verbatim"
