"""TensorBoard beside the JSONL log: the same records as scalars, previews as animated images, resumes purged."""

import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from latentmotion import tensorboard_log
from latentmotion.errors import ConfigError
from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.train import Trainer


def events(run):
    accumulator = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def test_the_logs_records_and_previews_reach_tensorboard(tmp_path):
    run = tmp_path / "run"
    config = smoke_config({"run.steps": 2, "run.tensorboard": True, "run.preview_every": 2})
    Trainer(config, run, dataset=MovingSquares(n_videos=4), progress=False).train()
    board = events(run)
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    scalars = board.Scalars("g/total")
    assert [event.step for event in scalars] == [line["step"] for line in log]
    assert [event.value for event in scalars] == pytest.approx([line["g/total"] for line in log])
    assert set(board.Tags()["scalars"]) == {key for line in log for key in line if key != "step"}
    (preview,) = board.Images("preview")
    assert preview.step == 2 and preview.encoded_image_string.startswith(b"GIF8")
    assert (preview.width, preview.height) == (4 * 32, 32)  # four videos side by side


def test_a_resumed_run_purges_what_came_after_its_checkpoint(tmp_path, monkeypatch):
    run = tmp_path / "run"
    config = smoke_config({"run.steps": 3, "run.tensorboard": True, "run.checkpoint_every": 2})
    save = Trainer.save_checkpoint
    monkeypatch.setattr(Trainer, "save_checkpoint", lambda trainer: save(trainer) if trainer.step < 3 else None)  # stops after logging 3
    Trainer(config, run, dataset=MovingSquares(n_videos=4), progress=False).train()
    monkeypatch.setattr(Trainer, "save_checkpoint", save)
    Trainer(config.with_changes({"run.steps": 4}), run, dataset=MovingSquares(n_videos=4), resume=True, progress=False).train()
    scalars = events(run).Scalars("g/total")
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [event.step for event in scalars] == [line["step"] for line in log] == [1, 2, 3, 4]  # step 3 once: the resumed run's
    assert [event.value for event in scalars] == pytest.approx([line["g/total"] for line in log])


def test_without_tensorboard_installed_the_option_is_a_clear_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ConfigError, match=r"run.tensorboard needs the tensorboard package.*pip install"):
        tensorboard_log.TensorBoardLog(tmp_path / "tb")
