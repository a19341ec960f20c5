"""Which way each training objective pushes: tests that fail when a loss is wired backwards.

Each test runs the trainer's own steps and watches what they do: discriminator steps make D
score real above fake, a generator step raises D's scores of the fakes, the penalty is taken
between real and fake, the contrastive queues get the right views. `tests/test_mutations.py`
plants the bugs these tests guard against and checks that each one is caught.
"""

import copy

import pytest
import torch
from einops import repeat

from latentmotion import losses
from latentmotion.rendering import render
from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.tiny import tiny_backend
from latentmotion.train import Trainer

MODES = ["in-domain", "cross-domain"]


def make_trainer(tmp_path, changes):
    return Trainer(smoke_config({"data.batch_size": 8, **changes}), tmp_path, dataset=MovingSquares(), progress=False)


def real_clips(n=8):
    torch.manual_seed(0)
    squares = MovingSquares()
    return torch.stack([squares[i % len(squares)] for i in range(n)])  # [n, 4, 3, 32, 32]


def video_scores(trainer, clips):
    """Mean D_V score of `clips` at each scale."""
    with torch.no_grad():
        return torch.stack([scores.mean() for scores in trainer.video_d(trainer.mode.video_view(clips))])


def pair_scores(trainer, clips):
    """Mean in-domain D_I score of every (frame 0 || frame t) pair of `clips` at each scale."""
    with torch.no_grad():
        return torch.stack([scores.mean() for scores in trainer.image_d(all_pairs(clips))])


def fixed_fakes(trainer, state):
    """The fake clips the trainer draws from random state `state` (the same codes and noise each call)."""
    trainer.rng.set_state(state)
    with torch.no_grad():
        return trainer.fake_clips(grad=False)[0]


def blind(network, *, keep_projections=False):
    """Detach `network`'s outputs, so that its loss terms send no gradient to the generator.

    With `keep_projections`, a contrastive D_I's projections stay attached and only its logits
    are detached.
    """

    def detach(module, inputs, output):
        if isinstance(output, tuple) and keep_projections:
            return output[0].detach(), output[1]
        if isinstance(output, (list, tuple)):
            return type(output)(scores.detach() for scores in output)
        return output.detach()

    return network.register_forward_hook(detach)


def two_colour_fakes(trainer, *, first, later):
    """Replace the trainer's fakes by clips whose frame 0 is `first` and later frames `later` (plus a little noise)."""

    generated = trainer.fake_clips

    def fake_clips(*, grad):
        clips, motion = generated(grad=grad)
        colours = torch.full_like(clips, later)
        colours[:, 0] = first
        return (colours + 0.05 * torch.randn(clips.shape, generator=trainer.rng)).clamp(-1, 1), motion

    trainer.fake_clips = fake_clips


# -- discriminator steps --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_discriminator_steps_make_the_video_discriminator_score_real_above_fake(mode, tmp_path):
    trainer = make_trainer(tmp_path, {"mode": mode, "optim.d_lr": 1e-3})
    real = real_clips()
    for _ in range(12):
        trainer.discriminator_step(real)
    fake = fixed_fakes(trainer, trainer.rng.get_state())
    margin = video_scores(trainer, real) - video_scores(trainer, fake)
    assert (margin > 0.2).all(), margin


def test_discriminator_steps_make_the_pair_discriminator_score_real_above_fake(tmp_path):
    trainer = make_trainer(tmp_path, {"mode": "in-domain", "optim.d_lr": 1e-3})
    real = real_clips()
    for _ in range(8):
        trainer.discriminator_step(real)
    fake = fixed_fakes(trainer, trainer.rng.get_state())
    margin = pair_scores(trainer, real) - pair_scores(trainer, fake)
    assert (margin > 0.3).all(), margin


def test_discriminator_steps_make_the_contrastive_discriminator_score_first_frames_above_later_ones(tmp_path):
    # Cross-domain, D_I's "real" images are generated first frames and its "fake" ones later frames.
    trainer = make_trainer(tmp_path, {"mode": "cross-domain", "optim.d_lr": 1e-3})
    two_colour_fakes(trainer, first=0.8, later=-0.8)
    real = real_clips()
    for _ in range(8):
        trainer.discriminator_step(real)
    clips = trainer.fake_clips(grad=False)[0]
    with torch.no_grad():
        first, later = trainer.image_d(clips[:, 0])[0], trainer.image_d(clips[:, 1:].flatten(0, 1))[0]
    assert first.mean() - later.mean() > 0.5, (first.mean(), later.mean())


