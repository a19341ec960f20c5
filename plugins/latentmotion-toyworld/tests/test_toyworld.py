"""Tests of the toy video world, its tracker, its dataset files, the toy image GAN and the `toy` backend."""

import json
import math
from pathlib import Path

import attrs
import pytest
import torch
from latentmotion_toyworld import (
    SHAPE_KINDS,
    WorldConfig,
    displacements,
    object_colours,
    render_frames,
    render_videos,
    sample_scenes,
    track_centroids,
)
from latentmotion_toyworld.backend import toy_backend
from latentmotion_toyworld.checkpoint import (
    bundled_weights,
    load_generator,
    save_generator,
)
from latentmotion_toyworld.config import MARGIN
from latentmotion_toyworld.dataset import (
    GROUND_TRUTH_FILE,
    read_ground_truth,
    write_dataset,
)
from latentmotion_toyworld.image_gan import (
    POSE_DIM,
    POSE_GAIN,
    POSE_STD,
    ImageDiscriminator,
    ImageGANConfig,
    ImageGenerator,
    ModulatedLinear,
    SynthesisNetwork,
)
from latentmotion_toyworld.render import signed_distance
from latentmotion_toyworld.scene import bounce, hsv_to_rgb
from latentmotion_toyworld.train_image_gan import (
    TrainImageGANConfig,
    main,
    r1_penalty,
    train_image_gan,
)

import latentmotion
from latentmotion.config import TrainConfig
from latentmotion.errors import CheckpointError, ConfigError, DatasetError, ShapeError

TINY_GAN = ImageGANConfig(resolution=16, z_dim=8, w_dim=8, mapping_layers=2, hidden=8, layers=2, channel_base=64, max_channels=16)


# The world ---------------------------------------------------------------------------------------


def test_videos_have_the_configured_shape_and_range() -> None:
    videos, motion = render_videos(WorldConfig(resolution=32, n_frames=5), 3, seed=0)
    assert videos.shape == (3, 5, 3, 32, 32)
    assert videos.dtype == torch.float32
    assert videos.min() >= -1 and videos.max() <= 1
    assert motion.positions.shape == (3, 5, 2)
    assert motion.angles.shape == (3, 5)
    assert motion.velocity.shape == (3, 2)
    assert motion.angular_velocity.shape == (3,)


def test_rendering_is_deterministic_under_the_seed() -> None:
    config = WorldConfig(resolution=32, n_frames=4)
    a, motion_a = render_videos(config, 4, seed=7)
    b, motion_b = render_videos(config, 4, seed=7)
    c, _ = render_videos(config, 4, seed=8)
    assert torch.equal(a, b)
    assert torch.equal(motion_a.positions, motion_b.positions)
    assert not torch.equal(a, c)


def test_content_is_constant_and_the_object_sits_at_its_ground_truth_position() -> None:
    config = WorldConfig(n_frames=12)
    scene = sample_scenes(config, 16, seed=1)
    videos, _ = render_videos(config, 16, seed=1)
    centre = scene.motion.positions.floor().long()  # the pixel that holds the object centre
    for b in range(16):
        at_centre = videos[b, torch.arange(12), :, centre[b, :, 1], centre[b, :, 0]]  # [T, 3]
        assert torch.allclose(at_centre, scene.content.colour[b].expand(12, 3), atol=1e-5)
        corners = videos[b, :, :, [0, 0, -1, -1], [0, -1, 0, -1]]  # [T, 3, 4]
        assert torch.allclose(corners, scene.content.background[b, 0, :, None].expand(12, 3, 4), atol=1e-6)


@pytest.mark.parametrize("variant", ["shapes", "glow"])
def test_tracked_centroids_follow_the_ground_truth(variant: str) -> None:
    videos, motion = render_videos(WorldConfig(variant=variant, n_frames=8), 12, seed=2)
    error = torch.linalg.vector_norm(track_centroids(videos) - motion.positions, dim=-1)
    assert error.max() < 0.6
    moved = displacements(videos)
    assert moved.shape == (12, 7, 2)
    assert torch.allclose(moved, motion.displacements, atol=1.0)
    colours = object_colours(videos)  # [B, T, 3]; edge pixels blend into the background a little
    assert (colours - colours.mean(dim=1, keepdim=True)).abs().max() < 0.06


