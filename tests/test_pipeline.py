"""The pipeline: generation controls, rendering, save/load, names registered by plugins."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import latentmotion
from latentmotion import plugins
from latentmotion.basis import PCABasis
from latentmotion.errors import (
    CheckpointError,
    ConfigError,
    LatentMotionError,
    ShapeError,
    UnknownPipelineError,
)
from latentmotion.hookspecs import hookimpl
from latentmotion.motion import MotionConfig, MotionGenerator, MotionOutput
from latentmotion.pipeline import (
    LatentMotionPipeline,
    draw_motion_noise,
    interpolate_trajectory,
    interpolated_codes,
    resolve_pipeline_folder,
)
from latentmotion.rendering import render


@pytest.fixture(scope="module")
def pipeline():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    basis = PCABasis.fit(backend, n_samples=2000, batch_size=500)
    torch.manual_seed(0)
    motion = MotionGenerator(MotionConfig(latent_dim=8, n_components=6, hidden_dim=16), basis=basis.scaled(6))
    with torch.no_grad():  # a visible motion for the tests
        motion.coefficients.bias.fill_(0.5)
    return LatentMotionPipeline(backend=backend, basis=basis, motion=motion, n_frames=5, fps=8)


def test_generate_shapes_range_and_determinism(pipeline):
    videos = pipeline.generate(3, seed=1)
    assert videos.shape == (3, 5, 3, 16, 16)
    assert videos.min() >= -1 and videos.max() <= 1
    assert torch.equal(videos, pipeline.generate(3, seed=1))
    assert not torch.equal(videos, pipeline.generate(3, seed=2))
    assert not torch.equal(videos[:, 0], videos[:, -1])  # it moves


def test_content_and_motion_seeds_are_independent(pipeline):
    base = pipeline.trajectories(2, 6, content_seed=1, motion_seed=1)
    new_motion = pipeline.trajectories(2, 6, content_seed=1, motion_seed=2)
    new_content = pipeline.trajectories(2, 6, content_seed=2, motion_seed=1)
    assert torch.equal(base[:, 0], new_motion[:, 0])
    assert not torch.equal(base[:, 1:], new_motion[:, 1:])
    assert not torch.equal(base[:, 0], new_content[:, 0])


def test_the_frames_follow_the_content_and_motion_seeds_not_the_seed(pipeline):
    # The rendering noise belongs to the content: the same content and motion seeds give the same
    # frames whatever --seed says, and another content seed gives other first frames.
    frames = pipeline.generate(2, 4, seed=0, content_seed=7, motion_seed=3)
    assert torch.equal(frames, pipeline.generate(2, 4, seed=5, content_seed=7, motion_seed=3))
    assert torch.equal(frames, pipeline.generate(2, 4, seed=7, motion_seed=3))
    assert not torch.equal(frames[:, 0], pipeline.generate(2, 4, seed=0, content_seed=8, motion_seed=3)[:, 0])


def test_caller_supplied_content_and_motion_noise(pipeline):
    content = pipeline.backend.sample_latents(2, generator=torch.Generator().manual_seed(3))
    eps = torch.randn(2, 3, 8, generator=torch.Generator().manual_seed(4))
    trajectory = pipeline.trajectories(content=content, n_frames=4, motion_noise=eps, seed=99)
    assert torch.equal(trajectory[:, 0], content)
    expected = pipeline.motion(content, 4, eps).trajectory
    assert torch.allclose(trajectory, expected)
    with pytest.raises(ShapeError):
        pipeline.trajectories(content=torch.zeros(2, 7))


def test_more_frames_of_the_same_seed_extend_the_same_videos(pipeline):
    short, long = pipeline.trajectories(3, 16, seed=4), pipeline.trajectories(3, 32, seed=4)
    assert torch.equal(long[:, :16], short)  # every video, not only the first
    assert torch.allclose(pipeline.generate(3, 32, seed=4)[:, :16], pipeline.generate(3, 16, seed=4), atol=1e-6)
    assert torch.equal(draw_motion_noise(4, 4, 9, 8)[:2], draw_motion_noise(4, 2, 9, 8))  # and more videos keep the first ones
    assert not torch.equal(draw_motion_noise(4, 2, 9, 8), draw_motion_noise(5, 2, 9, 8))
    assert draw_motion_noise(4, 2, 1, 8).shape == (2, 0, 8)


def test_caller_motion_noise_is_moved_to_the_pipeline_device(pipeline, monkeypatch):
    seen = {}

    def motion(content, n_frames, eps=None, **options):
        seen["content"], seen["eps"] = content.device, eps.device
        return MotionOutput(content[:, None].expand(-1, n_frames, -1), eps, eps, eps)

    monkeypatch.setattr(LatentMotionPipeline, "device", property(lambda self: torch.device("meta")))  # a device the noise is not on
    monkeypatch.setattr(pipeline, "motion", motion)
    pipeline.trajectories(content=pipeline.backend.sample_latents(2), n_frames=3, motion_noise=torch.randn(2, 2, 8))
    assert seen == {"content": torch.device("meta"), "eps": torch.device("meta")}


def test_generate_clamps_what_a_backend_returns_to_the_promised_range(pipeline, monkeypatch):
    synthesize = pipeline.backend.synthesize
    monkeypatch.setattr(pipeline.backend, "synthesize", lambda codes, noise=None: 5 * synthesize(codes, noise=noise))  # a backend past [-1, 1]
    videos = pipeline.generate(2, 3, seed=0)
    assert videos.min() == -1 and videos.max() == 1
    frames = pipeline(2, 3, seed=0).frames
    assert frames.min() == 0 and frames.max() == 1


def test_interpolation_inserts_evenly_spaced_codes():
    trajectory = torch.tensor([[[0.0], [3.0], [6.0]]])
    assert interpolate_trajectory(trajectory, 2).flatten().tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert torch.equal(interpolate_trajectory(trajectory, 0), trajectory)
    with pytest.raises(ConfigError):
        interpolate_trajectory(trajectory, -1)


def test_generate_with_interpolation(pipeline):
    videos = pipeline.generate(1, 4, interpolation=3, seed=0)
    assert videos.shape[1] == (4 - 1) * 4 + 1
    plain = pipeline.generate(1, 4, seed=0)
    assert torch.allclose(videos[:, ::4], plain, atol=1e-6)


def test_noise_is_shared_by_the_frames_of_a_video(pipeline):
    backend = pipeline.backend
    code = backend.sample_latents(1, generator=torch.Generator().manual_seed(0))
    still = code.expand(2, 3, -1).contiguous()  # two videos of 3 identical codes
    noise = backend.sample_noise(2, generator=torch.Generator().manual_seed(1))
    frames = render(backend, still, noise)
    assert torch.equal(frames[0, 0], frames[0, 2])
    assert not torch.allclose(frames[0, 0], frames[1, 0])
    assert torch.allclose(render(backend, still, noise, batch_size=2), frames, atol=1e-6)


def test_generate_takes_each_videos_own_noise_inputs(pipeline):
    backend = pipeline.backend
    content = backend.sample_latents(2, generator=torch.Generator().manual_seed(2))
    noise = backend.sample_noise(2, generator=torch.Generator().manual_seed(3))  # e.g. a projection's fitted maps
    videos = pipeline.generate(content=content, n_frames=3, seed=1, noise=noise)
    trajectory = pipeline.trajectories(content=content, n_frames=3, seed=1)
    assert torch.allclose(videos, render(backend, trajectory, noise).clamp(-1, 1), atol=1e-6)
    swapped = pipeline.generate(content=content, n_frames=3, seed=1, noise=[tensor.flip(0) for tensor in noise])
    assert not torch.allclose(swapped[0], videos[0])  # video 0 renders with noise 0, not 1
    assert torch.equal(pipeline.generate(content=content, n_frames=3, seed=1, noise=[]), pipeline.generate(content=content, n_frames=3, seed=1, noise="constant"))
    with pytest.raises(ShapeError, match=r"2 video\(s\).*projection.noise"):
        pipeline.generate(content=content, n_frames=3, noise=[tensor[:1] for tensor in noise])


def test_generation_is_reproducible_without_noise(pipeline):
    a = pipeline.generate(1, seed=0, noise=False)
    b = pipeline.generate(1, seed=0, noise=True)
    assert not torch.allclose(a, b)
    assert torch.equal(a, pipeline.generate(1, seed=0, noise=False))


def test_save_and_load_give_the_same_frames(pipeline, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "pipe")
    assert {p.name for p in folder.iterdir()} == {"config.json", "motion.safetensors", "basis.safetensors", "README.md", "sample.gif"}
    config = json.loads((folder / "config.json").read_text())
    assert config["backend"] == {"name": "tiny", "options": {"resolution": 16, "dim": 8}}  # the options given to get_backend
    loaded = LatentMotionPipeline.from_pretrained(folder)
    assert torch.equal(loaded.generate(2, seed=5), pipeline.generate(2, seed=5))
    assert (loaded.n_frames, loaded.fps) == (5, 8)
    assert not list(folder.glob(".*.tmp"))


def test_loading_is_strict(pipeline, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "pipe")
    state = load_file(str(folder / "motion.safetensors"))
    state.pop("coefficients.bias")
    state["extra"] = torch.zeros(1)
    save_file(state, str(folder / "motion.safetensors"))
    with pytest.raises(CheckpointError, match="coefficients.bias"):
        LatentMotionPipeline.from_pretrained(folder)


def test_corrupt_or_missing_files(pipeline, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "pipe")
    (folder / "motion.safetensors").write_bytes((folder / "motion.safetensors").read_bytes()[:100])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        LatentMotionPipeline.from_pretrained(folder)
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        LatentMotionPipeline.from_pretrained(folder)
    with pytest.raises(UnknownPipelineError, match=r"neither a pipeline folder, a registered pipeline name \(none registered\) nor a Hub repo id"):
        LatentMotionPipeline.from_pretrained(tmp_path / "does" / "not" / "exist")


def test_basis_of_another_latent_space_is_refused(pipeline):
    other = latentmotion.get_backend("tiny", resolution=16, dim=4)
    with pytest.raises(latentmotion.LatentMotionError):
        LatentMotionPipeline(backend=other, basis=pipeline.basis, motion=pipeline.motion)


def test_bad_generation_arguments(pipeline):
    with pytest.raises(ConfigError):
        pipeline.generate(0)
    with pytest.raises(ConfigError):
        pipeline.generate(1, 0)


# Pipeline names registered by plugins ----------------------------------------------------------


class NamedPipelines:
    """A plugin registering pipeline names for folders saved in the test."""

    def __init__(self, folders: dict[str, Path]) -> None:
        self.folders = folders

    @hookimpl
    def register_pipelines(self, register):
        for name, folder in self.folders.items():
            register(name, lambda folder=folder: folder, description=f"saved in {folder.name}")


@pytest.fixture
def register_pipelines():
    """`register_pipelines(folders, plugin="named")` registers a plugin naming `folders`, for the test only."""
    names = []

    def register(folders: dict[str, Path], plugin: str = "named") -> None:
        plugins.pm.register(NamedPipelines(folders), name=plugin)
        names.append(plugin)

    yield register
    for name in names:
        plugins.pm.unregister(name=name)


def test_a_registered_name_loads_through_the_plugin_manager(pipeline, tmp_path, register_pipelines):
    folder = pipeline.save_pretrained(tmp_path / "saved")
    register_pipelines({"toy": folder})
    info = plugins.pipelines()["toy"]
    assert (info.plugin, info.description, info.distribution) == ("named", "saved in saved", "latentmotion")
    assert resolve_pipeline_folder("toy") == folder
    loaded = LatentMotionPipeline.from_pretrained("toy")
    assert loaded.config() == pipeline.config()
    assert torch.equal(loaded.generate(2, seed=3), pipeline.generate(2, seed=3))


def test_the_core_registers_no_pipeline_name():
    assert latentmotion.pipelines() == {}
    with pytest.raises(UnknownPipelineError, match=r"'toy' is neither a pipeline folder, a registered pipeline name \(none registered\)"):
        LatentMotionPipeline.from_pretrained("toy")


def test_calling_a_pipeline_returns_frames_as_viewers_take_them(pipeline):
    videos = pipeline.generate(2, 4, seed=3)  # [-1, 1]
    pt = pipeline(2, 4, seed=3).frames
    torch.testing.assert_close(pt, (videos + 1) / 2)
    arrays = pipeline(2, 4, seed=3, output_type="np").frames
    assert arrays.shape == (2, 4, 16, 16, 3) and arrays.dtype.name == "float32"
    assert abs(arrays - pt.permute(0, 1, 3, 4, 2).numpy()).max() <= 0.5 / 255 + 1e-6  # 8-bit rounding
    images = pipeline(2, 4, seed=3, output_type="pil").frames
    assert [len(video) for video in images] == [4, 4] and images[1][3].size == (16, 16) and images[1][3].mode == "RGB"
    assert abs(np.asarray(images[1][3]) / 255 - arrays[1, 3]).max() < 1e-6
    with pytest.raises(ConfigError, match="output_type must be 'pt', 'np' or 'pil', got 'gif'"):
        pipeline(1, output_type="gif")


def test_from_pretrained_renders_in_the_asked_dtype(pipeline, tmp_path):
    pipeline.save_pretrained(tmp_path / "p")
    half = LatentMotionPipeline.from_pretrained(tmp_path / "p", dtype=torch.bfloat16)
    assert half.dtype == torch.bfloat16 and half.motion.coefficients.weight.dtype == torch.float32
    videos = half.generate(2, 4, seed=3)
    assert videos.dtype == torch.bfloat16
    assert half(2, 4, seed=3).frames.dtype == torch.float32
    torch.testing.assert_close(videos.float(), pipeline.generate(2, 4, seed=3), atol=0.05, rtol=0)  # bf16 keeps ~3 digits
    with pytest.raises(ConfigError, match="floating-point type"):
        half.to(dtype=torch.int64)


def test_an_unknown_name_lists_the_registered_ones(pipeline, tmp_path, register_pipelines):
    folder = pipeline.save_pretrained(tmp_path / "saved")
    register_pipelines({"toy": folder, "toy-cross": folder})
    with pytest.raises(UnknownPipelineError) as error:
        LatentMotionPipeline.from_pretrained("toyy")
    message = str(error.value)
    assert "'toyy' is neither a pipeline folder, a registered pipeline name (toy, toy-cross) nor a Hub repo id of the form 'org/name'" in message
    assert "Did you mean 'toy'" in message
    assert isinstance(error.value, CheckpointError)


def test_a_local_folder_comes_before_a_registered_name(pipeline, tmp_path, register_pipelines, monkeypatch):
    register_pipelines({"toy": tmp_path / "elsewhere"})
    monkeypatch.chdir(tmp_path)
    local = pipeline.save_pretrained(tmp_path / "toy")
    assert resolve_pipeline_folder("toy").resolve() == local


def test_a_registered_name_without_its_folder_names_the_plugin(tmp_path, register_pipelines):
    register_pipelines({"gone": tmp_path / "gone"}, plugin="forgetful")
    with pytest.raises(CheckpointError, match=r"plugin 'forgetful' .* locates pipeline 'gone' at .*gone', which is not a folder"):
        LatentMotionPipeline.from_pretrained("gone")


def test_one_name_registered_by_two_plugins_is_an_error(tmp_path, register_pipelines):
    register_pipelines({"toy": tmp_path}, plugin="first")
    register_pipelines({"toy": tmp_path}, plugin="second")
    with pytest.raises(LatentMotionError, match="pipeline 'toy' is registered twice: by 'first' and by 'second'"):
        plugins.pipelines()


# ----------------------------------------------------------------------------------------------
# Streaming: long videos rendered a chunk at a time, so that memory does not grow with length.


def test_interpolated_codes_are_slices_of_the_whole_interpolation():
    torch.manual_seed(0)
    trajectory = torch.randn(2, 5, 4) * 10.0 ** torch.randint(-3, 8, (2, 5, 4))  # mixed magnitudes: a + (b - a) is often not b
    for factor in (0, 1, 3):
        whole = interpolate_trajectory(trajectory, factor)
        for start, stop in ((0, 1), (0, 3), (2, 9), (5, len(whole[0])), (len(whole[0]) - 1, len(whole[0]))):
            assert torch.equal(interpolated_codes(trajectory, factor, start, stop), whole[:, start:stop]), (factor, start, stop)
    assert torch.equal(interpolated_codes(trajectory[:, :1], 3, 0, 1), trajectory[:, :1])


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("interpolation", [0, 2])
def test_a_stream_of_chunks_joins_into_the_generated_videos(pipeline, interpolation):
    expected = pipeline.generate(3, 40, seed=4, interpolation=interpolation, batch_size=16)
    length = expected.shape[1]
    whole = list(pipeline.generate_stream(3, 40, seed=4, interpolation=interpolation, batch_size=16, chunk_frames=length))
    assert len(whole) == 1 and torch.equal(whole[0], expected)  # one chunk: the same frames, bit for bit
    chunks = list(pipeline.generate_stream(3, 40, seed=4, interpolation=interpolation, batch_size=16, chunk_frames=11))
    assert [chunk.shape[1] for chunk in chunks] == [11] * (length // 11) + ([length % 11] if length % 11 else [])
    # Other batches of the backend: equal up to float rounding (which varies with the CPU's vector width).
    torch.testing.assert_close(torch.cat(chunks, dim=1), expected, rtol=0, atol=1e-4)


@pytest.mark.usefixtures("one_thread")
def test_a_stream_renders_one_chunk_at_a_time(pipeline, monkeypatch):
    from latentmotion import pipeline as module

    rendered = []
    real = module.render

    def spy(backend, trajectory, noise, **options):
        rendered.append(trajectory.shape[:2])
        return real(backend, trajectory, noise, **options)

    monkeypatch.setattr(module, "render", spy)
    stream = pipeline.generate_stream(2, 1000, chunk_frames=100)
    next(stream)
    assert rendered == [(2, 100)]  # lazily: a chunk is rendered when it is asked for
    assert sum(1 for _ in stream) == 9 and set(rendered) == {(2, 100)}


@pytest.mark.usefixtures("one_thread")
def test_memory_of_a_stream_does_not_grow_with_length(pipeline, monkeypatch):
    from latentmotion import devices

    frame = 3 * 16 * 16 * 4  # bytes of one float32 frame
    monkeypatch.setattr(devices, "available_memory", lambda device: 10_000 * frame // 2)
    with pytest.raises(ConfigError, match="generating 1 video\\(s\\) of 10,000 frames needs"):
        pipeline.check_memory(1, 10_000)
    with pytest.raises(ConfigError, match="MiB of memory"):
        pipeline.generate(1, 10_000)
    pipeline.check_memory(1, 10_000, chunk_frames=64)  # the motion's codes and one chunk fit
    assert next(pipeline.generate_stream(1, 10_000, chunk_frames=64)).shape == (1, 64, 3, 16, 16)
    with pytest.raises(ConfigError, match="10,000,000 frames, 64 at a time, needs"):  # the codes alone do not
        pipeline.check_memory(1, 10_000_000, chunk_frames=64)


def test_frames_copied_from_a_gpu_are_checked_against_host_memory(pipeline, monkeypatch):
    from latentmotion import devices

    monkeypatch.setattr(LatentMotionPipeline, "device", property(lambda self: torch.device("cuda")))
    monkeypatch.setattr(devices, "available_memory", lambda device: 10**15 if device.type == "cuda" else 10**6)
    pipeline.check_memory(4, 1000)  # the GPU holds them
    with pytest.raises(ConfigError, match="copied to the host needs .* on cpu"):
        pipeline.check_memory(4, 1000, host=True)
    pipeline.check_memory(1, 1000, chunk_frames=64, host=True)  # one chunk is copied at a time


def test_bad_stream_arguments(pipeline):
    with pytest.raises(ConfigError, match="chunk_frames must be at least 1"):
        next(pipeline.generate_stream(1, 4, chunk_frames=0))
    with pytest.raises(ConfigError, match="interpolation factor must be >= 0"):
        next(pipeline.generate_stream(1, 4, interpolation=-1))
