"""latentmotion.metrics: the Fréchet distance, the I3D detector and its weight files, FVD clips, ACD, protocols, the cache, `evaluate`."""

import copy
import json
import os
import zipfile
from pathlib import Path

import attrs
import numpy as np
import pytest
import scipy.linalg
import torch
from huggingface_hub import ModelCard
from PIL import Image
from safetensors.torch import save_file
from typer.testing import CliRunner

import latentmotion
from latentmotion import cli
from latentmotion.basis import PCABasis
from latentmotion.errors import CheckpointError, ConfigError, DatasetError
from latentmotion.metrics import acd as acd_module
from latentmotion.metrics import evaluate as evaluate_module
from latentmotion.metrics.cache import FeatureCache
from latentmotion.metrics.frechet import FeatureStatistics, frechet_distance, statistics_distance
from latentmotion.metrics.fvd import preprocess, real_clips, select_real_videos
from latentmotion.metrics.i3d import I3DConfig, InceptionI3d, convert_torchscript, load_i3d
from latentmotion.metrics.inception import FIDInception, InceptionConfig, load_inception
from latentmotion.metrics.lpips import TAP_CHANNELS, VGGPerceptualLoss
from latentmotion.metrics.protocol import Protocol
from latentmotion.metrics.weights import sha256_file
from latentmotion.motion import MotionConfig, MotionGenerator
from latentmotion.pipeline import LatentMotionPipeline

pytestmark = [
    pytest.mark.usefixtures("one_thread"),
    pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:`torch.jit.*` is deprecated:DeprecationWarning"),
]

WIDTH = 1 / 16  # a 4-channel stem: the real layout, fast
SIZE = 32  # detector frames in tests (224 in the protocol)


# ----------------------------------------------------------------------------------------------
# The Fréchet distance


def reference_distance(features_a, features_b):
    """The distance as StyleGAN-V's code computes it, in numpy/scipy: biased covariance, sqrtm of the product."""
    a, b = features_a.astype(np.float64), features_b.astype(np.float64)
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = a.T @ a / len(a) - np.outer(mean_a, mean_a), b.T @ b / len(b) - np.outer(mean_b, mean_b)
    root = scipy.linalg.sqrtm(cov_a @ cov_b)
    return float(np.real(np.square(mean_a - mean_b).sum() + np.trace(cov_a + cov_b - 2 * root)))


def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
    mean_a, mean_b = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    var_a, var_b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 1.0])
    expected = float((mean_a - mean_b).square().sum() + (var_a.sqrt() - var_b.sqrt()).square().sum())  # 5 + 1 + 1 + 4
    assert frechet_distance(mean_a, torch.diag(var_a), mean_b, torch.diag(var_b)) == pytest.approx(expected, rel=1e-12)
    assert expected == 11


def test_frechet_distance_of_rotated_gaussians_is_the_closed_form():
    # Same spectrum, different axes: tr sqrt(S_a S_b) for S_b = R S_a R^T is known for commuting cases only,
    # so compare the general case with scipy's sqrtm on the matrices themselves.
    generator = torch.Generator().manual_seed(0)
    for dim in (2, 8, 32):
        a, b = torch.randn(dim, dim, generator=generator, dtype=torch.float64), torch.randn(dim, dim, generator=generator, dtype=torch.float64)
        cov_a, cov_b = a @ a.T, b @ b.T / 3
        mean_a, mean_b = torch.randn(dim, generator=generator, dtype=torch.float64), torch.zeros(dim, dtype=torch.float64)
        root = scipy.linalg.sqrtm(cov_a.numpy() @ cov_b.numpy())
        expected = float(np.real((mean_a - mean_b).square().sum().item() + np.trace(cov_a.numpy() + cov_b.numpy() - 2 * root)))
        assert frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected, rel=1e-8, abs=1e-8)
        assert frechet_distance(mean_a, cov_a, mean_a, cov_a) == pytest.approx(0.0, abs=1e-7 * float(cov_a.trace()))


def test_streamed_statistics_match_stylegan_v_reference():
    generator = torch.Generator().manual_seed(1)
    real = torch.randn(300, 6, generator=generator) * torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0, 1.0]) + 1
    fake = torch.randn(250, 6, generator=generator) @ torch.randn(6, 6, generator=generator) * 0.7
    streamed_real, streamed_fake = FeatureStatistics(6), FeatureStatistics(6)
    for chunk in real.split(64):
        streamed_real.update(chunk)
    for chunk in fake.split(7):
        streamed_fake.update(chunk)
    assert streamed_real.count == 300
    torch.testing.assert_close(streamed_real.covariance, torch.cov(real.double().T, correction=0))  # N, not N - 1
    assert statistics_distance(streamed_fake, streamed_real) == pytest.approx(reference_distance(fake.numpy(), real.numpy()), rel=1e-9)


def test_statistics_survive_a_round_trip_through_tensors():
    statistics = FeatureStatistics(3)
    statistics.update(torch.arange(12.0).reshape(4, 3))
    again = FeatureStatistics.from_tensors(statistics.to_tensors())
    assert again.count == 4
    torch.testing.assert_close(again.covariance, statistics.covariance)


