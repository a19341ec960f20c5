"""Run folders written by earlier versions still resume, and continue exactly as they would have."""

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from latentmotion.config import TrainConfig
from latentmotion.testing import MovingSquares
from latentmotion.train import Trainer

DATA = Path(__file__).with_name("data")


@pytest.mark.parametrize("mode", ["in-domain", "cross-domain"])
def test_a_run_folder_of_version_0_1_resumes_where_it_stopped(mode, tmp_path):
    run = shutil.copytree(DATA / f"run-0.1.0-{mode}", tmp_path / "run")
    config = TrainConfig.from_file(run / "train_config.json").with_changes({"run.steps": 4})
    trainer = Trainer(config, run, dataset=MovingSquares(), resume=True, progress=False)
    assert trainer.step == 2
    trainer.train()
    expected = load_file(run / "motion-at-step-4.safetensors")
    # Equal up to float rounding: the file was written on another CPU, whose kernels sum in
    # another order (with AVX-512 the weights differ by at most 2e-8); a resume that lost the
    # random state, the optimiser's or the discriminators' would differ by far more.
    for key, value in trainer.motion.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=1e-5, atol=1e-6)
