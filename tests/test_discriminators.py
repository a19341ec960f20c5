"""The multi-scale PatchGANs and the contrastive image discriminator, on tiny inputs."""

import copy

import pytest
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.utils import parametrize

from latentmotion.discriminators import (
    ContrastiveImageDiscriminator,
    PairImageDiscriminator,
    VideoDiscriminator,
)
from latentmotion.errors import ConfigError, ShapeError


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# A kernel-4, padding-2 conv maps a side n to n // stride + 1. Strides 2, 2, 2, 1, 1:
# 32 -> 17 -> 9 -> 5 -> 6 -> 7 at scale 0; the pooled 16 -> 9 -> 5 -> 3 -> 4 -> 5 at scale 1;
# 8 frames -> 5 -> 3 -> 2 -> 3 -> 4 at both scales (the pool keeps the frame count).


def test_video_discriminator_output_shapes_per_scale() -> None:
    torch.manual_seed(0)
    d = VideoDiscriminator(in_channels=6, channels=8)
    outputs = d(torch.randn(2, 6, 8, 32, 32, generator=_seeded(1)))
    assert [tuple(o.shape) for o in outputs] == [(2, 1, 4, 7, 7), (2, 1, 4, 5, 5)]
    convs = [m for m in d.scales[0] if isinstance(m, nn.Conv3d)]
    assert [c.out_channels for c in convs] == [8, 16, 32, 64, 1]
    assert [c.stride for c in convs] == [(2, 2, 2), (2, 2, 2), (2, 2, 2), (1, 1, 1), (1, 1, 1)]
    assert 0.015 < convs[3].weight.std().item() < 0.025, "weights ~ N(0, 0.02)"


def test_pair_image_discriminator_output_shapes_per_scale() -> None:
    torch.manual_seed(0)
    d = PairImageDiscriminator(channels=8, scales=3)
    outputs = d(torch.randn(2, 6, 32, 32, generator=_seeded(1)))
    # scale 2 sees 8 x 8: 8 -> 5 -> 3 -> 2 -> 3 -> 4
    assert [tuple(o.shape) for o in outputs] == [(2, 1, 7, 7), (2, 1, 5, 5), (2, 1, 4, 4)]


def test_second_scale_sees_the_input_pooled_in_space_only() -> None:
    torch.manual_seed(0)
    d = VideoDiscriminator(in_channels=3, channels=4)
    video = torch.randn(1, 3, 6, 16, 16, generator=_seeded(2))
    pooled = nn.functional.avg_pool3d(video, 3, stride=(1, 2, 2), padding=1, count_include_pad=False)
    torch.testing.assert_close(d(video)[1], d.scales[1](pooled))


def test_second_scale_of_clips_longer_than_16_frames_is_pooled_in_time_too() -> None:
    # The authors' D_V pools with stride 2 in time as well when n_frames > 16.
    torch.manual_seed(0)
    d = VideoDiscriminator(in_channels=3, channels=4, n_frames=32)
    video = torch.randn(1, 3, 32, 16, 16, generator=_seeded(2))
    pooled = nn.functional.avg_pool3d(video, 3, stride=2, padding=1, count_include_pad=False)
    assert pooled.shape[2] == 16
    torch.testing.assert_close(d(video)[1], d.scales[1](pooled))
    assert VideoDiscriminator(in_channels=3, channels=4, n_frames=16).downsample.stride == (1, 2, 2)


def test_patch_discriminators_use_instance_statistics_in_every_mode() -> None:
    torch.manual_seed(0)
    d = VideoDiscriminator(in_channels=3, channels=4)
    video = torch.randn(3, 3, 4, 16, 16, generator=_seeded(3))
    train_outputs = d(video)
    # Samples do not influence each other (no batch statistics) ...
    torch.testing.assert_close(d(video[1:2])[0], train_outputs[0][1:2])
    # ... and eval mode gives the same scores: there are no running statistics.
    d.eval()
    for train_output, eval_output in zip(train_outputs, d(video), strict=True):
        torch.testing.assert_close(eval_output, train_output)
    assert all(key.endswith(("weight", "bias")) for key in d.state_dict())