# ----------------------------------------------------------------------------------------------
# The I3D detector and its weight files


def random_i3d(seed=0, width=WIDTH):
    """A small I3D with random weights and random batch-norm statistics (so that they matter)."""
    torch.manual_seed(seed)
    network = InceptionI3d(I3DConfig(width=width))
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm3d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return network.eval()


def clip(seed=0, frames=16, size=SIZE, batch=2):
    return torch.rand(batch, 3, frames, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.fixture(scope="module")
def network():
    return random_i3d()


@pytest.fixture(scope="module")
def piergiaj_file(network, tmp_path_factory):
    """A state dict with piergiaj's key names, as `torch.save(model.state_dict())` writes it."""
    path = tmp_path_factory.mktemp("i3d") / "rgb_imagenet.pt"
    torch.save(network.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def safetensors_file(network, tmp_path_factory):
    path = tmp_path_factory.mktemp("i3d") / "i3d.safetensors"
    save_file({key: value.contiguous() for key, value in network.state_dict().items()}, str(path))
    return path


def test_the_full_network_has_the_kinetics_layout():
    state = InceptionI3d().state_dict()
    assert state["Conv3d_1a_7x7.conv3d.weight"].shape == (64, 3, 7, 7, 7)
    assert state["Mixed_5c.b1b.conv3d.weight"].shape == (384, 192, 3, 3, 3)
    assert state["logits.conv3d.weight"].shape == (400, 1024, 1, 1, 1)
    assert "logits.conv3d.bias" in state and "Conv3d_1a_7x7.conv3d.bias" not in state
    assert sum(value.numel() for key, value in state.items() if not key.endswith("num_batches_tracked")) == 12_697_264 + sum(
        value.numel() for key, value in state.items() if "running" in key
    )


def test_features_are_the_time_averaged_logits(network):
    x = clip(frames=32)
    logits = network.logits_over_time(x)
    assert logits.shape == (2, 400, 3)  # 32 frames: 16, 8, 4 positions, less one by the 2-frame pooling
    torch.testing.assert_close(network(x), logits.mean(dim=-1))


def test_piergiaj_state_dict_and_safetensors_load_alike(network, piergiaj_file, safetensors_file):
    x = clip()
    expected = network(x)
    from_pt, from_safetensors = load_i3d(piergiaj_file), load_i3d(safetensors_file)
    assert from_pt.network.config == I3DConfig(width=WIDTH)
    assert torch.equal(from_pt.network(x), expected) and torch.equal(from_safetensors.network(x), expected)
    assert from_pt.sha256 == sha256_file(piergiaj_file) and from_pt.name == "rgb_imagenet.pt"
    assert load_i3d(piergiaj_file.parent).path == piergiaj_file  # a folder holding it


def test_weights_from_a_cached_hub_repo(network, safetensors_file, hub_cache):
    sha = "e" * 40
    snapshot = hub_cache / "models--acme--i3d" / "snapshots" / sha
    snapshot.mkdir(parents=True)
    (snapshot / "i3d.safetensors").write_bytes(safetensors_file.read_bytes())
    (hub_cache / "models--acme--i3d" / "refs").mkdir()
    (hub_cache / "models--acme--i3d" / "refs" / "main").write_text(sha)
    loaded = load_i3d("acme/i3d")
    assert loaded.sha256 == sha256_file(safetensors_file) and torch.equal(loaded.network(clip()), network(clip()))


def test_an_old_state_dict_without_batch_counters_loads(network, tmp_path):
    path = tmp_path / "old.pt"
    torch.save({key: value for key, value in network.state_dict().items() if not key.endswith("num_batches_tracked")}, path)
    assert torch.equal(load_i3d(path).network(clip()), network(clip()))


def traced_with_stylegan_v_call(network, tmp_path, name="i3d_torchscript.pt"):
    """A TorchScript file called as StyleGAN-V calls its detector: `(x, rescale, resize, return_features)`."""

    class Detector(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False, return_features: bool = False) -> torch.Tensor:
            features = self.net(x)
            return features if return_features else torch.softmax(features, dim=-1)

    wrapped = torch.jit.script(Detector(torch.jit.trace(network, clip(frames=8), check_trace=False)))
    path = tmp_path / name
    wrapped.save(str(path))
    return path


@pytest.fixture(scope="module")
def torchscript_file(network, tmp_path_factory):
    return traced_with_stylegan_v_call(network, tmp_path_factory.mktemp("torchscript"))


def test_a_torchscript_detector_converts_to_the_same_features(network, torchscript_file, tmp_path):
    path = torchscript_file
    done = convert_torchscript(path, tmp_path / "i3d.safetensors", check_frames=8, check_size=SIZE)
    assert done.matched_by == "name" and done.max_difference < 1e-5
    loaded = load_i3d(tmp_path / "i3d.safetensors")
    assert loaded.sha256 == done.sha256 == sha256_file(tmp_path / "i3d.safetensors")
    assert torch.equal(loaded.network(clip()), network(clip()))


def test_a_torchscript_with_other_names_converts_by_order(network, tmp_path):
    renamed = copy.deepcopy(network)
    names = list(renamed.layer_names)
    modules = renamed._modules
    renamed._modules = type(modules)((f"layer{names.index(key)}" if key in names else key, value) for key, value in modules.items())
    renamed.layer_names = [f"layer{index}" for index in range(len(names))]
    path = tmp_path / "renamed.pt"
    torch.jit.trace(renamed, clip(frames=8), check_trace=False).save(str(path))
    done = convert_torchscript(path, tmp_path / "i3d.safetensors", check_frames=8, check_size=SIZE)
    assert done.matched_by == "order"
    assert torch.equal(load_i3d(tmp_path / "i3d.safetensors").network(clip()), network(clip()))


def test_conversion_refuses_a_network_that_computes_other_features(network, tmp_path):
    class Doubled(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return 2 * self.net(x)

    path = tmp_path / "doubled.pt"
    torch.jit.trace(Doubled(network), clip(frames=8), check_trace=False).save(str(path))
    with pytest.raises(CheckpointError, match="give other features"):
        convert_torchscript(path, tmp_path / "i3d.safetensors", check_frames=8, check_size=SIZE)
    assert not (tmp_path / "i3d.safetensors").exists()


def test_a_torchscript_file_is_never_loaded_as_weights(torchscript_file, monkeypatch):
    path = torchscript_file
    monkeypatch.setattr(torch.jit, "load", lambda *args, **kwargs: pytest.fail("a TorchScript file was loaded"))
    with pytest.raises(CheckpointError, match="convert i3d"):
        load_i3d(path)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda path, state: torch.save(torch.nn.Linear(3, 4).state_dict(), path), "not I3D weights"),
        (lambda path, state: torch.save({k: v for k, v in state.items() if "Mixed_4d.b0" not in k}, path), "missing (e.g. Mixed_4d.b0"),
        (lambda path, state: torch.save({**state, "Mixed_5c.b0.conv3d.weight": torch.zeros(1, 1, 1, 1, 1)}, path), "of another shape"),
        (lambda path, state: torch.save({**state, "extra.weight": torch.zeros(1)}, path), "unexpected (e.g. extra.weight)"),
        (lambda path, state: torch.save({"model": torch.nn.Linear(2, 2)}, path), "refused"),
    ],
    ids=["other-network", "missing", "shape", "unexpected", "pickled-object"],
)
def test_bad_weight_files(network, tmp_path, make, fragment):
    path = tmp_path / "weights.pt"
    make(path, network.state_dict())
    with pytest.raises(CheckpointError) as caught:
        load_i3d(path)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("name", ["rgb_imagenet.pt", "i3d.safetensors"])
