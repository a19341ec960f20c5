"""Parity with the reference implementation, the `pytorch-pretrained-biggan` package (test-only, MIT).

Both models are built from the same random weights: the reference model is created from a narrow
config, its batch-norm statistics, embeddings and attention gain are randomised, its spectral-norm
vectors are run through a few power iterations (as training leaves them), and its state dict and
config are saved in the published layout and loaded back with our loader.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

reference = pytest.importorskip("pytorch_pretrained_biggan")

from latentmotion_biggan.backend import BigGANBackend
from latentmotion_biggan.config import BigGANConfig
from latentmotion_biggan.weights import load_network, published_shapes

TRUNCATIONS = [0.02, 0.14, 0.4, 0.58, 0.777, 1.0]  # grid points, off-grid values, and the rounding cases


def _reference_checkpoint(config: BigGANConfig, folder: Path, *, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = reference.BigGAN(reference.BigGANConfig.from_dict(config.to_dict()))
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            if name.endswith("running_means"):
                buffer.normal_(0, 0.2)
            elif name.endswith("running_vars"):
                buffer.uniform_(0.5, 1.5)
        for name, parameter in model.named_parameters():
            if name.endswith("gamma"):
                parameter.fill_(0.8)
            elif name in ("embeddings.weight", "generator.bn.bias"):
                parameter.normal_()
            elif name == "generator.bn.weight":
                parameter.uniform_(0.5, 1.5)
        model.train()
        z = torch.randn(2, config.z_dim)
        for _ in range(3):  # power iterations of every spectral norm
            model(z, torch.eye(config.num_classes)[:2], 1.0)
    model.eval()
    folder.mkdir()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "config.json").write_text(model.config.to_json_string())
    return model


@pytest.mark.parametrize("resolution", [128, 256, 512])
def test_key_table_matches_the_reference_state_dict(resolution: int) -> None:
    config = BigGANConfig.for_resolution(resolution, channel_width=4, num_classes=10)
    model = reference.BigGAN(reference.BigGANConfig.from_dict(config.to_dict()))
    assert {key: tuple(value.shape) for key, value in model.state_dict().items()} == published_shapes(config)


@pytest.mark.parametrize(("resolution", "truncations"), [(128, TRUNCATIONS), (256, [0.14, 0.5]), (512, [0.58])])
def test_images_match_the_reference_within_1e_4(resolution: int, truncations: list[float], tmp_path: Path) -> None:
    config = BigGANConfig.for_resolution(resolution, channel_width=4, num_classes=10)
    model = _reference_checkpoint(config, tmp_path / "weights", seed=resolution)
    network = load_network(tmp_path / "weights")
    classes = torch.zeros(2, config.num_classes)
    classes[0, 3] = 1.0  # one-hot
    classes[1, 5], classes[1, 7] = 0.3, 0.7  # a blend of two classes
    for truncation in truncations:
        z = torch.from_numpy(reference.truncated_noise_sample(batch_size=2, truncation=truncation, seed=1))
        with torch.no_grad():
            expected = model(z, classes, truncation)
            ours = network(torch.cat([z, network.embed(classes)], dim=1), truncation=truncation)
        assert ours.shape == expected.shape == (2, 3, resolution, resolution)
        assert expected.std() > 0.05  # a non-degenerate image
        np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=0, atol=1e-4, err_msg=f"truncation {truncation}")


def test_backend_renders_what_the_reference_renders(tmp_path: Path) -> None:
    config = BigGANConfig.for_resolution(128, channel_width=4, num_classes=10)
    model = _reference_checkpoint(config, tmp_path / "weights", seed=7)
    backend = BigGANBackend(load_network(tmp_path / "weights"), truncation=0.4)
    z = torch.from_numpy(reference.truncated_noise_sample(batch_size=3, truncation=0.4, seed=2))
    with torch.no_grad():
        expected = model(z, torch.eye(10)[[2, 2, 9]], 0.4)
        ours = backend.synthesize(backend.content_codes(z, [2, 2, 9]))
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=0, atol=1e-4)