def test_patch_discriminators_reject_wrong_inputs() -> None:
    with pytest.raises(ShapeError, match=r"C=6"):
        VideoDiscriminator(in_channels=6, channels=4)(torch.randn(1, 3, 4, 16, 16))
    with pytest.raises(ShapeError, match=r"\[B, C, H, W\]"):
        PairImageDiscriminator(channels=4)(torch.randn(1, 6, 2, 16, 16))
    with pytest.raises(ConfigError, match="scales must be >= 1"):
        VideoDiscriminator(in_channels=3, scales=0)


def test_packed_video_discriminator_scores_consecutive_clips_stacked_on_channels() -> None:
    torch.manual_seed(0)
    packed = VideoDiscriminator(in_channels=3, channels=4, pack=2)
    torch.manual_seed(0)
    stacked = VideoDiscriminator(in_channels=6, channels=4)
    clips = torch.randn(4, 3, 4, 16, 16, generator=_seeded(4))
    # Clips (0, 1) and (2, 3) are scored together, as one input of 6 channels each.
    pairs = torch.cat([torch.cat([clips[0], clips[1]])[None], torch.cat([clips[2], clips[3]])[None]])
    for packed_scores, stacked_scores in zip(packed(clips), stacked(pairs), strict=True):
        assert packed_scores.shape[0] == 2
        torch.testing.assert_close(packed_scores, stacked_scores)
    with pytest.raises(ShapeError, match=r"multiple of pack=2"):
        packed(clips[:3])
    with pytest.raises(ShapeError, match=r"C=3"):
        packed(torch.randn(2, 6, 4, 16, 16))
    with pytest.raises(ConfigError, match="pack"):
        VideoDiscriminator(in_channels=3, pack=0)


def _small_contrastive(**kwargs: object) -> ContrastiveImageDiscriminator:
    torch.manual_seed(0)
    options = {"resolution": 32, "channels": 4, "proj_dim": 8, "queue_size": 10, "momentum": 0.9} | kwargs
    return ContrastiveImageDiscriminator(**options)


