"""A run folder under faults: torn logs, two runs at once, killed writes, NaN losses, used folders."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file, save_file

from latentmotion.basis import PCABasis
from latentmotion.errors import CheckpointError, ConfigError, TrainingError
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.run_folder import RunFolder
from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.train import Trainer


def train(folder, steps, *, resume=False, dataset=None, **changes):
    config = smoke_config({"run.steps": steps, **changes})
    return Trainer(config, folder, dataset=dataset or MovingSquares(), resume=resume, progress=False)


def log_lines(folder):
    return (folder / "log.jsonl").read_text().splitlines()


def test_a_torn_last_log_line_is_dropped_on_resume_and_the_log_matches_an_uninterrupted_one(tmp_path):
    train(tmp_path / "straight", 4).train()
    train(tmp_path / "torn", 3, **{"run.checkpoint_every": 2}).train()  # checkpoint at 2, logged up to 3
    torch.save(torch.load(tmp_path / "torn" / "checkpoint.pt", weights_only=True), tmp_path / "torn" / "checkpoint.pt")
    with (tmp_path / "torn" / "log.jsonl").open("a") as log:
        log.write('{"step": 42, "g/tot')  # the disk filled up mid-line
    train(tmp_path / "torn", 4, resume=True, **{"run.checkpoint_every": 2}).train()
    def losses(lines):
        return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]

    assert losses(log_lines(tmp_path / "torn")) == losses(log_lines(tmp_path / "straight"))


def test_log_truncation_keeps_complete_records_up_to_the_checkpoint(tmp_path):
    (tmp_path / "log.jsonl").write_text('{"step": 1}\n[1, 2]\n{"step": "2"}\n{"step": 2}\n{"step": 3}\n\x00\xff\n{"step')
    RunFolder(tmp_path).truncate_log(step=2)
    assert log_lines(tmp_path) == ['{"step": 1}', '{"step": 2}']


def test_a_second_run_in_the_same_folder_is_refused_while_the_first_holds_it(tmp_path):
    first = train(tmp_path, 1)
    with pytest.raises(ConfigError, match=rf"in use by another training run \(process {os.getpid()}\)"):
        train(tmp_path, 1, resume=True)
    first.train()  # releases the folder at the end
    train(tmp_path, 2, resume=True).train()


def test_the_lock_goes_with_a_killed_process(tmp_path):
    holder = textwrap.dedent(f"""
        import sys, time
        from latentmotion.run_folder import RunFolder
        folder = RunFolder({str(tmp_path)!r})
        folder.lock()
        print("locked", flush=True)
        time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "locked"
        with pytest.raises(ConfigError, match=rf"in use by another training run \(process {process.pid}\)"):
            RunFolder(tmp_path).lock()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    folder = RunFolder(tmp_path)
    folder.lock()
    folder.unlock()


def test_temporary_files_of_killed_writes_are_removed_at_the_next_start(tmp_path):
    train(tmp_path, 1).train()
    orphans = [tmp_path / ".checkpoint.pt.0a1b2c3d4e5f.tmp", tmp_path / "pipeline" / ".motion.safetensors.0a1b2c3d4e5f.tmp"]
    for orphan in orphans:
        orphan.write_bytes(b"x" * 1000)
    train(tmp_path, 2, resume=True).train()
    assert not any(orphan.exists() for orphan in orphans)


class PoisonedSquares(MovingSquares):
    """Moving squares whose pixels are NaN: every loss that sees them becomes NaN."""

    def __getitem__(self, index):
        return torch.full_like(super().__getitem__(index), float("nan"))


def test_a_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    train(tmp_path, 2).train()
    good = (tmp_path / "checkpoint.pt").read_bytes()
    pipeline = (tmp_path / "pipeline" / "motion.safetensors").read_bytes()
    trainer = train(tmp_path, 4, resume=True, dataset=PoisonedSquares())
    with pytest.raises(TrainingError, match=r"generator loss became non-finite at iteration 3 \(g/total=nan|g/video=nan.*checkpoint .* is intact"):
        trainer.train()
    assert (tmp_path / "checkpoint.pt").read_bytes() == good
    assert (tmp_path / "pipeline" / "motion.safetensors").read_bytes() == pipeline
    assert all(torch.isfinite(p).all() for p in trainer.motion.parameters())  # the step never ran
    train(tmp_path, 3, resume=True).train()  # and the run goes on from the good state


