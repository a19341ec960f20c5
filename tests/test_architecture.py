"""The import rules of docs/architecture.md: layers import downwards, leaves import only errors, the core never imports a plugin."""

import ast
from pathlib import Path

import pytest

import latentmotion

PACKAGE = Path(latentmotion.__file__).parent

# Each module of the core, by layer; a module may import its own layer and the layers below.
LAYERS = {
    "foundation": {"errors", "atomic", "safe_load", "devices", "streams", "structure", "lazy", "hookspecs", "progress", "video"},
    "method": {"motion", "losses", "discriminators", "augment"},
    "backends": {"backend", "module_backend", "tiny", "rendering", "basis", "inversion", "plugins", "default_plugins"},
    "pipelines": {"pipeline", "hub", "mocogan_hd"},
    "training": {"config", "presets", "modes", "data", "run_folder", "train", "metrics", "training_evaluation", "tensorboard_log"},
    "interface": {"cli", "testing", "__init__"},
}
ORDER = list(LAYERS)
LEAVES = LAYERS["method"]  # the paper's parts: they import nothing of latentmotion but its errors
METRIC_LEAVES = {"frechet", "acd"}  # the metrics' mathematics: nothing of latentmotion but its errors


def core_modules():
    return sorted(path for path in PACKAGE.rglob("*.py") if "toyworld" not in path.parts)


def module_name(path):
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


def imported(path):
    """Every latentmotion (or plugin) module a file imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "latentmotion":  # `from latentmotion import hub`: a module; `__version__`: not
                names |= {f"latentmotion.{alias.name}" for alias in node.names if (PACKAGE / f"{alias.name}.py").is_file()}
    return {name for name in names if name.startswith("latentmotion")}


def layer(name):
    return next(index for index, modules in enumerate(LAYERS.values()) if name in modules)


def test_every_core_module_has_a_layer():
    unplaced = {module_name(path) for path in core_modules()} - set().union(*LAYERS.values())
    assert not unplaced, f"place {sorted(unplaced)} in a layer of tests/test_architecture.py and docs/architecture.md"


@pytest.mark.parametrize("path", core_modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_go_to_the_same_layer_or_below(path):
    own = module_name(path)
    for name in imported(path):
        parts = name.split(".")
        if parts[0] != "latentmotion" or len(parts) == 1:
            continue
        assert layer(parts[1]) <= layer(own), f"{own} ({ORDER[layer(own)]}) imports {name} ({ORDER[layer(parts[1])]}), a higher layer"


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaf_modules_import_only_errors(leaf):
    assert imported(PACKAGE / f"{leaf}.py") <= {"latentmotion.errors"}


@pytest.mark.parametrize("path", core_modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_the_core_imports_no_plugin(path):
    plugins = {name for name in imported(path) if name.startswith("latentmotion_") or ".toyworld" in name}
    assert not plugins, f"{path.name} imports {sorted(plugins)}: the core reaches plugins only through hooks"


@pytest.mark.parametrize("leaf", sorted(METRIC_LEAVES))
def test_metric_mathematics_imports_only_errors(leaf):
    assert imported(PACKAGE / "metrics" / f"{leaf}.py") <= {"latentmotion.errors"}


def test_the_metrics_subpackage_is_one_concept_per_module():
    modules = {path.stem for path in (PACKAGE / "metrics").glob("*.py")} - {"__init__"}
    assert modules == {"frechet", "i3d", "inception", "weights", "fvd", "acd", "lpips", "prediction", "protocol", "cache", "evaluate"}, "describe a new metrics module in docs/architecture.md"
