"""Backends and plugins: the hook spec, entry points, LATENTMOTION_LOAD_PLUGINS, get_backend, a core that imports no plugin."""

import ast
import textwrap
from pathlib import Path

import pytest
import torch

import latentmotion
from latentmotion import plugins
from latentmotion.backend import LatentSpace
from latentmotion.errors import (
    ConfigError,
    LatentMotionError,
    ShapeError,
    UnknownBackendError,
)
from latentmotion.hookspecs import hookimpl
from latentmotion.module_backend import ModuleBackend


class ConstantPlugin:
    """A class-based plugin registering one backend that renders a constant image."""

    __name__ = "constant-plugin"

    @hookimpl
    def register_backends(self, register):
        register("constant", self.build, description="renders grey")

    @staticmethod
    def build(resolution=8, weights=None):
        backend = ModuleBackend(
            network=torch.nn.Sequential(torch.nn.Linear(4, 3 * resolution * resolution), torch.nn.Unflatten(1, (3, resolution, resolution)), torch.nn.Tanh()),
            latent_space=LatentSpace("z", 4),
            resolution=resolution,
            file_options=("weights",),
        )
        backend.name = "grey"  # a backend that names itself otherwise than it is registered
        backend.options = {"resolution": 99}
        return backend


@pytest.fixture
def constant_plugin():
    plugins.pm.register(ConstantPlugin(), name="constant-plugin")
    try:
        yield
    finally:
        plugins.pm.unregister(name="constant-plugin")


def test_builtin_tiny_backend_is_registered_like_a_plugin():
    info = latentmotion.backends()["tiny"]
    assert info.plugin == "latentmotion.default_plugins.tiny"
    assert info.distribution == "latentmotion"
    assert info.version == latentmotion.__version__


def test_the_core_registers_only_tiny():
    assert plugins.DEFAULT_PLUGINS == ("latentmotion.default_plugins.tiny",)
    assert [name for name, info in latentmotion.backends().items() if info.distribution == "latentmotion"] == ["tiny"]


