"""Train the toy image GAN on frames of the toy world, on a CPU, and save its generator.

```
python -m latentmotion_toyworld.train_image_gan --variant shapes
```

writes `latentmotion_toyworld/weights/toy-shapes.safetensors` (+ `.json`), the weights of the
`toy` backend. Training follows StyleGAN2's recipe in miniature: non-saturating
logistic loss, lazy R1 penalty on real images, Adam with betas (0, 0.99), and an exponential
moving average of the generator, which is what gets saved. Real images are rendered afresh at
every step, so the GAN never sees the same frame twice. The weights are saved every
`snapshot_every` steps, so an interrupted run leaves a usable generator.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import torch
from rich.console import Console
from torch.nn import functional as F

from latentmotion.errors import ConfigError, LatentMotionError
from latentmotion_toyworld.checkpoint import bundled_weights, save_generator
from latentmotion_toyworld.config import VARIANTS, WorldConfig
from latentmotion_toyworld.image_gan import (
    ImageDiscriminator,
    ImageGANConfig,
    ImageGenerator,
)
from latentmotion_toyworld.world import render_frames


def _at_least(low: float) -> Any:
    def check(instance: Any, attribute: attrs.Attribute, value: float) -> None:
        if value < low:
            raise ConfigError(f"TrainImageGANConfig.{attribute.name} must be at least {low}, got {value}")

    return check


@attrs.frozen
class TrainImageGANConfig:
    """Settings of one training run of the toy image GAN.

    Attributes:
        variant: World variant whose frames the GAN learns (see `VARIANTS`).
        architecture: Generator and discriminator sizes; its resolution is the world's.
        steps: Training steps (one discriminator and one generator update each).
        batch_size: Real and generated images per update.
        learning_rate: Adam learning rate of both networks.
        r1_gamma: Weight of the R1 penalty `gamma / 2 * E ||grad D(real)||^2`.
        r1_every: Steps between R1 penalties (lazy regularisation; the penalty is scaled up to match).
        ema_half_life: Images after which an old generator weight counts half in the moving average.
        snapshot_every: Steps between saves of the weights (and of the preview).
        seed: Seed of the initial weights, latents and rendered frames.
    """

    variant: str = "shapes"
    architecture: ImageGANConfig = attrs.field(factory=ImageGANConfig)
    steps: int = attrs.field(default=6000, validator=_at_least(1))
    batch_size: int = attrs.field(default=32, validator=_at_least(2))
    learning_rate: float = attrs.field(default=0.002, validator=attrs.validators.gt(0))
    r1_gamma: float = attrs.field(default=0.05, validator=_at_least(0))
    r1_every: int = attrs.field(default=16, validator=_at_least(1))
    ema_half_life: float = attrs.field(default=5000.0, validator=_at_least(1))
    snapshot_every: int = attrs.field(default=500, validator=_at_least(1))
    seed: int = 0

    def __attrs_post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"variant must be one of {', '.join(VARIANTS)}; got {self.variant!r}")

    @property
    def world(self) -> WorldConfig:
        """The world whose frames are the real images."""
        return WorldConfig(resolution=self.architecture.resolution, variant=self.variant)


def r1_penalty(discriminator: torch.nn.Module, real: torch.Tensor) -> torch.Tensor:
    """R1 regulariser: the mean over images of the squared gradient norm of D at real images.

    Args:
        discriminator: Maps `[N, 3, H, W]` images to `[N]` logits.
        real: `[N, 3, H, W]` real images.

    Returns:
        Scalar `mean_i ||d D(x_i) / d x_i||^2`.
    """
    real = real.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(discriminator(real).sum(), real, create_graph=True)
    return gradient.square().sum(dim=(1, 2, 3)).mean()


def train_image_gan(
    config: TrainImageGANConfig,
    *,
    out: str | os.PathLike[str],
    preview: str | os.PathLike[str] | None = None,
    console: Console | None = None,
) -> ImageGenerator:
    """Train the toy image GAN and save the moving average of its generator.

    Args:
        config: The run's settings.
        out: Weight file to write (`.safetensors`; a `.json` description goes beside it).
        preview: PNG file for an 8x8 grid of generated images at every snapshot, or None.
        console: Where progress lines go; default stderr.

    Returns:
        The averaged generator, in eval mode.
    """
    console = console or Console(stderr=True)
    rng = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    generator = ImageGenerator(config.architecture)
    discriminator = ImageDiscriminator(config.architecture)
    averaged = copy.deepcopy(generator).eval().requires_grad_(False)
    betas = (0.0, 0.99)
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=config.learning_rate, betas=betas)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=config.learning_rate, betas=betas)
    ema_beta = 0.5 ** (config.batch_size / config.ema_half_life)
    preview_z = torch.randn(64, config.architecture.z_dim, generator=rng)
    world, z_dim, batch = config.world, config.architecture.z_dim, config.batch_size
    started, cpu_started = time.perf_counter(), time.process_time()

    def snapshot(step: int, losses: dict[str, float]) -> None:
        minutes = (time.perf_counter() - started) / 60
        save_generator(out, averaged, metadata={
            "steps": step, "config": attrs.asdict(config), "world": world.to_dict(), "last_losses": losses,
            "wall_minutes": round(minutes, 2), "cpu_minutes": round((time.process_time() - cpu_started) / 60, 2),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "machine": platform.machine(),
            "rebuild": f"python -m latentmotion_toyworld.train_image_gan --variant {config.variant} --steps {config.steps} --seed {config.seed}",
        })  # fmt: skip
        if preview is not None:
            from latentmotion.video import write_grid

            with torch.no_grad():
                images = averaged(averaged.mapping(preview_z))
            write_grid(preview, images.reshape(8, 8, *images.shape[1:]))
        console.log(f"step {step}/{config.steps}  " + "  ".join(f"{k} {v:.3f}" for k, v in losses.items()) + f"  {minutes:.1f} min")

    losses: dict[str, float] = {}
    for step in range(1, config.steps + 1):
        real = render_frames(world, batch, seed=int(torch.randint(2**62, (), generator=rng)))
        z = torch.randn(2, batch, z_dim, generator=rng)

        with torch.no_grad():
            fake = generator.synthesis(generator.mapping(z[0]))
        d_loss = F.softplus(discriminator(fake)).mean() + F.softplus(-discriminator(real)).mean()
        if step % config.r1_every == 0:
            penalty = r1_penalty(discriminator, real)
            d_loss = d_loss + config.r1_gamma / 2 * penalty * config.r1_every
            losses["r1"] = penalty.item()
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()

        g_loss = F.softplus(-discriminator(generator.synthesis(generator.mapping(z[1])))).mean()
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optimizer.step()

        with torch.no_grad():
            for average, current in zip(averaged.parameters(), generator.parameters(), strict=True):
                average.lerp_(current, 1 - ema_beta)
        losses.update(d=d_loss.item(), g=g_loss.item())
        if step % config.snapshot_every == 0 or step == config.steps:
            snapshot(step, dict(losses))
    return averaged


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: train the toy image GAN of one world variant.

    Args:
        argv: Arguments without the program name; default `sys.argv[1:]`.
    """
    defaults = TrainImageGANConfig()
    parser = argparse.ArgumentParser(prog="python -m latentmotion_toyworld.train_image_gan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=VARIANTS, default=defaults.variant, help="world variant to learn")
    parser.add_argument("--steps", type=int, default=defaults.steps, help="training steps")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="images per update")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of weights, latents and frames")
    parser.add_argument("--out", type=Path, default=None, help="weight file to write (default: the bundled toy-<variant>.safetensors)")
    parser.add_argument("--preview", type=Path, default=None, help="PNG grid of samples written at every snapshot")
    args = parser.parse_args(argv)
    try:
        config = TrainImageGANConfig(variant=args.variant, steps=args.steps, batch_size=args.batch_size, seed=args.seed)
        train_image_gan(config, out=args.out or bundled_weights(args.variant), preview=args.preview)
    except LatentMotionError as error:
        parser.exit(2, f"error: {error}\n")


if __name__ == "__main__":
    main()
