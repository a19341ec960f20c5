"""Tests of the ablation table: each ablation switches off its part of the method, the verdicts, the script."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from latentmotion_toyworld.ablations import ABLATIONS, FIGURES, markdown, select, summarise
from latentmotion_toyworld.reproduce import train_config

from latentmotion.errors import ConfigError

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
    assert _config("cross-no-contrastive").contrastive.enabled is False
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
    return subprocess.run([sys.executable, str(SCRIPT), *arguments], check=False, capture_output=True, text=True, env=env, timeout=600)


def test_the_script_trains_evaluates_and_resumes_without_running_a_recorded_run_again(tmp_path: Path) -> None:
    small = ("--seeds", "1", "--steps", "2", "--train-videos", "4", "--videos", "64", "--untrained-seeds", "1")
    result = _run_script("--out", str(tmp_path), "--only", "no-mutual-information", *small)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [(r["ablation"], r["seed"]) for r in records] == [("full", 0), ("no-mutual-information", 0)]
    assert set(records[0]["model"]) >= set(FIGURES) and records[0]["cpu_minutes"] > 0
    assert (tmp_path / "pipelines" / "no-mutual-information-seed0" / "config.json").is_file()
    assert "| no-mutual-information | 1 |" in result.stdout
    with (tmp_path / "results.jsonl").open("a") as file:
        file.write('{"ablation": "no-resid')  # a line torn by a crash
    again = _run_script("--out", str(tmp_path), "--only", "no-mutual-information", *small)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "results.jsonl").read_text().count("\n") == 2  # nothing ran again


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [(("--only", "sideways"), "unknown ablations"), (("--videos", "10"), "--videos must be at least")],
    ids=["unknown ablation", "too few videos"],
)
def test_the_script_reports_bad_input_in_one_line(tmp_path: Path, arguments: tuple[str, ...], fragment: str) -> None:
    result = _run_script("--out", str(tmp_path / "out"), *arguments)
    assert result.returncode == 2 and result.stdout == "", result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and fragment in result.stderr, result.stderr
