"""The motion generator: paper Eq. 1-2, initialisation, noise handling."""

import attrs
import pytest
import torch

from latentmotion.errors import ConfigError, ShapeError
from latentmotion.motion import MotionConfig, MotionGenerator


def make_motion(latent_dim=6, n_components=3, hidden_dim=8, step_scale=0.2, seed=0):
    torch.manual_seed(seed)
    basis = torch.randn(n_components, latent_dim)
    return MotionGenerator(MotionConfig(latent_dim=latent_dim, n_components=n_components, hidden_dim=hidden_dim, step_scale=step_scale), basis=basis)


@pytest.mark.parametrize("n_frames", [1, 2, 7])
def test_shapes_for_any_length(n_frames):
    motion = make_motion()
    out = motion(torch.randn(4, 6), n_frames)
    assert out.trajectory.shape == (4, n_frames, 6)
    assert out.noise.shape == (4, n_frames - 1, 6)
    assert out.noise_reconstruction.shape == (4, n_frames - 1, 6)
    assert out.pre_activations.shape == (4, n_frames - 1, 3)


def test_first_code_is_the_content_code():
    motion = make_motion()
    w0 = torch.randn(2, 6)
    assert torch.equal(motion(w0, 5).trajectory[:, 0], w0)


def test_residual_steps_follow_eq_1_and_2_by_hand():
    # With A = 0 the coefficients are a_t = tanh(b) at every step, so
    # w_t = w0 + t * lambda * tanh(b) @ basis, computable by hand.
    motion = make_motion(latent_dim=2, n_components=2, step_scale=0.5)
    motion.basis.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    with torch.no_grad():
        motion.coefficients.weight.zero_()
        motion.coefficients.bias.copy_(torch.tensor([0.5, -1.0]))
    w0 = torch.tensor([[1.0, 1.0]])
    out = motion(w0, 4)
    step = [0.5 * 0.46211715726000974 * 1.0, 0.5 * -0.7615941559557649 * 2.0]  # lambda * tanh(b_k) * basis_kk
    for t in range(4):
        expected = torch.tensor([1.0 + t * step[0], 1.0 + t * step[1]])
        assert torch.allclose(out.trajectory[0, t], expected, atol=1e-6)
    assert torch.allclose(out.pre_activations[0], torch.tensor([0.5, -1.0]).expand(3, 2))


def test_pre_activations_give_the_steps_in_the_basis():
    motion = make_motion(step_scale=0.3)
    out = motion(torch.randn(5, 6), 6)
    steps = out.trajectory[:, 1:] - out.trajectory[:, :-1]
    assert torch.allclose(steps, 0.3 * torch.tanh(out.pre_activations) @ motion.basis, atol=1e-5)


def test_each_step_is_bounded_by_lambda_times_the_scaled_basis():
    motion = make_motion(step_scale=0.2)
    trajectory = motion(torch.randn(8, 6), 10).trajectory
    steps = (trajectory[:, 1:] - trajectory[:, :-1]).abs()
    bound = 0.2 * motion.basis.abs().sum(0)  # |sum_k a_k V_k| <= sum_k |V_k| since |a_k| <= 1
    assert (steps <= bound + 1e-6).all()
    assert steps.sum() > 0


def test_same_noise_gives_same_motion_and_is_reconstructed_shape():
    motion = make_motion()
    w0 = torch.randn(3, 6)
    eps = motion.sample_noise(3, 6, generator=torch.Generator().manual_seed(1))
    a = motion(w0, 6, eps)
    b = motion(w0, 6, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a.trajectory, b.trajectory)
    assert torch.equal(a.noise, eps)
    other = motion(torch.randn(3, 6), 6, eps)
    assert torch.equal(other.noise, eps)
    assert not torch.equal(other.trajectory, a.trajectory)


def test_initialisation_follows_the_authors():
    motion = make_motion(latent_dim=16, hidden_dim=8)
    for cell in (motion.encoder, motion.decoder):
        for gate in cell.weight_ih.chunk(4):  # [8, 16]: orthonormal rows
            assert torch.allclose(gate @ gate.T, torch.eye(8), atol=1e-5)
        assert torch.count_nonzero(cell.bias_ih) == 0 and torch.count_nonzero(cell.bias_hh) == 0
    assert torch.count_nonzero(motion.coefficients.bias) == 0
    assert motion.coefficients.weight.std() < 0.05


def test_initial_step_scale_and_forget_bias_are_configurable():
    torch.manual_seed(0)
    config = MotionConfig(latent_dim=16, n_components=64, hidden_dim=128, init_std=0.2, forget_bias=1.0)
    motion = MotionGenerator(config, basis=torch.randn(64, 16))
    assert motion.coefficients.weight.std().item() == pytest.approx(0.2, rel=0.05)  # 8192 draws
    for cell in (motion.encoder, motion.decoder):
        input_gate, forget_gate, cell_gate, output_gate = cell.bias_ih.chunk(4)  # PyTorch's gate order
        assert torch.all(forget_gate == 1.0)
        assert torch.count_nonzero(torch.cat([input_gate, cell_gate, output_gate, cell.bias_hh])) == 0
    with pytest.raises(ValueError, match="init_std"):
        MotionConfig(latent_dim=16, n_components=4, init_std=-0.1)


def test_basis_is_not_part_of_the_weights():
    motion = make_motion()
    assert "basis" not in motion.state_dict()


def test_every_weight_gets_a_gradient():
    motion = make_motion()
    out = motion(torch.randn(2, 6), 4)
    (out.trajectory.sum() + out.noise_reconstruction.sum()).backward()
    for name, parameter in motion.named_parameters():
        if name == "encoder.weight_hh":  # multiplies the encoder's zero initial state
            assert torch.count_nonzero(parameter.grad) == 0
            continue
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_bad_input():
    motion = make_motion()
    with pytest.raises(ConfigError, match="at least 1"):
        motion(torch.randn(2, 6), 0)
    with pytest.raises(ShapeError, match=r"\[B, 6\]"):
        motion(torch.randn(2, 5), 3)
    with pytest.raises(ShapeError, match="motion noise"):
        motion(torch.randn(2, 6), 3, torch.randn(2, 3, 6))
    with pytest.raises(ShapeError, match="basis"):
        MotionGenerator(MotionConfig(latent_dim=6, n_components=3), basis=torch.randn(4, 6))


def test_without_residual_steps_every_code_moves_from_the_content_code():
    # The paper's ablation of Eq. 2: w_t = w_0 + lambda * tanh(u_t) @ V instead of w_{t-1} + ...
    basis = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    config = MotionConfig(latent_dim=8, n_components=3, hidden_dim=16, step_scale=0.3, init_std=0.5, residual=False)
    torch.manual_seed(0)
    motion = MotionGenerator(config, basis=basis)
    w0 = torch.randn(2, 8, generator=torch.Generator().manual_seed(1))
    out = motion(w0, 5, generator=torch.Generator().manual_seed(2))
    expected = w0[:, None] + 0.3 * torch.tanh(out.pre_activations) @ basis
    torch.testing.assert_close(out.trajectory[:, 1:], expected)
    torch.manual_seed(0)
    residual = MotionGenerator(attrs.evolve(config, residual=True), basis=basis)(w0, 5, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(residual.trajectory[:, 1:], w0[:, None] + (0.3 * torch.tanh(out.pre_activations) @ basis).cumsum(1))