def test_contrastive_discriminator_outputs_and_spectral_norm() -> None:
    d = _small_contrastive()
    logits, projections = d(torch.randn(4, 3, 32, 32, generator=_seeded(1)))
    assert logits.shape == (4,) and projections.shape == (4, 8)
    layers = [m for m in d.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert d.queue_real.shape == d.queue_fake.shape == (10, 8)
    with pytest.raises(ShapeError, match=r"\[B, 3, 32, 32\]"):
        d(torch.randn(4, 3, 64, 64))
    with pytest.raises(ConfigError, match="resolutions"):
        ContrastiveImageDiscriminator(resolution=48)


@pytest.mark.parametrize(
    ("resolution", "widths", "side"),
    [(32, [4, 4, 4, 4], 8), (64, [1, 2, 4, 8, 16], 4), (128, [1, 2, 4, 8, 16, 16], 4), (256, [1, 2, 4, 8, 8, 16, 16], 4)],
)
def test_contrastive_channel_plans(resolution: int, widths: list[int], side: int) -> None:
    torch.manual_seed(0)
    d = ContrastiveImageDiscriminator(resolution=resolution, channels=2, proj_dim=4, queue_size=4)
    blocks = d.online.blocks
    assert [block.conv2.out_channels for block in blocks] == [2 * w for w in widths]
    assert [block.preactivation for block in blocks] == [False] + [True] * (len(widths) - 1)
    features = blocks(torch.randn(1, 3, resolution, resolution, generator=_seeded(1)))
    assert features.shape == (1, 2 * widths[-1], side, side)


def test_ema_starts_equal_and_follows_the_update_rule() -> None:
    d = _small_contrastive()
    for p, p_ema in zip(d.online.parameters(), d.ema.parameters(), strict=True):
        assert torch.equal(p, p_ema) and not p_ema.requires_grad
    with torch.no_grad():
        for p in d.online.parameters():
            p.add_(1.0)
    before = [p.clone() for p in d.ema.parameters()]
    d.update_ema()
    for p, p_ema, old in zip(d.online.parameters(), d.ema.parameters(), before, strict=True):
        torch.testing.assert_close(p_ema, 0.9 * old + 0.1 * p)


def test_ema_projections_use_the_ema_copy_without_gradients() -> None:
    d = _small_contrastive()
    images = torch.randn(2, 3, 32, 32, generator=_seeded(1))
    d.eval()  # no power iteration, so repeated calls see the same weights
    ema_before = d.ema_projections(images)
    assert ema_before.shape == (2, 8) and not ema_before.requires_grad
    torch.testing.assert_close(ema_before, d(images)[1])
    with torch.no_grad():
        for p in d.online.parameters():
            p.mul_(1.5)
    torch.testing.assert_close(d.ema_projections(images), ema_before)
    assert not torch.allclose(d(images)[1], ema_before)
    d.train()
    logits, projections = d(images)
    (logits.sum() + projections.sum()).backward()
    assert all(p.grad is None for p in d.ema.parameters())
    assert all(p.grad is not None for p in d.online.parameters())


def test_enqueue_writes_in_turn_and_wraps() -> None:
    d = _small_contrastive()
    initial = d.queue_real.clone()
    batches = [torch.full((4, 8), float(k)) for k in (1, 2, 3)]
    d.enqueue(batches[0], -batches[0])
    assert int(d.queue_pointer) == 4
    torch.testing.assert_close(d.queue_real[4:], initial[4:])
    d.enqueue(batches[1], -batches[1])
    d.enqueue(batches[2], -batches[2])
    assert int(d.queue_pointer) == 2  # 12 rows written into a queue of 10
    expected = torch.tensor([3.0, 3.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0])[:, None].expand(10, 8)
    torch.testing.assert_close(d.queue_real, expected)
    torch.testing.assert_close(d.queue_fake, -expected)
    with pytest.raises(ShapeError, match="at least as long"):
        d.enqueue(torch.zeros(11, 8), torch.zeros(11, 8))
    with pytest.raises(ShapeError, match=r"\[B, 8\]"):
        d.enqueue(torch.zeros(2, 8), torch.zeros(3, 8))


def test_enqueue_gathers_across_processes_when_distributed(tmp_path: object) -> None:
    d = _small_contrastive()
    dist.init_process_group("gloo", init_method=f"file://{tmp_path}/store", rank=0, world_size=1)
    try:
        d.enqueue(torch.ones(3, 8), torch.zeros(3, 8))
    finally:
        dist.destroy_process_group()
    assert int(d.queue_pointer) == 3
    torch.testing.assert_close(d.queue_real[:3], torch.ones(3, 8))


def test_state_dict_round_trip_and_deepcopy_keep_ema_and_queues() -> None:
    d = _small_contrastive()
    with torch.no_grad():
        for p in d.online.parameters():
            p.add_(0.1)
    d.update_ema()
    d.enqueue(torch.ones(4, 8), torch.zeros(4, 8))
    state = {key: value.clone() for key, value in d.state_dict().items()}
    assert {"queue_real", "queue_fake", "queue_pointer"} <= set(state)
    assert any(key.startswith("ema.") for key in state)

    torch.manual_seed(1)
    restored = ContrastiveImageDiscriminator(resolution=32, channels=4, proj_dim=8, queue_size=10, momentum=0.9)
    restored.load_state_dict(state)
    clone = copy.deepcopy(d)
    images = torch.randn(2, 3, 32, 32, generator=_seeded(2))
    d.eval()  # no power iteration: the spectral-norm vectors stay as saved
    for other in (restored.eval(), clone.eval()):
        for key, value in other.state_dict().items():
            assert torch.equal(value, state[key]), key
        torch.testing.assert_close(other(images), d(images))
        torch.testing.assert_close(other.ema_projections(images), d.ema_projections(images))
    assert int(restored.queue_pointer) == 4