def test_objects_bounce_and_stay_inside_the_frame() -> None:
    config = WorldConfig(resolution=32, n_frames=40, speed_range=(0.08, 0.12))
    scene = sample_scenes(config, 16, seed=3)
    positions, size = scene.motion.positions, scene.content.size[:, None, None]
    assert (positions >= size + MARGIN - 1e-4).all()
    assert (positions <= 32 - size - MARGIN + 1e-4).all()
    steps = scene.motion.displacements
    speed = torch.linalg.vector_norm(scene.motion.velocity, dim=-1)[:, None]
    flips = (torch.sign(steps[:, 1:]) != torch.sign(steps[:, :-1])).any(-1)
    assert flips.sum() > 16  # the walls were hit
    straight = torch.linalg.vector_norm(steps, dim=-1)
    assert (straight <= speed + 1e-4).all()  # shorter only across a bounce
    assert torch.isclose(straight, speed.expand_as(straight), atol=1e-3).float().mean() > 0.5
    videos, _ = render_videos(config, 16, seed=3)
    ring = torch.cat([videos[..., 0, :], videos[..., -1, :], videos[..., :, 0], videos[..., :, -1]], -1)
    assert torch.allclose(ring, scene.content.background[:, None, 0, :, None].expand_as(ring), atol=1e-6)


@pytest.mark.parametrize("headings", [2, 4])
def test_objects_start_along_the_allowed_headings_in_every_one_of_them(headings: int) -> None:
    scene = sample_scenes(WorldConfig(n_frames=6, headings=headings), 256, seed=7)
    velocity = scene.motion.velocity  # [N, 2]
    heading = torch.round(torch.atan2(velocity[:, 1], velocity[:, 0]) / (2 * math.pi / headings)) % headings
    allowed = torch.polar(torch.ones(headings), heading.new_tensor(range(headings)) * 2 * math.pi / headings)
    directions = velocity / velocity.norm(dim=-1, keepdim=True)
    assert torch.allclose(directions, torch.view_as_real(allowed[heading.long()]), atol=1e-5)
    counts = torch.bincount(heading.long(), minlength=headings)
    assert (counts > 256 / headings / 2).all()  # every heading is used, about equally


def test_the_headings_change_only_the_direction_of_travel() -> None:
    free, snapped = sample_scenes(WorldConfig(n_frames=6), 32, seed=8), sample_scenes(WorldConfig(n_frames=6, headings=2), 32, seed=8)
    assert torch.allclose(free.motion.velocity.norm(dim=-1), snapped.motion.velocity.norm(dim=-1))
    assert torch.equal(free.content.colour, snapped.content.colour)
    assert torch.equal(free.motion.positions[:, 0], snapped.motion.positions[:, 0])


def test_bounce_mirrors_at_both_walls() -> None:
    unfolded = torch.tensor([5.0, 12.0, 25.0, -3.0, 20.0])
    assert torch.allclose(bounce(unfolded, torch.tensor(0.0), torch.tensor(10.0)), torch.tensor([5.0, 8.0, 5.0, 3.0, 0.0]))


def test_rotation_is_steady_and_circles_do_not_spin() -> None:
    scene = sample_scenes(WorldConfig(n_frames=6), 64, seed=4)
    motion, kind = scene.motion, scene.content.kind
    expected = motion.angles[:, :1] + torch.arange(6) * motion.angular_velocity[:, None]
    assert torch.allclose(motion.angles, expected, atol=1e-5)
    circles = kind == SHAPE_KINDS.index("circle")
    assert circles.any() and (~circles).any()
    assert (motion.angular_velocity[circles] == 0).all()
    assert (motion.angular_velocity[~circles].abs() >= 0.05 - 1e-6).all()


def test_variants_share_content_and_motion_under_one_seed() -> None:
    shapes = WorldConfig(resolution=32, n_frames=6)
    glow = attrs.evolve(shapes, variant="glow")
    a, b = sample_scenes(shapes, 8, seed=5), sample_scenes(glow, 8, seed=5)
    for record_a, record_b in ((a.content, b.content), (a.motion, b.motion)):
        for field in attrs.fields(type(record_a)):
            assert torch.equal(getattr(record_a, field.name), getattr(record_b, field.name))
    videos_a, _ = render_videos(shapes, 8, seed=5)
    videos_b, _ = render_videos(glow, 8, seed=5)
    assert (videos_a - videos_b).abs().mean() > 0.02
    assert torch.allclose(track_centroids(videos_a), track_centroids(videos_b), atol=0.8)


