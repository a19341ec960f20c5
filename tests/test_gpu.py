"""Checks that need a CUDA GPU, skipped without one: generation and training on the device, DDP over NCCL.

`benchmarks/gpu_check.sh` runs them (`pytest -m gpu`) with the benchmarks on a GPU machine.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import latentmotion
from latentmotion.basis import PCABasis
from latentmotion.motion import MotionConfig, MotionGenerator
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.train import Trainer

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

HERE = Path(__file__).parent


def test_a_pipeline_generates_on_the_gpu_as_on_the_cpu():
    backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
    basis = PCABasis.fit(backend, n_samples=1000, batch_size=500)
    torch.manual_seed(0)
    motion = MotionGenerator(MotionConfig(latent_dim=8, n_components=6, hidden_dim=16), basis=basis.scaled(6))
    pipeline = LatentMotionPipeline(backend=backend, basis=basis, motion=motion, n_frames=4)
    on_cpu = pipeline.generate(2, seed=3)
    pipeline.to("cuda")
    on_gpu = pipeline.generate(2, seed=3)
    assert on_gpu.device.type == "cuda"
    assert torch.allclose(on_gpu.cpu(), on_cpu, atol=1e-4)


def test_training_runs_on_the_gpu_and_its_checkpoint_resumes_there(tmp_path):
    config = smoke_config({"run.device": "cuda", "run.steps": 2})
    trainer = Trainer(config, tmp_path / "run", dataset=MovingSquares(n_videos=4), progress=False)
    trainer.train()
    assert all(parameter.device.type == "cuda" for network in trainer.networks.values() for parameter in network.parameters())
    resumed = Trainer(config.with_changes({"run.steps": 3}), tmp_path / "run", dataset=MovingSquares(n_videos=4), resume=True, progress=False)
    assert resumed.step == 2
    resumed.train()


@pytest.mark.parametrize("mode", ["in-domain", "cross-domain"])
def test_ddp_over_nccl_on_the_available_gpus(mode, tmp_path):
    processes = min(torch.cuda.device_count(), 2)
    env = {k: v for k, v in os.environ.items() if k not in {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}}
    env["LATENTMOTION_LOAD_PLUGINS"] = ""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes), str(HERE / "distributed_train.py"), str(tmp_path), mode, "cuda"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(processes)]
    assert all(record["world_size"] == processes for record in records)
    assert all(record["motion"] == records[0]["motion"] for record in records)  # DDP keeps the replicas identical


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_a_mixed_precision_step_on_the_gpu_computes_the_losses_of_fp32(precision, tmp_path):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")

    def first_iteration(changes, folder):
        trainer = Trainer(smoke_config({"run.device": "cuda", **changes}), tmp_path / folder, dataset=MovingSquares(), progress=False)
        real = next(trainer._clips())
        return trainer, trainer.generator_step(real) | trainer.discriminator_step(real)

    _, fp32 = first_iteration({}, "fp32")
    half, mixed = first_iteration({"run.precision": precision}, precision)
    for name, value in fp32.items():
        assert mixed[name] == pytest.approx(value, rel=2e-2, abs=1e-2), name
    assert half.scalers["motion"].is_enabled() == (precision == "fp16")
    assert all(parameter.dtype == torch.float32 for parameter in half.motion.parameters())


def test_a_compiled_step_on_the_gpu_gives_the_losses_of_an_eager_one(tmp_path):
    def first_iteration(changes, folder):
        trainer = Trainer(smoke_config({"run.device": "cuda", **changes}), tmp_path / folder, dataset=MovingSquares(), progress=False)
        real = next(trainer._clips())
        return trainer.generator_step(real) | trainer.discriminator_step(real)

    eager, compiled = first_iteration({}, "eager"), first_iteration({"run.compile": True}, "compiled")
    for name, value in eager.items():
        assert compiled[name] == pytest.approx(value, rel=1e-3, abs=1e-4), name
