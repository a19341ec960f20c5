"""The authors' training scripts as presets; a run's length in epochs."""

import json
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from latentmotion import cli, train
from latentmotion.config import DEFAULT_STEPS, RunOptions, TrainConfig
from latentmotion.errors import ConfigError
from latentmotion.presets import PRESETS, get_preset
from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.train import Trainer

runner = CliRunner()

# The authors' scripts (script/*/run_train.sh): mode, generator size, batch, epochs, w_match.
SCRIPTS = {
    "ucf101": ("in-domain", 256, 16, 20, 1.0),
    "faceforensics": ("in-domain", 256, 16, 100, 1.0),
    "sky-timelapse": ("in-domain", 128, 32, 200, 1.0),
    "ffhq256-vox": ("cross-domain", 256, 16, 30, 5.0),
    "ffhq1024-vox": ("cross-domain", 1024, 16, 30, 5.0),
    "afhqdog-vox": ("cross-domain", 512, 8, 100, 1.0),
    "anime-vox": ("cross-domain", 512, 8, 100, 1.0),
    "church-tlvdb": ("cross-domain", 256, 16, 200, 1.0),
}


def test_there_is_a_preset_for_every_script_of_the_authors():
    assert list(PRESETS) == list(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_preset_is_a_valid_configuration_of_its_script(name):
    config = TrainConfig.from_preset(name)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config  # strictly valid, round-trips
    mode, size, batch, epochs, match = SCRIPTS[name]
    preset = get_preset(name)
    assert (config.mode, preset.resolution, config.data.batch_size, config.run.epochs, config.contrastive.match_weight) == (mode, size, batch, epochs, match)
    assert config.run.steps is None and config.data.path is None
    assert (config.backend, config.backend_options) == ("stylegan2", {"source": preset.image_generator})
    default = TrainConfig()  # everything else is the authors' default
    assert (config.data.n_frames, config.data.time_step, config.optim, config.motion) == (16, 2, default.optim, default.motion)
    assert preset.videos and preset.title


def test_an_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown preset 'ucf'; known presets: ucf101, faceforensics"):
        TrainConfig.from_preset("ucf")


def test_an_epoch_is_a_pass_over_the_video_list():
    assert RunOptions(epochs=3).iterations(13_320, 16) == 3 * 833  # ceil(13320 / 16) = 833
    assert RunOptions(epochs=2).iterations(16, 16) == 2
    assert RunOptions(steps=7).iterations(13_320, 16) == 7
    assert RunOptions().iterations(5, 2) == DEFAULT_STEPS


def test_steps_and_epochs_exclude_each_other():
    with pytest.raises(ConfigError, match=r"run.steps \(5\) and run.epochs \(2\) are both set"):
        TrainConfig.from_dict({"run": {"steps": 5, "epochs": 2}})
    with pytest.raises(ConfigError, match=r"run.epochs must be an integer >= 1 \(or unset\), got 0"):
        TrainConfig.from_dict({"run": {"epochs": 0}})
    with pytest.raises(ConfigError, match="both set"):
        TrainConfig().with_changes({"run.steps": 5, "run.epochs": 2})
    # Setting one length by name replaces the other.
    assert TrainConfig.from_preset("ucf101").with_changes({"run.steps": 10}).run == RunOptions(steps=10)
    assert TrainConfig().with_changes({"run.steps": 10}).with_changes({"run.epochs": 1}).run == RunOptions(epochs=1)


def test_a_run_of_epochs_trains_epochs_times_ceil_videos_over_batch(tmp_path):
    config = smoke_config({"run.epochs": 2, "data.batch_size": 4, "optim.g_steps": 1})  # 6 videos: 2 iterations an epoch
    trainer = Trainer(config, tmp_path, dataset=MovingSquares(n_videos=6), progress=False)
    assert trainer.total_steps == 4
    trainer.train()
    assert trainer.step == 4
    assert [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()] == [1, 2, 3, 4]


class RecordingTrainer:
    """Stands in for the Trainer: records the configuration `latentmotion train` built."""

    configs: ClassVar[list] = []

    def __init__(self, config, out, **options):
        self.configs.append(config)
        self.step = 0

    def train(self):
        return None


@pytest.fixture
def recorded(monkeypatch):
    RecordingTrainer.configs = []
    monkeypatch.setattr(train, "Trainer", RecordingTrainer)
    return RecordingTrainer.configs


def test_train_takes_a_preset_and_overrides_on_top(recorded, tmp_path):
    args = ["train", "--preset", "ffhq256-vox", "--out", str(tmp_path / "run"), "--set", "data.path=vox/", "-s", "backend_options.source=ffhq.pt"]
    result = runner.invoke(cli.app, [*args, "--set", "run.steps=10"])
    assert result.exit_code == 0, result.output
    expected = TrainConfig.from_preset("ffhq256-vox").with_changes({"data.path": "vox/", "backend_options.source": "ffhq.pt", "run.steps": 10})
    assert recorded == [expected]
    assert (recorded[0].mode, recorded[0].contrastive.match_weight, recorded[0].run.epochs) == ("cross-domain", 5.0, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "ucf"], "unknown preset 'ucf'; known presets: ucf101, faceforensics, sky-timelapse"),
        (["run.toml", "--preset", "ucf101"], "give a CONFIG file or --preset, not both"),
        (["--preset", "ucf101", "--set", "run.epochs=0"], "run.epochs must be an integer >= 1"),
    ],
)
def test_train_refuses_a_bad_preset_in_one_line(recorded, tmp_path, args, message):
    result = runner.invoke(cli.app, ["train", *args, "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert recorded == []


def test_presets_lists_every_preset_as_a_table_and_as_json():
    result = runner.invoke(cli.app, ["presets"])
    assert result.exit_code == 0, result.output
    assert all(name in result.stdout for name in PRESETS)
    result = runner.invoke(cli.app, ["presets", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == list(PRESETS)
    ucf = rows[0]
    assert (ucf["epochs"], ucf["batch_size"], ucf["resolution"], ucf["config"]["run"]["epochs"]) == (20, 16, 256, 20)
    assert {"metric": "FVD16", "value": 700.0}.items() <= ucf["reported"][1].items()


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_presets_page_shows_each_preset_as_the_code_has_it(name):
    page = (Path(__file__).resolve().parent.parent / "docs" / "presets.md").read_text()
    preset = get_preset(name)
    row = next((line for line in page.splitlines() if line.startswith(f"| `{name}` | ") and preset.image_generator in line), None)
    assert row is not None, f"docs/presets.md has no row for {name} naming {preset.image_generator}"
    match = "1" if preset.match_weight is None else f"{preset.match_weight:g}"
    assert row.endswith(f"| {preset.mode} | `{preset.image_generator}`, {preset.resolution} px | {preset.batch_size} | {preset.epochs} | {match} |"), row
    for result in preset.reported:
        assert f"{result.value:g}" in page.replace(",", ""), f"docs/presets.md does not report {name}'s {result.metric} {result.value:g}"
