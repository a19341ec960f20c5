"""The generator's structure (NVlabs state-dict names and shapes), noise modes, truncation, determinism."""

import pytest
import torch
from latentmotion_stylegan2.networks import Generator, GeneratorConfig

from latentmotion.errors import ConfigError, ShapeError


def meta_state_dict(config):
    with torch.device("meta"):
        return {key: tuple(value.shape) for key, value in Generator(config).state_dict().items()}


def test_state_dict_of_a_256px_generator_matches_nvlabs():
    # The 144 keys of NVlabs' 256 px generator with channel_base 16384 (stylegan2-ada-pytorch, paper256).
    shapes = meta_state_dict(GeneratorConfig(img_resolution=256, channel_base=16384))
    expected = {"mapping.w_avg": (512,)}
    for i in range(8):
        expected |= {f"mapping.fc{i}.weight": (512, 512), f"mapping.fc{i}.bias": (512,)}
    channels = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64}
    for res, out_ch in channels.items():
        block = f"synthesis.b{res}"
        expected[f"{block}.resample_filter"] = (4, 4)
        layers = {"conv1": out_ch}
        if res == 4:
            expected[f"{block}.const"] = (512, 4, 4)
        else:
            layers = {"conv0": channels[res // 2], "conv1": out_ch}
        for name, in_ch in layers.items():
            expected |= {
                f"{block}.{name}.weight": (out_ch, in_ch, 3, 3),
                f"{block}.{name}.noise_strength": (),
                f"{block}.{name}.bias": (out_ch,),
                f"{block}.{name}.resample_filter": (4, 4),
                f"{block}.{name}.noise_const": (res, res),
                f"{block}.{name}.affine.weight": (in_ch, 512),
                f"{block}.{name}.affine.bias": (in_ch,),
            }
        expected |= {
            f"{block}.torgb.weight": (3, out_ch, 1, 1),
            f"{block}.torgb.bias": (3,),
            f"{block}.torgb.affine.weight": (out_ch, 512),
            f"{block}.torgb.affine.bias": (out_ch,),
        }
    assert len(shapes) == 144
    assert shapes == expected
    assert shapes["synthesis.b256.conv0.weight"] == (64, 128, 3, 3)
    assert shapes["synthesis.b256.conv0.affine.weight"] == (128, 512)


@pytest.mark.parametrize(("resolution", "num_ws", "last_channels"), [(32, 8, 512), (256, 14, 128), (512, 16, 64), (1024, 18, 32)])
def test_released_channel_settings_and_number_of_ws(resolution, num_ws, last_channels):
    config = GeneratorConfig(img_resolution=resolution, channel_base=32768, channel_max=512)
    assert config.num_ws == num_ws
    shapes = meta_state_dict(config)
    assert shapes[f"synthesis.b{resolution}.conv1.weight"] == (last_channels, last_channels, 3, 3)
    assert len([key for key in shapes if key.endswith("noise_const")]) == num_ws - 1


def test_conditional_mapping_has_an_embedding_and_needs_labels():
    config = GeneratorConfig(z_dim=8, c_dim=10, w_dim=8, img_resolution=8, mapping_layers=2, channel_base=64, channel_max=8)
    shapes = meta_state_dict(config)
    assert shapes["mapping.embed.weight"] == (8, 10)
    assert shapes["mapping.fc0.weight"] == (8, 16)  # z and the normalised embedding, concatenated
    generator = Generator(config)
    with pytest.raises(ShapeError, match="labels"):
        generator.mapping(torch.randn(2, 8))
    labels = torch.nn.functional.one_hot(torch.tensor([1, 7]), 10).float()
    assert generator.mapping(torch.randn(2, 8), labels).shape == (2, 8)


def test_seeded_weights_and_const_rendering_are_deterministic(make_generator):
    a, b = make_generator(seed=3), make_generator(seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(a(z), b(z))
        assert torch.equal(a(z), a(z))
        # each image is independent of the rest of the batch
        assert torch.allclose(a(z)[1:2], a(z[1:2]), atol=1e-5)


def test_noise_modes(tiny_generator):
    g = tiny_generator
    ws = g.map(torch.randn(2, 16, generator=torch.Generator().manual_seed(0)))
    with torch.no_grad():
        const = g.synthesis(ws, noise_mode="const")
        random_a = g.synthesis(ws, noise_mode="random")
        random_b = g.synthesis(ws, noise_mode="random")
        none = g.synthesis(ws, noise_mode="none")
        stored = [layer.noise_const[None, None] for block in g.synthesis.blocks for layer in block.layers]
        zeros = [torch.zeros(1, 1, r, r) for r in g.synthesis.noise_resolutions]
        assert torch.equal(g.synthesis(ws, noise=stored), const)
        assert torch.allclose(g.synthesis(ws, noise=zeros), none, atol=1e-6)
    assert not torch.allclose(random_a, random_b)
    assert not torch.allclose(const, none)
    assert g.synthesis.noise_resolutions == [4, 8, 8, 16, 16, 32, 32]


def test_explicit_noise_is_per_image(tiny_generator):
    g = tiny_generator
    ws = g.map(torch.randn(1, 16)).expand(2, -1, -1)
    noise = [torch.randn(2, 1, r, r) for r in g.synthesis.noise_resolutions]
    with torch.no_grad():
        images = g.synthesis(ws, noise=noise)
        second = g.synthesis(ws[1:], noise=[n[1:] for n in noise])
    assert not torch.allclose(images[0], images[1])
    assert torch.allclose(images[1:], second, atol=1e-5)


def test_truncation_and_cutoff(tiny_generator):
    g = tiny_generator
    z = torch.randn(2, 16)
    with torch.no_grad():
        full = g.map(z)
        assert torch.allclose(g.map(z, truncation_psi=0.0), g.mapping.w_avg.expand_as(full))
        half = g.map(z, truncation_psi=0.5, truncation_cutoff=3)
    assert torch.allclose(half[:, :3], g.mapping.w_avg + 0.5 * (full[:, :3] - g.mapping.w_avg), atol=1e-6)
    assert torch.equal(half[:, 3:], full[:, 3:])


def test_bad_inputs_are_clear_errors(tiny_generator):
    g = tiny_generator
    with pytest.raises(ShapeError, match=r"\[N, 8, 16\]"):
        g.synthesis(torch.randn(2, 7, 16))
    with pytest.raises(ShapeError, match="7 noise tensors"):
        g.synthesis(torch.randn(2, 8, 16), noise=[torch.randn(2, 1, 4, 4)])
    with pytest.raises(ShapeError, match="8x8 layer"):
        g.synthesis(torch.randn(2, 8, 16), noise=[torch.randn(2, 1, r, r) for r in [4, 4, 8, 16, 16, 32, 32]])
    with pytest.raises(ConfigError, match="noise_mode"):
        g.synthesis(torch.randn(2, 8, 16), noise_mode="fixed")
    with pytest.raises(ConfigError, match="power of two"):
        GeneratorConfig(img_resolution=48)
