"""Training end to end: both modes, checkpoints, exact resume, bad configurations, two processes."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import latentmotion
from latentmotion import losses
from latentmotion.errors import CheckpointError, ConfigError, TrainingError
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.train import ClipStream, Trainer, resize_clips

HERE = Path(__file__).parent


def motion_state(trainer):
    return {k: v.clone() for k, v in trainer.motion.state_dict().items()}


@pytest.mark.parametrize("mode", ["in-domain", "cross-domain"])
def test_training_updates_only_the_motion_generator(mode, tmp_path):
    trainer = Trainer(smoke_config({"mode": mode, "run.preview_every": 2}), tmp_path, dataset=MovingSquares(), progress=False)
    backend_before = {k: v.clone() for k, v in trainer.backend.state_dict().items()}
    motion_before = motion_state(trainer)
    pipeline = trainer.train()
    assert all(torch.equal(v, trainer.backend.state_dict()[k]) for k, v in backend_before.items())
    assert any(not torch.equal(v, trainer.motion.state_dict()[k]) for k, v in motion_before.items())
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    expected = {"g/total", "g/video", "g/image", "g/mi", "g/smooth", "d/video", "d/gp", "d/image"}
    if mode == "cross-domain":
        expected |= {"g/match", "d/contrastive"}
    assert expected <= set(records[0])
    assert all(torch.isfinite(torch.tensor(v)) for r in records for v in r.values())
    assert (tmp_path / "previews" / "step-0000002.png").is_file()
    videos = pipeline.generate(2, 5, seed=0)
    assert videos.shape == (2, 5, 3, 32, 32)
    loaded = LatentMotionPipeline.from_pretrained(tmp_path / "pipeline")
    assert torch.equal(loaded.generate(2, 5, seed=0), videos)


def test_cross_domain_fills_the_queues_from_generator_steps(tmp_path):
    trainer = Trainer(smoke_config({"mode": "cross-domain", "run.steps": 1}), tmp_path, dataset=MovingSquares(), progress=False)
    before = trainer.image_d.queue_real.clone()
    trainer.train()
    changed_rows = (trainer.image_d.queue_real != before).any(dim=1).sum()
    assert changed_rows == 2 * 2  # batch 2 enqueued at each of the 2 generator steps


def test_resume_equals_an_uninterrupted_run(tmp_path):
    straight = Trainer(smoke_config({"run.steps": 4, "run.checkpoint_every": 2}), tmp_path / "a", dataset=MovingSquares(), progress=False)
    straight.train()
    first = Trainer(smoke_config({"run.steps": 2, "run.checkpoint_every": 2}), tmp_path / "b", dataset=MovingSquares(), progress=False)
    first.train()
    resumed = Trainer(smoke_config({"run.steps": 4, "run.checkpoint_every": 2}), tmp_path / "b", dataset=MovingSquares(), resume=True, progress=False)
    assert resumed.step == 2
    resumed.train()
    for name in ("motion", "video_d", "image_d"):
        a, b = getattr(straight, name).state_dict(), getattr(resumed, name).state_dict()
        for key in a:
            assert torch.equal(a[key], b[key]), f"{name}.{key}"
    log_a = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    log_b = [json.loads(line) for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert [r["g/total"] for r in log_a] == [r["g/total"] for r in log_b]


def test_smoothness_prior_steadies_the_steps(tmp_path):
    # Same seed and data, with and without the prior: the prior's run ends with steadier steps.
    def trained_smoothness(weight):
        config = smoke_config({"run.steps": 30, "optim.g_steps": 1, "optim.lr": 5e-3, "motion.smoothness_weight": weight, "motion.init_std": 0.5, "run.checkpoint_every": 30})
        trainer = Trainer(config, tmp_path / str(weight), dataset=MovingSquares(), progress=False)
        trainer.train()
        logged = [json.loads(line)["g/smooth"] for line in (tmp_path / str(weight) / "log.jsonl").read_text().splitlines()]
        with torch.no_grad():
            content = trainer.backend.sample_latents(256, generator=torch.Generator().manual_seed(0))
            out = trainer.motion(content, 4, generator=torch.Generator().manual_seed(1))
        return losses.smoothness_loss(out.pre_activations).item(), logged

    free, free_log = trained_smoothness(0.0)
    steadied, steadied_log = trained_smoothness(100.0)
    assert set(free_log) == {0.0}
    assert all(value > 0 for value in steadied_log)
    assert steadied < 0.5 * free


@pytest.mark.parametrize("mode", ["in-domain", "cross-domain"])
def test_discriminators_learn_at_their_own_rate(tmp_path, mode):
    # Adam's first step moves every weight with a gradient by its learning rate (times sign(grad)),
    # so after one iteration the largest change of each network is its own rate.
    trainer = Trainer(smoke_config({"mode": mode, "run.steps": 1, "optim.g_steps": 1, "optim.lr": 1e-4, "optim.d_lr": 4e-4}), tmp_path, dataset=MovingSquares(), progress=False)
    trained = {name: [p for group in optimizer.param_groups for p in group["params"]] for name, optimizer in trainer.optimizers.items()}
    before = {name: [p.detach().clone() for p in weights] for name, weights in trained.items()}
    trainer.train()
    largest = {name: max(float((p.detach() - q).abs().max()) for p, q in zip(weights, before[name])) for name, weights in trained.items()}
    assert largest["motion"] == pytest.approx(1e-4, rel=1e-3)
    assert largest["video_d"] == pytest.approx(4e-4, rel=1e-3)
    assert largest["image_d"] == pytest.approx(4e-4, rel=1e-3)


@pytest.mark.parametrize("mode", ["in-domain", "cross-domain"])
def test_packed_video_discriminator_never_mixes_real_and_fake(tmp_path, mode):
    trainer = Trainer(smoke_config({"mode": mode, "data.batch_size": 4, "video_discriminator.pack": 2, "run.steps": 1}), tmp_path, dataset=MovingSquares(), progress=False)
    channels = 3 if mode == "cross-domain" else 6
    assert trainer.video_d.scales[0][0].in_channels == 2 * channels
    real = torch.rand(4, 4, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    fakes = [torch.rand(4, 4, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1 for seed in (1, 2)]
    state = trainer.rng.get_state()
    scores = []
    for fake in fakes:
        trainer.rng.set_state(state)  # the same time reversals
        scores.append(trainer._video_logits(real, fake, video_d=trainer.video_d))
    (real_a, fake_a), (real_b, fake_b) = scores
    assert [s.shape[0] for s in real_a + fake_a] == [2] * 4  # two packs of each kind at each of 2 scales
    for a, b in zip(real_a, real_b, strict=True):
        torch.testing.assert_close(a, b)  # the real packs' scores do not see the fake clips
    assert not torch.allclose(fake_a[0], fake_b[0])
    trainer.train()  # a full iteration, gradient penalty included
    assert trainer.step == 1


def test_video_pack_must_divide_the_batch(tmp_path):
    with pytest.raises(ConfigError, match=r"video_discriminator.pack 3 must divide the batch of each process \(4\)"):
        Trainer(smoke_config({"data.batch_size": 4, "video_discriminator.pack": 3}), tmp_path, dataset=MovingSquares(), progress=False)


def test_resume_drops_log_lines_written_after_the_checkpoint(tmp_path):
    Trainer(smoke_config({"run.steps": 3, "run.checkpoint_every": 2}), tmp_path, dataset=MovingSquares(), progress=False).train()
    torch.save(torch.load(tmp_path / "checkpoint.pt", weights_only=True) | {"step": 2}, tmp_path / "checkpoint.pt")
    Trainer(smoke_config({"run.steps": 3, "run.checkpoint_every": 2}), tmp_path, dataset=MovingSquares(), resume=True, progress=False)
    assert [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()] == [1, 2]


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    Trainer(smoke_config({"run.steps": 1}), tmp_path, dataset=MovingSquares(), progress=False).train()
    with pytest.raises(CheckpointError, match=r"hidden_dim \(16 -> 32\)"):
        Trainer(smoke_config({"run.steps": 2, "motion.hidden_dim": 32}), tmp_path, dataset=MovingSquares(), resume=True, progress=False)


def test_resume_accepts_a_checkpoint_written_before_an_option_existed(tmp_path):
    Trainer(smoke_config({"run.steps": 1}), tmp_path, dataset=MovingSquares(), progress=False).train()
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    del state["config"]["motion"]["forget_bias"]  # as written before the option was added
    torch.save(state, tmp_path / "checkpoint.pt")
    assert Trainer(smoke_config({"run.steps": 2}), tmp_path, dataset=MovingSquares(), resume=True, progress=False).step == 1
    with pytest.raises(CheckpointError, match=r"forget_bias \(0.0 -> 1.0\)"):
        Trainer(smoke_config({"run.steps": 2, "motion.forget_bias": 1.0}), tmp_path, dataset=MovingSquares(), resume=True, progress=False)


def test_resume_without_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        Trainer(smoke_config(), tmp_path, dataset=MovingSquares(), resume=True, progress=False)


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    Trainer(smoke_config({"run.steps": 1}), tmp_path, dataset=MovingSquares(), progress=False).train()
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        Trainer(smoke_config({"run.steps": 2}), tmp_path, dataset=MovingSquares(), resume=True, progress=False)


class Payload:
    """A pickle that would create a file when loaded without `weights_only`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return eval, (f"open({self.marker!r}, 'w').close()",)


