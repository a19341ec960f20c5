"""The nested training configuration: files, dotted changes, validation, the flat form of 0.1."""

import json

import pytest

from latentmotion.config import TrainConfig, flatten, upgrade_flat_config
from latentmotion.errors import ConfigError
from latentmotion.testing import smoke_config


def test_config_round_trips_through_json_and_toml(tmp_path):
    config = smoke_config({"mode": "cross-domain", "optim.betas": [0.4, 0.9]})
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    toml = tmp_path / "run.toml"
    toml.write_text('mode = "cross-domain"\n[backend_options]\nresolution = 32\n[data]\nbatch_size = 4\n[optim]\nbetas = [0.1, 0.2]\n')
    loaded = TrainConfig.from_file(toml)
    assert (loaded.mode, loaded.data.batch_size, loaded.optim.betas, loaded.backend_options) == ("cross-domain", 4, (0.1, 0.2), {"resolution": 32})
    assert loaded.optim.lr == TrainConfig().optim.lr  # unnamed keys keep the authors' defaults


def test_with_changes_sets_any_key_by_its_dotted_name():
    config = TrainConfig().with_changes({"optim.lr": 2e-4, "mode": "cross-domain", "backend_options.variant": "glow", "data.path": "videos"})
    assert (config.optim.lr, config.mode, config.backend_options, config.data.path) == (2e-4, "cross-domain", {"variant": "glow"}, "videos")
    assert flatten(config.to_dict())["optim.lr"] == 2e-4
    with pytest.raises(ConfigError, match="'foo' is not a section"):
        TrainConfig().with_changes({"foo.bar": 1})
    with pytest.raises(ConfigError, match=r"optim: unknown key\(s\) 'learning_rate'"):
        TrainConfig().with_changes({"optim.learning_rate": 1})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"data": {"batch_sise": 4}}, r"data: unknown key\(s\) 'batch_sise' \(known: path, n_frames"),
        ({"epochs": 4}, r"unknown key\(s\) 'epochs'"),
        ({"data": {"batch_size": "4"}}, "data.batch_size: expected int, got str '4'"),
        ({"motion": {"hidden_dim": 128.5}}, "motion.hidden_dim: expected int, got float 128.5"),
        ({"optim": {"lr": True}}, "optim.lr: expected float, got bool True"),
        ({"optim": {"lr": float("inf")}}, "optim.lr must be a finite number > 0, got inf"),
        ({"optim": {"d_lr": float("nan")}}, "optim.d_lr must be a finite number > 0, got nan"),
        ({"video_discriminator": {"gp_weight": float("inf")}}, "video_discriminator.gp_weight must be a finite number >= 0"),
        ({"optim": {"betas": [0.5]}}, r"optim.betas: expected two numbers, got \[0.5\]"),
        ({"optim": {"betas": ["a", "b"]}}, "optim.betas: expected two numbers"),
        ({"optim": {"betas": [0.5, 1.0]}}, r"optim.betas must be two numbers in \[0, 1\)"),
        ({"mode": "sideways"}, "mode must be one of 'in-domain', 'cross-domain', got 'sideways'"),
        ({"run": {"device": "tpu"}}, "run.device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got 'tpu'"),
        ({"run": {"seed": -1}}, "run.seed must be a finite number >= 0"),
        ({"data": {"n_frames": 1}}, "at least 2 frames"),
        ({"motion": {"n_components": -3}}, "motion.n_components must be a finite number > 0, got -3"),
        ({"motion": 3}, "motion: expected a table, got int 3"),
        ({"data": 3}, "data.path: expected str, got int 3"),  # the flat form of 0.1
        ({"backend_options": [1]}, "backend_options: expected a table, got list"),
        ({"contrastive": {"ema_momentum": 1.5}}, r"contrastive.ema_momentum must lie in \[0, 1\]"),
    ],
)
def test_bad_configs_name_the_key(values, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(values)


def test_a_flat_configuration_of_version_0_1_is_read_into_sections():
    flat = {"mode": "cross-domain", "data": "videos", "lr": 5e-5, "d_channels": 32, "contrastive_weight": 1.0, "steps": 7, "d_resolution": 64}
    config = TrainConfig.from_dict(flat)
    assert config.data.path == "videos" and config.data.resolution == 64 and config.run.steps == 7
    assert config.optim.lr == 5e-5 and config.contrastive.weight == 1.0
    assert config.video_discriminator.channels == config.image_discriminator.channels == 32  # one 0.1 option set both
    assert upgrade_flat_config({"backend": "toy", "seed": 3}) == {"backend": "toy", "run": {"seed": 3}}
    with pytest.raises(ConfigError, match="unknown training option 'learning_rate' in a flat"):
        TrainConfig.from_dict({"lr": 1e-4, "learning_rate": 1})


def test_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        TrainConfig.from_file(tmp_path / "nope.toml")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot be parsed"):
        TrainConfig.from_file(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[optim]\nlr = 'fast'\n")
    with pytest.raises(ConfigError, match="wrong.toml: optim.lr: expected float"):
        TrainConfig.from_file(wrong)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must hold a table of options"):
        TrainConfig.from_file(listed)
