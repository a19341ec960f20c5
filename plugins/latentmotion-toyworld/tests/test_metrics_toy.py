"""The bundled `toy` pipeline evaluated with latentmotion.metrics against the toy world's own videos, end to end."""

import json

import pytest
import torch
from latentmotion_toyworld.config import WorldConfig
from latentmotion_toyworld.dataset import write_dataset
from safetensors.torch import save_file
from typer.testing import CliRunner

from latentmotion import LatentMotionPipeline, cli
from latentmotion.metrics.cache import FeatureCache
from latentmotion.metrics.evaluate import evaluate
from latentmotion.metrics.i3d import I3DConfig, InceptionI3d

pytestmark = [pytest.mark.usefixtures("registered", "one_thread")]

N_VIDEOS = 4
DETECTOR_SIZE = 32  # the protocol's 224 would cost seconds a clip on this machine; the code path is the same


@pytest.fixture(scope="module")
def world_videos(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("world") / "videos", WorldConfig(n_frames=16), N_VIDEOS, seed=0)


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    """A small I3D with random weights, saved as safetensors as `latentmotion convert i3d` writes them."""
    torch.manual_seed(0)
    network = InceptionI3d(I3DConfig(width=1 / 16))
    path = tmp_path_factory.mktemp("detector") / "i3d.safetensors"
    save_file({key: value.contiguous() for key, value in network.state_dict().items()}, str(path))
    return path


def test_the_toy_pipeline_evaluates_against_toy_world_videos(world_videos, detector, tmp_path):
    pipeline = LatentMotionPipeline.from_pretrained("toy", device="cpu")
    cache = FeatureCache(tmp_path / "cache")
    options = {"metrics": ["fvd16", "acd"], "detector": detector, "n_videos": N_VIDEOS, "detector_size": DETECTOR_SIZE, "cache": cache}
    figures = evaluate(pipeline, world_videos, **options)
    assert figures["fvd16"].value > 0
    assert (figures["fvd16"].protocol.resolution, figures["fvd16"].protocol.n_frames, figures["fvd16"].protocol.n_videos) == (64, 16, N_VIDEOS)
    assert figures["acd"].value > 0 and figures["acd"].extra["real_value"] > 0
    again = evaluate(pipeline, world_videos, **{**options, "metrics": ["fvd16"]})["fvd16"]
    assert again.extra["real_features_cached"] and again.value == pytest.approx(figures["fvd16"].value, rel=1e-12)


def test_latentmotion_evaluate_on_the_default_pipeline(world_videos, detector, tmp_path):
    result = CliRunner().invoke(
        cli.app,
        ["evaluate", "toy", "--data", str(world_videos), "--metric", "fvd16", "--detector", str(detector), "-n", str(N_VIDEOS),
         "--detector-size", str(DETECTOR_SIZE), "--cache-dir", str(tmp_path), "--device", "cpu", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figure = json.loads(result.stdout)["figures"]["fvd16"]
    assert figure["value"] > 0 and figure["protocol"]["detector"] == "i3d.safetensors"