def test_render_frames_are_first_frames_of_fresh_videos() -> None:
    config = WorldConfig(resolution=32, n_frames=7)
    frames = render_frames(config, 5, seed=6)
    videos, _ = render_videos(attrs.evolve(config, n_frames=1), 5, seed=6)
    assert frames.shape == (5, 3, 32, 32)
    assert torch.equal(frames, videos[:, 0])


def test_signed_distance_of_a_circle_and_a_square() -> None:
    points = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.5, 0.5]])[None, None]  # [1, 1, 3, 2]
    size = torch.tensor([math.sqrt(2)])
    circle = signed_distance(points, kind=torch.tensor([SHAPE_KINDS.index("circle")]), size=size)
    square = signed_distance(points, kind=torch.tensor([SHAPE_KINDS.index("square")]), size=size)
    root2 = math.sqrt(2)
    assert torch.allclose(circle[0, 0], torch.tensor([-root2, 2 - root2, 1 / root2 - root2]), atol=1e-6)
    # the square |x| + |y| <= sqrt(2): apothem 1, a vertex at (sqrt(2), 0)
    assert torch.allclose(square[0, 0], torch.tensor([-1.0, 2 - root2, -(root2 - 1) / root2]), atol=1e-6)


def test_hsv_to_rgb_primaries() -> None:
    hsv = torch.tensor([[0.0, 1, 1], [1 / 3, 1, 1], [2 / 3, 1, 0.5], [0.5, 0, 0.25]])
    expected = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 0.5], [0.25, 0.25, 0.25]])
    assert torch.allclose(hsv_to_rgb(hsv), expected, atol=1e-6)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"resolution": 8}, "resolution must be at least 16"),
        ({"n_frames": 0}, "n_frames must be at least 1"),
        ({"variant": "neon"}, "variant must be one of"),
        ({"shapes": ()}, "shapes is empty"),
        ({"shapes": ("circle", "hexagon")}, "unknown kinds"),
        ({"size_range": (0.2, 0.1)}, "low <= high"),
        ({"speed_range": (-0.1, 0.1)}, "must not be negative"),
        ({"size_range": (0.1, 0.49)}, "do not fit"),
        ({"resolution": 16, "size_range": (0.01, 0.1)}, "under 1 pixel"),
        ({"headings": 0}, "headings must be a whole number"),
        ({"headings": 2.5}, "headings must be a whole number"),
    ],
)
def test_impossible_worlds_raise_config_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        WorldConfig(**options)


def test_tracker_gives_nan_without_foreground_and_checks_shapes() -> None:
    flat = torch.full((1, 3, 3, 16, 16), 0.2)
    assert torch.isnan(track_centroids(flat)).all()
    with pytest.raises(ShapeError, match=r"\[B, T, 3, H, W\]"):
        track_centroids(torch.zeros(3, 3, 16, 16))


# Dataset files ------------------------------------------------------------------------------------


def test_dataset_round_trips_through_mp4_and_the_video_dataset(tmp_path: Path) -> None:
    from latentmotion.data import VideoFolderDataset
    from latentmotion.video import read_video

    config = WorldConfig(resolution=32, n_frames=6, variant="glow")
    root = write_dataset(tmp_path / "world", config, 3, seed=9)
    assert sorted(path.name for path in root.iterdir()) == ["000000.mp4", "000001.mp4", "000002.mp4", GROUND_TRUTH_FILE]

    dataset = VideoFolderDataset(root, n_frames=6, time_step=1, resolution=32)
    assert len(dataset) == 3
    assert dataset[0].shape == (6, 3, 32, 32)

    read_config, paths, scene = read_ground_truth(root)
    expected = sample_scenes(config, 3, seed=9)
    assert read_config == config
    assert torch.equal(scene.content.kind, expected.content.kind)
    assert torch.allclose(scene.motion.positions, expected.motion.positions, atol=1e-4)
    assert torch.allclose(scene.content.colour, expected.content.colour, atol=1e-4)
    decoded = torch.stack([read_video(path).float() / 127.5 - 1 for path in paths])
    error = torch.linalg.vector_norm(track_centroids(decoded) - scene.motion.positions, dim=-1)
    assert error.max() < 1.0


