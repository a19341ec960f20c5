"""The BigGAN-deep config: published layouts, the config.json format, validation."""

import json
from pathlib import Path

import pytest
from latentmotion_biggan.config import BigGANConfig

from latentmotion.errors import ConfigError

# The 128 px config.json of the published weights (630 bytes), as ecosystem research recorded it.
PUBLISHED_128 = """{"attention_layer_position": 8, "channel_width": 128, "class_embed_dim": 128, "eps": 0.0001,
 "layers": [[false,16,16],[true,16,16],[false,16,16],[true,16,8],[false,8,8],[true,8,4],[false,4,4],[true,4,2],[false,2,2],[true,2,1]],
 "n_stats": 51, "num_classes": 1000, "output_dim": 128, "z_dim": 128}"""


def test_published_128_config_is_the_128_layout(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(PUBLISHED_128)
    assert BigGANConfig.from_json_file(path) == BigGANConfig.for_resolution(128)


@pytest.mark.parametrize(
    ("resolution", "n_layers", "attended", "tail"),
    [(128, 10, (False, 2, 2), (True, 2, 1)), (256, 12, (False, 4, 4), (True, 2, 1)), (512, 14, (False, 4, 4), (True, 1, 1))],
)
def test_layouts_of_the_three_published_sizes(resolution: int, n_layers: int, attended: tuple, tail: tuple) -> None:
    config = BigGANConfig.for_resolution(resolution)
    assert len(config.layers) == n_layers
    assert config.layers[config.attention_layer_position] == attended  # attention runs at 64x64 in all three
    assert sum(up for up, _, _ in config.layers[: config.attention_layer_position]) == 4
    assert config.layers[-1] == tail
    assert 4 * 2 ** sum(up for up, _, _ in config.layers) == resolution
    assert config.condition_dim == 256


def test_config_round_trips_through_json() -> None:
    config = BigGANConfig.for_resolution(256, channel_width=8, num_classes=10)
    assert BigGANConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_unknown_field_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown BigGAN config fields \\['hidden_size'\\]"):
        BigGANConfig.from_dict({"hidden_size": 3})


def test_inconsistent_layers_are_explained() -> None:
    with pytest.raises(ConfigError) as info:
        BigGANConfig(output_dim=128, layers=[(True, 16, 8), (True, 4, 2), (True, 2, 1)], attention_layer_position=0)
    message = str(info.value)
    assert "layer 1 takes 4 but layer 0 gives 8" in message
    assert "upsample 4x4 to 32x32, not output_dim 128" in message


def test_unsupported_resolution_is_refused() -> None:
    with pytest.raises(ConfigError, match="128, 256 and 512"):
        BigGANConfig.for_resolution(64)


def test_unreadable_config_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        BigGANConfig.from_json_file(path)