def test_running_out_of_memory_stops_training_with_what_to_change_and_keeps_the_checkpoint(tmp_path):
    train(tmp_path, 2).train()
    good = (tmp_path / "checkpoint.pt").read_bytes()
    trainer = train(tmp_path, 4, resume=True)

    def out_of_memory(real):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nGPU 0 has a total capacity of 40 GiB")

    trainer.discriminator_step = out_of_memory
    with pytest.raises(TrainingError, match=r"ran out of memory on cpu at iteration 3 \(CUDA out of memory\. .*\); the checkpoint .* is intact.*run\.checkpoint_frames") as caught:
        trainer.train()
    assert "\n" not in str(caught.value)  # one line for the CLI
    assert (tmp_path / "checkpoint.pt").read_bytes() == good


def test_a_pipeline_with_non_finite_weights_is_refused(tmp_path):
    train(tmp_path, 1).train()
    weights = tmp_path / "pipeline" / "motion.safetensors"
    state = load_file(weights)
    name = next(iter(state))
    state[name] = torch.full_like(state[name], float("nan"))
    save_file(state, weights)
    with pytest.raises(CheckpointError, match=f"NaN or infinite values \\({name}"):
        LatentMotionPipeline.from_pretrained(tmp_path / "pipeline")


def test_a_fresh_run_in_a_used_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    (tmp_path / "log.jsonl").write_text('{"step": 1}\n')  # a run that died before its first checkpoint
    monkeypatch.setattr(PCABasis, "fit", lambda *a, **k: pytest.fail("fitted a basis for a run that cannot start"))
    with pytest.raises(ConfigError, match=r"is not empty \(log.jsonl\), but holds no checkpoint"):
        train(tmp_path, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "log.jsonl"]


def test_a_missing_data_folder_is_refused_before_the_basis_is_fitted(tmp_path, monkeypatch):
    monkeypatch.setattr(PCABasis, "fit", lambda *a, **k: pytest.fail("fitted a basis for a run without data"))
    config = smoke_config({"data.path": str(tmp_path / "no-videos")})
    with pytest.raises(Exception, match="no-videos"):
        Trainer(config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # the run folder it created is gone again


def test_resuming_to_fewer_steps_than_done_is_refused(tmp_path):
    train(tmp_path, 3).train()
    with pytest.raises(ConfigError, match=r"already at iteration 3, past run.steps=2"):
        train(tmp_path, 2, resume=True)


def frame_dataset(root, n_videos):
    from latentmotion.testing import write_frame_folders

    return write_frame_folders(root, MovingSquares(n_videos=n_videos, n_frames=6))


def test_an_unreadable_frame_skips_its_clip_with_a_warning(tmp_path):
    data = frame_dataset(tmp_path / "videos", 3)
    (data / "video1" / "frame002.png").write_bytes(b"not a png")  # found at start, unreadable later
    config = smoke_config({"data.path": str(data), "data.time_step": 1, "run.steps": 3})
    with pytest.warns(UserWarning, match=r"skipping an unreadable clip: .*video1"):
        Trainer(config, tmp_path / "run", progress=False).train()
    assert json.loads(log_lines(tmp_path / "run")[-1])["step"] == 3


def test_a_dataset_that_cannot_be_read_stops_after_saving_a_checkpoint(tmp_path):
    data = frame_dataset(tmp_path / "videos", 2)
    config = smoke_config({"data.path": str(data), "data.time_step": 1, "run.steps": 4, "run.checkpoint_every": 100})
    trainer = Trainer(config, tmp_path / "run", progress=False)
    for frame in data.rglob("*.png"):
        frame.write_bytes(b"not a png")
    with pytest.raises(Exception, match=r"videos in a row could not be read.*--resume"), pytest.warns(UserWarning):
        trainer.train()
    assert (tmp_path / "run" / "checkpoint.pt").is_file()
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] == 0
