"""Animating a projected photo renders every frame with the noise maps the projector fitted."""

import torch
from latentmotion_stylegan2.backend import StyleGAN2Backend

from latentmotion.basis import PCABasis
from latentmotion.motion import MotionConfig, MotionGenerator
from latentmotion.pipeline import LatentMotionPipeline


def test_the_first_frame_of_an_animated_projection_is_the_projection(tiny_generator):
    backend = StyleGAN2Backend(tiny_generator).freeze()
    rng = torch.Generator().manual_seed(4)
    photo = backend.synthesize(backend.sample_latents(1, generator=rng), noise=backend.sample_noise(1, generator=rng))  # noise of its own
    projection = backend.invert(photo, steps=60, generator=torch.Generator().manual_seed(0))
    basis = PCABasis.fit(backend, n_samples=500, batch_size=250)
    motion = MotionGenerator(MotionConfig(latent_dim=16, n_components=4, hidden_dim=8), basis=basis.scaled(4))
    pipeline = LatentMotionPipeline(backend=backend, basis=basis, motion=motion, n_frames=3)

    video = pipeline.generate(content=projection.codes, seed=1, noise=projection.noise)[0]
    fitted = backend.synthesize(projection.codes, noise=projection.noise)[0].clamp(-1, 1)
    assert torch.allclose(video[0], fitted, atol=1e-5)
    assert not torch.allclose(video[0], backend.synthesize(projection.codes)[0].clamp(-1, 1), atol=1e-3)  # not the constant noise
