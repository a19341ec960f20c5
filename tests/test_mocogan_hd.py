"""Importing the MoCoGAN-HD authors' released models: files in their layout, built here with random weights.

The authors' files are written as their code writes them: `modelR_epoch_N.pth` is
`torch.save(RNNModule.state_dict())` (keys `enc_cell.*`, `cell.*`, `w` `[h, K]`, `b` `[K]`,
`fc1.*`, `fc2.*`), the PCA statistics are `np.save`d arrays, the image generator a rosinality
StyleGAN2 checkpoint `{"g_ema": state}`. The reference below re-implements their inference
from the specification, independently of latentmotion's modules and of the StyleGAN2 plugin:
the motion generator's equations (LSTM cells written out, `h_t @ w + b`), rosinality's mapping
network, and rosinality's synthesis network read straight from the `g_ema` tensors (modulated
convolutions, transposed-convolution up-sampling with its blur, skip up-sampling) with
`use_noise=False`.
"""

import json
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from typer.testing import CliRunner

from latentmotion import cli, plugins
from latentmotion.errors import CheckpointError, ConfigError, ShapeError
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.rendering import render

stylegan2 = pytest.importorskip("latentmotion_stylegan2")
from latentmotion_stylegan2 import plugin
from latentmotion_stylegan2.networks import Generator, GeneratorConfig
from latentmotion_stylegan2.rosinality import nvlabs_to_rosinality

# A 16 px rosinality generator with a 16-d W; a motion generator whose hidden size (12) differs
# from its number of directions (6), so that a missing transpose of `w` cannot go unseen.
IMAGE = GeneratorConfig(z_dim=16, w_dim=16, img_resolution=16, mapping_layers=2, channel_base=128, channel_max=16)
LATENT, HIDDEN, K, N_PCA_FILE = 16, 12, 6, 16
LAMBDA = 0.2

runner = CliRunner()


@pytest.fixture(autouse=True)
def _setup(one_thread):
    """The stylegan2 plugin registered as its entry point would be; tiny networks on one thread."""
    plugins.load_plugins()
    plugins.pm.register(plugin, name="stylegan2")
    yield
    plugins.pm.unregister(name="stylegan2")


def rosinality_checkpoint(path, config=IMAGE, seed=0):
    """A rosinality `{"g_ema": ...}` file of a generator with random weights and non-zero noise strengths."""
    torch.manual_seed(seed)
    generator = Generator(config)
    with torch.no_grad():
        for name, parameter in generator.named_parameters():
            if name.endswith("noise_strength"):
                parameter.fill_(0.3)
            elif name.endswith("bias"):
                parameter.add_(0.1 * torch.randn(parameter.shape))
    torch.save({"g_ema": nvlabs_to_rosinality(generator.state_dict(), config)}, path)
    return path


def official_state(latent=LATENT, hidden=HIDDEN, k=K, noise=None, seed=1):
    """A state dict of the authors' RNNModule, by its documented layout, with random weights."""
    noise = latent if noise is None else noise
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std=1.0):
        return torch.randn(*shape, generator=g) * std

    state = {}
    for cell, inputs in (("enc_cell", latent), ("cell", noise)):
        state[f"{cell}.weight_ih"] = randn(4 * hidden, inputs, std=1 / math.sqrt(inputs))
        state[f"{cell}.weight_hh"] = randn(4 * hidden, hidden, std=1 / math.sqrt(hidden))
        state[f"{cell}.bias_ih"] = randn(4 * hidden, std=0.1)
        state[f"{cell}.bias_hh"] = randn(4 * hidden, std=0.1)
    state["w"] = randn(hidden, k, std=0.5)  # used as h_t @ w
    state["b"] = randn(k, std=0.3)
    state["fc1.weight"] = randn(noise, 2 * hidden, std=0.3)
    state["fc1.bias"] = randn(noise, std=0.1)
    state["fc2.weight"] = randn(noise, noise, std=0.3)
    state["fc2.bias"] = randn(noise, std=0.1)
    return state


