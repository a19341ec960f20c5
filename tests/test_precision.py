"""Training in mixed precision (`run.precision`) and compiled (`run.compile`): same losses, safe updates, exact resume."""

import json
import math

import pytest
import torch

import latentmotion.train
from latentmotion.config import TrainConfig
from latentmotion.devices import precision_dtype
from latentmotion.errors import CheckpointError, ConfigError
from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.train import Trainer

# Importing inductor (run.compile) imports torch.utils.mkldnn, which uses a deprecated torch.jit API.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")


def trainer(tmp_path, changes=None, **kwargs):
    return Trainer(smoke_config(changes), tmp_path, dataset=MovingSquares(), progress=False, **kwargs)


def first_iteration(trainer):
    """The losses of one generator step and one discriminator step on the run's first batch."""
    real = next(trainer._clips())
    return trainer.generator_step(real) | trainer.discriminator_step(real)


@pytest.fixture
def fp16_on_cpu(monkeypatch):
    """Let the trainer take its fp16 path on the CPU (refused there for speed, not correctness), to test the scalers."""
    monkeypatch.setattr(latentmotion.train, "precision_dtype", lambda precision, device: torch.float16)


def parameters(trainer, name):
    return [p for group in trainer.optimizers[name].param_groups for p in group["params"]]


@pytest.mark.parametrize("mode", ["in-domain", "cross-domain"])
def test_a_bf16_step_computes_the_losses_of_fp32(tmp_path, mode):
    # Same seed, same batch: the losses under bf16 autocast keep bf16's 8 bits (about 0.4 % per
    # rounding); the motion generator's own losses and the fp32 gradient penalty are far closer.
    fp32 = first_iteration(trainer(tmp_path / "fp32", {"mode": mode}))
    half = trainer(tmp_path / "bf16", {"mode": mode, "run.precision": "bf16"})
    bf16 = first_iteration(half)
    assert fp32.keys() == bf16.keys()
    for name, value in fp32.items():
        assert bf16[name] == pytest.approx(value, rel=2e-2, abs=1e-2), name
    assert bf16["g/mi"] == pytest.approx(fp32["g/mi"], rel=1e-5)
    if "d/gp" in fp32:
        assert bf16["d/gp"] == pytest.approx(fp32["d/gp"], rel=1e-3)
    fake, motion = half.fake_clips(grad=False)
    assert fake.dtype == motion.trajectory.dtype == torch.float32  # codes accumulate in fp32
    states = [v for optimizer in half.optimizers.values() for s in optimizer.state.values() for v in s.values() if v.is_floating_point()]
    assert all(p.dtype == torch.float32 for p in half.motion.parameters()) and all(v.dtype == torch.float32 for v in states)
    assert not any(scaler.is_enabled() for scaler in half.scalers.values())  # bf16 has fp32's range: no scaling


def test_fp16_skips_a_step_whose_gradients_overflow(tmp_path, fp16_on_cpu):
    run = trainer(tmp_path)
    real = next(run._clips())
    weights = parameters(run, "motion")
    scaler = run.scalers["motion"]
    assert scaler.is_enabled()
    scale = scaler.get_scale()
    before = [w.detach().clone() for w in weights]
    hook = weights[0].register_hook(lambda grad: torch.full_like(grad, math.inf))  # an overflowing backward
    run.generator_step(real)
    hook.remove()
    assert all(torch.equal(w, b) for w, b in zip(weights, before, strict=True))  # skipped, no inf or NaN written
    assert scaler.get_scale() == scale / 2
    assert not run.optimizers["motion"].state  # Adam never stepped
    run.generator_step(real)
    assert all(torch.isfinite(w).all() for w in weights)
    assert any(not torch.equal(w, b) for w, b in zip(weights, before, strict=True))
    assert scaler.get_scale() == scale / 2  # growth waits for growth_interval good steps
    run.discriminator_step(real)
    assert all(torch.isfinite(p).all() for name in ("video_d", "image_d") for p in parameters(run, name))


def test_fp16_resumes_with_its_scales(tmp_path, fp16_on_cpu):
    run = trainer(tmp_path, {"run.precision": "fp16", "run.steps": 1})
    hook = parameters(run, "video_d")[0].register_hook(lambda grad: torch.full_like(grad, math.inf))
    run.train()
    hook.remove()
    scales = {name: scaler.get_scale() for name, scaler in run.scalers.items()}
    assert scales["video_d"] <= 2.0**15  # at least the forced overflow halved D_V's scale of 2**16
    resumed = trainer(tmp_path, {"run.precision": "fp16", "run.steps": 2}, resume=True)
    assert {name: scaler.get_scale() for name, scaler in resumed.scalers.items()} == scales
    assert resumed.scalers["video_d"].state_dict() == run.scalers["video_d"].state_dict()