def test_a_checkpoint_holding_code_is_refused_without_advice_to_load_it_anyway(tmp_path):
    Trainer(smoke_config({"run.steps": 1}), tmp_path, dataset=MovingSquares(), progress=False).train()
    torch.save({"step": 1, "payload": Payload(tmp_path / "pwned")}, tmp_path / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="is refused: it holds pickled Python objects") as refused:
        Trainer(smoke_config({"run.steps": 2}), tmp_path, dataset=MovingSquares(), resume=True, progress=False)
    assert "weights_only" not in str(refused.value)
    assert not (tmp_path / "pwned").exists()


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    trainer = Trainer(smoke_config({"run.steps": 1}), tmp_path, dataset=MovingSquares(), progress=False)
    trainer.train()
    good = (tmp_path / "checkpoint.pt").read_bytes()

    def failing_save(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        trainer.save_checkpoint()
    assert (tmp_path / "checkpoint.pt").read_bytes() == good
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_full_disk_says_so_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    trainer = Trainer(smoke_config({"run.steps": 1}), tmp_path, dataset=MovingSquares(), progress=False)
    trainer.train()
    good = (tmp_path / "checkpoint.pt").read_bytes()

    def full_disk(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(TrainingError, match="no space left on device .* the previous checkpoint is intact"):
        trainer.save_checkpoint()
    assert (tmp_path / "checkpoint.pt").read_bytes() == good
    assert not list(tmp_path.glob(".*.tmp"))


def test_no_data_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no training videos"):
        Trainer(smoke_config(), tmp_path, progress=False)


def test_clips_of_the_wrong_size_are_refused(tmp_path):
    trainer = Trainer(smoke_config({"run.steps": 1}), tmp_path, dataset=MovingSquares(resolution=16), progress=False)
    with pytest.raises(ConfigError, match="real clips are"):
        trainer.train()


def test_basis_of_another_latent_space_is_refused(tmp_path):
    other = latentmotion.get_backend("tiny", dim=4)
    basis = latentmotion.PCABasis.fit(other, n_samples=200)
    with pytest.raises(latentmotion.LatentMotionError, match="refit|dim"):
        Trainer(smoke_config(), tmp_path, basis=basis, dataset=MovingSquares(), progress=False)


def test_clip_stream_resumes_mid_epoch_and_splits_across_processes():
    full = ClipStream(5, seed=3)
    head = [pair for pair, _ in zip(iter(full), range(12))]
    resumed = [pair for pair, _ in zip(iter(ClipStream(5, seed=3, offset=7)), range(5))]
    assert resumed == head[7:12]
    assert sorted(index for index, _ in head[:5]) == [0, 1, 2, 3, 4]  # every video once per epoch
    rank0 = [p for p, _ in zip(iter(ClipStream(4, seed=3, rank=0, world_size=2)), range(2))]
    rank1 = [p for p, _ in zip(iter(ClipStream(4, seed=3, rank=1, world_size=2)), range(2))]
    assert sorted(i for i, _ in rank0 + rank1) == [0, 1, 2, 3]


@pytest.mark.parametrize("mode", ["in-domain", "cross-domain"])
def test_two_cpu_processes_with_torchrun(mode, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}}
    env["LATENTMOTION_LOAD_PLUGINS"] = ""  # built-ins only, as under pytest
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(HERE / "distributed_train.py"), str(tmp_path), mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sums = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert sums[0]["motion"] == pytest.approx(sums[1]["motion"], abs=0)  # DDP keeps the replicas identical
    assert sums[0]["video_d"] == pytest.approx(sums[1]["video_d"], abs=0)
    assert sums[0]["clips_seen"] == sums[1]["clips_seen"] == 2 * 2  # global batch 4 split in 2, for 2 steps
    assert (tmp_path / "checkpoint.pt").is_file()
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 2  # written by one process


def test_full_loop_from_a_folder_of_mp4_files(tmp_path):
    from latentmotion.video import write_video

    squares = MovingSquares(n_videos=3, n_frames=9)
    (tmp_path / "videos").mkdir()
    for index in range(3):
        write_video(tmp_path / "videos" / f"clip{index}.mp4", squares[index], fps=10)
    config = smoke_config({"data.path": str(tmp_path / "videos"), "data.time_step": 2, "run.steps": 1})
    pipeline = Trainer(config, tmp_path / "run", progress=False).train()
    again = LatentMotionPipeline.from_pretrained(tmp_path / "run" / "pipeline")
    assert torch.equal(again.generate(1, 4, seed=3), pipeline.generate(1, 4, seed=3))


def test_resize_clips_averages_blocks():
    clips = torch.arange(16.0).reshape(1, 1, 1, 4, 4).expand(1, 2, 3, 4, 4)
    small = resize_clips(clips, 2)
    assert small.shape == (1, 2, 3, 2, 2)
    assert small[0, 0, 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]  # means of the 2x2 blocks
    assert resize_clips(clips, 4) is clips
    assert resize_clips(clips, 3).shape == (1, 2, 3, 3, 3)


@pytest.mark.parametrize("mode", ["in-domain", "cross-domain"])
def test_training_without_the_video_discriminator_never_uses_it(mode, tmp_path):
    trainer = Trainer(smoke_config({"mode": mode, "video_discriminator.enabled": False}), tmp_path, dataset=MovingSquares(), progress=False)
    before = {k: v.clone() for k, v in trainer.video_d.state_dict().items()}
    trainer.train()
    assert all(torch.equal(v, trainer.video_d.state_dict()[k]) for k, v in before.items())
    record = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])
    assert not {"g/video", "d/video", "d/gp"} & set(record) and {"g/image", "d/image"} <= set(record)


