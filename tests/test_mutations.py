"""Mutation check: plant each bug the direction tests guard against and watch them catch it.

Each mutation replaces one snippet of the library's source in a copy of the package, then runs
the tests that must catch it against that copy. A mutation whose snippet is no longer in the
source fails here too: whoever rewrites that code updates the mutation, so that a change which
blinds the direction tests cannot pass unnoticed.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

import latentmotion

PACKAGE = Path(latentmotion.__file__).parent
DIRECTIONS = Path(__file__).with_name("test_train_directions.py")


@attrs.frozen
class Mutation:
    """A planted bug: in `file` (relative to the package), `original` becomes `mutant`; `tests` must fail."""

    name: str
    file: str
    original: str
    mutant: str
    tests: tuple[str, ...]
    suite: str = "test_train_directions.py"  # the test file, next to this one, that holds `tests`


MUTATIONS = [
    Mutation(
        "video discriminator loss: real and fake swapped",
        "train.py",
        '"d/video": losses.ralsgan_discriminator_loss(real_v, fake_v)',
        '"d/video": losses.ralsgan_discriminator_loss(fake_v, real_v)',
        ("test_discriminator_steps_make_the_video_discriminator_score_real_above_fake",),
    ),
    Mutation(
        "in-domain image discriminator loss: real and fake swapped",
        "modes.py",
        '{"d/image": losses.ralsgan_discriminator_loss(real_scores, fake_scores)}',
        '{"d/image": losses.ralsgan_discriminator_loss(fake_scores, real_scores)}',
        ("test_discriminator_steps_make_the_pair_discriminator_score_real_above_fake",),
    ),
    Mutation(
        "generator minimises the video discriminator's loss",
        "train.py",
        'record["g/video"] = losses.ralsgan_generator_loss(',
        'record["g/video"] = losses.ralsgan_discriminator_loss(',
        ("test_generator_step_lowers_the_video_adversarial_loss",),
    ),
    Mutation(
        "generator minimises the in-domain image discriminator's loss",
        "modes.py",
        '{"g/image": losses.ralsgan_generator_loss(',
        '{"g/image": losses.ralsgan_discriminator_loss(',
        ("test_generator_step_lowers_the_pair_adversarial_loss",),
    ),
    Mutation(
        "the sign of L_m flipped",
        "train.py",
        "options.mi_weight * losses.mutual_information_loss(",
        "-options.mi_weight * losses.mutual_information_loss(",
        ("test_generator_step_makes_the_noise_recoverable",),
    ),
    Mutation(
        "gradient penalty weight 0",
        "train.py",
        "weight=self.config.video_discriminator.gp_weight",
        "weight=0.0",
        ("test_penalty_value_follows_its_weight", "test_penalty_trains_the_video_discriminator"),
    ),
    Mutation(
        "gradient penalty on a mix of real with real",
        "train.py",
        "views = self.mode.video_view(real), self.mode.video_view(fake)",
        "views = self.mode.video_view(real), self.mode.video_view(real)",
        ("test_penalty_is_taken_between_real_and_fake",),
    ),
    Mutation(
        "noise repeated in (t b) order when rendering",
        "rendering.py",
        'repeat(tensor, "b ... -> (b t) ...", t=frames)',
        'repeat(tensor, "b ... -> (t b) ...", t=frames)',
        ("test_render_shares_noise_within_a_video_and_not_across_videos",),
    ),
    Mutation(
        "contrastive hinge loss: first frames and later frames swapped",
        "modes.py",
        '"d/image": losses.hinge_discriminator_loss(first_1, later_1)',
        '"d/image": losses.hinge_discriminator_loss(later_1, first_1)',
        ("test_discriminator_steps_make_the_contrastive_discriminator_score_first_frames_above_later_ones",),
    ),
    Mutation(
        "the sign of L_contr flipped",
        "modes.py",
        '"d/contrastive": self.config.contrastive.weight * contrastive',
        '"d/contrastive": -self.config.contrastive.weight * contrastive',
        ("test_discriminator_step_follows_the_contrastive_gradient",),
    ),
    Mutation(
        "InfoNCE of first frames against the later frames' queue",
        "modes.py",
        "losses.info_nce_loss(first_a, first_b, network.queue_real,",
        "losses.info_nce_loss(first_a, first_b, network.queue_fake,",
        ("test_discriminator_step_follows_the_contrastive_gradient",),
    ),
    Mutation(
        "queues fed with each other's views",
        "modes.py",
        "network.enqueue(network.ema_projections(first), network.ema_projections(frame_t))",
        "network.enqueue(network.ema_projections(frame_t), network.ema_projections(first))",
        ("test_queues_hold_ema_projections_of_first_frames_and_of_later_frames",),
    ),
    Mutation(
        "queues fed with the online network's projections",
        "modes.py",
        "network.enqueue(network.ema_projections(first), network.ema_projections(frame_t))",
        "network.enqueue(network(first)[1].detach(), network(frame_t)[1].detach())",
        ("test_queues_hold_ema_projections_of_first_frames_and_of_later_frames",),
    ),
    Mutation(
        "cross-domain generator lowers the contrastive discriminator's logits",
        "modes.py",
        '"g/image": losses.hinge_generator_loss(logits[:n])',
        '"g/image": -losses.hinge_generator_loss(logits[:n])',
        ("test_generator_step_raises_the_contrastive_discriminators_logits_of_later_frames",),
    ),
    Mutation(
        "the sign of L_f flipped",
        "modes.py",
        "self.config.contrastive.match_weight * losses.feature_matching_loss(",
        "-self.config.contrastive.match_weight * losses.feature_matching_loss(",
        ("test_generator_step_follows_the_feature_matching_gradient",),
    ),
    Mutation(
        "MoCoGAN-HD import: the authors' w [h, K] reshaped instead of transposed",
        "mocogan_hd.py",
        "(tensor.T if key in TRANSPOSED else tensor)",
        "(tensor.reshape(tensor.shape[::-1]) if key in TRANSPOSED else tensor)",
        ("test_the_imported_motion_generator_computes_the_authors_equations", "test_frames_equal_the_authors_inference_without_noise"),
        suite="test_mocogan_hd.py",
    ),
    Mutation(
        "MoCoGAN-HD import: the basis without the standard deviations",
        "mocogan_hd.py",
        "stdev=torch.from_numpy(stdev[:n_components]).float(),",
        "stdev=torch.ones(n_components),",
        ("test_the_imported_motion_generator_computes_the_authors_equations", "test_the_basis_is_the_stdev_scaled_components"),
        suite="test_mocogan_hd.py",
    ),
    Mutation(
        "zero generator noise rendered as the stored constant maps",
        "pipeline.py",
        "return [torch.zeros_like(tensor) for tensor in backend.sample_noise(",
        "return []  # ",
        ("test_frames_equal_the_authors_inference_without_noise",),
        suite="test_mocogan_hd.py",
    ),
    Mutation(
        "fp16 steps applied whatever their gradients",
        "train.py",
        "        scaler.step(optimizer)\n",
        "        scaler.unscale_(optimizer)\n        optimizer.step()\n",
        ("test_fp16_skips_a_step_whose_gradients_overflow",),
        suite="test_precision.py",
    ),
]


def mutated_copy(mutation: Mutation, root: Path) -> Path:
    """Copy the package under `root` with the mutation applied; returns the folder to put on the path."""
    shutil.copytree(PACKAGE, root / "latentmotion", ignore=shutil.ignore_patterns("__pycache__"))
    target = root / "latentmotion" / mutation.file
    source = target.read_text()
    assert source.count(mutation.original) == 1, (
        f"mutation {mutation.name!r}: {mutation.original!r} is not in latentmotion/{mutation.file} exactly once; "
        "the code it plants a bug in has changed, so update the mutation to the new code"
    )
    target.write_text(source.replace(mutation.original, mutation.mutant))
    return root


def run_tests(path: Path, tests: tuple[str, ...], suite: str = DIRECTIONS.name) -> subprocess.CompletedProcess:
    """Run the named tests of `suite` (a test file next to this one) with `path` first on the import path."""
    env = {**os.environ, "PYTHONPATH": str(path), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", str(DIRECTIONS.with_name(suite)), "-q", "-p", "no:cacheprovider", "-k", " or ".join(tests)]
    command += ["-c", str(PACKAGE.parent / "pyproject.toml"), "--rootdir", str(PACKAGE.parent)]
    check = "import latentmotion, sys; sys.stdout.write(latentmotion.__file__)"
    imported = subprocess.run([sys.executable, "-c", check], cwd=path, env=env, capture_output=True, text=True, check=True).stdout
    assert Path(imported).is_relative_to(path), f"the mutated copy is not the one imported: {imported}"
    return subprocess.run(command, cwd=path, env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_direction_tests_catch_the_planted_bug(mutation, tmp_path):
    result = run_tests(mutated_copy(mutation, tmp_path), mutation.tests, mutation.suite)
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert result.returncode == 1 and all(any(test in line for line in failed) for test in mutation.tests), (
        f"the planted bug {mutation.name!r} went unnoticed by some of {mutation.tests}:\n{result.stdout[-3000:]}"
    )