def test_dataset_refuses_a_non_empty_folder_and_reports_missing_ground_truth(tmp_path: Path) -> None:
    (tmp_path / "old.mp4").write_bytes(b"")
    with pytest.raises(ConfigError, match="not an empty folder"):
        write_dataset(tmp_path, WorldConfig(resolution=16, n_frames=2), 1, seed=0)
    with pytest.raises(DatasetError, match="does not exist"):
        read_ground_truth(tmp_path)
    (tmp_path / GROUND_TRUTH_FILE).write_text("{not json")
    with pytest.raises(DatasetError, match="not a valid ground-truth file"):
        read_ground_truth(tmp_path)


# The image GAN -----------------------------------------------------------------------------------


def test_generator_and_discriminator_shapes() -> None:
    torch.manual_seed(0)
    generator, discriminator = ImageGenerator(TINY_GAN), ImageDiscriminator(TINY_GAN)
    w = generator.mapping(torch.randn(5, 8))
    assert w.shape == (5, 8)
    images = generator(w)
    assert images.shape == (5, 3, 16, 16)
    assert images.min() >= -1 and images.max() <= 1
    assert discriminator(images).shape == (5,)
    assert ImageGenerator(ImageGANConfig()).synthesis(torch.zeros(1, 64)).shape == (1, 3, 64, 64)


def test_mapping_network_draws_the_pose_from_z_and_the_content_through_its_layers() -> None:
    torch.manual_seed(0)
    mapping = ImageGenerator(TINY_GAN).mapping
    z = torch.randn(4, 8)
    content = z[:, POSE_DIM:] / z[:, POSE_DIM:].square().mean(dim=1, keepdim=True).add(1e-8).sqrt()  # pixel norm
    for layer in mapping.layers:
        content = torch.nn.functional.leaky_relu(layer(content), 0.2) * math.sqrt(2)
    w = mapping(z)
    assert torch.equal(w[:, :POSE_DIM], POSE_STD * z[:, :POSE_DIM])
    assert torch.allclose(w[:, POSE_DIM:], content)
    shifted = z.clone()
    shifted[:, :POSE_DIM] += 1.0
    assert torch.equal(mapping(shifted)[:, POSE_DIM:], w[:, POSE_DIM:])  # the pose does not reach the content


def test_the_pose_leads_the_principal_directions_of_the_bundled_generators_w() -> None:
    backend = toy_backend(variant="shapes")
    w = backend.sample_latents(20_000, generator=torch.Generator().manual_seed(0))
    _, directions = torch.linalg.eigh(torch.cov(w.T))  # eigenvalues ascending
    leading = directions[:, -POSE_DIM:]  # [D, 3] the three leading directions
    # What the leading three directions span is the pose (a direction wholly in pose would give 1 each).
    assert leading[:POSE_DIM].square().sum() / POSE_DIM > 0.99


def test_modulated_linear_scales_inputs_by_the_style_and_demodulates() -> None:
    layer = ModulatedLinear(2, 2, w_dim=3)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        layer.style.weight.zero_()
        layer.style.bias.copy_(torch.tensor([1.0, 2.0]))  # styles s = (1, 2) for every w
    # Modulated rows (1, 4) and (3, 8), demodulated by their norms sqrt(17) and sqrt(73).
    out = layer(torch.ones(1, 1, 2), torch.randn(1, 3))
    assert torch.allclose(out, torch.tensor([[[5 / math.sqrt(17), 11 / math.sqrt(73)]]]))
    layer.demodulate = False  # then plain 1 / sqrt(fan_in) scaling
    assert torch.allclose(layer(torch.ones(1, 1, 2), torch.randn(1, 3)), torch.tensor([[[5.0, 11.0]]]) / math.sqrt(2))


def _plain_background_synthesis() -> SynthesisNetwork:
    """A random 8 px synthesis network whose background is one colour (no gradient across the image)."""
    torch.manual_seed(0)
    synthesis = ImageGenerator(ImageGANConfig(resolution=8, w_dim=7, hidden=6, layers=2)).synthesis
    with torch.no_grad():
        synthesis.background.weight.zero_()
        synthesis.background.bias.copy_(torch.tensor([0.0, 0.0, 0.3, 0.0, 0.0, -0.2, 0.0, 0.0, 0.7]))  # (x, y, 1) coefficients per channel
    return synthesis


