"""Training modes: each builds its D_I and views clips for D_V its own way."""

import pytest
import torch

from latentmotion.config import TrainConfig
from latentmotion.discriminators import (
    ContrastiveImageDiscriminator,
    PairImageDiscriminator,
)
from latentmotion.errors import ConfigError
from latentmotion.modes import MODES, CrossDomain, InDomain
from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.train import Trainer


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


@pytest.mark.parametrize("mode", [InDomain, CrossDomain])
def test_the_differences_view_replaces_either_modes_view(mode):
    clips = torch.tensor([0.0, 1.0, 3.0, 6.0])[None, :, None, None, None].expand(2, 4, 3, 4, 4).clone()  # frame t filled with 0, 1, 3, 6
    clips[1] = 5.0  # a still video
    config = TrainConfig().with_changes({"video_discriminator.view": "differences"})
    view = mode(config, resolution=4).video_view(clips)
    assert view.shape == (2, 3, 3, 4, 4) and mode(config, resolution=4).view_channels == 3
    assert view[0, :, 0].eq(1).all() and view[0, :, 1].eq(2).all() and view[0, :, 2].eq(3).all()  # x_{t+1} - x_t
    assert view[1].eq(0).all()  # what stands still cancels
    assert mode(TrainConfig(), resolution=4).view_channels == mode.clip_channels


@pytest.mark.parametrize(("name", "network", "betas"), [("in-domain", PairImageDiscriminator, (0.5, 0.999)), ("cross-domain", ContrastiveImageDiscriminator, (0.0, 0.999))])
def test_each_mode_builds_its_image_discriminator_and_optimiser(name, network, betas):
    config = TrainConfig(mode=name).with_changes({"image_discriminator.channels": 4, "contrastive.channels": 2, "optim.d_lr": 3e-4})
    mode = MODES[name](config, resolution=32)
    image_d = mode.image_discriminator()
    assert isinstance(image_d, network)
    optimizer = mode.image_optimizer([p for p in image_d.parameters() if p.requires_grad])
    assert (optimizer.defaults["lr"], optimizer.defaults["betas"]) == (3e-4, betas)


@pytest.mark.parametrize("mode", ["in-domain", "cross-domain"])
def test_the_trainers_video_discriminator_scores_the_differences(mode, tmp_path):
    config = smoke_config({"mode": mode, "video_discriminator.view": "differences", "run.steps": 1})
    trainer = Trainer(config, tmp_path / "run", dataset=MovingSquares(n_videos=2), progress=False)
    seen = []
    trainer.video_d.register_forward_pre_hook(lambda module, inputs: seen.append(tuple(inputs[0].shape)))
    trainer.train()
    frames, side = config.data.n_frames, config.data.resolution
    assert seen and all(shape[1:] == (3, frames - 1, side, side) for shape in seen)
    with pytest.raises(ConfigError, match="view must be one of 'mode', 'differences'"):
        smoke_config({"video_discriminator.view": "flow"})
