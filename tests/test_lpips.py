"""latentmotion.metrics.lpips: the LPIPS distance, the VGG16 port, its weight files and the optional resize."""

import pytest
import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from latentmotion.errors import CheckpointError, ConfigError
from latentmotion.metrics.lpips import TAP_CHANNELS, TAPS, VGGPerceptualLoss, convert_vgg16_lpips, load_lpips, lpips_distance
from latentmotion.metrics.weights import sha256_file

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def weights():
    """torchvision-named VGG16 tensors of a random network, with random LPIPS heads."""
    torch.manual_seed(0)
    tensors = {key: value for key, value in VGGPerceptualLoss().state_dict().items() if key.startswith("features.")}
    return tensors | {f"lin{k}": torch.rand(width, generator=torch.Generator().manual_seed(k)) for k, width in enumerate(TAP_CHANNELS)}


@pytest.fixture(scope="module")
def weights_file(weights, tmp_path_factory):
    path = tmp_path_factory.mktemp("lpips") / "vgg16-lpips.safetensors"
    save_file(weights, str(path))
    return path


def images(n, side, seed):
    return torch.rand(n, 3, side, side, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_lpips_distance_by_hand():
    a = [torch.tensor([[[[3.0]], [[4.0]]]])]  # one 1x1 map with 2 channels: unit vector (0.6, 0.8)
    b = [torch.tensor([[[[1.0]], [[0.0]]]])]  # unit vector (1, 0)
    # squared differences (0.16, 0.64); unweighted sum 0.8; weighted by (2, 0.5): 0.32 + 0.32
    assert torch.allclose(lpips_distance(a, b), torch.tensor([0.8]))
    assert torch.allclose(lpips_distance(a, b, [torch.tensor([2.0, 0.5])]), torch.tensor([0.64]))
    assert torch.allclose(lpips_distance(a, a), torch.tensor([0.0]))
    # two taps add; the spatial mean of a 1x2 map: (0.8 + 0) / 2
    wide_a, wide_b = torch.cat([a[0], b[0]], dim=3), torch.cat([b[0], b[0]], dim=3)
    assert torch.allclose(lpips_distance([*a, wide_a], [*b, wide_b]), torch.tensor([0.8 + 0.4]))


def test_loss_loads_torchvision_named_weights(weights, weights_file, tmp_path):
    loss = VGGPerceptualLoss.from_file(weights_file)
    assert loss.max_resolution is None
    assert torch.equal(loss.lin2, weights["lin2"]) and torch.equal(loss.features[28].bias, weights["features.28.bias"])
    x, y = images(2, 32, 1), images(2, 32, 2)
    assert torch.allclose(loss(x, x), torch.zeros(2))
    distance = loss(x, y)
    assert distance.shape == (2,) and (distance > 0).all()
    expected = lpips_distance(loss.taps(x), loss.taps(y), [weights[f"lin{k}"] for k in range(len(TAPS))])
    assert torch.allclose(distance, expected)
    unit = {key: value for key, value in weights.items() if not key.startswith("lin")}  # no heads: unit weights
    save_file(unit, str(tmp_path / "unit.safetensors"))
    assert torch.allclose(VGGPerceptualLoss.from_file(tmp_path / "unit.safetensors")(x, y), lpips_distance(loss.taps(x), loss.taps(y)))


def test_the_resize_is_an_option(weights_file):
    plain = VGGPerceptualLoss.from_file(weights_file)
    projector = VGGPerceptualLoss.from_file(weights_file, max_resolution=256)
    x, y = images(1, 512, 3), images(1, 512, 4)
    at_256 = projector(x, y)
    assert torch.allclose(at_256, plain(F.interpolate(x, size=(256, 256), mode="area"), F.interpolate(y, size=(256, 256), mode="area")))
    assert not torch.allclose(at_256, plain(x, y), rtol=1e-3)
    small_x, small_y = images(2, 64, 5), images(2, 64, 6)  # at or below the limit nothing changes
    assert torch.equal(projector(small_x, small_y), plain(small_x, small_y))
    with pytest.raises(ConfigError, match="max_resolution must be an integer >= 16"):
        VGGPerceptualLoss(max_resolution=8)


def test_load_lpips_from_a_file_or_folder_records_name_and_sha256(weights, weights_file):
    for source in (weights_file, weights_file.parent):
        loaded = load_lpips(source)
        assert (loaded.name, loaded.sha256, loaded.path) == ("vgg16-lpips.safetensors", sha256_file(weights_file), weights_file.resolve())
        assert torch.equal(loaded.network.lin4, weights["lin4"]) and loaded.network.max_resolution is None


def test_bad_weight_files_are_refused(weights, weights_file, tmp_path):
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(weights_file.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_lpips(truncated)
    pickled = tmp_path / "vgg.pth"
    torch.save(weights, pickled)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_lpips(pickled)  # a torch file is never loaded as LPIPS weights
    missing = tmp_path / "missing.safetensors"
    save_file({key: value for key, value in weights.items() if key != "features.28.bias"}, str(missing))
    with pytest.raises(CheckpointError, match=r"missing keys \['features.28.bias'\] \(1\)"):
        load_lpips(missing)
    other = tmp_path / "other.safetensors"
    save_file(torch.nn.Conv2d(3, 4, 3).state_dict(), str(other))
    with pytest.raises(CheckpointError, match=r"are not VGG16 weights: missing keys .* \(26\), unexpected keys \['bias', 'weight'\]"):
        load_lpips(other)
    narrow = tmp_path / "narrow.safetensors"
    save_file(weights | {"lin1": torch.ones(64)}, str(narrow))
    with pytest.raises(CheckpointError, match="wrong shape"):
        load_lpips(narrow)
    with pytest.raises(CheckpointError, match="neither an existing file or folder nor a Hub repo id"):
        load_lpips(tmp_path / "nowhere")


def test_convert_vgg16_lpips_from_the_released_files(weights, tmp_path):
    vgg = {key: value for key, value in weights.items() if key.startswith("features.")} | {"classifier.0.weight": torch.zeros(4, 2)}
    heads = {f"lin{k}.model.1.weight": weights[f"lin{k}"].reshape(1, -1, 1, 1) for k in range(len(TAPS))}  # the lpips package's 1x1 convs
    torch.save(vgg, tmp_path / "vgg16-397923af.pth")
    torch.save(heads, tmp_path / "vgg.pth")
    written = convert_vgg16_lpips(tmp_path / "vgg16-397923af.pth", tmp_path / "vgg16-lpips.safetensors", lpips_path=tmp_path / "vgg.pth")
    loss = load_lpips(written).network
    assert all(torch.equal(getattr(loss, f"lin{k}"), weights[f"lin{k}"]) for k in range(len(TAPS)))
    assert torch.equal(loss.features[0].weight, weights["features.0.weight"])
    torch.save({"lin0.model.1.weight": heads["lin0.model.1.weight"]}, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError, match="lack lin1.model.1.weight"):
        convert_vgg16_lpips(tmp_path / "vgg16-397923af.pth", tmp_path / "again.safetensors", lpips_path=tmp_path / "partial.pth")
    assert not (tmp_path / "again.safetensors").exists()