@pytest.mark.parametrize(("mode", "section"), [("in-domain", "image_discriminator"), ("cross-domain", "contrastive")])
def test_training_without_the_image_discriminator_never_uses_it(mode, section, tmp_path):
    trainer = Trainer(smoke_config({"mode": mode, f"{section}.enabled": False}), tmp_path, dataset=MovingSquares(), progress=False)
    before = {k: v.clone() for k, v in trainer.image_d.state_dict().items()}  # weights, EMA copy and queues
    trainer.train()
    assert all(torch.equal(v, trainer.image_d.state_dict()[k]) for k, v in before.items())
    record = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])
    assert not {"g/image", "g/match", "d/image", "d/contrastive"} & set(record) and {"g/video", "d/video"} <= set(record)


def test_gradient_checkpointing_gives_the_same_step_and_recomputes_the_rendering(tmp_path):
    def generator_step(changes, folder):
        trainer = Trainer(smoke_config(changes), tmp_path / folder, dataset=MovingSquares(), progress=False)
        calls = []
        synthesize = trainer.backend.synthesize
        trainer.backend.synthesize = lambda codes, noise=None: calls.append(len(codes)) or synthesize(codes, noise=noise)
        losses = trainer.generator_step(next(trainer._clips()))
        return trainer, losses, calls

    plain, plain_losses, plain_calls = generator_step({}, "plain")
    checkpointed, losses, calls = generator_step({"run.gradient_checkpointing": True}, "checkpointed")
    frames, videos = plain.config.data.n_frames, plain.batch
    assert not plain.checkpointing and checkpointed.checkpointing
    assert plain_calls == [videos * frames]  # one call for the batch, its activations kept
    assert calls == [frames] * (2 * videos)  # one call a video, each run again in the backward pass
    assert losses == plain_losses
    assert all(torch.equal(a, b) for a, b in zip(plain.motion.parameters(), checkpointed.motion.parameters()))
    chunked, chunked_losses, chunked_calls = generator_step({"run.gradient_checkpointing": True, "run.checkpoint_frames": 3}, "chunked")
    assert videos * frames == 8 and chunked_calls == [3, 3, 2, 2, 3, 3]  # 3 frames a call across videos; the backward pass in reverse
    assert chunked_losses == plain_losses
    assert all(torch.allclose(a, b, rtol=0, atol=1e-7) for a, b in zip(plain.motion.parameters(), chunked.motion.parameters()))  # gradients summed in another order
    large = Trainer(smoke_config({"backend_options.resolution": 128, "data.resolution": 32}), tmp_path / "large", dataset=MovingSquares(), progress=False)
    assert large.checkpointing  # on by default from CHECKPOINTING_RESOLUTION


