"""NVlabs' float16 blocks: which blocks are flagged, what runs in float16 when asked, the image in float32, CPU gating."""

import attrs
import pytest
import torch
from latentmotion_stylegan2.checkpoints import convert, load_generator
from latentmotion_stylegan2.networks import GeneratorConfig, SynthesisLayer, ToRGBLayer
from latentmotion_stylegan2.rosinality import nvlabs_to_rosinality

import latentmotion
from latentmotion.errors import ConfigError

# conftest's TINY (32 px, blocks 4, 8, 16, 32, clamp 256) with the two highest blocks in float16.
HALF = GeneratorConfig(z_dim=16, w_dim=16, img_resolution=32, mapping_layers=2, channel_base=256, channel_max=32, conv_clamp=256, num_fp16_res=2)


def ws_of(generator, n=3, seed=1):
    z = torch.randn(n, generator.config.z_dim, generator=torch.Generator().manual_seed(seed))
    return generator.map(z, truncation_psi=0.7)


@pytest.mark.parametrize(
    ("resolution", "num_fp16_res", "expected"),
    [(1024, 4, [128, 256, 512, 1024]), (256, 4, [32, 64, 128, 256]), (32, 4, [8, 16, 32]), (32, 2, [16, 32]), (32, 9, [8, 16, 32]), (32, 0, [])],
)
def test_fp16_blocks_are_the_highest_resolutions_from_8x8(resolution, num_fp16_res, expected):
    config = GeneratorConfig(img_resolution=resolution, num_fp16_res=num_fp16_res)
    assert config.fp16_resolutions == expected


def test_blocks_are_flagged_and_the_count_is_checked(make_generator):
    g = make_generator(HALF)
    assert [block.use_fp16 for block in g.synthesis.blocks] == [False, False, True, True]
    assert not any(block.use_fp16 for block in make_generator().synthesis.blocks)
    with pytest.raises(ConfigError, match="num_fp16_res must be an integer >= 0"):
        GeneratorConfig(num_fp16_res=-1)


def record_dtypes(synthesis):
    """Hooks that record every synthesis layer's input and output dtype, and each block's image dtype."""
    seen = {}

    def hook(name):
        def record(module, args, output):
            x = args[0]
            seen[name] = (x.dtype, x.is_contiguous(memory_format=torch.channels_last), output.dtype)

        return record

    handles = []
    for block in synthesis.blocks:
        for name, module in block.named_children():
            if isinstance(module, (SynthesisLayer, ToRGBLayer)):
                handles.append(module.register_forward_hook(hook(f"b{block.resolution}.{name}")))
        handles.append(block.register_forward_hook(lambda module, args, output: seen.__setitem__(f"b{module.resolution}.img", output[1].dtype)))
    return seen, handles


def test_flagged_blocks_compute_in_float16_and_the_image_in_float32(make_generator):
    g = make_generator(HALF)
    seen, handles = record_dtypes(g.synthesis)
    with torch.no_grad():
        images = g.synthesis(ws_of(g), fp16=True, fp16_any_device=True)
    for handle in handles:
        handle.remove()
    half, full = torch.float16, torch.float32
    for resolution in (16, 32):
        for name in ("conv0", "conv1"):
            assert seen[f"b{resolution}.{name}"] == (half, True, half), (resolution, name)
        assert seen[f"b{resolution}.torgb"] == (half, True, full)  # the float32 bias is added to the float16 product
    for name in ("b4.conv1", "b4.torgb", "b8.conv0", "b8.conv1", "b8.torgb"):
        assert seen[name][0] == seen[name][2] == full, name
    assert all(seen[f"b{r}.img"] == full for r in (4, 8, 16, 32))
    assert images.dtype == full


def test_fp16_output_is_close_to_float32(make_generator):
    # Measured over 5 seeds (outputs up to 6.6): largest difference 0.014, 2.2e-3 of the largest output; mean 2.1e-4 of it.
    for seed in range(3):
        g = make_generator(HALF, seed=seed)
        ws = ws_of(g, seed=seed)
        with torch.no_grad():
            full = g.synthesis(ws)
            half = g.synthesis(ws, fp16=True, fp16_any_device=True)
        error = (half - full).abs()
        assert error.max() <= 5e-3 * full.abs().max()
        assert error.mean() <= 5e-4 * full.abs().max()
        assert error.max() > 0  # float16 did run


