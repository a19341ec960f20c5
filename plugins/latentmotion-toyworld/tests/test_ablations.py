"""Tests of the ablation table: each ablation switches off its part of the method, the verdicts, the script."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from latentmotion_toyworld import reproduce
from latentmotion_toyworld.ablations import ABLATIONS, FIGURES, markdown, select, summarise
from latentmotion_toyworld.bundled import MOTION_LAW
from latentmotion_toyworld.config import WorldConfig
from latentmotion_toyworld.reproduce import train_config
from PIL import Image

import latentmotion
from latentmotion import LatentMotionPipeline
from latentmotion.basis import PCABasis
from latentmotion.errors import ConfigError
from latentmotion.motion import MotionConfig, MotionGenerator
from latentmotion.train import TrainConfig

SCRIPT = Path(__file__).parents[3] / "examples" / "toyworld" / "ablations.py"


def _config(name: str):
    ablation = ABLATIONS[name]
    video = "glow" if ablation.cross_domain else "shapes"
    return train_config(image_variant="shapes", video_variant=video, data="videos", steps=1, seed=0).with_changes(ablation.changes)


def test_each_ablation_removes_its_part_and_nothing_else() -> None:
    full, cross = _config("full"), _config("cross-full")
    assert full.mode == "in-domain" and cross.mode == "cross-domain"
    assert _config("no-residual").motion.residual is False
    assert _config("no-video-discriminator").video_discriminator.enabled is False
    assert _config("no-image-discriminator").image_discriminator.enabled is False
    assert _config("no-mutual-information").motion.mi_weight == 0 < full.motion.mi_weight
    no_contrastive = _config("cross-no-contrastive").contrastive
    assert no_contrastive.weight == 0 < cross.contrastive.weight and no_contrastive.enabled  # L_contr dropped, D_I kept
    for name, ablation in ABLATIONS.items():
        baseline = cross if ablation.cross_domain else full
        changed = {key for key, value in _config(name).to_dict().items() if value != baseline.to_dict()[key]}
        assert changed <= {key.split(".")[0] for key in ablation.changes}, name


def test_select_adds_the_full_method_each_ablation_is_compared_with() -> None:
    assert [a.name for a in select(["cross-no-contrastive"])] == ["cross-full", "cross-no-contrastive"]
    assert [a.name for a in select(["no-residual", "full"])] == ["full", "no-residual"]
    assert [a.name for a in select([])] == list(ABLATIONS)
    with pytest.raises(ConfigError, match=r"unknown ablations \['sideways'\]"):
        select(["sideways"])


def _record(name: str, seed: int, **figures: float) -> dict:
    model = dict.fromkeys(FIGURES, 1.0) | figures
    return {"ablation": name, "seed": seed, "model": model, "headline": {figure: {"excess_ratio": 0.5} for figure in FIGURES}}


def test_a_claim_is_reproduced_only_when_the_figure_grows_beyond_the_seeds_spread() -> None:
    records = [_record("full", seed, trajectory_distance=value) for seed, value in enumerate([1.0, 1.2, 1.1])]
    records += [_record("no-residual", seed, trajectory_distance=value) for seed, value in enumerate([1.5, 1.6, 1.4])]
    records += [_record("no-video-discriminator", seed, trajectory_distance=value) for seed, value in enumerate([1.0, 1.4, 1.2])]
    records += [_record("no-mutual-information", seed, trajectory_distance=value) for seed, value in enumerate([0.9, 1.0, 1.1])]
    table = summarise(records)
    assert table["full"]["mean"]["trajectory_distance"] == pytest.approx(1.1)
    assert table["full"]["std"]["trajectory_distance"] == pytest.approx(0.1)
    assert table["no-residual"]["reproduced"] is True  # 0.4 above, spreads 0.1
    assert table["no-video-discriminator"]["reproduced"] is False  # 0.1 above, spread 0.2
    assert table["no-mutual-information"]["reproduced"] is False  # below
    assert "reproduced" not in table["full"] and "cross-full" not in table
    lines = markdown(table).splitlines()
    assert len(lines) == 2 + 4 and lines[3].startswith("| no-residual | 3 | 1.500 ± 0.100 |") and lines[3].endswith("| yes |")


def test_without_its_full_method_a_claim_has_no_verdict() -> None:
    table = summarise([_record("cross-no-contrastive", 0, colour_acd=3.0)])
    assert table["cross-no-contrastive"]["reproduced"] is None
    assert markdown(table).splitlines()[2].endswith("| - |")


def _run_script(*arguments: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "LATENTMOTION_LOAD_PLUGINS"}
    return subprocess.run([sys.executable, str(SCRIPT), *arguments], check=False, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, list]:
    """The script loaded in this process, training a tiny pipeline and evaluating with figures made from the run's options.

    Training and evaluation themselves are tested elsewhere (they take minutes); this checks how the
    script drives them: which runs it makes, with which changes, what it records, and that it resumes.
    """
    spec = importlib.util.spec_from_file_location("ablations_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls = []

    def train(**options):
        calls.append(options)
        backend = latentmotion.get_backend("tiny", resolution=16, dim=8)
        basis = PCABasis.fit(backend, n_samples=200, batch_size=200)
        motion = MotionGenerator(MotionConfig(latent_dim=8, n_components=4, hidden_dim=16), basis=basis.scaled(4))
        config = train_config(image_variant="shapes", video_variant=options["video_variant"], data="videos", steps=options["steps"], seed=options["seed"])
        return LatentMotionPipeline(backend=backend, basis=basis, motion=motion, n_frames=4), config.with_changes(options["changes"])

    def evaluate(pipeline, world, *, n_videos, seed, untrained_seeds):
        figure = 1.0 + calls[-1]["seed"] / 10 + (1.0 if calls[-1]["changes"] else 0.0)  # an ablation scores 1 worse
        return {"model": dict.fromkeys(FIGURES, figure), "headline": {name: {"excess_ratio": 0.5} for name in FIGURES}}

    monkeypatch.setattr(module, "train_pipeline", train)
    monkeypatch.setattr(module, "evaluate", evaluate)
    return module, calls


def _main(module: ModuleType, monkeypatch: pytest.MonkeyPatch, *arguments: str) -> None:
    monkeypatch.setattr(sys, "argv", ["ablations.py", *arguments])
    module.main()


def test_the_script_runs_each_ablation_and_its_full_method_per_seed_and_resumes(
    script: tuple[ModuleType, list], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    module, calls = script
    figure = tmp_path / "ablations.png"
    arguments = ("--only", "cross-no-contrastive", "--seeds", "2", "--steps", "7", "--videos", "64", "--figure", str(figure))
    _main(module, monkeypatch, "--out", str(tmp_path), *arguments)
    assert [(c["video_variant"], c["seed"], c["changes"], c["steps"]) for c in calls] == [
        ("glow", 0, {}, 7),
        ("glow", 1, {}, 7),
        ("glow", 0, {"contrastive.weight": 0.0}, 7),
        ("glow", 1, {"contrastive.weight": 0.0}, 7),
    ]
    assert calls[0]["run_dir"] == tmp_path / "runs" / "cross-full-seed0"
    assert (tmp_path / "pipelines" / "cross-no-contrastive-seed1" / "config.json").is_file()
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [(r["ablation"], r["seed"], r["model"]["colour_acd"]) for r in records] == [
        ("cross-full", 0, 1.0),
        ("cross-full", 1, 1.1),
        ("cross-no-contrastive", 0, 2.0),
        ("cross-no-contrastive", 1, 2.1),
    ]
    trained = [TrainConfig.from_dict(r["training_config"]) for r in records]  # each record names its recipe
    assert [(c.run.steps, c.run.seed, c.contrastive.weight > 0) for c in trained] == [(7, 0, True), (7, 1, True), (7, 0, False), (7, 1, False)]
    out = capsys.readouterr().out
    assert "| cross-no-contrastive | 2 | " in out and out.rstrip().endswith("| yes |")
    with Image.open(figure) as image:  # a figure of the two rows, 10 x 2.4 inches at 120 dpi
        assert image.format == "PNG" and image.size == (1200, 288)
    with (tmp_path / "results.jsonl").open("a") as file:
        file.write('{"ablation": "cross-no-con')  # a line torn by a crash
    _main(module, monkeypatch, "--out", str(tmp_path), "--only", "cross-no-contrastive", "--seeds", "3", "--videos", "64")
    assert [(c["seed"], c["changes"]) for c in calls[4:]] == [(2, {}), (2, {"contrastive.weight": 0.0})]  # only the new seed
    records = module.read_results(tmp_path / "results.jsonl")
    assert [(r["ablation"], r["seed"]) for r in records[4:]] == [("cross-full", 2), ("cross-no-contrastive", 2)]  # none lost to the torn line
    assert {r["training_config"]["run"]["steps"] for r in records[4:]} == {reproduce.STEPS["cross-domain"]}  # without --steps, the recipe's


def test_the_recipe_trains_with_the_changes_on_videos_of_the_motion_law(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    class Recorder:
        def __init__(self, config, run_dir, *, resume):
            seen.update(config=config, run_dir=run_dir, resume=resume, truth=json.loads((Path(config.data.path) / "ground_truth.json").read_text()))

        def train(self):
            return "pipeline"

    monkeypatch.setattr(reproduce, "Trainer", Recorder)
    pipeline, config = reproduce.train_pipeline(
        image_variant="shapes", video_variant="glow", videos=2, steps=9, seed=4, run_dir=tmp_path, changes={"contrastive.enabled": False}
    )
    assert pipeline == "pipeline" and config is seen["config"]
    assert config.mode == "cross-domain" and config.contrastive.enabled is False and config.run.steps == 9 and config.run.seed == 4
    assert seen["run_dir"] == tmp_path / "run" and seen["resume"] is False
    assert Path(config.data.path) == tmp_path / "videos"  # in the run's folder, where a resumed run finds them again
    assert seen["truth"]["config"] == WorldConfig(variant="glow", n_frames=32, **MOTION_LAW).to_dict() and seen["truth"]["seed"] == 5


@pytest.mark.usefixtures("registered")  # the toy backend loads through the plugin
def test_an_interrupted_recipe_run_resumes_on_the_same_videos(tmp_path: Path) -> None:
    # Small: two videos, a basis from 2,000 samples, a checkpoint after every iteration.
    changes = {"motion.basis_samples": 2000, "run.checkpoint_every": 1, "run.preview_every": 0, "data.batch_size": 2}
    reproduce.train_pipeline(image_variant="shapes", video_variant="shapes", videos=2, steps=1, seed=0, run_dir=tmp_path, changes=changes)
    truth = (tmp_path / "videos" / "ground_truth.json").stat().st_mtime_ns
    _, config = reproduce.train_pipeline(image_variant="shapes", video_variant="shapes", videos=2, steps=2, seed=0, run_dir=tmp_path, changes=changes)
    steps = [json.loads(line)["step"] for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines() if '"step"' in line]
    assert steps[-1] == 2 and config.data.path == str(tmp_path / "videos")
    assert (tmp_path / "videos" / "ground_truth.json").stat().st_mtime_ns == truth  # the videos were not rendered again
    with pytest.raises(ConfigError, match="another world or seed.*new run folder"):
        reproduce.train_pipeline(image_variant="shapes", video_variant="shapes", videos=2, steps=3, seed=1, run_dir=tmp_path, changes=changes)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (("--only", "sideways"), "unknown ablations"),
        (("--videos", "10"), "--videos must be at least"),
        (("--figure", "table.pdf"), "--figure must name a .png file"),
    ],
    ids=["unknown ablation", "too few videos", "figure not a png"],
)
def test_the_script_reports_bad_input_in_one_line(tmp_path: Path, arguments: tuple[str, ...], fragment: str) -> None:
    result = _run_script("--out", str(tmp_path / "out"), *arguments)
    assert result.returncode == 2 and result.stdout == "", result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and fragment in result.stderr, result.stderr