def test_with_reuse_fakes_the_discriminator_trains_on_the_last_generator_steps_clips_and_renders_nothing(tmp_path):
    def one_iteration(changes, folder):
        """Train one iteration; return the frames of each rendering call before the D step, the clips D_V got, and the trainer."""
        trainer = Trainer(smoke_config({"run.steps": 1, **changes}), tmp_path / folder, dataset=MovingSquares(), progress=False)
        rendered, seen = [], {}
        synthesize, video_loss = trainer.backend.synthesize, trainer.video_discriminator_loss
        trainer.backend.synthesize = lambda codes, noise=None: rendered.append(len(codes)) or synthesize(codes, noise=noise)
        trainer.video_discriminator_loss = lambda real, fake: seen.setdefault("d", (list(rendered), fake)) and video_loss(real, fake)
        trainer.train()
        return *seen["d"], trainer

    rendered, fake, trainer = one_iteration({"optim.reuse_fakes": True}, "reuse")
    frames = trainer.batch * trainer.config.data.n_frames
    assert rendered == [frames, frames]  # the two generator steps' renderings, none for the discriminator step
    assert fake is trainer.last_fakes and not fake.requires_grad
    rendered, fake, trainer = one_iteration({}, "fresh")
    assert rendered == [frames] * 3 and trainer.last_fakes is None  # the paper: new clips for the discriminator step


