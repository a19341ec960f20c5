"""The long-video example: windows of a long video, its drift, and interpolation."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from latentmotion_toyworld.config import WorldConfig

from latentmotion import LatentMotionPipeline
from latentmotion.errors import ConfigError

SCRIPT = Path(__file__).parents[3] / "examples" / "toyworld" / "long_videos.py"

pytestmark = pytest.mark.usefixtures("registered")  # the bundled pipelines load through the plugin


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("long_videos", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_long_video_is_measured_window_by_window_and_extends_the_short_one(example) -> None:
    pipeline = LatentMotionPipeline.from_pretrained("toy")
    world = WorldConfig(resolution=pipeline.backend.resolution, n_frames=16)
    report = example.long_video_report(pipeline, world, n_videos=8, window=4, interpolation=3, seed=0)
    assert report["extends_the_short_video"]  # the same seed with more frames extends the same videos
    assert [row["frames"] for row in report["windows"]] == [[0, 3], [4, 7], [8, 11], [12, 15]]
    assert set(report["windows"][0]["model"]) == set(example.FIGURES)
    assert report["drift"]["window_starts"] == [0, 4, 8, 12]
    assert report["drift"]["colour_from_frame_0"]["model"][0] == 0.0
    assert report["drift"]["latent_from_content_in_first_steps"][0] == 0.0
    smooth = report["interpolation"]
    assert smooth["frames"] == 13 and smooth["keyframes_are_the_plain_frames"]
    assert 3 < smooth["speed_ratio"] < 5  # 4 frames for each step: about 4 times slower


def test_too_short_a_video_is_refused(example) -> None:
    pipeline = LatentMotionPipeline.from_pretrained("toy")
    with pytest.raises(ConfigError, match="at least two of them"):
        example.long_video_report(pipeline, WorldConfig(resolution=pipeline.backend.resolution, n_frames=6), n_videos=8, window=4, interpolation=1, seed=0)


def test_the_script_reports_bad_input_in_one_line() -> None:
    env = {name: value for name, value in os.environ.items() if name != "LATENTMOTION_LOAD_PLUGINS"}
    result = subprocess.run([sys.executable, str(SCRIPT), "--window", "2"], check=False, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