def capture_input_gradients(network):
    """Record `(input, gradient of the step's loss at that input)` for every call of `network`."""
    captured = []

    def capture(module, inputs):
        images = inputs[0].detach().clone().requires_grad_(True)
        images.register_hook(lambda grad: captured.append((images.detach(), grad.clone())))
        return (images, *inputs[1:])

    return captured, network.register_forward_pre_hook(capture)


def test_discriminator_step_follows_the_contrastive_gradient(tmp_path):
    # The gradient a discriminator step sends into D_I's input views must be that of
    # hinge + w (InfoNCE(first-frame views, queue_real) + InfoNCE(later-frame views, queue_fake)),
    # computed here by hand with D_I and its queues as they were before the step.
    trainer = make_trainer(tmp_path, {"mode": "cross-domain", "contrastive.weight": 1.5, "contrastive.temperature": 0.2})
    two_colour_fakes(trainer, first=0.8, later=-0.8)
    reference = copy.deepcopy(trainer.image_d)
    captured, _ = capture_input_gradients(trainer.image_d)
    trainer.discriminator_step(real_clips())
    ((views, grad),) = captured
    views.requires_grad_(True)
    first_1, first_2, later_1, later_2 = views.chunk(4)  # two views of each first frame, two of each later frame
    assert min(first_1.mean(), first_2.mean()) > 0.3 and max(later_1.mean(), later_2.mean()) < -0.3
    logits, projections = reference(views)
    logits, projections = logits.chunk(4), projections.chunk(4)
    contrastive = losses.info_nce_loss(projections[0], projections[1], reference.queue_real, temperature=0.2)
    contrastive = contrastive + losses.info_nce_loss(projections[2], projections[3], reference.queue_fake, temperature=0.2)
    loss = losses.hinge_discriminator_loss(logits[0], logits[2]) + 1.5 * contrastive
    torch.testing.assert_close(grad, torch.autograd.grad(loss, views)[0])


# -- the gradient penalty -------------------------------------------------------------------------


def record_inputs(network):
    """Keep every input `network` is called with; returns the list and the hook handle."""
    calls = []
    handle = network.register_forward_pre_hook(lambda module, inputs: calls.append(inputs[0].detach().clone()))
    return calls, handle


def penalty_inputs(trainer, real, fake):
    """Run one discriminator step on fixed clips; return D_V's views of real and fake and the penalty's inputs."""
    trainer.fake_clips = lambda *, grad: (fake, None)
    calls, handle = record_inputs(trainer.video_d)
    record = trainer.discriminator_step(real)
    handle.remove()
    real_view, fake_view = trainer.mode.video_view(real), trainer.mode.video_view(fake)
    interpolates = [x for x in calls if x.shape == real_view.shape and not _is_reversal_of(x, real_view, fake_view)]
    return real_view, fake_view, interpolates, record


def _is_reversal_of(x, real_view, fake_view):
    """Whether every sample of `x` is a sample of real or fake, possibly reversed in time (D_V's adversarial input)."""
    candidates = [real_view, real_view.flip(2), fake_view, fake_view.flip(2)]
    return all(any(torch.equal(sample, c[i]) for c in candidates) for i, sample in enumerate(x))