def test_truncated_weight_files(piergiaj_file, safetensors_file, tmp_path, name):
    source = piergiaj_file if name.endswith(".pt") else safetensors_file
    path = tmp_path / name
    path.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_i3d(path)


# ----------------------------------------------------------------------------------------------
# The FID Inception network

INCEPTION_SIZE = 75  # the smallest input the network takes (299 in the protocol)


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    """A small FID Inception with random weights, saved as pytorch-fid saves its state dict (AuxLogits left out)."""
    torch.manual_seed(1)
    network = FIDInception(InceptionConfig(width=1 / 16)).eval()
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm2d):  # statistics that matter
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    path = tmp_path_factory.mktemp("inception") / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(network.state_dict(), path)
    return path


def test_the_full_fid_network_has_the_pytorch_fid_layout():
    state = FIDInception().state_dict()
    assert state["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert state["Mixed_6e.branch7x7dbl_5.conv.weight"].shape == (192, 192, 1, 7)
    assert state["Mixed_7c.branch3x3dbl_3b.conv.weight"].shape == (384, 384, 3, 1)
    assert state["fc.weight"].shape == (1008, 2048)
    parameters = sum(value.numel() for key, value in state.items() if "running" not in key and not key.endswith("num_batches_tracked"))
    assert parameters == 23_834_568 + 8 * 2048 + 8  # torchvision's Inception-v3 without AuxLogits, with 1,008 classes


def test_the_fid_variant_pools_as_the_tensorflow_graph_does():
    from latentmotion.metrics.inception import _average_pool

    assert torch.equal(_average_pool(torch.ones(1, 1, 4, 4)), torch.ones(1, 1, 4, 4))  # padding left out of the average
    network = FIDInception(InceptionConfig(width=1 / 32))
    assert network.Mixed_7c.max_pool and not network.Mixed_7b.max_pool


def test_fid_features_are_the_average_of_the_last_block(inception_file):
    network = load_inception(inception_file).network
    seen = []
    network.Mixed_7c.register_forward_hook(lambda module, inputs, output: seen.append(output))
    frames = torch.rand(2, 3, 120, 120, generator=torch.Generator().manual_seed(2)) * 2 - 1
    features = network(frames)
    assert seen[0].shape[-2:] == (2, 2)
    torch.testing.assert_close(features, seen[0].mean(dim=(2, 3)))


def test_fid_weights_load_from_a_state_dict_and_from_safetensors(inception_file, tmp_path):
    network = torch.load(inception_file, weights_only=True)
    as_safetensors = tmp_path / "inception.safetensors"
    save_file({key: value.contiguous() for key, value in network.items()}, str(as_safetensors))
    with_aux = tmp_path / "aux.pth"
    torch.save({**network, "AuxLogits.fc.weight": torch.zeros(1008, 768)}, with_aux)  # a torchvision-style file: ignored
    frames = torch.rand(3, 3, INCEPTION_SIZE, INCEPTION_SIZE, generator=torch.Generator().manual_seed(0)) * 2 - 1
    reference = FIDInception(InceptionConfig(width=1 / 16))
    reference.load_state_dict(network)
    expected = reference.eval()(frames)
    assert expected.shape == (3, 128)
    for path in (inception_file, as_safetensors, with_aux):
        assert torch.equal(load_inception(path).network(frames), expected)
    assert load_inception(inception_file).sha256 == sha256_file(inception_file)


def test_fid_network_of_another_architecture_is_refused(network, inception_file, tmp_path):
    state = torch.load(inception_file, weights_only=True)
    del state["Mixed_6c.branch_pool.conv.weight"]
    path = tmp_path / "missing.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="1 tensors missing"):
        load_inception(path)
    with pytest.raises(CheckpointError, match="not FID Inception weights"):
        load_inception(_save(network.state_dict(), tmp_path / "i3d.pt"))
    truncated = tmp_path / "inception.safetensors"
    save_file({key: value.contiguous() for key, value in state.items()}, str(truncated))
    truncated.write_bytes(truncated.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=r"^FID Inception weights '.*inception.safetensors' is corrupt or truncated"):  # named as what they are
        load_inception(truncated)


def _save(state, path):
    torch.save(state, path)
    return path


# ----------------------------------------------------------------------------------------------
# Clips and their preprocessing


def test_features_stream_a_batch_at_a_time():
    import weakref

    from latentmotion.metrics.fvd import accumulate

    alive = []

    def batches():
        for index in range(20):
            batch = torch.full((2, 1, 3, 4, 4), index / 20)
            alive.append(weakref.ref(batch))
            yield batch
            assert sum(ref() is not None for ref in alive) <= 2, "earlier batches are still held"

    statistics = accumulate(batches(), lambda x: x.flatten(1)[:, :3], size=4)
    assert statistics.count == 40


def test_preprocessing_quantises_like_stylegan_v_then_scales():
    pixels = torch.tensor([0, 1, 127, 128, 254, 255], dtype=torch.uint8).reshape(1, 1, 1, 2, 3).expand(1, 2, 3, 2, 3)
    as_uint8 = preprocess(pixels, size=3)
    floats = preprocess(pixels.float() / 127.5 - 1, size=3)  # x * 127.5 + 128, truncated: the same pixels back
    torch.testing.assert_close(floats, as_uint8)
    assert as_uint8.shape == (1, 3, 2, 3, 3)
    assert as_uint8.min() == -1 and as_uint8.max() == 1
    # a generated value x becomes floor(127.5 x + 128), StyleGAN-V's `(x * 127.5 + 128).clamp(0, 255).to(uint8)`
    x = torch.full((1, 1, 3, 4, 4), 0.3)
    assert preprocess(x, size=4)[0, 0, 0, 0, 0].item() == pytest.approx(2 * 166 / 255 - 1)


def write_frame_videos(root, *, n_videos, n_frames, side, seed=0):
    generator = np.random.default_rng(seed)
    for index in range(n_videos):
        folder = root / f"video{index}"
        folder.mkdir(parents=True)
        for frame in range(n_frames):
            pixels = generator.integers(0, 256, (side, side, 3), dtype=np.uint8)
            pixels[0, 0] = (index, frame, 0)  # where the clip came from
            Image.fromarray(pixels).save(folder / f"{frame}.png")
    return root


def protocol(**changes):
    fields = {"metric": "fvd16", "detector": "test", "detector_sha256": "0" * 64, "n_videos": 3, "n_frames": 4, "stride": 2, "resolution": 8, "seed": 0}
    return Protocol(**{**fields, **changes})


def test_real_clips_are_one_per_video_from_the_seed(tmp_path):
    root = write_frame_videos(tmp_path / "data", n_videos=5, n_frames=12, side=8)
    (root / "video1" / "11.png").unlink()
    for index in range(4, 11):
        (root / "video1" / f"{index}.png").unlink()  # 4 frames: shorter than 4 frames x stride 2, left out
    videos = select_real_videos(root, protocol())
    assert [source.path.name for source in videos] == ["video0", "video2", "video3"]
    batches = list(real_clips(videos, protocol(), batch_size=2))
    assert [batch.shape for batch in batches] == [(2, 4, 3, 8, 8), (1, 4, 3, 8, 8)]
    clips = torch.cat(batches)
    assert clips[:, :, 0, 0, 0].tolist() == [[0] * 4, [2] * 4, [3] * 4]
    starts = clips[:, 0, 1, 0, 0]
    assert torch.equal(clips[:, :, 1, 0, 0] - starts[:, None], torch.tensor([0, 2, 4, 6]).expand(3, 4))  # stride 2
    assert (starts <= 12 - 8 + 1).all()
    again = torch.cat(list(real_clips(videos, protocol(), batch_size=3)))
    assert torch.equal(again, clips)
    other = [torch.cat(list(real_clips(videos, protocol(seed=seed), batch_size=3)))[:, 0, 1, 0, 0] for seed in range(1, 6)]
    assert any(not torch.equal(starts, value) for value in other)


def test_too_few_or_too_short_videos_and_other_sizes_are_refused(tmp_path):
    root = write_frame_videos(tmp_path / "data", n_videos=3, n_frames=8, side=8)
    with pytest.raises(DatasetError, match="needs 4 videos of at least 8 frames .* has 3"):
        select_real_videos(root, protocol(n_videos=4))
    with pytest.raises(DatasetError, match="at least 18 frames .* has 0 \\(3 shorter"):
        select_real_videos(root, protocol(n_frames=9))
    videos = select_real_videos(root, protocol())
    with pytest.raises(DatasetError, match="8x8 frames, but the generated ones are 16x16"):
        list(real_clips(videos, protocol(resolution=16), batch_size=2))
    resized = torch.cat(list(real_clips(videos, protocol(resolution=16), batch_size=2, resize=True)))
    assert resized.shape == (3, 4, 3, 16, 16) and resized.is_floating_point()


# ----------------------------------------------------------------------------------------------
# ACD


def test_colour_acd_all_pairs_and_consecutive():
    levels = torch.tensor([-1.0, 0.0, 1.0])  # mean colours 0, 127.5, 255 (grey)
    videos = levels.reshape(1, 3, 1, 1, 1).expand(1, 3, 3, 4, 4)
    step = 127.5 * 3**0.5
    assert acd_module.acd(videos, pairs="consecutive").item() == pytest.approx(step)
    assert acd_module.acd(videos, pairs="all").item() == pytest.approx((step + step + 2 * step) / 3)
    assert acd_module.acd(torch.zeros(2, 4, 3, 4, 4)).tolist() == [0.0, 0.0]


def test_embedding_acd_uses_the_network_given():
    videos = torch.zeros(1, 2, 3, 4, 4)
    videos[0, 1] = 0.5
    embed = lambda frames: frames.flatten(1)[:, :2] * 10
    assert acd_module.acd(videos, embed=embed).item() == pytest.approx((2 * 25.0) ** 0.5)
    with pytest.raises(ConfigError, match="pairs"):
        acd_module.acd(videos, pairs="some")


# ----------------------------------------------------------------------------------------------
# evaluate, the protocol and the cache


@pytest.fixture(scope="module")
def pipeline():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    basis = PCABasis.fit(backend, n_samples=200, batch_size=200)
    torch.manual_seed(0)
    motion = MotionGenerator(MotionConfig(latent_dim=8, n_components=6, hidden_dim=16), basis=basis.scaled(6))
    return LatentMotionPipeline(backend=backend, basis=basis, motion=motion, n_frames=4, fps=8)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_frame_videos(tmp_path_factory.mktemp("data") / "videos", n_videos=4, n_frames=17, side=16)


def test_evaluate_refuses_a_loaded_network_of_another_kind(pipeline, data, inception_file):
    fid_network = load_inception(inception_file)
    with pytest.raises(ConfigError, match=r"detector= needs InceptionI3d weights, got a loaded FIDInception"):
        evaluate_module.evaluate(pipeline, data, metrics=["fvd16"], detector=fid_network, n_videos=3)


def test_evaluate_records_the_protocol_of_every_figure(pipeline, data, safetensors_file, inception_file):
    figures = evaluate_module.evaluate(
        pipeline, data, metrics=["fvd16", "fid", "acd"], detector=safetensors_file, inception=inception_file,
        n_videos=3, seed=5, detector_size=SIZE, inception_size=INCEPTION_SIZE,
    )  # fmt: skip
    fvd = figures["fvd16"]
    assert fvd.value > 0 and np.isfinite(fvd.value)
    assert fvd.protocol == Protocol(
        metric="fvd16", detector="i3d.safetensors", detector_sha256=sha256_file(safetensors_file),
        n_videos=3, n_frames=16, stride=1, resolution=16, seed=5, detector_size=SIZE,
    )  # fmt: skip
    assert fvd.to_dict()["real_features_cached"] is False
    fid = figures["fid"]
    assert fid.value > 0 and fid.protocol == Protocol(
        metric="fid", detector=inception_file.name, detector_sha256=sha256_file(inception_file),
        n_videos=3, n_frames=16, stride=1, resolution=16, seed=5, detector_size=INCEPTION_SIZE,
    )  # fmt: skip
    acd = figures["acd"]
    assert (acd.protocol.detector, acd.protocol.detector_sha256, acd.protocol.n_frames) == ("mean-colour", None, 16)
    assert acd.value >= 0 and acd.extra["real_value"] > 0 and acd.extra["pairs"] == "all"
    json.dumps({name: figure.to_dict() for name, figure in figures.items()})


def test_the_cache_hits_for_the_same_protocol_and_misses_for_another(pipeline, data, safetensors_file, tmp_path, monkeypatch):
    cache = FeatureCache(tmp_path / "cache")
    options = {"metrics": ["fvd16"], "detector": load_i3d(safetensors_file), "n_videos": 3, "detector_size": SIZE, "cache": cache}
    first = evaluate_module.evaluate(pipeline, data, **options)["fvd16"]
    assert len(list(cache.folder.glob("real-*.safetensors"))) == 1
    reads = []
    original = evaluate_module.real_clips
    monkeypatch.setattr(evaluate_module, "real_clips", lambda *args, **kwargs: reads.append(1) or original(*args, **kwargs))
    second = evaluate_module.evaluate(pipeline, data, **options)["fvd16"]
    assert second.extra["real_features_cached"] and not reads and second.value == pytest.approx(first.value, rel=1e-12)
    other_seed = evaluate_module.evaluate(pipeline, data, **{**options, "seed": 1})["fvd16"]
    assert not other_seed.extra["real_features_cached"] and reads
    assert len(list(cache.folder.glob("real-*.safetensors"))) == 2
    frame = data / "video0" / "3.png"
    os.utime(frame, ns=(frame.stat().st_atime_ns, frame.stat().st_mtime_ns + 10**9))  # the data changed
    assert not evaluate_module.evaluate(pipeline, data, **options)["fvd16"].extra["real_features_cached"]


def test_cache_key_follows_every_real_data_field(data):
    cache = FeatureCache("unused")
    base = protocol()
    keys = {cache.key(data, base)}
    for change in ({"detector_sha256": "1" * 64}, {"n_videos": 4}, {"n_frames": 5}, {"stride": 1}, {"resolution": 16}, {"seed": 1}, {"detector_size": 224}):
        keys.add(cache.key(data, protocol(**change)))
    assert len(keys) == 8
    assert cache.key(data, protocol(metric="fvd128")) == cache.key(data, base)  # the name alone changes nothing


def test_unknown_metrics_and_missing_networks_are_refused(pipeline, data):
    with pytest.raises(ConfigError, match="FID needs the Inception"):
        evaluate_module.evaluate(pipeline, data, metrics=["fid"])
    with pytest.raises(ConfigError, match="unknown metric 'is'"):
        evaluate_module.evaluate(pipeline, data, metrics=["is"])
    with pytest.raises(ConfigError, match="needs the I3D detector"):
        evaluate_module.evaluate(pipeline, data, metrics=["fvd16"])
    with pytest.raises(ConfigError, match="LPIPS weights are used by the prediction metric only"):
        evaluate_module.evaluate(pipeline, data, metrics=["acd"], lpips="unused.safetensors")


# ----------------------------------------------------------------------------------------------
# The CLI

runner = CliRunner()


def invoke(*args):
    return runner.invoke(cli.app, [str(arg) for arg in args])


def assert_user_error(result, *fragments):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


@pytest.fixture(scope="module")
def pipeline_dir(pipeline, tmp_path_factory):
    return pipeline.save_pretrained(tmp_path_factory.mktemp("pipeline"))


def test_cli_evaluate_prints_figures_with_their_protocol(pipeline_dir, data, safetensors_file, inception_file, tmp_path):
    args = ["evaluate", pipeline_dir, "--data", data, "--metric", "fvd16", "--metric", "acd", "--metric", "fid", "--detector", safetensors_file]
    args += ["--inception", inception_file, "-n", 3, "--detector-size", SIZE, "--inception-size", INCEPTION_SIZE, "--cache-dir", tmp_path / "cache", "--device", "cpu"]
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["figures"]) == {"fvd16", "acd", "fid"}
    assert report["figures"]["fid"]["protocol"]["detector_sha256"] == sha256_file(inception_file)
    assert report["figures"]["fvd16"]["protocol"]["detector_sha256"] == sha256_file(safetensors_file)
    again = invoke(*args)
    assert again.exit_code == 0 and again.stdout.startswith("fvd16") and "3 videos, 16 frames, stride 1, 16 px, seed 0" in again.stdout