def test_the_pose_coordinates_of_w_translate_the_object_by_whole_pixels() -> None:
    synthesis = _plain_background_synthesis()
    w = torch.randn(1, 7)
    w[:, :POSE_DIM] = 0
    moved = w.clone()
    moved[:, 0] = 2 * 2 / 8 / POSE_GAIN[0]  # centre x + 2 pixels (pixel centres are 2 / R apart)
    image, shifted = synthesis(w), synthesis(moved)
    assert torch.allclose(shifted[..., 2:], image[..., :-2], atol=1e-5)
    assert not torch.allclose(shifted, image, atol=1e-3)


def test_the_pose_angle_of_w_rotates_the_object_about_its_centre() -> None:
    synthesis = _plain_background_synthesis()
    w = torch.randn(1, 7)
    w[:, :POSE_DIM] = 0
    turned = w.clone()
    turned[:, 2] = math.pi / 2 / POSE_GAIN[2]
    # The pixel grid is symmetric about the centre, so a quarter turn is exactly a 90 degree rotation of the image.
    assert torch.allclose(synthesis(turned), torch.rot90(synthesis(w), k=-1, dims=(-2, -1)), atol=1e-5)


def test_the_object_is_composited_over_a_linear_background_gradient() -> None:
    synthesis = ImageGenerator(ImageGANConfig(resolution=8, w_dim=7, hidden=6, layers=2)).synthesis
    with torch.no_grad():
        synthesis.to_rgba.bias.copy_(torch.tensor([0.0, 0.0, 0.0, -1e4]))  # opacity 0: background only
        synthesis.background.weight.zero_()
        synthesis.background.bias.copy_(torch.tensor([0.5, 0.0, 0.0, 0.0, -0.5, 0.0, 0.0, 0.0, 0.25]))  # red = x / 2, green = -y / 2, blue = 1 / 4
    image = synthesis(torch.randn(1, 7))[0]
    centres = (torch.arange(8) + 0.5) / 8 * 2 - 1
    assert torch.allclose(image[0], centres[None, :].expand(8, 8) / 2, atol=1e-6)
    assert torch.allclose(image[1], -centres[:, None].expand(8, 8) / 2, atol=1e-6)
    assert torch.allclose(image[2], torch.full((8, 8), 0.25))


def test_gan_config_rejects_bad_resolution() -> None:
    with pytest.raises(ConfigError, match="power of two"):
        ImageGANConfig(resolution=48)


def test_r1_penalty_of_a_linear_discriminator_is_its_squared_weight_norm() -> None:
    weight = torch.tensor([[[[1.0, -2.0]]]])  # D(x) = sum(weight * x): gradient = weight everywhere

    def discriminator(images: torch.Tensor) -> torch.Tensor:
        return (images * weight).sum(dim=(1, 2, 3))

    assert r1_penalty(discriminator, torch.randn(4, 1, 1, 2)).item() == pytest.approx(5.0)


def test_training_smoke_run_saves_a_loadable_deterministic_generator(tmp_path: Path) -> None:
    config = TrainImageGANConfig(architecture=TINY_GAN, steps=2, batch_size=4, r1_every=2, snapshot_every=1)
    trained = train_image_gan(config, out=tmp_path / "a.safetensors", preview=tmp_path / "a.png")
    train_image_gan(config, out=tmp_path / "b.safetensors")
    assert (tmp_path / "a.png").is_file()
    loaded_a, description = load_generator(tmp_path / "a.safetensors", rebuild="retrain")
    loaded_b, _ = load_generator(tmp_path / "b.safetensors", rebuild="retrain")
    assert description["training"]["steps"] == 2
    assert description["architecture"]["resolution"] == 16
    for a, b in zip(loaded_a.parameters(), loaded_b.parameters(), strict=True):
        assert torch.equal(a, b)
    w = trained.mapping(torch.randn(3, 8))
    assert torch.allclose(loaded_a(w), trained(w), atol=0.02)  # float16 storage


