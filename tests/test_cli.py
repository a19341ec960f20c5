"""The `latentmotion` command line, through typer's CliRunner (in process, offline)."""

import json
import os
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import typer
from einops import reduce
from huggingface_hub import HfApi
from huggingface_hub.hf_api import CommitInfo
from PIL import Image
from typer.testing import CliRunner

import latentmotion
from latentmotion import cli
from latentmotion.basis import PCABasis
from latentmotion.errors import ConfigError
from latentmotion.hookspecs import hookimpl
from latentmotion.inversion import psnr
from latentmotion.motion import MotionConfig, MotionGenerator
from latentmotion.pipeline import LatentMotionPipeline, truncate_content
from latentmotion.plugins import pm
from latentmotion.video import count_frames, read_image, read_video, to_uint8

runner = CliRunner()


def invoke(*args, app=None):
    return runner.invoke(app or cli.app, [str(arg) for arg in args])


def assert_user_error(result, *fragments):
    """Exit code 2, one line on stderr naming the problem, no traceback."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(fragment in lines[0] for fragment in fragments), lines[0]
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def pipeline():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    basis = PCABasis.fit(backend, n_samples=500, batch_size=250)
    torch.manual_seed(0)
    motion = MotionGenerator(MotionConfig(latent_dim=8, n_components=6, hidden_dim=16), basis=basis.scaled(6))
    with torch.no_grad():  # a visible motion
        motion.coefficients.bias.fill_(0.5)
    return LatentMotionPipeline(backend=backend, basis=basis, motion=motion, n_frames=4, fps=8)


@pytest.fixture(scope="module")
def pipeline_dir(pipeline, tmp_path_factory):
    return pipeline.save_pretrained(tmp_path_factory.mktemp("pipeline"))



def read_grid(path, *, videos, frames, side=16, padding=2):
    """The cells of a PNG grid written by write_grid as `[B, T, 3, side, side]` uint8."""
    pixels = torch.from_numpy(np.asarray(Image.open(path).convert("RGB")).copy())
    assert pixels.shape == (videos * side + (videos - 1) * padding, frames * side + (frames - 1) * padding, 3)
    cells = [
        [pixels[b * (side + padding) : b * (side + padding) + side, t * (side + padding) : t * (side + padding) + side].permute(2, 0, 1) for t in range(frames)]
        for b in range(videos)
    ]
    return torch.stack([torch.stack(row) for row in cells])


# ----------------------------------------------------------------------------------------------
# generate


def test_help_lists_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("generate", "fit-basis", "train", "backends", "pipelines", "info", "push", "plot", "animate"):
        assert command in result.stdout


def test_generate_png_grid_holds_the_pipelines_videos(pipeline, pipeline_dir, tmp_path):
    result = invoke("generate", "-p", pipeline_dir, "-n", 2, "-t", 3, "--seed", 4, "--device", "cpu", "-o", tmp_path / "grid.png", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["files"] == [str(tmp_path / "grid.png")]
    assert (report["n_videos"], report["n_frames"], report["resolution"], report["fps"]) == (2, 3, 16, 8)
    expected = to_uint8(pipeline.generate(2, 3, seed=4))
    assert torch.equal(read_grid(tmp_path / "grid.png", videos=2, frames=3), expected)


def test_content_and_motion_seeds(pipeline_dir, tmp_path):
    def grid(name, content_seed, motion_seed):
        result = invoke("generate", "-p", pipeline_dir, "-n", 2, "-t", 3, "--content-seed", content_seed, "--motion-seed", motion_seed, "-o", tmp_path / name)
        assert result.exit_code == 0, result.output
        return read_grid(tmp_path / name, videos=2, frames=3)

    base, new_motion, new_content = grid("a.png", 1, 1), grid("b.png", 1, 2), grid("c.png", 2, 1)
    assert torch.equal(base[:, 0], new_motion[:, 0])  # same first frames
    assert not torch.equal(base[:, 1:], new_motion[:, 1:])  # other motion
    assert not torch.equal(base[:, 0], new_content[:, 0])  # other content


def test_generate_numbered_mp4_files_with_interpolation(pipeline_dir, tmp_path):
    result = invoke("generate", "-p", pipeline_dir, "-n", 2, "-t", 3, "--interpolation", 1, "--fps", 5, "-o", tmp_path / "clip.mp4")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"wrote {tmp_path / 'clip-0.mp4'}", f"wrote {tmp_path / 'clip-1.mp4'}"]
    assert [count_frames(tmp_path / f"clip-{i}.mp4") for i in range(2)] == [5, 5]  # (3 - 1) * 2 + 1
    assert not (tmp_path / "clip.mp4").exists()


def test_truncation_pulls_content_toward_the_basis_mean(pipeline):
    free = pipeline.trajectories(3, 2, seed=0)
    half = pipeline.trajectories(3, 2, seed=0, truncation=0.5)
    mean = pipeline.basis.mean
    assert torch.allclose(half[:, 0], mean + 0.5 * (free[:, 0] - mean), atol=1e-6)
    assert torch.allclose(pipeline.trajectories(3, 2, seed=0, truncation=0.0)[:, 0], mean.expand(3, -1), atol=1e-6)
    with pytest.raises(ConfigError, match="truncation"):
        pipeline.trajectories(content=free[:, 0], truncation=0.5)
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        pipeline.generate(1, truncation=1.5)


def test_truncation_keeps_a_condition_unchanged():
    basis = PCABasis(components=torch.eye(2, 3), stdev=torch.ones(2), mean=torch.tensor([1.0, 1.0, 5.0]), latent_dim=2, condition_dim=1, n_samples=10)
    codes = torch.tensor([[3.0, -1.0, 7.0]])
    assert truncate_content(codes, basis, 0.5).tolist() == [[2.0, 0.0, 7.0]]


def test_generate_passes_truncation_to_the_pipeline(pipeline, pipeline_dir, tmp_path):
    result = invoke("generate", "-p", pipeline_dir, "-n", 2, "-t", 2, "--truncation", 0.3, "-o", tmp_path / "t.png")
    assert result.exit_code == 0, result.output
    frames = read_grid(tmp_path / "t.png", videos=2, frames=2)
    assert torch.equal(frames, to_uint8(pipeline.generate(2, 2, truncation=0.3)))
    assert not torch.equal(frames, to_uint8(pipeline.generate(2, 2)))


# ----------------------------------------------------------------------------------------------
# fit-basis, train, plot


def test_fit_basis_saves_the_same_basis_as_the_api(tmp_path):
    result = invoke(
        "fit-basis", "tiny", "--backend-option", "resolution=16", "--backend-option", "dim=8",
        "--samples", 500, "--batch-size", 100, "--seed", 3, "--device", "cpu", "-o", tmp_path / "basis.safetensors", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["n_samples"], report["n_components"], report["latent_dim"]) == (500, 8, 8)
    saved = PCABasis.load(tmp_path / "basis.safetensors")
    expected = PCABasis.fit(latentmotion.get_backend("tiny", resolution=16, dim=8), n_samples=500, batch_size=100, seed=3)
    assert torch.equal(saved.components, expected.components) and torch.equal(saved.stdev, expected.stdev)


def write_frame_videos(root, *, n_videos=2, n_frames=8, side=32):
    for v in range(n_videos):
        folder = root / f"video{v}"
        folder.mkdir(parents=True)
        for t in range(n_frames):
            frame = Image.new("RGB", (side, side))
            frame.paste((255, 64 * v, 0), (2 * t, 8, 2 * t + 6, 14))
            frame.save(folder / f"{t}.png")


TRAIN_TOML = """
backend = "tiny"
backend_options = {{ resolution = 16, dim = 8, channels = 8 }}