def test_with_ema_decay_the_pipeline_is_the_moving_average_of_the_motion_weights_and_it_resumes(tmp_path):
    decay = 0.25
    config = smoke_config({"run.steps": 2, "optim.g_steps": 1, "optim.ema_decay": decay, "run.checkpoint_every": 1})
    trainer = Trainer(config, tmp_path / "run", dataset=MovingSquares(), progress=False)
    after = []  # the motion weights after each generator step
    step = trainer.generator_step
    trainer.generator_step = lambda real: (step(real), after.append(motion_state(trainer)))[0]
    trainer.train()
    first, second = after
    saved = LatentMotionPipeline.from_pretrained(tmp_path / "run" / "pipeline").motion.state_dict()
    for key in first:  # the average starts at the first step's weights
        assert torch.allclose(saved[key], decay * first[key] + (1 - decay) * second[key], rtol=0, atol=1e-7), key
    assert any(not torch.equal(saved[key], second[key]) for key in second)  # not the last weights
    Trainer(config.with_changes({"run.steps": 1}), tmp_path / "resumed", dataset=MovingSquares(), progress=False).train()
    resumed = Trainer(config, tmp_path / "resumed", dataset=MovingSquares(), resume=True, progress=False)
    resumed.train()
    assert all(torch.equal(a, b) for a, b in zip(trainer.motion_ema.state_dict().values(), resumed.motion_ema.state_dict().values()))
    with pytest.raises(ConfigError, match=r"optim.ema_decay must lie in \[0, 1\)"):
        smoke_config({"optim.ema_decay": 1.0})


def test_the_noise_width_is_an_option_that_reaches_the_saved_pipeline(tmp_path):
    trainer = Trainer(smoke_config({"motion.noise_dim": 3}), tmp_path / "run", dataset=MovingSquares(), progress=False)
    assert trainer.motion.config.noise_dim == 3 and trainer.motion.decoder.input_size == 3
    trainer.train()
    loaded = LatentMotionPipeline.from_pretrained(tmp_path / "run" / "pipeline")
    assert loaded.motion.config.noise_dim == 3 and loaded.generate(1, 3).shape[1] == 3
    assert Trainer(smoke_config(), tmp_path / "default", dataset=MovingSquares(), progress=False).motion.config.noise_dim == 8  # the latent width
    with pytest.raises(ConfigError, match="motion.noise_dim must be a finite number > 0"):
        smoke_config({"motion.noise_dim": 0})
