"""Training modes: each builds its D_I and views clips for D_V its own way."""

import pytest
import torch

from latentmotion.config import TrainConfig
from latentmotion.discriminators import (
    ContrastiveImageDiscriminator,
    PairImageDiscriminator,
)
from latentmotion.modes import MODES, CrossDomain, InDomain


def test_in_domain_view_stacks_the_first_frame_on_every_later_one():
    clips = torch.arange(3.0)[None, :, None, None, None].expand(2, 3, 3, 4, 4)  # frame t filled with t
    view = InDomain(TrainConfig(), resolution=4).video_view(clips)
    assert view.shape == (2, InDomain.clip_channels, 2, 4, 4)
    assert view[:, :3].eq(0).all()  # frame 0 beside every later frame
    assert view[:, 3:, 0].eq(1).all() and view[:, 3:, 1].eq(2).all()


def test_cross_domain_view_is_the_raw_clip():
    clips = torch.arange(3.0)[None, :, None, None, None].expand(2, 3, 3, 4, 4)
    view = CrossDomain(TrainConfig(), resolution=4).video_view(clips)
    assert view.shape == (2, CrossDomain.clip_channels, 3, 4, 4) and view[:, :, 2].eq(2).all()


@pytest.mark.parametrize(("name", "network", "betas"), [("in-domain", PairImageDiscriminator, (0.5, 0.999)), ("cross-domain", ContrastiveImageDiscriminator, (0.0, 0.999))])
def test_each_mode_builds_its_image_discriminator_and_optimiser(name, network, betas):
    config = TrainConfig(mode=name).with_changes({"image_discriminator.channels": 4, "contrastive.channels": 2, "optim.d_lr": 3e-4})
    mode = MODES[name](config, resolution=32)
    image_d = mode.image_discriminator()
    assert isinstance(image_d, network)
    optimizer = mode.image_optimizer([p for p in image_d.parameters() if p.requires_grad])
    assert (optimizer.defaults["lr"], optimizer.defaults["betas"]) == (3e-4, betas)
