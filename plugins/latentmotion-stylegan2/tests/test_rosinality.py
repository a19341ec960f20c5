"""rosinality/stylegan2-pytorch checkpoints: layout, round trip through NVlabs names, strict key checking."""

import argparse

import attrs
import pytest
import torch
from latentmotion_stylegan2.checkpoints import estimate_w_avg, load_generator
from latentmotion_stylegan2.networks import GeneratorConfig
from latentmotion_stylegan2.rosinality import nvlabs_to_rosinality

from latentmotion.errors import CheckpointError

# An 8 px generator in rosinality's layout, written out by hand: 2 mapping layers, 4x4 block
# (input, conv1, to_rgb1), one up-sampling block (convs.0, convs.1, to_rgbs.0), 3 noise maps.
SMALL = GeneratorConfig(z_dim=4, w_dim=4, img_resolution=8, mapping_layers=2, channel_base=32, channel_max=8)
SMALL_KEYS = {
    "style.1.weight": (4, 4), "style.1.bias": (4,), "style.2.weight": (4, 4), "style.2.bias": (4,),
    "input.input": (1, 8, 4, 4),
    "conv1.conv.weight": (1, 8, 8, 3, 3), "conv1.conv.modulation.weight": (8, 4), "conv1.conv.modulation.bias": (8,),
    "conv1.noise.weight": (1,), "conv1.activate.bias": (8,),
    "to_rgb1.conv.weight": (1, 3, 8, 1, 1), "to_rgb1.conv.modulation.weight": (8, 4), "to_rgb1.conv.modulation.bias": (8,),
    "to_rgb1.bias": (1, 3, 1, 1),
    "convs.0.conv.weight": (1, 4, 8, 3, 3), "convs.0.conv.blur.kernel": (4, 4), "convs.0.conv.modulation.weight": (8, 4),
    "convs.0.conv.modulation.bias": (8,), "convs.0.noise.weight": (1,), "convs.0.activate.bias": (4,),
    "convs.1.conv.weight": (1, 4, 4, 3, 3), "convs.1.conv.modulation.weight": (4, 4), "convs.1.conv.modulation.bias": (4,),
    "convs.1.noise.weight": (1,), "convs.1.activate.bias": (4,),
    "to_rgbs.0.upsample.kernel": (4, 4), "to_rgbs.0.conv.weight": (1, 3, 4, 1, 1), "to_rgbs.0.conv.modulation.weight": (4, 4),
    "to_rgbs.0.conv.modulation.bias": (4,), "to_rgbs.0.bias": (1, 3, 1, 1),
    "noises.noise_0": (1, 1, 4, 4), "noises.noise_1": (1, 1, 8, 8), "noises.noise_2": (1, 1, 8, 8),
}  # fmt: skip


def render(generator, seed=0):
    z = torch.randn(2, generator.config.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return generator(z, noise_mode="const")


def test_rosinality_layout_by_hand(make_generator):
    g = make_generator(SMALL)
    state = nvlabs_to_rosinality(g.state_dict(), SMALL)
    assert {key: tuple(value.shape) for key, value in state.items()} == SMALL_KEYS
    nv = g.state_dict()
    assert torch.equal(state["convs.0.conv.weight"][0], nv["synthesis.b8.conv0.weight"])
    assert torch.equal(state["convs.1.noise.weight"][0], nv["synthesis.b8.conv1.noise_strength"])
    assert torch.equal(state["noises.noise_2"][0, 0], nv["synthesis.b8.conv1.noise_const"])
    assert torch.equal(state["to_rgb1.conv.modulation.bias"], nv["synthesis.b4.torgb.affine.bias"])  # both store the bias init of 1
    assert torch.equal(state["convs.0.conv.blur.kernel"], 4 * nv["synthesis.b8.conv0.resample_filter"])  # pre-multiplied by up ** 2


def test_round_trip_through_rosinality_names_renders_identically(tiny_generator, tmp_path):
    path = tmp_path / "stylegan2-ffhq-config-f.pt"
    torch.save({"g_ema": nvlabs_to_rosinality(tiny_generator.state_dict(), tiny_generator.config), "latent_avg": tiny_generator.mapping.w_avg}, path)
    loaded = load_generator(path)
    assert loaded.config == attrs.evolve(tiny_generator.config, conv_clamp=None)  # rosinality has no clamp
    assert all(torch.equal(value, tiny_generator.state_dict()[key]) for key, value in loaded.state_dict().items())
    assert torch.equal(render(loaded), render(tiny_generator))


def test_a_training_checkpoint_with_its_arguments_loads(tiny_generator, tmp_path):
    # rosinality's train.py saves g, d, g_ema, optimiser states and its argparse arguments.
    state = nvlabs_to_rosinality(tiny_generator.state_dict(), tiny_generator.config)
    path = tmp_path / "050000.pt"
    torch.save({"g": state, "d": {}, "g_ema": state, "args": argparse.Namespace(size=32, channel_multiplier=2), "ada_aug_p": 0.1}, path)
    loaded = load_generator(path)
    assert torch.allclose(loaded.mapping.w_avg, estimate_w_avg(loaded))  # no latent_avg: estimated from 10,000 samples
    assert not torch.allclose(loaded.mapping.w_avg, tiny_generator.mapping.w_avg)
    z = torch.randn(10_000, 16, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(loaded.mapping.w_avg, loaded.mapping(z).mean(0), atol=1e-5)


def test_missing_and_unexpected_keys_are_named(tiny_generator, tmp_path):
    state = nvlabs_to_rosinality(tiny_generator.state_dict(), tiny_generator.config)
    del state["convs.3.conv.modulation.bias"]
    del state["noises.noise_6"]
    state["convs.3.extra.weight"] = torch.zeros(1)
    path = tmp_path / "broken.pt"
    torch.save({"g_ema": state}, path)
    with pytest.raises(CheckpointError, match=r"missing keys \['convs.3.conv.modulation.bias', 'noises.noise_6'\], unexpected keys \['convs.3.extra.weight'\]"):
        load_generator(path)


def test_wrong_shapes_and_wrong_contents_are_clear_errors(tiny_generator, tmp_path):
    state = nvlabs_to_rosinality(tiny_generator.state_dict(), tiny_generator.config)
    state["convs.1.activate.bias"] = torch.zeros(7)
    path = tmp_path / "g.pt"
    torch.save({"g_ema": state}, path)
    with pytest.raises(CheckpointError, match=r"convs.1.activate.bias has shape \[7\], expected \[32\]"):
        load_generator(path)
    torch.save({"g": state}, path)
    with pytest.raises(CheckpointError, match="no 'g_ema' entry"):
        load_generator(path)
    torch.save({"g_ema": {"weight": torch.zeros(3)}}, path)
    with pytest.raises(CheckpointError, match="not a rosinality StyleGAN2 generator"):
        load_generator(path)


def test_truncated_and_unsafe_torch_files_are_refused(tiny_generator, tmp_path):
    path = tmp_path / "g.pt"
    torch.save({"g_ema": nvlabs_to_rosinality(tiny_generator.state_dict(), tiny_generator.config)}, path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_generator(path)

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return eval, (f"open({str(marker)!r}, 'w').close()",)

    torch.save({"g_ema": {}, "extra": Payload()}, path)
    with pytest.raises(CheckpointError, match="is refused: .* could run code") as refused:
        load_generator(path)
    assert "weights_only=False" not in str(refused.value)  # torch's advice is never passed on
    assert not marker.exists()
