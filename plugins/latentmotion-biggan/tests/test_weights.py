"""Loading published-format weights: key table, spectral-norm folding, mismatch errors, folder and Hub sources."""

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants as hub_constants
from latentmotion_biggan.config import BigGANConfig
from latentmotion_biggan.network import BigGANDeep
from latentmotion_biggan.weights import (
    WEIGHTS_NAME,
    convert_state_dict,
    fold_spectral_norm,
    load_network,
    published_shapes,
)

from latentmotion.errors import CheckpointError, HubError


def test_published_128_model_has_506_keys() -> None:
    shapes = published_shapes(BigGANConfig.for_resolution(128))
    assert len(shapes) == 506
    assert shapes["generator.gen_z.weight_orig"] == (32768, 256)
    assert shapes["embeddings.weight"] == (128, 1000)
    assert shapes["generator.layers.8.snconv1x1_theta.weight_orig"] == (32, 256, 1, 1)
    assert shapes["generator.layers.10.conv_3.weight_orig"] == (128, 64, 1, 1)  # block 9, after attention
    assert sum(torch.Size(shape).numel() for key, shape in shapes.items() if "running" not in key and not key.endswith(("_u", "_v"))) > 50e6


def test_spectral_norm_fold_divides_by_u_dot_w_v() -> None:
    state = {
        "layer.weight_orig": torch.tensor([[2.0, 0.0], [0.0, 1.0]]),
        "layer.weight_u": torch.tensor([1.0, 0.0]),
        "layer.weight_v": torch.tensor([1.0, 0.0]),
    }
    assert torch.equal(fold_spectral_norm(state, "layer"), torch.tensor([[1.0, 0.0], [0.0, 0.5]]))


def test_spectral_norm_fold_matches_torch_spectral_norm_in_eval_mode() -> None:
    torch.manual_seed(0)
    conv = torch.nn.utils.spectral_norm(torch.nn.Conv2d(3, 5, 3))
    conv(torch.randn(1, 3, 8, 8))  # one power iteration in training mode moves u and v
    conv.eval()
    conv(torch.zeros(1, 3, 3, 3))  # recomputes conv.weight the eval-mode way, from the stored u and v
    state = {f"c.{key}": value for key, value in conv.state_dict().items()}
    assert torch.equal(fold_spectral_norm(state, "c"), conv.weight)


def test_converted_weights_load_strictly(tiny_checkpoint: Path, tiny_config: BigGANConfig) -> None:
    state = torch.load(tiny_checkpoint / WEIGHTS_NAME, weights_only=True)
    network = BigGANDeep(tiny_config)
    result = network.load_state_dict(convert_state_dict(state, tiny_config), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert network.to_rgb.weight.shape == (3, 4, 3, 3)  # only the 3 channels the published model keeps
    assert torch.equal(network.class_embeddings, state["embeddings.weight"].t())


def test_missing_and_unexpected_keys_are_named(tiny_checkpoint: Path, tiny_config: BigGANConfig) -> None:
    state = torch.load(tiny_checkpoint / WEIGHTS_NAME, weights_only=True)
    state["generator.extra.weight"] = state.pop("generator.layers.3.bn_1.running_vars")
    with pytest.raises(CheckpointError) as info:
        convert_state_dict(state, tiny_config)
    assert "missing keys (1): generator.layers.3.bn_1.running_vars" in str(info.value)
    assert "unexpected keys (1): generator.extra.weight" in str(info.value)


def test_weights_of_another_width_name_the_misshapen_keys(make_checkpoint: Callable[..., Path], tiny_config: BigGANConfig) -> None:
    import attrs

    folder = make_checkpoint(config=attrs.evolve(tiny_config, channel_width=8))
    (folder / "config.json").write_text((make_checkpoint(name="other") / "config.json").read_text())
    with pytest.raises(CheckpointError, match=r"shape mismatches \(\d+\): generator.gen_z.weight_orig \[2048, 32\] \(expected \[1024, 32\]\)"):
        load_network(folder)


def test_folder_without_weights_is_refused(tiny_checkpoint: Path) -> None:
    (tiny_checkpoint / WEIGHTS_NAME).unlink()
    with pytest.raises(CheckpointError, match="lacks pytorch_model.bin"):
        load_network(tiny_checkpoint)


def test_weights_that_are_not_a_state_dict_are_refused(tiny_checkpoint: Path) -> None:
    torch.save([torch.zeros(1)], tiny_checkpoint / WEIGHTS_NAME)
    with pytest.raises(CheckpointError, match="not a state dict"):
        load_network(tiny_checkpoint)


def test_source_that_is_neither_folder_nor_repo_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="BigGAN source .* is neither an existing file or folder nor a Hub repo id"):
        load_network(tmp_path / "missing" / "biggan")


def _cache_repo(hub: Path, repo_id: str, files: Path, *, refs: tuple[str, ...]) -> None:
    """Lay out `files` in a Hugging Face cache as the Hub client would."""
    sha = "0123456789abcdef0123456789abcdef01234567"
    repo = hub / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / sha
    snapshot.mkdir(parents=True)
    for name in ("config.json", WEIGHTS_NAME):
        (snapshot / name).write_bytes((files / name).read_bytes())
    (repo / "refs").mkdir()
    for ref in refs:
        (repo / "refs" / ref).write_text(sha)


def test_hub_repo_loads_offline_from_the_cache(tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = tmp_path / "hub"
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    _cache_repo(hub, "acme/biggan-tiny", tiny_checkpoint, refs=("main", "v1"))
    from_folder = load_network(tiny_checkpoint)
    condition = torch.randn(2, 32)
    for revision in (None, "v1"):
        from_hub = load_network("acme/biggan-tiny", revision=revision)
        assert torch.equal(from_hub(condition, truncation=0.5), from_folder(condition, truncation=0.5))
    with pytest.raises(HubError, match="'config.json' of Hub repo 'acme/absent' \\(revision main\\) is not in the local Hub cache"):
        load_network("acme/absent")