def test_cli_evaluate_records_the_figures_in_the_model_card(pipeline, data, safetensors_file, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "pipe")
    weights = (folder / "motion.safetensors").read_bytes()
    args = ["evaluate", folder, "-d", data, "-m", "fvd16", "-m", "acd", "--detector", safetensors_file, "-n", 3, "--detector-size", SIZE, "--no-cache"]
    result = invoke(*args, "--record", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)["figures"]
    card = ModelCard.load(folder / "README.md")
    results = {entry.metric_type: entry.metric_value for entry in card.data.eval_results}
    assert results == {"fvd16": figures["fvd16"]["value"], "acd": figures["acd"]["value"]}
    assert card.data.eval_results[0].dataset_name == f"{Path(data).resolve().name} (3 videos, seed 0)"
    loaded = LatentMotionPipeline.from_pretrained(folder)
    assert loaded.card.metrics == results  # read back, so a later save or push keeps them
    assert (folder / "motion.safetensors").read_bytes() == weights  # only the card is rewritten
    again = invoke("evaluate", folder, "-d", data, "--detector", safetensors_file, "-n", 3, "--detector-size", SIZE, "--no-cache", "--record")
    assert again.exit_code == 0 and "wrote the figures into" in again.stdout
    assert {entry.metric_type for entry in ModelCard.load(folder / "README.md").data.eval_results} == {"fvd16"}  # the last evaluation's
    assert_user_error(invoke("evaluate", "acme/model", "-d", data, "--record"), "--record", "'acme/model' is not one")