def test_fp16_logs_each_networks_scale_and_skipped_steps(tmp_path, fp16_on_cpu):
    run = trainer(tmp_path, {"run.precision": "fp16", "run.steps": 3, "run.log_every": 1})
    hook = parameters(run, "video_d")[0].register_hook(lambda grad: torch.full_like(grad, math.inf) if run.step < 2 else grad)
    run.train()
    hook.remove()
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [record["fp16/skipped_video_d"] for record in records] == [1, 1, 0]  # the two forced overflows, one per record
    scale = dict.fromkeys(run.scalers, 2.0**16)  # the scalers' initial scale, halved at each skip (no growth within 2,000 steps)
    for record in records:
        for name in run.scalers:
            scale[name] /= 2 ** record[f"fp16/skipped_{name}"]
            assert record[f"fp16/scale_{name}"] == scale[name], (name, record)


def test_fp32_logs_no_scales(tmp_path):
    trainer(tmp_path, {"run.steps": 1}).train()
    assert not any(key.startswith("fp16/") for key in json.loads((tmp_path / "log.jsonl").read_text()))


def test_a_checkpoint_without_scalers_still_loads(tmp_path):
    trainer(tmp_path, {"run.steps": 1}).train()
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    del state["scalers"]  # as written before precision existed
    del state["config"]["run"]["precision"], state["config"]["run"]["compile"]
    torch.save(state, tmp_path / "checkpoint.pt")
    assert trainer(tmp_path, {"run.steps": 2}, resume=True).step == 1


def test_resume_refuses_another_precision_but_not_compiling(tmp_path):
    trainer(tmp_path, {"run.steps": 1}).train()
    assert {"precision": "fp32", "compile": False}.items() <= json.loads((tmp_path / "train_config.json").read_text())["run"].items()
    with pytest.raises(CheckpointError, match=r"run.precision \('fp32' -> 'bf16'\)"):
        trainer(tmp_path, {"run.steps": 2, "run.precision": "bf16"}, resume=True)
    compiled = trainer(tmp_path, {"run.steps": 2, "run.compile": True}, resume=True)  # compiles lazily, at the first step
    assert compiled.step == 1
    assert compiled.motion.state_dict().keys() == trainer(tmp_path / "fresh").motion.state_dict().keys()


def test_precisions_a_device_cannot_run_are_refused_before_any_work(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"^run.precision 'fp16' needs a GPU.*use run.precision=bf16 or fp32$"):
        trainer(tmp_path / "run", {"run.precision": "fp16"})
    assert not (tmp_path / "run").exists()
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "Tesla V100")
    with pytest.raises(ConfigError, match=r"run.precision 'bf16' needs a GPU with bfloat16 support, and Tesla V100 has none"):
        precision_dtype("bf16", torch.device("cuda"))
    assert precision_dtype("fp16", torch.device("cuda")) == torch.float16
    with pytest.raises(ConfigError, match=r"run.precision must be one of 'fp32', 'bf16', 'fp16', got 'fp64'"):
        TrainConfig().with_changes({"run.precision": "fp64"})


def test_compiling_without_a_compiler_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("CXX", "no-such-c++")
    with pytest.raises(ConfigError, match=r"^run.compile on the CPU needs a C\+\+ compiler and 'no-such-c\+\+' was not found"):
        trainer(tmp_path / "run", {"run.compile": True})
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # inductor builds C++ kernels for every graph: about 2.5 minutes on 2 CPU cores
@pytest.mark.parametrize("mode", ["in-domain", "cross-domain"])
def test_compiled_steps_compute_the_losses_of_eager_ones(tmp_path, mode):
    # Inductor fuses and reorders fp32 arithmetic: the same losses to float rounding (measured: 3e-6).
    eager = trainer(tmp_path / "eager", {"mode": mode})
    compiled = trainer(tmp_path / "compiled", {"mode": mode, "run.compile": True})
    for _ in range(2):  # the second iteration starts from weights the compiled steps updated
        expected, got = first_iteration(eager), first_iteration(compiled)
        assert got.keys() == expected.keys()
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, rel=1e-4, abs=1e-5), name