def imported_modules(source: str) -> set[str]:
    """Every module an `import` or `from ... import` statement of `source` names (relative imports excluded)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_imported_modules_sees_every_form_of_import():
    source = "import a.b\nfrom c.d import e\ndef f():\n    import g as h\n    from i import j\nfrom . import k\n"
    assert imported_modules(source) == {"a.b", "c.d", "g", "i"}


def test_no_core_module_imports_a_plugin_package():
    package = Path(latentmotion.__file__).parent
    plugin_packages = ("latentmotion_toyworld", "latentmotion_stylegan2", "latentmotion_biggan")
    offenders = [
        f"{path.relative_to(package)} imports {module}"
        for path in sorted(package.rglob("*.py"))
        for module in imported_modules(path.read_text())
        if module.split(".")[0] in plugin_packages
    ]
    assert offenders == []


def test_the_core_ships_no_weights():
    package = Path(latentmotion.__file__).parent
    assert not (package / "toyworld").exists()
    assert [path.name for path in package.rglob("*") if path.suffix in {".safetensors", ".pt", ".pkl", ".bin", ".npz"}] == []


def test_get_backend_returns_a_frozen_differentiable_generator():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    assert not backend.training
    assert all(not p.requires_grad for p in backend.parameters())
    latents = backend.sample_latents(3, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    images = backend.synthesize(latents)
    assert images.shape == (3, 3, 16, 16)
    assert images.min() >= -1 and images.max() <= 1
    images.sum().backward()
    assert latents.grad is not None and latents.grad.abs().sum() > 0


def test_tiny_backend_is_deterministic_under_its_seed():
    a = latentmotion.get_backend("tiny", seed=3)
    b = latentmotion.get_backend("tiny", seed=3)
    c = latentmotion.get_backend("tiny", seed=4)
    w = a.sample_latents(2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a.synthesize(w), b.synthesize(w))
    assert not torch.equal(a.synthesize(w), c.synthesize(w))


def test_noise_changes_the_image_and_none_is_deterministic():
    backend = latentmotion.get_backend("tiny")
    w = backend.sample_latents(2, generator=torch.Generator().manual_seed(0))
    noise = backend.sample_noise(2, generator=torch.Generator().manual_seed(1))
    assert [tuple(n.shape) for n in noise] == [(2, 1, 4, 4)]
    assert not torch.allclose(backend.synthesize(w, noise=noise), backend.synthesize(w))
    assert torch.equal(backend.synthesize(w), backend.synthesize(w))


def test_wrong_latent_or_image_shape_is_a_clear_error():
    backend = latentmotion.get_backend("tiny", dim=8)
    with pytest.raises(ShapeError, match=r"\[N, 8\]"):
        backend.synthesize(torch.zeros(2, 9))
    with pytest.raises(ShapeError, match="32x32"):
        backend.invert(torch.zeros(1, 3, 16, 16))


def test_unknown_backend_lists_the_available_ones():
    with pytest.raises(UnknownBackendError) as error:
        latentmotion.get_backend("tinny")
    assert "available: tiny" in str(error.value)
    assert "Did you mean 'tiny'" in str(error.value)


def test_a_registered_plugin_adds_its_backend(constant_plugin):
    available = latentmotion.backends()
    assert set(available) >= {"tiny", "constant"}
    assert available["constant"].plugin == "constant-plugin"
    assert available["constant"].description == "renders grey"
    backend = latentmotion.get_backend("constant", resolution=4)
    assert backend.synthesize(torch.zeros(2, 4)).shape == (2, 3, 4, 4)


def test_get_backend_stamps_the_registered_name_and_records_the_options(constant_plugin, tmp_path, monkeypatch):
    weights = tmp_path / "grey.bin"
    weights.write_bytes(b"grey")
    monkeypatch.chdir(tmp_path)
    backend = latentmotion.get_backend("constant", resolution=4, weights="grey.bin")
    assert backend.name == "constant"  # not the "grey" the backend gave itself
    assert backend.options == {"resolution": 4, "weights": str(weights.resolve())}  # a local file option made absolute
    assert latentmotion.get_backend("constant", weights="acme/grey").options == {"weights": "acme/grey"}  # a Hub id as given
    assert latentmotion.get_backend("constant").options == {}


def test_a_pipeline_records_the_stamped_name(constant_plugin):
    from latentmotion.basis import PCABasis
    from latentmotion.motion import MotionConfig, MotionGenerator
    from latentmotion.pipeline import LatentMotionPipeline

    backend = latentmotion.get_backend("constant", resolution=4)
    basis = PCABasis.fit(backend, n_samples=100, batch_size=100)
    motion = MotionGenerator(MotionConfig(latent_dim=4, n_components=4, hidden_dim=8), basis=basis.scaled(4))
    config = LatentMotionPipeline(backend=backend, basis=basis, motion=motion).config()
    assert config["backend"] == {"name": "constant", "options": {"resolution": 4}}
    unregistered = ConstantPlugin.build(resolution=4)
    unregistered.name = ""
    with pytest.raises(ConfigError, match="built directly, not by latentmotion.get_backend"):
        LatentMotionPipeline(backend=unregistered, basis=basis, motion=motion).config()


def test_a_factory_that_returns_no_backend_is_refused():
    with pytest.raises(LatentMotionError, match="the factory of backend 'odd' returned dict, not an ImageGeneratorBackend"):
        plugins.build_backend("odd", dict, resolution=4)


def test_two_plugins_registering_one_name_is_an_error(constant_plugin):
    class Again(ConstantPlugin):
        __name__ = "again"

    plugins.pm.register(Again(), name="again")
    try:
        with pytest.raises(LatentMotionError, match="registered twice"):
            latentmotion.backends()
    finally:
        plugins.pm.unregister(name="again")


def test_factory_must_return_a_backend():
    class Broken:
        __name__ = "broken"

        @hookimpl
        def register_backends(self, register):
            register("broken", lambda: object())

    plugins.pm.register(Broken(), name="broken")
    try:
        with pytest.raises(LatentMotionError, match="not an ImageGeneratorBackend"):
            latentmotion.get_backend("broken")
    finally:
        plugins.pm.unregister(name="broken")


def make_distribution(folder, module="fakeplug", dist="latentmotion-fake", version="0.3"):
    """An installed-looking distribution with a `latentmotion` entry point, on sys.path."""
    (folder / f"{module}.py").write_text(
        textwrap.dedent(
            """
            from latentmotion.hookspecs import hookimpl

            @hookimpl
            def register_backends(register):
                from latentmotion.tiny import tiny_backend
                register("fake", lambda **options: tiny_backend(**options), description="from an entry point")
            """
        )
    )
    info = folder / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[latentmotion]\nfake = {module}\n")


@pytest.fixture
def fresh_plugin_manager(monkeypatch):
    monkeypatch.setattr(plugins, "_loaded", False)
    before = set(plugins.pm.get_plugins())
    yield
    for plugin in set(plugins.pm.get_plugins()) - before:
        plugins.pm.unregister(plugin)


def test_entry_points_load_with_their_distribution_and_version(tmp_path, monkeypatch, fresh_plugin_manager):
    make_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("LATENTMOTION_LOAD_PLUGINS", "latentmotion-fake")
    info = latentmotion.backends()["fake"]
    assert (info.distribution, info.version, info.plugin) == ("latentmotion-fake", "0.3", "fake")
    assert latentmotion.get_backend("fake", resolution=8).resolution == 8


def test_empty_load_plugins_loads_only_builtins(tmp_path, monkeypatch, fresh_plugin_manager):
    make_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("LATENTMOTION_LOAD_PLUGINS", "")
    monkeypatch.delattr("sys._called_from_test")
    assert "fake" not in latentmotion.backends()
    assert "tiny" in latentmotion.backends()


def test_without_the_variable_every_installed_plugin_loads(tmp_path, monkeypatch, fresh_plugin_manager):
    make_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("LATENTMOTION_LOAD_PLUGINS", raising=False)
    monkeypatch.delattr("sys._called_from_test")
    assert "fake" in latentmotion.backends()


def test_load_plugins_naming_a_missing_distribution(monkeypatch, fresh_plugin_manager):
    monkeypatch.setenv("LATENTMOTION_LOAD_PLUGINS", "latentmotion-nope")
    with pytest.raises(LatentMotionError, match="pip install latentmotion-nope"):
        latentmotion.backends()


def test_a_broken_plugin_is_skipped_with_a_warning(tmp_path, monkeypatch, fresh_plugin_manager):
    make_distribution(tmp_path, module="brokenplug", dist="latentmotion-broken")
    (tmp_path / "brokenplug.py").write_text("raise ImportError('compiled for another torch')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("LATENTMOTION_LOAD_PLUGINS", "latentmotion-broken")
    with pytest.warns(UserWarning, match="skipping plugin 'fake' of latentmotion-broken 0.3.*compiled for another torch"):
        available = latentmotion.backends()
    assert "tiny" in available and "fake" not in available
