"""The backend contract suite: the built-in backends keep it, and each planted bug is caught by the rule it breaks."""

import pytest
import torch

from latentmotion import plugins
from latentmotion.errors import UnknownBackendError
from latentmotion.inversion import Projection
from latentmotion.testing import BackendContractError, check_backend
from latentmotion.tiny import tiny_backend


def test_the_tiny_backend_keeps_the_contract():
    backend = check_backend("tiny", resolution=16, dim=8)
    assert (backend.name, backend.options) == ("tiny", {"resolution": 16, "dim": 8})


def test_a_factory_is_checked_under_its_function_name():
    def tiny(**options):
        return tiny_backend(**options)

    assert check_backend(tiny, resolution=16, dim=8, seed=3).name == "tiny"


def tiny(**options):
    """The tiny backend at 16 px with 8-d codes; `options` go to `tiny_backend`."""
    return tiny_backend(**{"resolution": 16, "dim": 8, **options})


def with_synthesize(render):
    """A factory of the tiny backend whose `synthesize` is `render(original, latents, noise)`."""

    def factory(**options):
        backend = tiny(**options)
        original = backend.synthesize
        backend.synthesize = lambda latents, *, noise=None: render(original, latents, noise)
        return backend

    return factory


def with_method(name, method):
    """A factory of the tiny backend whose method `name` is `method(backend, original, ...)`."""

    def factory(**options):
        backend = tiny(**options)
        original = getattr(backend, name)
        setattr(backend, name, lambda *args, **kwargs: method(backend, original, *args, **kwargs))
        return backend

    return factory


def unfrozen(**options):
    backend = tiny(**options)
    backend.freeze = lambda: backend
    return backend


def with_string_latent_space(**options):
    backend = tiny(**options)
    backend.latent_space = "w"
    return backend


def unseeded_weights(**options):
    return tiny(seed=int(torch.randint(1000, ())))


BROKEN = {
    "synthesize-range": with_synthesize(lambda original, latents, noise: 3 * original(latents, noise=noise)),
    "synthesize-shape": with_synthesize(lambda original, latents, noise: original(latents, noise=noise)[..., :-1]),
    "synthesize-deterministic": with_synthesize(lambda original, latents, noise: original(latents, noise=noise) * (1 - 0.01 * torch.rand(()))),
    "synthesize-batch": with_synthesize(lambda original, latents, noise: original(latents - latents.mean(0), noise=noise)),
    "differentiable": with_synthesize(lambda original, latents, noise: original(latents, noise=noise).detach()),
    "check-latents": with_synthesize(lambda original, latents, noise: original(latents[:, :8], noise=noise)),
    "noise": with_synthesize(lambda original, latents, noise: original(latents)),
    "sample-latents": with_method("sample_latents", lambda backend, original, n, generator=None: original(n, generator=generator)[:, :4]),
    "sample-latents-seeded": with_method("sample_latents", lambda backend, original, n, generator=None: original(n)),
    "invert": with_method("invert", lambda backend, original, images, steps=300, generator=None: original(images, steps=steps, generator=generator).codes),  # codes, not a Projection
    "frozen": unfrozen,
    "latent-space": with_string_latent_space,
    "options-rebuild": unseeded_weights,
}


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_a_planted_bug_is_caught_by_its_rule(rule):
    with pytest.raises(BackendContractError, match=f"^rule '{rule}': ") as caught:
        check_backend(BROKEN[rule])
    assert caught.value.rule == rule


def test_a_projection_of_other_codes_or_noise_breaks_the_invert_rule():
    def projection(codes, noise):
        return lambda backend, original, images, steps=300, generator=None: Projection(codes=codes(images), noise=noise(images), losses=torch.zeros(len(images)))

    narrow = with_method("invert", projection(lambda images: torch.zeros(len(images), 3), lambda images: []))
    with pytest.raises(BackendContractError, match=r"rule 'invert': invert must give \[2, 8\] finite"):
        check_backend(narrow)
    misshapen = with_method("invert", projection(lambda images: torch.zeros(len(images), 8), lambda images: [torch.zeros(len(images), 1, 2, 2)]))
    with pytest.raises(BackendContractError, match="rule 'invert': the projection's noise must be empty or shaped as sample_noise"):
        check_backend(misshapen)


def test_unrecorded_or_unserialisable_options_break_the_options_rule(monkeypatch):
    with pytest.raises(BackendContractError, match="rule 'options': .* not JSON-serialisable"):
        check_backend(lambda **options: tiny(), note=object())
    monkeypatch.setattr(plugins, "stamp", lambda backend, name, options: backend)
    with pytest.raises(BackendContractError, match="rule 'name': the backend is named '', not the registered 'tiny'"):
        check_backend(tiny)


def test_file_options_must_be_declared_and_exist(tmp_path):
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")

    def with_weights(*, weights, declared=True):
        backend = tiny()
        backend.file_options = ("weights",) if declared else ()
        return backend

    assert check_backend(with_weights, weights=str(weights)).options == {"weights": str(weights.resolve())}
    assert check_backend(with_weights, weights="acme/weights").options == {"weights": "acme/weights"}
    with pytest.raises(BackendContractError, match="rule 'file-options': option weights=.* is not in file_options"):
        check_backend(with_weights, weights=str(weights), declared=False)
    with pytest.raises(BackendContractError, match="rule 'file-options': file option weights='/gone/weights.bin' names neither"):
        check_backend(with_weights, weights="/gone/weights.bin")


def test_a_factory_that_returns_no_backend_breaks_the_factory_rule():
    with pytest.raises(BackendContractError, match="rule 'factory': the factory of backend 'dict' returned dict"):
        check_backend(dict)
    with pytest.raises(UnknownBackendError, match="unknown backend 'tinny'; available: .*tiny"):
        check_backend("tinny")