def test_training_command_line_rejects_bad_settings(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--steps", "0", "--out", str(tmp_path / "x.safetensors")])
    assert exit_info.value.code == 2
    assert "steps must be at least 1" in capsys.readouterr().err


# The toy backend ----------------------------------------------------------------------------------


@pytest.fixture
def saved_generator(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_generator(tmp_path / "toy.safetensors", ImageGenerator(TINY_GAN), metadata={"steps": 0})


def test_backend_loads_a_saved_generator_through_the_plugin(registered: None, saved_generator: Path) -> None:
    backend = latentmotion.get_backend("toy", path=str(saved_generator))
    assert backend.name == "toy"
    assert backend.latent_space.name == "w" and backend.latent_space.dim == 8
    assert backend.options == {"path": str(saved_generator.resolve())}
    w = backend.sample_latents(4, generator=torch.Generator().manual_seed(0))
    again = backend.sample_latents(4, generator=torch.Generator().manual_seed(0))
    assert w.shape == (4, 8) and torch.equal(w, again)
    w.requires_grad_(True)
    images = backend.synthesize(w)
    assert images.shape == (4, 3, 16, 16)
    images.square().sum().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0


def test_backend_errors_name_the_file_and_the_rebuild_command(saved_generator: Path) -> None:
    with pytest.raises(CheckpointError, match=r"missing\.safetensors' is missing; rebuild it with: python -m latentmotion_toyworld\.train_image_gan"):
        toy_backend(path=saved_generator.with_name("missing.safetensors"))

    with pytest.raises(ConfigError, match="variant must be one of"):
        toy_backend(variant="neon")

    description = saved_generator.with_suffix(".json")
    record = json.loads(description.read_text())
    record["architecture"]["hidden"] = 16
    description.write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match="do not match the architecture.*--out"):
        toy_backend(path=saved_generator)

    description.write_text("{")
    with pytest.raises(CheckpointError, match="description .* is corrupt"):
        toy_backend(path=saved_generator)

    description.unlink()
    with pytest.raises(CheckpointError, match=r"toy\.json' is missing"):
        toy_backend(path=saved_generator)


def test_backend_reports_corrupt_weights(saved_generator: Path) -> None:
    saved_generator.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match=r"weights .*toy\.safetensors' are corrupt.*rebuild them with"):
        toy_backend(path=saved_generator)


@pytest.mark.parametrize("variant", ["shapes", "glow"])
def test_bundled_generators_load_and_render(variant: str) -> None:
    assert bundled_weights(variant).stat().st_size < 4_000_000
    backend = toy_backend(variant=variant).freeze()
    images = backend.synthesize(backend.sample_latents(2, generator=torch.Generator().manual_seed(0)))
    assert images.shape == (2, 3, 64, 64)
    assert images.min() >= -1 and images.max() <= 1


@pytest.mark.parametrize(("name", "image_variant", "video_variant"), [("toy", "shapes", "shapes"), ("toy-cross", "shapes", "glow")])
def test_the_reproduction_recipe_builds_the_bundled_pipelines_networks(name: str, image_variant: str, video_variant: str) -> None:
    from latentmotion_toyworld.bundled import bundled_pipeline
    from latentmotion_toyworld.reproduce import train_config

    config = train_config(image_variant=image_variant, video_variant=video_variant, data="videos", steps=10, seed=0)
    bundled = json.loads((bundled_pipeline(name) / "config.json").read_text())
    assert config.mode == ("in-domain" if name == "toy" else "cross-domain")
    assert (config.backend, config.backend_options) == (bundled["backend"]["name"], bundled["backend"]["options"])
    motion = bundled["motion"]
    assert (config.motion.n_components, config.motion.hidden_dim, config.motion.step_scale) == (motion["n_components"], motion["hidden_dim"], motion["step_scale"])
    assert (config.motion.noise_dim or motion["latent_dim"]) == motion["noise_dim"]  # None: the latent's width
    # The bundled weights were trained with this recipe, for its number of iterations, seed 0.
    from huggingface_hub import ModelCard
    from latentmotion_toyworld.reproduce import training_data

    training = ModelCard.load(bundled_pipeline(name) / "README.md").data.training_config
    recipe = train_config(image_variant=image_variant, video_variant=video_variant, data=training["data"]["path"], seed=0)
    assert TrainConfig.from_dict(training) == recipe  # options added since are at their defaults
    assert training["data"]["path"] == training_data(video_variant=video_variant, videos=512)  # videos of the bundled motion law
    assert config.data.n_frames == bundled["n_frames"]