[motion]
basis_samples = 500
n_components = 6
hidden_dim = 16

[video_discriminator]
channels = 4
layers = 2
scales = 1

[image_discriminator]
channels = 4
layers = 2
scales = 1

[optim]
g_steps = 1

[data]
path = "{data}"
n_frames = 4
resolution = 16
batch_size = 2

[run]
checkpoint_every = 1
log_every = 1
preview_every = 0
"""


def test_train_from_a_config_file_then_resume(tmp_path):
    write_frame_videos(tmp_path / "videos")
    config = tmp_path / "train.toml"
    config.write_text(TRAIN_TOML.format(data=tmp_path / "videos"))
    run = tmp_path / "run"
    result = invoke("train", config, "--out", run, "--set", "run.steps=1", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["steps"] == 1 and report["last"]["step"] == 1
    assert (run / "checkpoint.pt").is_file() and (run / "pipeline" / "config.json").is_file()

    assert_user_error(invoke("train", config, "--out", run, "--set", "run.steps=2"), "already holds a training run", "--resume")

    result = invoke("train", "--out", run, "--resume", "-s", "run.steps=2", "-s", "run.preview_every=2", "--num-workers", 1, "--json")  # the run's own config
    assert result.exit_code == 0, result.output
    assert json.loads((run / "train_config.json").read_text())["data"]["num_workers"] == 1
    assert [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()] == [1, 2]
    assert (run / "previews" / "step-0000002.png").is_file()
    assert LatentMotionPipeline.from_pretrained(run / "pipeline").generate(1, 3).shape == (1, 3, 3, 16, 16)


def write_log(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


def colour_pixels(path, colour):
    """`(x, y)` of every pixel of `colour` in an image."""
    pixels = np.asarray(Image.open(path).convert("RGB"))
    return [(int(x), int(y)) for y, x in np.argwhere((pixels == colour).all(axis=-1))]


def test_plot_draws_one_curve_per_loss(tmp_path):
    write_log(tmp_path / "log.jsonl", [{"step": s, "g/total": float(s), "d/video": 5.0 - s, "seconds": 0.1} for s in range(1, 6)])
    result = invoke("plot", tmp_path, "-o", tmp_path / "losses.png", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["curves"] == {"g/total": 5, "d/video": 5}
    assert Image.open(tmp_path / "losses.png").size == cli.PLOT_SIZE
    rising = [point for point in colour_pixels(tmp_path / "losses.png", cli.PLOT_COLOURS[0]) if point[0] < 700]  # left of the legend
    falling = [point for point in colour_pixels(tmp_path / "losses.png", cli.PLOT_COLOURS[1]) if point[0] < 700]
    assert min(rising)[1] > max(rising)[1]  # g/total grows: its left end is lower on the image
    assert min(falling)[1] < max(falling)[1]

    result = invoke("plot", tmp_path / "log.jsonl", "-k", "d/video", "-o", tmp_path / "one.png")
    assert result.exit_code == 0, result.output
    assert colour_pixels(tmp_path / "one.png", cli.PLOT_COLOURS[0]) and not colour_pixels(tmp_path / "one.png", cli.PLOT_COLOURS[1])
    assert_user_error(invoke("plot", tmp_path, "-k", "g/nope", "-o", tmp_path / "x.png"), "'g/nope'", "g/total")


def test_plot_ticks_are_round_numbers():
    assert cli._nice_ticks(1, 200) == [50, 100, 150, 200]
    assert cli._nice_ticks(-0.078, 1.638) == [0, 0.5, 1, 1.5]
    assert cli._nice_ticks(0.3, 0.42) == [0.3, 0.325, 0.35, 0.375, 0.4]


# ----------------------------------------------------------------------------------------------
# backends, info, push, animate


def test_backends_json_names_plugin_distribution_and_version():
    result = invoke("backends", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["tiny"] == {
        "name": "tiny",
        "description": latentmotion.backends()["tiny"].description,
        "plugin": "latentmotion.default_plugins.tiny",
        "distribution": "latentmotion",
        "version": latentmotion.__version__,
    }
    plain = invoke("backends")
    assert any(line.split()[:3] == ["tiny", "latentmotion", latentmotion.__version__] for line in plain.stdout.splitlines())


def test_info_of_a_folder_and_of_a_cached_hub_repo(pipeline_dir, hub_cache):
    result = invoke("info", pipeline_dir, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["backend"]["name"] == "tiny" and report["resolution"] == 16 and report["n_frames"] == 4
    assert set(report["files"]) == {"config.json", "motion.safetensors", "basis.safetensors", "README.md", "sample.gif"}
    assert report["versions"]["latentmotion"] == latentmotion.__version__

    sha = "d" * 40
    snapshot = hub_cache / "models--acme--tiny" / "snapshots" / sha
    snapshot.mkdir(parents=True)
    for path in pipeline_dir.iterdir():
        (snapshot / path.name).write_bytes(path.read_bytes())
    (hub_cache / "models--acme--tiny" / "refs").mkdir()
    (hub_cache / "models--acme--tiny" / "refs" / "main").write_text(sha)
    result = invoke("info", "acme/tiny")
    assert result.exit_code == 0, result.output
    assert f"(commit {sha})" in result.stdout and "backend      tiny" in result.stdout


def test_push_uploads_with_a_model_card(pipeline_dir, tmp_path, monkeypatch):
    calls = {}

    def create_repo(api, repo_id, **kwargs):
        calls["create"] = (repo_id, kwargs)

    def upload_folder(api, *, repo_id, folder_path, **kwargs):
        calls["files"] = sorted(path.name for path in Path(folder_path).iterdir())
        calls["card"] = (Path(folder_path) / "README.md").read_text()
        return CommitInfo(commit_url=f"https://huggingface.co/{repo_id}/commit/1", commit_message="m", commit_description="", oid="1")

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    result = invoke("push", pipeline_dir, "acme/tiny", "--private", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"repo_id": "acme/tiny", "commit_url": "https://huggingface.co/acme/tiny/commit/1"}
    assert calls["create"] == ("acme/tiny", {"private": True, "exist_ok": True})
    assert calls["files"] == ["README.md", "basis.safetensors", "config.json", "motion.safetensors", "sample.gif"]
    assert 'from_pretrained("acme/tiny")' in calls["card"]
    assert_user_error(invoke("push", pipeline_dir, "no-slash"), "'no-slash'", "org/name")
    (tmp_path / "card.md").write_text("# My own card\n")
    result = invoke("push", pipeline_dir, "acme/tiny", "--card", tmp_path / "card.md", "--no-sample")
    assert result.exit_code == 0, result.output
    assert calls["card"] == "# My own card\n" and "sample.gif" not in calls["files"]
    assert_user_error(invoke("push", pipeline_dir, "acme/tiny", "--card", tmp_path / "absent.md"), "absent.md", "is not a file")


def test_animate_inverts_the_photo_then_moves_it(pipeline, pipeline_dir, tmp_path):
    backend = pipeline.backend
    with torch.no_grad():
        photo = backend.synthesize(backend.sample_latents(1, generator=torch.Generator().manual_seed(9)))
    Image.fromarray(to_uint8(photo[0]).permute(1, 2, 0).numpy()).resize((40, 32)).save(tmp_path / "photo.png")  # not square: cropped
    result = invoke("animate", tmp_path / "photo.png", "-p", pipeline_dir, "-t", 3, "--steps", 40, "-o", tmp_path / "moving.png", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    target = read_image(tmp_path / "photo.png", 16)
    with torch.no_grad():
        start = backend.sample_latents(512, generator=torch.Generator().manual_seed(0)).mean(0, keepdim=True)
        start_psnr = psnr(backend.synthesize(start), target).item()
    assert report["psnr"] > start_psnr + 1  # the inversion got closer than its starting point
    assert report["psnr_constant_noise"] == report["psnr"]  # the default projector fits no noise maps
    frames = read_grid(tmp_path / "moving.png", videos=1, frames=3)
    assert not torch.equal(frames[0, 0], frames[0, -1])
    assert_user_error(invoke("animate", tmp_path / "log.txt", "-p", pipeline_dir, "-o", tmp_path / "a.gif"), "does not exist")
    (tmp_path / "notes.png").write_text("not an image")
    assert_user_error(invoke("animate", tmp_path / "notes.png", "-p", pipeline_dir, "-o", tmp_path / "a.gif"), "not an image")


# ----------------------------------------------------------------------------------------------
# Bad input: one line on stderr, exit code 2.


def test_hub_id_missing_while_offline(hub_cache, tmp_path):
    result = invoke("generate", "-p", "acme/nothing", "-o", tmp_path / "v.gif")
    assert_user_error(result, "'acme/nothing'", "not in the local Hub cache")


def test_hub_repo_that_is_not_a_pipeline(hub_cache, tmp_path):
    sha = "e" * 40
    snapshot = hub_cache / "models--acme--bert" / "snapshots" / sha
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text('{"model_type": "bert"}')
    (hub_cache / "models--acme--bert" / "refs").mkdir()
    (hub_cache / "models--acme--bert" / "refs" / "main").write_text(sha)
    assert_user_error(invoke("info", "acme/bert"), "not a latentmotion pipeline")
    assert_user_error(invoke("generate", "-p", "acme/bert", "-o", tmp_path / "v.gif"), "not a latentmotion pipeline")


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("learning_rate = 0.1\n", ["unknown key", "'learning_rate'"]),
        ('[run]\nsteps = "ten"\n', ["run.steps", "expected int"]),
        ("steps = [\n", ["cannot be parsed"]),
    ],
)
def test_bad_training_config_files(tmp_path, content, fragments):
    (tmp_path / "bad.toml").write_text(content)
    assert_user_error(invoke("train", tmp_path / "bad.toml", "--out", tmp_path / "run"), *fragments)


@pytest.mark.parametrize(
    ("setting", "fragments"),
    [
        ("optim.lr=fast", ["optim.lr", "expected float, got str 'fast'"]),
        ("optim.lr", ["'optim.lr' must look like KEY=VALUE"]),
        ("foo.bar=1", ["'foo' is not a section"]),
        ("data.batch_size=0", ["data.batch_size must be a finite number > 0"]),
    ],
)
def test_bad_training_settings(tmp_path, setting, fragments):
    assert_user_error(invoke("train", "--out", tmp_path / "run", "--set", setting), *fragments)
    assert not (tmp_path / "run").exists()


def test_output_in_a_folder_that_does_not_exist(pipeline_dir, tmp_path):
    assert_user_error(invoke("generate", "-p", pipeline_dir, "-o", tmp_path / "nowhere" / "v.mp4"), "nowhere", "does not exist")
    assert_user_error(invoke("fit-basis", "tiny", "-o", tmp_path / "nowhere" / "b.safetensors"), "does not exist")


def test_video_format_that_cannot_be_written(pipeline_dir, tmp_path, monkeypatch):
    assert_user_error(invoke("generate", "-p", pipeline_dir, "-o", tmp_path / "v.avi"), "unsupported format '.avi'", ".mp4")
    monkeypatch.setattr(av, "codecs_available", av.codecs_available - {"libx264"})
    assert_user_error(invoke("generate", "-p", pipeline_dir, "-o", tmp_path / "v.mp4"), "no H.264 encoder", ".gif")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_output_in_a_read_only_folder(pipeline_dir, tmp_path):
    (tmp_path / "locked").mkdir(mode=0o500)
    assert_user_error(invoke("generate", "-p", pipeline_dir, "-o", tmp_path / "locked" / "v.gif"), "not writable")


def test_other_user_errors(tmp_path):
    assert_user_error(invoke("fit-basis", "tiny", "--backend-option", "resolution", "-o", tmp_path / "b.safetensors"), "KEY=VALUE")
    assert_user_error(invoke("fit-basis", "tinny", "-o", tmp_path / "b.safetensors"), "unknown backend 'tinny'", "'tiny'")
    assert_user_error(invoke("generate", "-p", tmp_path / "missing", "-o", tmp_path / "v.gif"), "neither a pipeline folder, a registered pipeline name (none registered) nor a Hub repo id")
    assert_user_error(invoke("plot", tmp_path, "-o", tmp_path / "p.png"), "log.jsonl", "does not exist")


def test_the_default_pipeline_without_its_plugin_says_what_to_install(tmp_path):
    assert_user_error(invoke("generate", "-o", tmp_path / "v.gif"), "default pipeline 'toy'", "pip install latentmotion-toyworld")
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.png")
    assert_user_error(invoke("animate", tmp_path / "photo.png", "-o", tmp_path / "a.gif"), "pip install latentmotion-toyworld")


# ----------------------------------------------------------------------------------------------
# Plugins add sub-commands.


class GreetingPlugin:
    @hookimpl
    def register_commands(self, app):
        @app.command()
        def greet(name: str = "world") -> None:
            """Say hello (a plugin command)."""
            typer.echo(f"hello {name}")

        @app.command()
        def fail() -> None:
            """Raise a user error."""
            raise ConfigError("the plugin's input was wrong")


class BrokenPlugin:
    @hookimpl
    def register_commands(self, app):
        raise RuntimeError("bug in the plugin")


@pytest.fixture
def plugins():
    names = []

    def register(plugin, name):
        pm.register(plugin, name=name)
        names.append(name)

    yield register
    for name in names:
        pm.unregister(name=name)


def test_plugins_add_commands_and_their_errors_are_one_line(plugins):
    plugins(GreetingPlugin(), "test-greeting")
    app = cli.build_app()
    result = invoke("greet", "--name", "motion", app=app)
    assert result.exit_code == 0 and result.stdout == "hello motion\n"
    assert_user_error(invoke("fail", app=app), "the plugin's input was wrong")
    assert "greet" not in invoke("--help").stdout  # the app built at import time is unchanged


def test_a_broken_plugin_leaves_the_core_commands_working(plugins, capsys):
    plugins(BrokenPlugin(), "test-broken")
    plugins(GreetingPlugin(), "test-greeting")
    app = cli.build_app()
    assert "plugin 'test-broken' failed to add its commands (RuntimeError: bug in the plugin)" in capsys.readouterr().err
    assert invoke("greet", app=app).stdout == "hello world\n"
    assert invoke("backends", "--json", app=app).exit_code == 0


# ----------------------------------------------------------------------------------------------
# Plugins register pipeline names.


class NamedPipeline:
    def __init__(self, folder):
        self.folder = folder

    @hookimpl
    def register_pipelines(self, register):
        register("toy", lambda: self.folder, description="a pipeline saved by the test")


def test_pipelines_lists_and_generate_loads_a_registered_name(plugins, pipeline, pipeline_dir, tmp_path):
    assert invoke("pipelines", "--json").stdout == "[]\n"
    plugins(NamedPipeline(pipeline_dir), "test-pipelines")
    result = invoke("pipelines")
    assert result.exit_code == 0 and result.stdout.split() == ["toy", "latentmotion", latentmotion.__version__, "a", "pipeline", "saved", "by", "the", "test"]
    (row,) = json.loads(invoke("pipelines", "--json").stdout)
    assert row == {"name": "toy", "description": "a pipeline saved by the test", "plugin": "test-pipelines", "distribution": "latentmotion", "version": latentmotion.__version__}
    result = invoke("generate", "-n", 2, "-t", 3, "--seed", 4, "-o", tmp_path / "grid.png")  # the default pipeline, registered
    assert result.exit_code == 0, result.output
    assert torch.equal(read_grid(tmp_path / "grid.png", videos=2, frames=3), to_uint8(pipeline.generate(2, 3, seed=4)))
    assert json.loads(invoke("info", "toy", "--json").stdout)["folder"] == str(pipeline_dir)


# ----------------------------------------------------------------------------------------------
# A pipeline's config.json, strictly checked.


def broken_pipeline(pipeline_dir, folder, change):
    """A copy of `pipeline_dir` whose config.json is `change(config)` (a dict, or any JSON value)."""
    shutil.copytree(pipeline_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(change(config)))
    return folder


def with_value(section, key, value):
    def change(config):
        (config if section is None else config[section])[key] = value
        return config

    return change


BAD_CONFIGS = [
    (lambda config: None, ["missing backend, motion"]),
    (lambda config: 3, ["missing backend, motion"]),
    (with_value(None, "format_version", "1"), ["format_version: expected int, got str '1'"]),
    (with_value(None, "backend", "tiny"), ["backend: expected a table, got str 'tiny'"]),
    (lambda config: config | {"backend": {"options": {}}}, ["backend.name", "missing"]),
    (with_value("backend", "options", [16, 8]), ["backend.options: expected a table, got list"]),
    (with_value("backend", "options", {"resolution": 16, "dim": 8, "bogus": 1}), ["backend 'tiny' has no option 'bogus'", "resolution, dim"]),
    (with_value("motion", "n_components", "128"), ["motion.n_components: expected int, got str '128'"]),
    (with_value("motion", "n_components", 128.5), ["motion.n_components: expected int, got float 128.5"]),
    (with_value("motion", "hidden_dim", [16]), ["motion.hidden_dim: expected int, got list"]),
    (with_value("motion", "n_components", -3), ["n_components", "must be > 0", "-3"]),
    (with_value("motion", "speed", 2), ["motion", "unknown key(s) 'speed'"]),
    (with_value(None, "n_frames", "16"), ["n_frames: expected int, got str '16'"]),
    (with_value(None, "fps", "8"), ["fps: expected int, got str '8'"]),
    (with_value(None, "fps", 0), ["fps must be >= 1, got 0"]),
    (with_value(None, "colour", "red"), ["unknown key(s) 'colour'"]),
]


@pytest.mark.parametrize(("change", "fragments"), BAD_CONFIGS)
def test_bad_pipeline_configs_are_one_line_errors(pipeline_dir, tmp_path, change, fragments):
    folder = broken_pipeline(pipeline_dir, tmp_path / "broken", change)
    Image.new("RGB", (16, 16)).save(tmp_path / "photo.png")
    for args in (
        ["info", folder],
        ["generate", "-p", folder, "-o", tmp_path / "v.gif"],
        ["animate", tmp_path / "photo.png", "-p", folder, "-o", tmp_path / "a.gif"],
        ["push", folder, "acme/x"],
    ):
        assert_user_error(invoke(*args), *fragments)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["broken", "photo.png"]


def test_info_of_a_pipeline_without_motion_weights(pipeline_dir, tmp_path):
    shutil.copytree(pipeline_dir, tmp_path / "p")
    (tmp_path / "p" / "motion.safetensors").unlink()
    assert_user_error(invoke("info", tmp_path / "p"), "incomplete", "motion.safetensors")


# ----------------------------------------------------------------------------------------------
# Seeds, backend options, plot's log, outputs.


@pytest.mark.parametrize("option", ["--seed", "--content-seed", "--motion-seed"])
def test_negative_seeds_are_refused(pipeline_dir, tmp_path, option):
    assert_user_error(invoke("generate", "-p", pipeline_dir, option, -1, "-o", tmp_path / "v.gif"), f"{option} must be an integer >= 0, got -1")


def test_negative_seeds_are_refused_by_the_pipeline_as_a_config_error(pipeline):
    for name in ("seed", "content_seed", "motion_seed"):
        with pytest.raises(ConfigError, match=f"{name} must be an integer >= 0, got -1"):
            pipeline.generate(1, 2, **{name: -1})


BAD_BACKEND_OPTIONS = [
    ("bogus=1", ["backend 'tiny' has no option 'bogus'", "it takes resolution, dim, channels, seed"]),
    ("resolution=abc", ["option 'resolution' must be int, got str 'abc'"]),
    ("resolution=64.0", ["option 'resolution' must be int, got float 64.0"]),
    ("resolution=12", ["power of two"]),
    ("dim=0", ["'dim' must be >= 1, got 0"]),
    ("dim=true", ["option 'dim' must be int, got bool True"]),
    ("channels=0", ["'channels' must be >= 1, got 0"]),
    ("seed=null", ["option 'seed' must be int, got NoneType None"]),
]


@pytest.mark.parametrize(("option", "fragments"), BAD_BACKEND_OPTIONS)
def test_bad_backend_options(tmp_path, option, fragments):
    assert_user_error(invoke("fit-basis", "tiny", "--backend-option", option, "-o", tmp_path / "b.safetensors"), *fragments)
    key, _, value = option.partition("=")
    assert_user_error(invoke("train", "--out", tmp_path / "run", "--set", f"backend_options.{key}={value}"), *fragments)
    assert list(tmp_path.iterdir()) == []


BAD_LOGS = [
    ('[1, 2]\n', ["line 1", "needs a JSON object with a finite number 'step'"]),
    ('{"g/total": 1.0}\n', ["line 1", "'step'"]),
    ('{"step": "1", "g/total": 1.0}\n', ["line 1", "'step'"]),
    ('{"step": 1, "g/total": 1e308}\n{"step": 2, "g/total": -1e308}\n', ["values", "too wide a range", "--key"]),
    (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", ["not a text file"]),
]


@pytest.mark.parametrize(("content", "fragments"), BAD_LOGS)
def test_plot_refuses_a_log_it_cannot_draw(tmp_path, content, fragments):
    log = tmp_path / "log.jsonl"
    log.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert_user_error(invoke("plot", log, "-o", tmp_path / "p.png"), *fragments)
    assert not (tmp_path / "p.png").exists()


def test_every_target_is_checked_before_any_video_is_written(pipeline_dir, tmp_path):
    (tmp_path / "m-1.mp4").mkdir()
    assert_user_error(invoke("generate", "-p", pipeline_dir, "-n", 3, "-t", 2, "-o", tmp_path / "m.mp4"), "m-1.mp4", "is a folder")
    assert [path.name for path in tmp_path.iterdir()] == ["m-1.mp4"]


@pytest.mark.parametrize("method", ["write", "close"])
def test_a_failed_write_removes_the_videos_written_before(pipeline_dir, tmp_path, monkeypatch, method):
    from latentmotion import video

    real = getattr(video.VideoWriter, method)

    def fail_on_the_second(writer, *args, **kwargs):
        if writer.path.name == "m-1.gif":
            raise OSError(28, "No space left on device")
        return real(writer, *args, **kwargs)

    monkeypatch.setattr(video.VideoWriter, method, fail_on_the_second)
    assert_user_error(invoke("generate", "-p", pipeline_dir, "-n", 3, "-t", 2, "-o", tmp_path / "m.gif"), "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_option_errors_of_typer_are_one_line_too(pipeline_dir, tmp_path):
    assert_user_error(invoke("generate", "-p", pipeline_dir, "-n", 0, "-o", tmp_path / "v.gif"), "'--n-videos'", "--help")
    assert_user_error(invoke("plot", tmp_path, "--no-such-option"), "--no-such-option")


# ----------------------------------------------------------------------------------------------
# Every sub-command, every kind of bad input: exit 2, one `error:` line, no traceback, no file left.


@pytest.fixture(scope="module")
def inputs(pipeline_dir, tmp_path_factory):
    """Files the bad invocations read: a photo, logs, pipelines with broken config.json."""
    root = tmp_path_factory.mktemp("inputs")
    Image.new("RGB", (16, 16)).save(root / "photo.png")
    (root / "list.jsonl").write_text("[1, 2]\n")
    (root / "binary.jsonl").write_bytes(b"\x00\xff\xfe\x89")
    for name, change in {
        "null": lambda config: None,
        "version": with_value(None, "format_version", "1"),
        "options": with_value("backend", "options", {"resolution": 16, "dim": 8, "bogus": 1}),
        "motion": with_value("motion", "n_components", 128.5),
        "frames": with_value(None, "n_frames", "16"),
        "absolute": with_value("backend", "options", {"resolution": 16, "dim": 8, "seed": 0, "weights": "/etc/hostname"}),
    }.items():
        broken_pipeline(pipeline_dir, root / name, change)
    return root


WALK = [  # (arguments, with {p} the good pipeline, {i} the inputs folder, {o} the empty output folder; a fragment of the error)
    ("generate -p {p} --seed -1 -o {o}/v.gif", "--seed must be an integer >= 0"),
    ("generate -p {p} --content-seed -5 -o {o}/v.gif", "--content-seed"),
    ("generate -p {p} -n 0 -o {o}/v.gif", "--n-videos"),
    ("generate -p {p} -t 0 -o {o}/v.gif", "--frames"),
    ("generate -p {p} --truncation 2 -o {o}/v.gif", "--truncation"),
    ("generate -p {p} -o {o}/v.avi", "unsupported format"),
    ("generate -p {p} -o {o}/missing/v.gif", "does not exist"),
    ("generate -p {i}/null -o {o}/v.gif", "missing backend, motion"),
    ("generate -p {i}/version -o {o}/v.gif", "format_version"),
    ("generate -p {i}/options -o {o}/v.gif", "no option 'bogus'"),
    ("generate -p {i}/motion -o {o}/v.gif", "motion.n_components"),
    ("generate -p {i}/frames -o {o}/v.gif", "n_frames"),
    ("generate -p {i}/absolute -o {o}/v.gif", "outside the pipeline"),
    ("generate -p {o}/nothing -o {o}/v.gif", "neither a pipeline folder"),
    ("fit-basis tiny --backend-option bogus=1 -o {o}/b.safetensors", "no option 'bogus'"),
    ("fit-basis tiny --backend-option resolution=abc -o {o}/b.safetensors", "must be int"),
    ("fit-basis tiny --backend-option dim=0 -o {o}/b.safetensors", "'dim' must be >= 1"),
    ("fit-basis tiny --backend-option seed=null -o {o}/b.safetensors", "'seed' must be int"),
    ("fit-basis tiny --seed -1 -o {o}/b.safetensors", "--seed"),
    ("fit-basis tiny --samples 1 -o {o}/b.safetensors", "--samples"),
    ("fit-basis tiny -o {o}/b.txt", "unsupported format"),
    ("fit-basis nope -o {o}/b.safetensors", "unknown backend 'nope'"),
    ("train --out {o}/run --set backend_options.channels=0", "'channels' must be >= 1"),
    ("train --out {o}/run --set backend_options.resolution=64.0", "must be int"),
    ("train --out {o}/run --set data.batch_size=0", "data.batch_size"),
    ("train --out {o}/run --set nope", "KEY=VALUE"),
    ("train --out {o}/run --num-workers 2 --set data.num_workers=3", "disagree"),
    ("train --out {o}/run --set run.device=cpu --set run.precision=fp16", "run.precision 'fp16' needs a GPU"),
    ("train --out {o}/run --set run.precision=fp64", "run.precision must be one of 'fp32', 'bf16', 'fp16'"),
    ("train {i}/photo.png --out {o}/run", "photo.png"),
    ("train --out {o}/run --resume", "does not exist"),
    ("backends --nope", "--nope"),
    ("pipelines extra", "extra"),
    ("info {i}/null", "missing backend, motion"),
    ("info {i}/options", "no option 'bogus'"),
    ("info {i}/motion", "motion.n_components"),
    ("info {o}/nothing", "neither a pipeline folder"),
    ("push {i}/version acme/x", "format_version"),
    ("push {i}/absolute acme/x", "outside the pipeline"),
    ("push {p} no-slash", "org/name"),
    ("push {o}/nothing acme/x", "not a pipeline folder"),
    ("plot {i}/list.jsonl -o {o}/p.png", "'step'"),
    ("plot {i}/binary.jsonl -o {o}/p.png", "not a text file"),
    ("plot {o} -o {o}/p.png", "does not exist"),
    ("plot {i}/list.jsonl -o {o}/p.jpg", "unsupported format"),
    ("animate {i}/photo.png -p {p} --seed -1 -o {o}/a.gif", "--seed"),
    ("animate {i}/photo.png -p {p} --steps 0 -o {o}/a.gif", "--steps"),
    ("animate {i}/photo.png -p {i}/frames -o {o}/a.gif", "n_frames"),
    ("animate {i}/list.jsonl -p {p} -o {o}/a.gif", "not an image"),
    ("animate {o}/none.png -p {p} -o {o}/a.gif", "does not exist"),
    ("presets --nope", "--nope"),
    ("train --preset nope --out {o}/run", "unknown preset 'nope'"),
    ("evaluate {p} --data {o}/missing", "does not exist"),
    ("evaluate {p} --data {i} --metric nope", "unknown metric 'nope'"),
    ("evaluate {p} --data {i} --seed -1", "--seed"),
    ("evaluate acme/remote --data {i} --record", "is not one"),
    ("evaluate {p} --data {i} --metric prediction --lpips {i}/list.jsonl", "not a readable safetensors file"),
    ("evaluate {p} --data {i} --lpips {i}/list.jsonl", "--metric prediction"),
    ("convert", "Missing command"),
    ("convert mocogan-hd --motion {i}/list.jsonl --pca-comp {i}/list.jsonl --pca-stdev {i}/list.jsonl --generator {i}/list.jsonl -o {o}/ff", "refused"),
    ("convert mocogan-hd --motion {o}/none.pth --pca-comp {o}/c.npy --pca-stdev {o}/s.npy --generator {o}/g.pt -o {o}/ff", "does not exist"),
    ("convert i3d {i}/list.jsonl -o {o}/i.safetensors", "not a TorchScript archive"),
    ("convert i3d {i}/list.jsonl -o {o}/i.txt", "unsupported format"),
]


def command_names(group, prefix=""):
    """Every runnable command of a click group, sub-commands of groups as `group sub`."""
    names = set()
    for name, command in group.commands.items():
        names.add(prefix + name)
        if hasattr(command, "commands"):
            names |= command_names(command, prefix + name + " ")
    return names


def test_the_walk_covers_every_command() -> None:
    walked = {" ".join(word for word in template.split()[:2] if not word.startswith(("-", "{"))) for template, _ in WALK}
    walked |= {template.split()[0] for template, _ in WALK}
    missing = command_names(typer.main.get_command(cli.build_app())) - walked
    assert not missing, f"commands without bad-input rows in WALK: {sorted(missing)}"


def listing(folder):
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.mark.parametrize(("template", "fragment"), WALK, ids=[template.split(" -o ")[0] for template, _ in WALK])
def test_every_command_refuses_bad_input_in_one_line_leaving_nothing(pipeline_dir, inputs, tmp_path, template, fragment):
    out = tmp_path / "out"
    out.mkdir()
    before = listing(tmp_path), listing(inputs), listing(pipeline_dir)
    args = template.format(p=pipeline_dir, i=inputs, o=out).split()
    assert_user_error(invoke(*args), fragment)
    assert (listing(tmp_path), listing(inputs), listing(pipeline_dir)) == before


# ----------------------------------------------------------------------------------------------
# Requests that cannot fit in memory are refused before anything is allocated.


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["generate", "-t", 10**9], ["generating 1 video(s) of 1,000,000,000 frames", "lower n_videos (-n), n_frames (-t)"]),
        (["generate", "-n", 10**9], ["generating 1000000000 video(s)", "GiB is available"]),
        (["generate", "-t", 3, "--interpolation", 10**12], ["writing 1 video(s) of 2,000,000,000,003 frames", "on disk", "interpolation (--interpolation)"]),
    ],
)
def test_videos_that_cannot_fit_in_memory_are_refused(pipeline_dir, tmp_path, args, fragments):
    # Streamed into a .gif, the motion's codes of 10**9 frames cannot fit in memory, 10**9 videos cannot,
    # and 2 * 10**12 frames cannot fit on the disk.
    assert_user_error(invoke(*args, "-p", pipeline_dir, "-o", tmp_path / "v.gif"), *fragments)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["-t", 3, "--interpolation", 10**9], ["-t", 10**8]])
def test_a_png_grid_holds_every_frame_so_its_length_is_checked(pipeline_dir, tmp_path, args):
    result = invoke("generate", *args, "-p", pipeline_dir, "-o", tmp_path / "v.png")
    assert_user_error(result, "GiB of memory", "lower n_videos (-n), n_frames (-t) or interpolation (--interpolation)")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_a_long_video_is_streamed_to_its_file_a_chunk_at_a_time(pipeline, pipeline_dir, tmp_path, monkeypatch, suffix):
    from latentmotion import pipeline as module
    from latentmotion.video import VideoWriter, write_video

    rendered, written = [], []
    real_render, real_write = module.render, VideoWriter.write

    def spy(backend, trajectory, noise, **options):
        rendered.append(trajectory.shape[1])
        return real_render(backend, trajectory, noise, **options)

    def spy_write(writer, frames):
        written.append(frames.clone())
        real_write(writer, frames)

    monkeypatch.setattr(module, "render", spy)
    monkeypatch.setattr(VideoWriter, "write", spy_write)
    result = invoke("generate", "-p", pipeline_dir, "-t", 150, "-o", tmp_path / f"long{suffix}", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_frames"] == 150
    assert rendered == [cli.STREAM_CHUNK_FRAMES, cli.STREAM_CHUNK_FRAMES, 150 - 2 * cli.STREAM_CHUNK_FRAMES]  # never the whole video
    assert count_frames(tmp_path / f"long{suffix}") == 150
    # The chunks written, in order, are the video rendered whole for the same seed: equal up to
    # float rounding, since they render in other batches (as in test_pipeline's stream test).
    streamed = torch.cat(written)
    torch.testing.assert_close(streamed, pipeline.generate(1, 150, seed=0)[0], rtol=0, atol=1e-4)
    # The file decodes to what writing those frames whole gives, frame by frame. (Compared with the
    # whole render instead, one pixel rounded to the next 8-bit level moves a lossy codec's output
    # as much as a dropped frame does.) GIF is lossless; x264 is not byte-reproducible on frames
    # of 16 x 16 pixels (seen: up to 1.1 levels of 255 on average in a frame), so an mp4 frame may
    # differ by 2 levels on average: a frame out of place differs by far more.
    write_video(tmp_path / f"whole{suffix}", streamed, fps=pipeline.fps)
    long, whole = (read_video(tmp_path / name).float() for name in (f"long{suffix}", f"whole{suffix}"))  # [T, H, W, 3]
    error = reduce((long - whole).abs(), "t h w c -> t", "mean")
    assert error.max() <= (0 if suffix == ".gif" else 2), error


@pytest.mark.usefixtures("one_thread")
def test_length_alone_never_exhausts_memory(pipeline_dir, tmp_path, monkeypatch):
    from latentmotion import devices

    frames = 3000
    monkeypatch.setattr(devices, "available_memory", lambda device: frames * 3 * 16 * 16 * 4 * 2 // 3)  # two thirds of one video's frames
    assert_user_error(invoke("generate", "-p", pipeline_dir, "-t", frames, "-o", tmp_path / "grid.png"), "MiB of memory", "lower n_videos (-n)")
    result = invoke("generate", "-p", pipeline_dir, "-n", 2, "-t", frames, "-o", tmp_path / "long.gif", "--json")
    assert result.exit_code == 0, result.output
    assert [count_frames(path) for path in json.loads(result.stdout)["files"]] == [frames, frames]


def test_many_videos_encoded_at_once_are_checked_against_host_memory(pipeline_dir, tmp_path, monkeypatch):
    from latentmotion import devices

    monkeypatch.setattr(devices, "available_memory", lambda device: 2**20)  # the frames fit; 50 encoders' buffers do not
    assert_user_error(invoke("generate", "-p", pipeline_dir, "-n", 50, "-t", 2, "-o", tmp_path / "v.mp4"), "encoding 50 video(s) at once", "lower n_videos (-n)")
    assert list(tmp_path.iterdir()) == []
    assert invoke("generate", "-p", pipeline_dir, "-n", 50, "-t", 2, "-o", tmp_path / "v.png").exit_code == 0


def test_a_basis_batch_that_cannot_fit_in_memory_is_refused(tmp_path):
    result = invoke("fit-basis", "tiny", "--samples", 10**13, "--batch-size", 10**13, "-o", tmp_path / "b.safetensors")
    assert_user_error(result, "drawing 10,000,000,000,000 codes at a time", "lower batch_size (--batch-size)")


def test_a_training_batch_that_cannot_fit_in_memory_is_refused(tmp_path):
    result = invoke("train", "--out", tmp_path / "run", "-s", "data.batch_size=100000", "-s", "backend_options.resolution=1024")
    assert_user_error(result, "training on batches of 100000 clips", "lower data.batch_size")
    assert list(tmp_path.iterdir()) == []
