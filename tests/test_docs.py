"""The documentation site: the CLI reference is current, every hook, module and top-level name is documented, and the strict build passes."""

import difflib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import latentmotion
from latentmotion import hookspecs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REFRESH = "python docs/generate_cli_reference.py"


def all_pages() -> str:
    return "\n".join(path.read_text() for path in sorted(DOCS.rglob("*.md")))


def test_cli_reference_is_current():
    result = subprocess.run(
        [sys.executable, str(DOCS / "generate_cli_reference.py"), "--stdout"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    current = (DOCS / "cli.md").read_text()
    diff = "".join(difflib.unified_diff(current.splitlines(True), result.stdout.splitlines(True), "docs/cli.md", "--help output", n=1))
    assert result.stdout == current, f"docs/cli.md is stale: refresh it with `{REFRESH}`\n{diff[:4000]}"


def test_cli_reference_covers_every_command():
    page = (DOCS / "cli.md").read_text()
    for name in ("generate", "fit-basis", "train", "presets", "backends", "pipelines", "info", "push", "plot", "animate", "evaluate", "convert mocogan-hd", "convert i3d"):
        assert f"## latentmotion {name}\n" in page
        assert f"Usage: latentmotion {name} [OPTIONS]" in page


def hook_names() -> list[str]:
    return [name for name, function in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(function, "latentmotion_spec")]


def test_the_hooks_are_found():
    assert hook_names() == ["register_backends", "register_commands", "register_pipelines"]


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_is_documented_with_an_example(hook):
    page = (DOCS / "plugins" / "hooks.md").read_text()
    assert f"::: latentmotion.hookspecs.{hook}\n" in page, f"add a `::: latentmotion.hookspecs.{hook}` section to docs/plugins/hooks.md"
    assert re.search(rf"@hookimpl\ndef {hook}\(", page), f"docs/plugins/hooks.md needs an example implementation of {hook}"


def public_modules() -> list[str]:
    modules = [path.stem for path in (ROOT / "latentmotion").glob("*.py") if not path.stem.startswith("_")]
    packages = [path.parent.name for path in (ROOT / "latentmotion").glob("*/__init__.py") if path.parent.name != "default_plugins"]
    return sorted(modules + packages)


@pytest.mark.parametrize("module", public_modules())
def test_every_module_has_a_reference(module):
    assert re.search(rf"^::: latentmotion\.{module}$", all_pages(), re.MULTILINE), f"add a page with `::: latentmotion.{module}` under docs/reference/"


@pytest.mark.parametrize("name", sorted(latentmotion._EXPORTS))
def test_every_top_level_name_is_in_the_api_index(name):
    page = (DOCS / "reference" / "index.md").read_text()
    module = latentmotion._EXPORTS[name]
    assert re.search(rf"\[{name}\]\[{re.escape(module)}(\.{name})?\]", page), f"list latentmotion.{name} in docs/reference/index.md"


def test_the_tutorial_plugin_is_the_example_package():
    page = (DOCS / "plugins" / "tutorial-backend.md").read_text()
    included = re.findall(r'^--8<-- "([^"]+)"$', page, re.MULTILINE)
    assert "examples/custom-backend/pyproject.toml" in included
    assert "examples/custom-backend/latentmotion_cppn/__init__.py" in included
    assert all((ROOT / path).is_file() for path in included)


def docs_tools_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("mkdocs", "material", "mkdocstrings_handlers.python"))


@pytest.mark.skipif(not docs_tools_installed(), reason='the docs extra is not installed: pip install -e ".[docs]"')
def test_the_site_builds_strictly_offline(tmp_path):
    # Not --quiet: it lowers mkdocs' log level below WARNING, and --strict then never sees a warning.
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        check=False,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    assert (tmp_path / "site" / "index.html").is_file()