def test_cli_convert_i3d_then_evaluate(torchscript_file, pipeline_dir, data, tmp_path, monkeypatch):
    script = torchscript_file
    from latentmotion.metrics import i3d

    original = i3d.convert_torchscript
    monkeypatch.setattr(i3d, "convert_torchscript", lambda source, target: original(source, target, check_frames=8, check_size=SIZE))
    result = invoke("convert", "i3d", script, "-o", tmp_path / "i3d.safetensors", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["sha256"] == sha256_file(tmp_path / "i3d.safetensors") and report["matched_by"] == "name"
    plain = invoke("convert", "i3d", script, "-o", tmp_path / "again.safetensors")
    assert plain.exit_code == 0 and "its code ran here" in plain.stdout
    evaluated = invoke("evaluate", pipeline_dir, "-d", data, "--detector", tmp_path / "i3d.safetensors", "-n", 2, "--detector-size", SIZE, "--no-cache", "--json")
    assert evaluated.exit_code == 0, evaluated.output


def test_cli_evaluate_prediction_with_lpips(pipeline_dir, data, lpips_file):
    args = ["evaluate", pipeline_dir, "-d", data, "-m", "prediction", "--lpips", lpips_file, "-n", 2, "--inversion-steps", 2, "--no-cache", "--device", "cpu"]
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)["figures"]
    assert set(figures) == {"prediction-psnr", "prediction-ssim", "first-frame-psnr", "prediction-lpips"}
    lpips = figures["prediction-lpips"]
    assert lpips["protocol"]["detector"] == "vgg16-lpips.safetensors" and lpips["protocol"]["detector_sha256"] == sha256_file(lpips_file)
    assert len(lpips["per_frame"]) == 16 and lpips["value"] == pytest.approx(sum(lpips["per_frame"][1:]) / 15) and lpips["value"] > 0
    text = invoke(*args)
    assert text.exit_code == 0 and f"vgg16-lpips.safetensors sha256 {sha256_file(lpips_file)[:12]}" in text.stdout


