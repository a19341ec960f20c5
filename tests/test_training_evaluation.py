"""Evaluation during training: figures of the current pipeline in the run's log, training untouched."""

import json

import pytest
import torch

from latentmotion.errors import ConfigError
from latentmotion.metrics.evaluate import evaluate
from latentmotion.testing import MovingSquares, smoke_config, write_frame_folders
from latentmotion.train import Trainer


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    return write_frame_folders(tmp_path_factory.mktemp("real"), MovingSquares(n_videos=3, n_frames=16))


def log_lines(run):
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_figures_are_logged_before_training_every_n_iterations_and_at_the_end(real, tmp_path):
    evaluation = {"evaluation.every": 2, "evaluation.metrics": ["acd"], "evaluation.data": str(real), "evaluation.n_videos": 2, "run.steps": 3}
    trainer = Trainer(smoke_config(evaluation), tmp_path / "run", dataset=MovingSquares(n_videos=4), progress=False)
    pipeline = trainer.train()
    figures = [(line["step"], line["eval/acd"]) for line in log_lines(tmp_path / "run") if "eval/acd" in line]
    assert [step for step, _ in figures] == [0, 2, 3]
    assert figures[-1][1] == evaluate(pipeline, real, metrics=["acd"], n_videos=2, resize_real=True)["acd"].value
    assert len({value for _, value in figures}) == 3  # the generator changed between evaluations

    state = torch.get_rng_state()
    trainer.evaluate()
    assert torch.equal(torch.get_rng_state(), state)  # training's random state is left as it was

    plain = Trainer(smoke_config({"run.steps": 3}), tmp_path / "plain", dataset=MovingSquares(n_videos=4), progress=False).train()
    assert all(torch.equal(a, b) for a, b in zip(plain.motion.state_dict().values(), pipeline.motion.state_dict().values()))  # evaluating changed no draw


def test_a_run_resumes_with_other_evaluation_options(real, tmp_path):
    Trainer(smoke_config({"run.steps": 1}), tmp_path / "run", dataset=MovingSquares(n_videos=4), progress=False).train()
    evaluation = {"evaluation.every": 1, "evaluation.metrics": ["acd"], "evaluation.data": str(real), "evaluation.n_videos": 2, "run.steps": 2}
    Trainer(smoke_config(evaluation), tmp_path / "run", dataset=MovingSquares(n_videos=4), resume=True, progress=False).train()
    assert [line["step"] for line in log_lines(tmp_path / "run") if "eval/acd" in line] == [2]


def test_what_an_evaluation_needs_is_checked_before_training(real, tmp_path):
    with pytest.raises(ConfigError, match="needs the I3D detector: set evaluation.detector"):
        Trainer(smoke_config({"evaluation.every": 1, "evaluation.data": str(real)}), tmp_path / "a", dataset=MovingSquares(n_videos=4), progress=False)
    with pytest.raises(ConfigError, match="needs the Inception network"):
        Trainer(smoke_config({"evaluation.every": 1, "evaluation.metrics": ["fid"], "evaluation.data": str(real)}), tmp_path / "b", dataset=MovingSquares(n_videos=4), progress=False)
    with pytest.raises(ConfigError, match="are not a folder: set evaluation.data"):
        Trainer(smoke_config({"evaluation.every": 1, "evaluation.metrics": ["acd"]}), tmp_path / "c", dataset=MovingSquares(n_videos=4), progress=False)
    with pytest.raises(ConfigError, match="evaluation.lpips is set, but evaluation.metrics has no prediction"):
        Trainer(smoke_config({"evaluation.every": 1, "evaluation.metrics": ["acd"], "evaluation.data": str(real), "evaluation.lpips": "x.safetensors"}), tmp_path / "d", dataset=MovingSquares(n_videos=4), progress=False)
    with pytest.raises(ConfigError, match="evaluation.metrics must name at least one of"):
        smoke_config({"evaluation.metrics": ["is"]})


def test_the_networks_loaded_at_the_start_reach_every_evaluation(real, tmp_path, monkeypatch):
    from latentmotion import training_evaluation

    loaded = {"detector": object(), "inception": object(), "lpips": object()}
    monkeypatch.setattr(training_evaluation, "load_i3d", lambda source: loaded["detector"])
    monkeypatch.setattr(training_evaluation, "load_inception", lambda source: loaded["inception"])
    monkeypatch.setattr(training_evaluation, "load_lpips", lambda source: loaded["lpips"])
    calls = []
    monkeypatch.setattr(training_evaluation, "evaluate", lambda pipeline, data, **options: calls.append(options) or {})
    options = {"metrics": ["fvd16", "fid", "prediction"], "detector": "i3d", "inception": "fid", "lpips": "vgg", "n_videos": 7, "seed": 3}
    evaluation = training_evaluation.TrainingEvaluation(smoke_config({f"evaluation.{k}": v for k, v in options.items()}).evaluation, data=str(real), run_dir=tmp_path)
    evaluation(type("Pipeline", (), {"device": torch.device("cpu")})())
    (call,) = calls
    assert {name: call[name] for name in loaded} == loaded
    assert (call["metrics"], call["n_videos"], call["seed"], call["resize_real"]) == (("fvd16", "fid", "prediction"), 7, 3, True)