def pca_files(folder, rows=N_PCA_FILE, cols=LATENT, seed=2):
    """`pca_comp.npy` (orthonormal rows, as sklearn's components_) and `pca_stdev.npy` (decreasing)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((cols, cols)))
    comp = q.T[:rows]
    stdev = np.sort(rng.uniform(0.5, 3.0, rows))[::-1].copy()
    np.save(folder / "pca_comp.npy", comp)
    np.save(folder / "pca_stdev.npy", stdev)
    return folder / "pca_comp.npy", folder / "pca_stdev.npy"


@pytest.fixture
def released(tmp_path):
    """The four released files of one model, in the authors' formats."""
    torch.save(official_state(), tmp_path / "modelR_epoch_799.pth")
    comp, stdev = pca_files(tmp_path)
    return {
        "motion": tmp_path / "modelR_epoch_799.pth",
        "pca_comp": comp,
        "pca_stdev": stdev,
        "generator": rosinality_checkpoint(tmp_path / "faceforensics.pt"),
    }


# ----------------------------------------------------------------------------------------------
# The authors' forward equations, written out from the specification.


def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    gates = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    i, f, g, o = gates.chunk(4, dim=1)  # torch.nn.LSTMCell's order, which the authors' cells are
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def official_motion(state, comp, stdev, w0, eps, n_pca=K, w_residual=LAMBDA):
    """RNNModule.forward with the noise passed in: trajectory [B, T, D] and eps_rec [B, T-1, N]."""
    pca_mul = torch.as_tensor(comp[:n_pca], dtype=torch.float32) * torch.as_tensor(stdev[:n_pca], dtype=torch.float32)[:, None]
    zeros = w0.new_zeros(w0.shape[0], state["enc_cell.weight_hh"].shape[1])
    h, c = lstm_cell(w0, zeros, zeros, *(state[f"enc_cell.{n}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
    out, rec = [w0], []
    for t in range(eps.shape[1]):
        h, c = lstm_cell(eps[:, t], h, c, *(state[f"cell.{n}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
        out.append(out[-1] + w_residual * torch.tanh(h @ state["w"] + state["b"]) @ pca_mul)
        hidden = F.relu(torch.cat([h, c], dim=1) @ state["fc1.weight"].T + state["fc1.bias"])
        rec.append(hidden @ state["fc2.weight"].T + state["fc2.bias"])
    return torch.stack(out, dim=1), torch.stack(rec, dim=1)


def rosinality_mapping(g_ema, z):
    """rosinality's `style`: PixelNorm, then EqualLinear(lr_mul=0.01) with fused leaky ReLU, per layer."""
    x = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)
    index = 1
    while f"style.{index}.weight" in g_ema:
        weight, bias = g_ema[f"style.{index}.weight"], g_ema[f"style.{index}.bias"]
        x = F.linear(x, weight * (0.01 / math.sqrt(weight.shape[1])))
        x = F.leaky_relu(x + bias * 0.01, 0.2) * math.sqrt(2)
        index += 1
    return x


def upfirdn(x, kernel, *, up, pad):
    """Zero-insert by `up`, pad every side by (pad[0] before, pad[1] after), convolve each channel with `kernel`."""
    n, c, h, w = x.shape
    if up > 1:
        spread = x.new_zeros(n, c, h * up, w * up)
        spread[:, :, ::up, ::up] = x
        x = spread
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    return F.conv2d(x, kernel.flip(0, 1)[None, None].expand(c, 1, -1, -1), groups=c)


def modulated_conv(g_ema, prefix, x, w, *, demodulate=True, up=False):
    """rosinality's ModulatedConv2d: style from an EqualLinear, scaled and (de)modulated weights, per sample."""
    weight = g_ema[f"{prefix}.weight"][0]  # [O, I, k, k]
    modulation = g_ema[f"{prefix}.modulation.weight"]
    style = F.linear(w, modulation / math.sqrt(modulation.shape[1])) + g_ema[f"{prefix}.modulation.bias"]  # [B, I]
    weights = weight[None] / math.sqrt(weight[0].numel()) * style[:, None, :, None, None]  # [B, O, I, k, k]
    if demodulate:
        weights = weights * torch.rsqrt(weights.square().sum(dim=(2, 3, 4)) + 1e-8)[:, :, None, None, None]
    outs = []
    for sample, kernel in zip(x, weights):
        if up:  # transposed convolution with stride 2, then the blur (its kernel stored pre-multiplied by 4)
            out = F.conv_transpose2d(sample[None], kernel.transpose(0, 1), stride=2)
            outs.append(upfirdn(out, g_ema[f"{prefix}.blur.kernel"], up=1, pad=(1, 1)))
        else:
            outs.append(F.conv2d(sample[None], kernel, padding=kernel.shape[-1] // 2))
    return torch.cat(outs)


def rosinality_synthesis(g_ema, w, noise=None):
    """The authors' (rosinality's 2020) synthesis: [N, D] codes, each broadcast to all layers.

    `noise`: one `[N, 1, r, r]` map per noise layer in rosinality's order (use_noise=True), or None (use_noise=False).
    """
    maps = iter(noise or [])

    def styled(prefix, x, up=False):
        x = modulated_conv(g_ema, f"{prefix}.conv", x, w, up=up)
        if noise is not None:
            x = x + g_ema[f"{prefix}.noise.weight"] * next(maps)
        return F.leaky_relu(x + g_ema[f"{prefix}.activate.bias"][None, :, None, None], 0.2) * math.sqrt(2)

    def to_rgb(prefix, x, skip=None):
        out = modulated_conv(g_ema, f"{prefix}.conv", x, w, demodulate=False) + g_ema[f"{prefix}.bias"]
        return out if skip is None else out + upfirdn(skip, g_ema[f"{prefix}.upsample.kernel"], up=2, pad=(2, 1))

    x = styled("conv1", g_ema["input.input"].expand(len(w), -1, -1, -1))
    skip = to_rgb("to_rgb1", x)
    index = 0
    while f"to_rgbs.{index}.bias" in g_ema:
        x = styled(f"convs.{2 * index + 1}", styled(f"convs.{2 * index}", x, up=True))
        skip = to_rgb(f"to_rgbs.{index}", x, skip)
        index += 1
    return skip


def render_without_noise(g_ema, trajectory):
    """Every code of `[B, T, D]` through the authors' frozen G_I with no noise (use_noise=False)."""
    b, t, d = trajectory.shape
    images = rosinality_synthesis(g_ema, trajectory.reshape(b * t, d))
    return images.reshape(b, t, *images.shape[1:])


def content_and_noise(n_videos=2, n_frames=5, seed=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n_videos, LATENT, generator=g), torch.randn(n_videos, n_frames - 1, LATENT, generator=g)


# ----------------------------------------------------------------------------------------------
# Equivalence.


def test_the_imported_motion_generator_computes_the_authors_equations(released):
    pipeline = LatentMotionPipeline.from_mocogan_hd(**released)
    config = pipeline.motion.config
    assert (config.latent_dim, config.hidden_dim, config.n_components, config.noise_dim) == (LATENT, HIDDEN, K, LATENT)
    assert (config.step_scale, config.residual) == (LAMBDA, True)
    state = torch.load(released["motion"], weights_only=True)
    comp, stdev = np.load(released["pca_comp"]), np.load(released["pca_stdev"])
    z, eps = content_and_noise()
    w0 = rosinality_mapping(torch.load(released["generator"], weights_only=True)["g_ema"], z)
    with torch.no_grad():
        ours = pipeline.motion(w0, 5, eps)
    expected, reconstruction = official_motion(state, comp, stdev, w0, eps)
    assert (expected[:, 1:] - expected[:, :-1]).abs().max() > 0.05  # the motion is visible
    assert (ours.trajectory - expected).abs().max() < 1e-5
    assert (ours.noise_reconstruction - reconstruction).abs().max() < 1e-5


def test_frames_equal_the_authors_inference_without_noise(released):
    pipeline = LatentMotionPipeline.from_mocogan_hd(**released)
    state = torch.load(released["motion"], weights_only=True)
    g_ema = torch.load(released["generator"], weights_only=True)["g_ema"]
    comp, stdev = np.load(released["pca_comp"]), np.load(released["pca_stdev"])
    z, eps = content_and_noise()
    w0 = rosinality_mapping(g_ema, z)
    with torch.no_grad():
        assert (pipeline.backend.network.mapping(z) - w0).abs().max() < 1e-5  # the same content code from the same z
        trajectory, _ = official_motion(state, comp, stdev, w0, eps)
        expected = render_without_noise(g_ema, trajectory).clamp(-1, 1)  # generate clamps, as the authors' video writer does
        frames = pipeline.generate(content=w0, n_frames=5, motion_noise=eps, noise="zero")
        assert frames.shape == (2, 5, 3, 16, 16)
        assert (frames - expected).abs().max() < 1e-4
        # --interpolation of evaluate.py: the midpoint between consecutive codes, 2n - 1 frames
        mids = (trajectory[:, :-1] + trajectory[:, 1:]) / 2
        interleaved = torch.cat([torch.stack([trajectory[:, :-1], mids], dim=2).flatten(1, 2), trajectory[:, -1:]], dim=1)
        smooth = pipeline.generate(content=w0, n_frames=5, motion_noise=eps, noise="zero", interpolation=1)
        assert smooth.shape[1] == 9
        assert (smooth - render_without_noise(g_ema, interleaved).clamp(-1, 1)).abs().max() < 1e-4
        # the stored constant noise maps are not the authors' noise-free rendering
        constant = pipeline.generate(content=w0, n_frames=5, motion_noise=eps, noise="constant")
        assert (constant - expected).abs().max() > 1e-3
        assert torch.equal(constant, pipeline.generate(content=w0, n_frames=5, motion_noise=eps, noise=False))


def test_per_video_noise_is_injected_as_the_authors_do(released):
    pipeline = LatentMotionPipeline.from_mocogan_hd(**released)
    g_ema = torch.load(released["generator"], weights_only=True)["g_ema"]
    w0, eps = content_and_noise()
    with torch.no_grad():
        trajectory = pipeline.trajectories(content=w0, n_frames=5, motion_noise=eps)  # [2, 5, D]
        maps = pipeline.backend.sample_noise(2, generator=torch.Generator().manual_seed(6))  # one draw per video
        frames = render(pipeline.backend, trajectory, maps)
        per_frame = [tensor.repeat_interleave(5, dim=0) for tensor in maps]  # NoiseInjection: each video's map on all its frames
        expected = rosinality_synthesis(g_ema, trajectory.reshape(10, LATENT), per_frame).reshape(frames.shape)
    assert (frames - expected).abs().max() < 1e-4
    assert (frames - render(pipeline.backend, trajectory, [])).abs().max() > 1e-3


def test_per_video_noise_is_shared_by_the_frames_of_a_video(released):
    pipeline = LatentMotionPipeline.from_mocogan_hd(**released)
    w0, _ = content_and_noise()
    still = torch.zeros(2, 2, LATENT)
    with torch.no_grad():
        pipeline.motion.coefficients.weight.zero_()
        pipeline.motion.coefficients.bias.zero_()  # no motion: every frame is the content code
        frames = pipeline.generate(content=w0, n_frames=3, motion_noise=still, noise="video", seed=4)
    assert torch.equal(frames[:, 0], frames[:, 1]) and torch.equal(frames[:, 1], frames[:, 2])
    assert not torch.allclose(frames, pipeline.generate(content=w0, n_frames=3, motion_noise=still, noise="zero"))


def test_the_module_prefix_of_a_distributed_state_dict_is_stripped(released, tmp_path):
    state = torch.load(released["motion"], weights_only=True)
    torch.save({f"module.{key}": value for key, value in state.items()}, tmp_path / "ddp.pth")
    plain = LatentMotionPipeline.from_mocogan_hd(**released)
    ddp = LatentMotionPipeline.from_mocogan_hd(**{**released, "motion": tmp_path / "ddp.pth"})
    for key, value in plain.motion.state_dict().items():
        assert torch.equal(value, ddp.motion.state_dict()[key])


def test_the_basis_is_the_stdev_scaled_components_and_the_mean_is_optional(released, tmp_path):
    comp, stdev = np.load(released["pca_comp"]), np.load(released["pca_stdev"])
    pipeline = LatentMotionPipeline.from_mocogan_hd(**released)
    assert pipeline.basis.n_components == K
    assert torch.allclose(pipeline.motion.basis, torch.from_numpy(comp[:K] * stdev[:K, None]).float())
    estimated = pipeline.basis.mean
    assert torch.allclose(estimated, pipeline.backend.sample_latents(10_000, generator=torch.Generator().manual_seed(0)).mean(0))
    np.save(tmp_path / "style_mean.npy", np.arange(LATENT, dtype=np.float64))
    given = LatentMotionPipeline.from_mocogan_hd(**released, pca_mean=tmp_path / "style_mean.npy")
    assert torch.equal(given.basis.mean, torch.arange(LATENT, dtype=torch.float32))
    assert torch.equal(given.motion.basis, pipeline.motion.basis)  # the authors never use the mean


def test_round_trip_through_a_pipeline_folder(released, tmp_path):
    pipeline = LatentMotionPipeline.from_mocogan_hd(**released, n_frames=7, fps=12, step_scale=0.3)
    folder = pipeline.save_pretrained(tmp_path / "pipeline")
    config = json.loads((folder / "config.json").read_text())
    assert config["backend"]["name"] == "stylegan2"
    assert config["motion"] == {"latent_dim": LATENT, "n_components": K, "hidden_dim": HIDDEN, "noise_dim": LATENT, "step_scale": 0.3, "residual": True}
    assert (config["n_frames"], config["fps"]) == (7, 12)
    loaded = LatentMotionPipeline.from_pretrained(folder)
    for noise in ("video", "zero", "constant"):
        assert torch.equal(loaded.generate(2, seed=5, noise=noise), pipeline.generate(2, seed=5, noise=noise))


# ----------------------------------------------------------------------------------------------
# The command line.


def convert(files, output, *extra):
    args = ["convert", "mocogan-hd"]
    for option in ("motion", "pca_comp", "pca_stdev", "generator"):
        args += [f"--{option.replace('_', '-')}", str(files[option])]
    return runner.invoke(cli.app, [*args, "--output", str(output), *map(str, extra)])


def assert_user_error(result, *fragments):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(fragment in lines[0] for fragment in fragments), lines[0]
    assert "Traceback" not in result.output


def test_cli_convert_writes_a_pipeline_folder(released, tmp_path):
    result = convert(released, tmp_path / "out", "--n-frames", 9, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["output"] == str(tmp_path / "out")
    assert report["motion"]["hidden_dim"] == HIDDEN and report["motion"]["n_components"] == K
    assert {"config.json", "motion.safetensors", "basis.safetensors", "README.md"} <= {path.name for path in (tmp_path / "out").iterdir()}
    loaded = LatentMotionPipeline.from_pretrained(tmp_path / "out")
    assert loaded.n_frames == 9
    direct = LatentMotionPipeline.from_mocogan_hd(**released)
    w0, eps = content_and_noise()
    assert torch.equal(
        loaded.generate(content=w0, n_frames=5, motion_noise=eps, noise="zero"), direct.generate(content=w0, n_frames=5, motion_noise=eps, noise="zero")
    )


def test_cli_generate_takes_the_noise_mode(released, tmp_path):
    LatentMotionPipeline.from_mocogan_hd(**released).save_pretrained(tmp_path / "pipeline")
    result = runner.invoke(
        cli.app, ["generate", "-p", str(tmp_path / "pipeline"), "-o", str(tmp_path / "v.png"), "-t", "3", "--noise", "zero", "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    assert_user_error(runner.invoke(cli.app, ["generate", "-p", str(tmp_path / "pipeline"), "-o", str(tmp_path / "v.png"), "--noise", "loud"]), "--noise")


def save_state(tmp_path, state, name="modelR_epoch_1.pth"):
    torch.save(state, tmp_path / name)
    return tmp_path / name


def test_wrong_hidden_size_is_named(released, tmp_path):
    state = official_state()
    state.update({key: value for key, value in official_state(hidden=8).items() if key.startswith("cell.")})
    result = convert({**released, "motion": save_state(tmp_path, state)}, tmp_path / "out")
    assert_user_error(result, "modelR_epoch_1.pth", "hidden size 12", "cell.weight_hh is [32, 8], expected [48, 12]")


def test_transposed_w_is_named(released, tmp_path):
    state = official_state()
    state["w"] = state["w"].T.contiguous()
    assert_user_error(convert({**released, "motion": save_state(tmp_path, state)}, tmp_path / "out"), "w is [6, 12], expected [12, 6]")


@pytest.mark.parametrize(
    ("comp_shape", "stdev_shape", "fragments"),
    [
        ((16, 8), (16,), ("pca_comp.npy has shape [16, 8]", "must be [>= 6, 16]")),
        ((4, 16), (16,), ("pca_comp.npy has shape [4, 16]", "must be [>= 6, 16]")),
        ((16, 16), (3,), ("pca_stdev.npy has shape [3]", "must be [>= 6]")),
        ((16, 16), (16, 1), ("pca_stdev.npy has shape [16, 1]",)),
    ],
)
def test_pca_files_that_do_not_fit_are_named(released, tmp_path, comp_shape, stdev_shape, fragments):
    np.save(tmp_path / "pca_comp.npy", np.ones(comp_shape))
    np.save(tmp_path / "pca_stdev.npy", np.ones(stdev_shape))
    assert_user_error(convert(released, tmp_path / "out"), *fragments)


def test_a_motion_generator_of_another_latent_width_is_refused(released, tmp_path):
    motion = save_state(tmp_path, official_state(latent=8))
    assert_user_error(convert({**released, "motion": motion}, tmp_path / "out"), "moves 8-d codes", "16-d latent space", "faceforensics.pt")


def test_missing_and_unknown_keys_are_named(released, tmp_path):
    state = official_state()
    del state["fc2.bias"]
    state["pca_comp"] = torch.zeros(3)
    result = convert({**released, "motion": save_state(tmp_path, state)}, tmp_path / "out")
    assert_user_error(result, "modelR_epoch_1.pth", "missing keys ['fc2.bias']", "unknown keys ['pca_comp']")


def test_files_that_are_not_plain_state_dicts_are_refused(released, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return eval, (f"open({str(marker)!r}, 'w').close()",)

    motion = save_state(tmp_path, {**official_state(), "extra": Payload()})
    assert_user_error(convert({**released, "motion": motion}, tmp_path / "out"), "is refused", "could run code")
    assert not marker.exists()
    module = torch.nn.LSTMCell(4, 4)
    torch.save(module, tmp_path / "whole_model.pth")  # a pickled module, not its state dict
    assert_user_error(convert({**released, "motion": tmp_path / "whole_model.pth"}, tmp_path / "out"), "is refused")
    motion = save_state(tmp_path, [torch.zeros(3)])
    assert_user_error(convert({**released, "motion": motion}, tmp_path / "out"), "not a plain state dict", "list")
    motion = save_state(tmp_path, {"state_dict": official_state()})
    assert_user_error(convert({**released, "motion": motion}, tmp_path / "out"), "not a plain state dict", "['state_dict']")
    (tmp_path / "truncated.pth").write_bytes(released["motion"].read_bytes()[:500])
    assert_user_error(convert({**released, "motion": tmp_path / "truncated.pth"}, tmp_path / "out"), "corrupt or truncated")


def test_npy_files_are_read_without_pickles(released, tmp_path):
    np.save(tmp_path / "pca_stdev.npy", np.array([object()] * 16), allow_pickle=True)
    assert_user_error(convert({**released, "pca_stdev": tmp_path / "pca_stdev.npy"}, tmp_path / "out"), "pca_stdev.npy is refused", "pickled")
    np.savez(tmp_path / "pca.npz", comp=np.ones((16, 16)))
    assert_user_error(convert({**released, "pca_comp": tmp_path / "pca.npz"}, tmp_path / "out"), "pca.npz is an .npz archive")
    (tmp_path / "text.npy").write_text("not numpy")
    assert_user_error(convert({**released, "pca_comp": tmp_path / "text.npy"}, tmp_path / "out"), "text.npy")
    np.save(tmp_path / "nan.npy", np.full(16, np.nan))
    assert_user_error(convert({**released, "pca_stdev": tmp_path / "nan.npy"}, tmp_path / "out"), "nan.npy holds NaN")
    np.save(tmp_path / "negative.npy", -np.ones(16))
    assert_user_error(convert({**released, "pca_stdev": tmp_path / "negative.npy"}, tmp_path / "out"), "negative.npy holds negative values")


def test_missing_files_and_bad_options_are_one_line(released, tmp_path):
    for option in ("motion", "pca_comp", "pca_stdev", "generator"):
        assert_user_error(convert({**released, option: tmp_path / "nowhere.bin"}, tmp_path / "out"), "nowhere.bin", "does not exist")
    assert_user_error(convert(released, tmp_path / "out", "--n-frames", 0), "--n-frames")
    assert_user_error(convert(released, tmp_path / "out", "--step-scale", 0), "step")
    (tmp_path / "file").write_text("")
    assert_user_error(convert(released, tmp_path / "file"), "file", "folder")
    assert_user_error(convert({**released, "generator": released["motion"]}, tmp_path / "out"), "modelR_epoch_799.pth")
    assert_user_error(runner.invoke(cli.app, ["convert"]), "Missing command")
    assert_user_error(runner.invoke(cli.app, ["convert", "mocogan-hd", "--output", str(tmp_path / "out")]), "--motion")


def test_python_api_raises_typed_errors(released, tmp_path):
    with pytest.raises(CheckpointError, match="missing keys"):
        LatentMotionPipeline.from_mocogan_hd(**{**released, "motion": save_state(tmp_path, {"w": torch.zeros(2, 2)})})
    np.save(tmp_path / "comp.npy", np.ones((16, 8)))
    with pytest.raises(ShapeError, match="comp.npy has shape"):
        LatentMotionPipeline.from_mocogan_hd(**{**released, "pca_comp": tmp_path / "comp.npy"})
    with pytest.raises(ConfigError, match="step_scale"):
        LatentMotionPipeline.from_mocogan_hd(**released, step_scale=-0.2)
    with pytest.raises(ConfigError, match="noise must be one of 'video', 'constant', 'zero'"):
        LatentMotionPipeline.from_mocogan_hd(**released).generate(1, 2, noise="loud")