def test_cli_evaluate_bad_input(pipeline_dir, data, torchscript_file, safetensors_file, piergiaj_file, lpips_file, tmp_path):
    common = ["--detector-size", SIZE, "--no-cache", "--device", "cpu"]
    wrong = tmp_path / "wrong.pt"
    torch.save(torch.nn.Conv3d(3, 4, 3).state_dict(), wrong)
    assert_user_error(invoke("evaluate", pipeline_dir, "-d", data, "--detector", wrong, *common), "not I3D weights")
    truncated = tmp_path / "i3d.safetensors"
    truncated.write_bytes(safetensors_file.read_bytes()[:1000])
    assert_user_error(invoke("evaluate", pipeline_dir, "-d", data, "--detector", truncated, *common), "corrupt or truncated")
    assert_user_error(invoke("evaluate", pipeline_dir, "-d", data, "--detector", piergiaj_file, "-n", 5, *common), "needs 5 videos", "has 4")
    assert_user_error(invoke("evaluate", pipeline_dir, "-d", data, "--detector", piergiaj_file, "-m", "fvd128", *common), "at least 128 frames")
    small = write_frame_videos(tmp_path / "small", n_videos=2, n_frames=16, side=8)
    assert_user_error(invoke("evaluate", pipeline_dir, "-d", small, "--detector", piergiaj_file, "-n", 2, *common), "8x8 frames", "16x16", "--resize-real")
    assert_user_error(invoke("evaluate", pipeline_dir, "-d", data, "-m", "fid", *common), "FID needs the Inception")
    assert_user_error(invoke("evaluate", pipeline_dir, "-d", data, "-m", "fid", "--inception", piergiaj_file, *common), "not FID Inception weights")
    assert_user_error(invoke("evaluate", pipeline_dir, "-d", tmp_path / "nowhere", "--detector", piergiaj_file), "does not exist")
    prediction = ["-m", "prediction", "-n", 2, "--inversion-steps", 1, *common]
    assert_user_error(invoke("evaluate", pipeline_dir, "-d", data, "--lpips", safetensors_file, *prediction), "are not VGG16 weights", "convert_vgg16_lpips")
    truncated_lpips = tmp_path / "vgg16-lpips.safetensors"
    truncated_lpips.write_bytes(lpips_file.read_bytes()[:5000])
    assert_user_error(invoke("evaluate", pipeline_dir, "-d", data, "--lpips", truncated_lpips, *prediction), "not a readable safetensors file")
    assert_user_error(invoke("evaluate", pipeline_dir, "-d", data, "--lpips", lpips_file, *common), "--lpips is used by the prediction metric only")
    script = torchscript_file
    assert_user_error(invoke("evaluate", pipeline_dir, "-d", data, "--detector", script, *common), "TorchScript", "convert i3d")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"nothing")
    assert_user_error(invoke("convert", "i3d", garbage, "-o", tmp_path / "out.safetensors"), "not a TorchScript archive")
    assert zipfile.is_zipfile(script)