@pytest.mark.parametrize("mode", MODES)
def test_penalty_is_taken_between_real_and_fake(mode, tmp_path):
    trainer = make_trainer(tmp_path, {"mode": mode})
    real = real_clips()
    fake = torch.rand(real.shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    real_view, fake_view, interpolates, _ = penalty_inputs(trainer, real, fake)
    assert len(interpolates) == 1
    (x_hat,) = interpolates
    # x_hat = alpha * real + (1 - alpha) * fake: recover alpha per sample, then check the fit.
    direction = (real_view - fake_view).flatten(1)
    alpha = ((x_hat - fake_view).flatten(1) * direction).sum(1) / direction.pow(2).sum(1)
    fitted = fake_view + alpha.view(-1, 1, 1, 1, 1) * (real_view - fake_view)
    torch.testing.assert_close(x_hat, fitted, atol=1e-5, rtol=0)
    assert ((alpha > 0) & (alpha < 1)).all(), alpha
    assert alpha.std() > 0.05  # one draw per sample


@pytest.mark.parametrize("mode", MODES)
def test_penalty_value_follows_its_weight(mode, tmp_path):
    # The logged penalty equals gp_weight times the per-voxel penalty computed here by hand, at
    # the interpolates the step used, with D_V as it was before the step.
    trainer = make_trainer(tmp_path, {"mode": mode, "video_discriminator.gp_weight": 7.0})
    before = copy.deepcopy(trainer.video_d)
    real = real_clips()
    fake = torch.rand(real.shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    _, _, (x_hat,), record = penalty_inputs(trainer, real, fake)
    x_hat = x_hat.requires_grad_(True)
    by_hand = 0.0
    scales = before(x_hat)
    for scores in scales:
        (grad,) = torch.autograd.grad(scores.sum(), x_hat)
        by_hand += ((grad.pow(2).sum(1).sqrt() - 1) ** 2).mean().item()
    assert record["d/gp"] == pytest.approx(7.0 * by_hand / len(scales), rel=1e-4)


@pytest.mark.parametrize("mode", MODES)
def test_penalty_trains_the_video_discriminator(mode, tmp_path):
    # The same step with a heavy and no penalty: the update of D_V must differ.
    def video_weights_after_step(weight):
        trainer = make_trainer(tmp_path / str(weight), {"mode": mode, "video_discriminator.gp_weight": weight})
        trainer.discriminator_step(real_clips())
        return torch.cat([p.detach().flatten() for p in trainer.video_d.parameters()])

    assert not torch.allclose(video_weights_after_step(0.0), video_weights_after_step(100.0))


# -- generator steps ------------------------------------------------------------------------------


def objective_change(trainer, objective):
    """How one generator step changes `objective(fakes)`, the fakes drawn from the step's own random state."""
    state = trainer.rng.get_state()
    before = objective(fixed_fakes(trainer, state))
    trainer.rng.set_state(state)
    trainer.generator_step(real_clips())
    return objective(fixed_fakes(trainer, state)) - before


@pytest.mark.parametrize("mode", MODES)
def test_generator_step_lowers_the_video_adversarial_loss(mode, tmp_path):
    # D_I blinded and no L_m: the step follows L_V alone, against a D_V that does not move.
    trainer = make_trainer(tmp_path, {"mode": mode, "optim.lr": 1e-3, "motion.mi_weight": 0.0})
    blind(trainer.image_d)
    with torch.no_grad():
        real_scores = trainer.video_d(trainer.mode.video_view(real_clips()))

    def video_loss(fake):
        with torch.no_grad():
            return losses.ralsgan_generator_loss(real_scores, trainer.video_d(trainer.mode.video_view(fake)))

    assert objective_change(trainer, video_loss) < -1e-6


def all_pairs(clips):
    """Every (frame 0 || frame t) pair of `clips`, `[B * (T-1), 6, d, d]`."""
    return torch.cat([torch.cat([clips[:, 0], clips[:, t]], dim=1) for t in range(1, clips.shape[1])])


def test_generator_step_lowers_the_pair_adversarial_loss(tmp_path):
    trainer = make_trainer(tmp_path, {"mode": "in-domain", "optim.lr": 1e-3, "motion.mi_weight": 0.0})
    blind(trainer.video_d)
    with torch.no_grad():
        real_scores = trainer.image_d(all_pairs(real_clips()))

    def pair_loss(fake):
        with torch.no_grad():
            return losses.ralsgan_generator_loss(real_scores, trainer.image_d(all_pairs(fake)))

    assert objective_change(trainer, pair_loss) < -1e-6


def test_generator_step_raises_the_contrastive_discriminators_logits_of_later_frames(tmp_path):
    trainer = make_trainer(tmp_path, {"mode": "cross-domain", "optim.lr": 1e-3, "motion.mi_weight": 0.0, "contrastive.match_weight": 0.0})
    blind(trainer.video_d)

    def later_logits(fake):
        with torch.no_grad():
            return trainer.image_d(fake[:, 1:].flatten(0, 1))[0].mean()

    assert objective_change(trainer, later_logits) > 1e-6


def test_generator_step_follows_the_feature_matching_gradient(tmp_path):
    # With D_V and the logits blinded, the gradient a generator step sends into D_I's input
    # frames must be w_match times that of L_f = -cos(F(x_t), F(x_0)), computed here by hand.
    trainer = make_trainer(tmp_path, {"mode": "cross-domain", "motion.mi_weight": 0.0, "contrastive.match_weight": 0.7})
    blind(trainer.video_d)
    blind(trainer.image_d, keep_projections=True)
    reference = copy.deepcopy(trainer.image_d)
    captured, _ = capture_input_gradients(trainer.image_d)
    trainer.generator_step(real_clips())
    ((frames, grad),) = captured
    frames.requires_grad_(True)
    projections = reference(frames)[1]
    half = len(frames) // 2  # one half frames t, the other first frames; L_f is symmetric in the two
    loss = -0.7 * torch.cosine_similarity(projections[:half], projections[half:]).mean()
    torch.testing.assert_close(grad, torch.autograd.grad(loss, frames)[0])


@pytest.mark.parametrize("mode", MODES)
def test_generator_step_makes_the_noise_recoverable(mode, tmp_path):
    # The same generator step with and without L_m: with it, the head H recovers the noise better.
    def mutual_information_after_step(weight):
        trainer = make_trainer(tmp_path / str(weight), {"mode": mode, "optim.lr": 3e-3, "motion.mi_weight": weight})
        trainer.generator_step(real_clips())
        generator = torch.Generator().manual_seed(5)
        with torch.no_grad():
            content = trainer.backend.sample_latents(64, generator=generator)
            out = trainer.motion(content, 4, generator=generator)
        return torch.cosine_similarity(out.noise_reconstruction, out.noise, dim=-1).mean()

    assert mutual_information_after_step(1.0) > mutual_information_after_step(0.0) + 0.01


# -- the contrastive queues -----------------------------------------------------------------------


def test_queues_hold_ema_projections_of_first_frames_and_of_later_frames(tmp_path):
    trainer = make_trainer(tmp_path, {"mode": "cross-domain"})
    two_colour_fakes(trainer, first=0.8, later=-0.8)
    d = trainer.image_d
    with torch.no_grad():  # an online network unlike its EMA copy, so that the two cannot be confused
        for parameter in d.online.parameters():
            parameter.add_(0.5 * torch.randn_like(parameter))
    projected = []  # (mean brightness of the input images, their EMA projections)
    ema_projections = d.ema_projections
    d.ema_projections = lambda images: projected.append((images.mean(), out := ema_projections(images))) or out
    pointer = int(d.queue_pointer)
    trainer.generator_step(real_clips())
    rows = slice(pointer, pointer + trainer.batch)
    (bright, bright_projections), (dark, dark_projections) = sorted(projected, key=lambda item: -item[0])
    assert bright > 0.3 and dark < -0.3
    torch.testing.assert_close(d.queue_real[rows], bright_projections)
    torch.testing.assert_close(d.queue_fake[rows], dark_projections)


# -- rendering ------------------------------------------------------------------------------------


def test_render_shares_noise_within_a_video_and_not_across_videos():
    backend = tiny_backend(resolution=16, dim=8, channels=8)
    noise = backend.sample_noise(3, generator=torch.Generator().manual_seed(0))
    code = backend.sample_latents(1, generator=torch.Generator().manual_seed(1))
    trajectory = repeat(code, "1 d -> b t d", b=3, t=5)  # every frame of every video: the same code
    with torch.no_grad():
        frames = render(backend, trajectory, noise)  # [3, 5, 3, 16, 16]
    for t in range(1, 5):
        torch.testing.assert_close(frames[:, t], frames[:, 0])  # noise shared by the frames of a video
    for b in range(1, 3):
        assert (frames[b] - frames[0]).abs().flatten(1).amax(1).min() > 1e-3  # and not across videos, at every frame