def test_large_styles_do_not_overflow_in_float16(make_generator):
    # Styles of about 3e4 times activations of up to 256 would overflow float16 (max 65504) without
    # NVlabs' pre-normalisation; demodulation makes the rescaling exact, so the image is unchanged.
    g = make_generator(HALF)
    with torch.no_grad():
        for block in g.synthesis.blocks:
            for layer in block.layers:
                layer.affine.bias.mul_(3e4)
        ws = ws_of(g)
        full = g.synthesis(ws)
        half = g.synthesis(ws, fp16=True, fp16_any_device=True)
    assert torch.isfinite(half).all()
    assert (half - full).abs().max() <= 5e-3 * full.abs().max()


def test_the_clamp_bounds_every_float16_layer(make_generator):
    g = make_generator(attrs.evolve(HALF, conv_clamp=0.5))
    outputs = {}
    for block in g.synthesis.blocks[2:]:
        for layer in (*block.layers, block.torgb):
            layer.register_forward_hook(lambda module, args, output: outputs.__setitem__(module, output))
    with torch.no_grad():
        g.synthesis(ws_of(g), fp16=True, fp16_any_device=True)
    assert len(outputs) == 6
    assert all(output.abs().max() == 0.5 for output in outputs.values())


def test_float32_unless_asked_and_on_a_cpu(make_generator):
    g = make_generator(HALF)
    ws = ws_of(g)
    seen, _ = record_dtypes(g.synthesis)
    with torch.no_grad():
        default = g.synthesis(ws)
        on_cpu = g.synthesis(ws, fp16=True)  # float16 blocks run in float16 on CUDA only
    assert {dtypes[0] for key, dtypes in seen.items() if not key.endswith("img")} == {torch.float32}
    assert torch.equal(on_cpu, default)


def test_autocast_decides_alone(make_generator):
    g = make_generator(HALF)
    ws = ws_of(g)
    seen, _ = record_dtypes(g.synthesis)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        autocast = g.synthesis(ws)
        both = g.synthesis(ws, fp16=True, fp16_any_device=True)
    assert torch.float16 not in {dtypes[0] for key, dtypes in seen.items() if not key.endswith("img")}
    assert seen["b32.conv1"][2] == torch.bfloat16
    assert torch.equal(both, autocast)


def test_num_fp16_res_is_read_from_a_pickle_and_kept_by_conversion(nvlabs, make_generator, tmp_path):
    g = make_generator(attrs.evolve(HALF, num_fp16_res=4))
    pickle_path = nvlabs.write(tmp_path / "g.pkl", g)
    loaded = load_generator(pickle_path)
    assert loaded.config.num_fp16_res == 4
    assert [block.use_fp16 for block in loaded.synthesis.blocks] == [False, True, True, True]
    assert load_generator(convert(pickle_path, tmp_path / "g.safetensors")).config.num_fp16_res == 4


def test_rosinality_files_have_no_fp16_blocks(make_generator, tmp_path):
    g = make_generator(HALF)
    path = tmp_path / "g.pt"
    torch.save({"g_ema": nvlabs_to_rosinality(g.state_dict(), g.config), "latent_avg": g.mapping.w_avg}, path)
    assert load_generator(path).config.num_fp16_res == 0


def test_backend_option(registered, nvlabs, make_generator, tmp_path):
    path = nvlabs.write(tmp_path / "g.pkl", make_generator(HALF))
    backend = latentmotion.get_backend("stylegan2", source=str(path), fp16=True)
    assert backend.fp16 and backend.options == {"source": str(path.resolve()), "fp16": True}
    w = backend.sample_latents(2, generator=torch.Generator().manual_seed(0))
    ws = w[:, None].expand(-1, backend.network.num_ws, -1)
    assert torch.equal(backend.synthesize(w), backend.network.synthesis(ws))  # float32 on a CPU
    assert not latentmotion.get_backend("stylegan2", source=str(path)).fp16
    with pytest.raises(ConfigError, match="fp16 must be true or false"):
        latentmotion.get_backend("stylegan2", source=str(path), fp16="yes")