def test_every_real_video_is_checked_before_any_feature_is_computed(pipeline, tmp_path, safetensors_file, monkeypatch):
    root = write_frame_videos(tmp_path / "data", n_videos=3, n_frames=16, side=16)
    write_frame_videos(tmp_path / "data" / "z", n_videos=1, n_frames=16, side=8)  # the last video, in natural order
    monkeypatch.setattr(evaluate_module, "accumulate", lambda *args, **kwargs: pytest.fail("features were computed"))
    with pytest.raises(DatasetError, match="8x8 frames"):
        evaluate_module.evaluate(pipeline, root, metrics=["fvd16"], detector=safetensors_file, n_videos=4, detector_size=SIZE)


# ----------------------------------------------------------------------------------------------
# Video from a single image


def test_ssim_of_identical_and_of_flat_images():
    from latentmotion.metrics.prediction import ssim

    images = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    torch.testing.assert_close(ssim(images, images), torch.ones(2, dtype=torch.float64))
    a, b = 0.2, 0.7  # flat images in [0, 1]: only the luminance term is left
    flat_a, flat_b = torch.full((1, 3, 12, 12), 2 * a - 1), torch.full((1, 3, 12, 12), 2 * b - 1)
    expected = (2 * a * b + 0.01**2) / (a * a + b * b + 0.01**2)
    assert ssim(flat_a, flat_b).item() == pytest.approx(expected, rel=1e-6)
    noisy = (images + 0.3 * torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    assert (ssim(noisy, images) < 0.95).all()


def test_prediction_starts_from_each_clips_first_frame(pipeline, data, safetensors_file, monkeypatch):
    targets = []
    invert = pipeline.backend.invert

    def spy(images, **kwargs):
        targets.append(images.clone())
        return invert(images, **kwargs)

    monkeypatch.setattr(pipeline.backend, "invert", spy)
    figures = evaluate_module.evaluate(
        pipeline, data, metrics=["prediction"], detector=safetensors_file, n_videos=2, inversion_steps=2, detector_size=SIZE,
    )  # fmt: skip
    assert set(figures) == {"prediction-psnr", "prediction-ssim", "first-frame-psnr", "prediction-fvd16"}
    clips = torch.cat(list(real_clips(select_real_videos(data, figures["prediction-psnr"].protocol), figures["prediction-psnr"].protocol, batch_size=2)))
    torch.testing.assert_close(torch.cat(targets), clips[:, 0].float() / 127.5 - 1)
    psnr = figures["prediction-psnr"]
    assert len(psnr.extra["per_frame"]) == 16 and psnr.value == pytest.approx(sum(psnr.extra["per_frame"][1:]) / 15)
    assert figures["first-frame-psnr"].value == psnr.extra["per_frame"][0]
    assert figures["prediction-fvd16"].protocol.detector_sha256 == sha256_file(safetensors_file)
    assert figures["prediction-psnr"].protocol.detector == "inversion, 2 steps"


@pytest.fixture(scope="module")
def lpips_file(tmp_path_factory):
    """A random VGG16 with random LPIPS heads, as a weights file."""
    torch.manual_seed(0)
    tensors = {key: value for key, value in VGGPerceptualLoss().state_dict().items() if key.startswith("features.")}
    tensors |= {f"lin{k}": torch.rand(width) for k, width in enumerate(TAP_CHANNELS)}
    path = tmp_path_factory.mktemp("lpips") / "vgg16-lpips.safetensors"
    save_file(tensors, str(path))
    return path


def test_prediction_lpips_is_each_frames_distance_averaged_over_clips(pipeline, data, lpips_file, monkeypatch):
    predicted = []
    original = evaluate_module.predict
    monkeypatch.setattr(evaluate_module, "predict", lambda *args, **kwargs: predicted.append(original(*args, **kwargs)) or predicted[-1])
    monkeypatch.setattr(evaluate_module, "PREDICTION_CLIPS_PER_BATCH", 2)  # two batches: the sums run across them
    figures = evaluate_module.evaluate(pipeline, data, metrics=["prediction"], lpips=lpips_file, n_videos=3, inversion_steps=2)
    protocol = figures["prediction-psnr"].protocol
    real = torch.cat(list(real_clips(select_real_videos(data, protocol), protocol, batch_size=3))).float() / 127.5 - 1
    fake = torch.cat(predicted)
    assert len(predicted) == 2 and fake.shape == real.shape == (3, 16, 3, 16, 16)
    loss = VGGPerceptualLoss.from_file(lpips_file)
    by_hand = [sum(float(loss(fake[i, t : t + 1], real[i, t : t + 1])) for i in range(3)) / 3 for t in range(16)]
    figure = figures["prediction-lpips"]
    assert figure.extra["per_frame"] == pytest.approx(by_hand, rel=1e-5)
    assert figure.value == pytest.approx(sum(by_hand[1:]) / 15, rel=1e-5) and figure.value > 0
    assert figure.protocol == attrs.evolve(protocol, metric="prediction-lpips", detector="vgg16-lpips.safetensors", detector_sha256=sha256_file(lpips_file))
    assert figure.extra["inversion_steps"] == 2
