"""Hub loading and pushing, offline: a local cache laid out as the Hub lays it out, HfApi patched."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from huggingface_hub import HfApi, ModelCard, constants
from huggingface_hub.errors import RepositoryNotFoundError
from huggingface_hub.hf_api import CommitInfo
from safetensors.torch import load_file, save_file

import latentmotion
from latentmotion.basis import PCABasis
from latentmotion.errors import CheckpointError, ConfigError, HubError
from latentmotion.hookspecs import hookimpl
from latentmotion.hub import (
    BUNDLE_DIR,
    CardInfo,
    bundle_backend_files,
    fetch,
    is_repo_id,
    resolve_backend_options,
)
from latentmotion.motion import MotionConfig, MotionGenerator
from latentmotion.pipeline import LatentMotionPipeline
from latentmotion.plugins import pm
from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.tiny import tiny_backend
from latentmotion.train import Trainer
from latentmotion.video import read_video, to_uint8

SHA_A = "a" * 40
SHA_B = "b" * 40



def cache_repo(cache, repo_id, folder, *, sha=SHA_A, refs=("main",)):
    """Lay out `folder`'s files as the Hub cache holds a downloaded snapshot: blobs, refs, symlinks."""
    storage = cache / f"models--{repo_id.replace('/', '--')}"
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            blob = storage / "blobs" / hashlib.sha256(content).hexdigest()
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(content)
            link = storage / "snapshots" / sha / path.relative_to(folder)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
    (storage / "snapshots" / sha).mkdir(parents=True, exist_ok=True)
    for ref in refs:
        (storage / "refs").mkdir(parents=True, exist_ok=True)
        (storage / "refs" / ref).write_text(sha)


def make_pipeline(backend, *, bias):
    basis = PCABasis.fit(backend, n_samples=500, batch_size=250)
    torch.manual_seed(0)
    motion = MotionGenerator(MotionConfig(latent_dim=8, n_components=6, hidden_dim=16), basis=basis.scaled(6))
    with torch.no_grad():  # a visible motion
        motion.coefficients.bias.fill_(bias)
    return LatentMotionPipeline(backend=backend, basis=basis, motion=motion, n_frames=4, fps=8)


@pytest.fixture(scope="module")
def pipeline():
    return make_pipeline(latentmotion.get_backend("tiny", resolution=16, dim=8), bias=0.5)


@pytest.fixture(scope="module")
def other_pipeline():
    return make_pipeline(latentmotion.get_backend("tiny", resolution=16, dim=8), bias=-0.5)


def test_load_by_repo_id_from_the_cache(pipeline, hub_cache, tmp_path):
    with pytest.raises(CheckpointError, match="not in the local Hub cache"):
        LatentMotionPipeline.from_pretrained("acme/tiny-motion")
    cache_repo(hub_cache, "acme/tiny-motion", pipeline.save_pretrained(tmp_path / "pipe"))
    loaded = LatentMotionPipeline.from_pretrained("acme/tiny-motion")
    assert torch.equal(loaded.generate(2, seed=3), pipeline.generate(2, seed=3))


def test_explicit_cache_dir_and_local_files_only(pipeline, hub_cache, tmp_path):
    cache_repo(tmp_path / "elsewhere", "acme/tiny-motion", pipeline.save_pretrained(tmp_path / "pipe"))
    with pytest.raises(CheckpointError):
        LatentMotionPipeline.from_pretrained("acme/tiny-motion")
    loaded = LatentMotionPipeline.from_pretrained("acme/tiny-motion", cache_dir=tmp_path / "elsewhere", local_files_only=True)
    assert torch.equal(loaded.generate(1, seed=0), pipeline.generate(1, seed=0))


def test_pinned_revision_by_tag_and_by_commit(pipeline, other_pipeline, hub_cache, tmp_path):
    cache_repo(hub_cache, "acme/tiny-motion", pipeline.save_pretrained(tmp_path / "a"), sha=SHA_A, refs=("main",))
    cache_repo(hub_cache, "acme/tiny-motion", other_pipeline.save_pretrained(tmp_path / "b"), sha=SHA_B, refs=("v1",))
    main = pipeline.generate(1, seed=0)
    tagged = other_pipeline.generate(1, seed=0)
    assert not torch.equal(main, tagged)
    assert torch.equal(LatentMotionPipeline.from_pretrained("acme/tiny-motion").generate(1, seed=0), main)
    assert torch.equal(LatentMotionPipeline.from_pretrained("acme/tiny-motion", revision="v1").generate(1, seed=0), tagged)
    assert torch.equal(LatentMotionPipeline.from_pretrained("acme/tiny-motion", revision=SHA_B).generate(1, seed=0), tagged)
    with pytest.raises(CheckpointError, match=r"revision v2\) is not in the local Hub cache"):
        LatentMotionPipeline.from_pretrained("acme/tiny-motion", revision="v2")


def test_missing_repo_offline_says_so(hub_cache):
    with pytest.raises(CheckpointError, match="'acme/nothing' .* not in the local Hub cache and the Hub cannot be reached"):
        LatentMotionPipeline.from_pretrained("acme/nothing")


def test_repo_that_does_not_exist_on_the_hub(hub_cache, monkeypatch):
    import httpx2

    def not_found(self, repo_id, **kwargs):
        response = httpx2.Response(404, request=httpx2.Request("GET", f"https://huggingface.co/api/models/{repo_id}"))
        raise RepositoryNotFoundError("Repository Not Found", response=response)

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(HfApi, "repo_info", not_found)
    with pytest.raises(HubError, match="'acme/nothing' does not exist, or is private"):
        LatentMotionPipeline.from_pretrained("acme/nothing")


# ----------------------------------------------------------------------------------------------
# fetch: a local path, or files of a Hub repo through the cache, errors mapped once.


def test_fetch_a_local_file_or_files_of_a_local_folder(tmp_path):
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "a.bin").write_bytes(b"a")
    (tmp_path / "w" / "b.json").write_text("{}")
    assert fetch(tmp_path / "w" / "a.bin") == [(tmp_path / "w" / "a.bin").resolve()]
    assert fetch(str(tmp_path / "w"), filenames=["a.bin", "b.json"]) == [(tmp_path / "w" / name).resolve() for name in ("a.bin", "b.json")]
    with pytest.raises(CheckpointError, match="toy weights folder .* lacks c.bin; it needs a.bin, c.bin"):
        fetch(tmp_path / "w", filenames=["a.bin", "c.bin"], what="toy weights")
    with pytest.raises(ConfigError, match="revision='v1' applies to Hub repos"):
        fetch(tmp_path / "w" / "a.bin", revision="v1")
    with pytest.raises(ConfigError, match="is a folder: name the file inside it"):
        fetch(tmp_path / "w")
    with pytest.raises(CheckpointError, match="neither an existing file or folder nor a Hub repo id"):
        fetch(tmp_path / "absent.bin")


def test_fetch_files_of_a_hub_repo_from_the_cache(pipeline, hub_cache, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "pipe")
    cache_repo(hub_cache, "acme/motion", folder, refs=("main", "v1"))
    config, basis = fetch("acme/motion", filenames=["config.json", "basis.safetensors"], revision="v1")
    assert config.read_bytes() == (folder / "config.json").read_bytes()
    assert basis.read_bytes() == (folder / "basis.safetensors").read_bytes()
    with pytest.raises(ConfigError, match="needs the file name inside the repo"):
        fetch("acme/motion")
    with pytest.raises(HubError, match="'other.bin' of Hub repo 'acme/motion' \\(revision main\\) is not in the local Hub cache"):
        fetch("acme/motion", filenames=["other.bin"])
    with pytest.raises(HubError, match="not in the local Hub cache"):
        fetch("acme/absent", filenames=["config.json"])


@pytest.mark.parametrize(
    ("raised", "message"),
    [
        ("GatedRepoError", "'acme/gated' is gated: accept its conditions"),
        ("RepositoryNotFoundError", "'acme/gated' does not exist, or is private"),
        ("RevisionNotFoundError", "'acme/gated' has no branch, tag or commit 'v9'"),
        ("RemoteEntryNotFoundError", "'acme/gated' \\(revision v9\\) has no file 'g.bin'"),
        ("HfHubHTTPError", "could not download 'g.bin' of Hub repo 'acme/gated' \\(revision v9\\): Server Error boom"),
    ],
)
def test_fetch_maps_every_hub_error_to_one_line(monkeypatch, raised, message):
    import httpx2
    import huggingface_hub
    from huggingface_hub import errors

    def download(repo_id, filename, **kwargs):
        response = httpx2.Response(500, request=httpx2.Request("GET", f"https://huggingface.co/{repo_id}/{filename}"))
        raise getattr(errors, raised)("Server Error\nboom", response=response)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    with pytest.raises(HubError, match=message) as caught:
        fetch("acme/gated", filenames=["g.bin"], revision="v9")
    assert "\n" not in str(caught.value)


def test_missing_file_in_the_snapshot(pipeline, hub_cache, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "pipe")
    (folder / "motion.safetensors").unlink()
    cache_repo(hub_cache, "acme/partial", folder)
    with pytest.raises(CheckpointError, match="has no motion.safetensors"):
        LatentMotionPipeline.from_pretrained("acme/partial")


def test_a_repo_of_another_library_is_not_a_pipeline(hub_cache, tmp_path):
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    save_file({"weight": torch.zeros(2)}, str(folder / "model.safetensors"))
    cache_repo(hub_cache, "acme/bert", folder)
    with pytest.raises(CheckpointError, match="not a latentmotion pipeline"):
        LatentMotionPipeline.from_pretrained("acme/bert")


def test_repo_id_shape():
    assert is_repo_id("acme/motion")
    assert not any(map(is_repo_id, ["motion", "a/b/c", "/abs/path", "./rel", "acme/", "/motion", "acme/.hidden"]))


# ----------------------------------------------------------------------------------------------
# Pushing (HfApi patched: no network).


class FakeHub:
    """Records create_repo/upload_folder calls and keeps a copy of each uploaded folder."""

    def __init__(self, root):
        self.root = root
        self.created = []
        self.uploads = []

    def install(self, monkeypatch):
        hub = self

        def create_repo(api, repo_id, **kwargs):
            hub.created.append((repo_id, kwargs))
            return f"https://huggingface.co/{repo_id}"

        def upload_folder(api, *, repo_id, folder_path, **kwargs):
            copy = hub.root / f"upload-{len(hub.uploads)}"
            shutil.copytree(folder_path, copy)
            hub.uploads.append((repo_id, copy, kwargs))
            url = f"https://huggingface.co/{repo_id}/commit/{'c' * 40}"
            return CommitInfo(commit_url=url, commit_message=kwargs["commit_message"], commit_description="", oid="c" * 40)

        monkeypatch.setattr(HfApi, "create_repo", create_repo)
        monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
        return self


def test_push_uploads_the_pipeline_and_a_model_card(pipeline, tmp_path, monkeypatch):
    hub = FakeHub(tmp_path).install(monkeypatch)
    url = pipeline.push_to_hub("acme/tiny-motion", private=True, commit_message="first")
    assert url == f"https://huggingface.co/acme/tiny-motion/commit/{'c' * 40}"
    assert hub.created == [("acme/tiny-motion", {"private": True, "exist_ok": True})]
    [(repo_id, folder, kwargs)] = hub.uploads
    assert repo_id == "acme/tiny-motion" and kwargs["commit_message"] == "first"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "basis.safetensors", "config.json", "motion.safetensors", "sample.gif"]
    assert json.loads((folder / "config.json").read_text()) == pipeline.config()
    card = (folder / "README.md").read_text()
    assert ModelCard.load(folder / "README.md").data.library_name == "latentmotion"
    assert "- latentmotion-tiny\n" in card
    assert 'LatentMotionPipeline.from_pretrained("acme/tiny-motion")' in card
    assert "latentmotion generate --pipeline acme/tiny-motion" in card
    assert "| Resolution | 16 x 16 |" in card
    state = load_file(str(folder / "motion.safetensors"))
    assert all(torch.equal(state[k], v) for k, v in pipeline.motion.state_dict().items())


def test_push_refuses_a_malformed_repo_id(pipeline):
    with pytest.raises(ConfigError, match="'org/name'"):
        pipeline.push_to_hub("no-slash")


def test_push_while_offline_is_a_clear_error(pipeline, hub_cache):
    with pytest.raises(CheckpointError, match="offline mode is on"):
        pipeline.push_to_hub("acme/tiny-motion")


# ----------------------------------------------------------------------------------------------
# Backend weights from a local file travel with the pushed pipeline.


def load_tiny_file(*, weights, notes=None):
    """The tiny generator, its weights read from a safetensors file (a backend with a file option, `weights`)."""
    backend = tiny_backend(resolution=16, dim=8)
    backend.network.load_state_dict(load_file(weights), strict=True)
    backend.file_options = ("weights",)
    return backend


class TinyFilePlugin:
    @hookimpl
    def register_backends(self, register):
        register("tiny-file", load_tiny_file, description="tiny generator with weights from a file (tests)")


@pytest.fixture
def file_backend(tmp_path):
    weights = tmp_path / "weights" / "generator.safetensors"
    weights.parent.mkdir()
    save_file(tiny_backend(resolution=16, dim=8, seed=7).network.state_dict(), str(weights))
    pm.register(TinyFilePlugin(), name="test-tiny-file")
    yield weights
    pm.unregister(name="test-tiny-file")


def test_one_id_loads_everything_including_bundled_backend_weights(file_backend, hub_cache, tmp_path, monkeypatch):
    pipeline = make_pipeline(latentmotion.get_backend("tiny-file", weights=str(file_backend)), bias=0.5)
    hub = FakeHub(tmp_path).install(monkeypatch)
    pipeline.push_to_hub("acme/bundled")
    [(_, folder, kwargs)] = hub.uploads
    assert kwargs["delete_patterns"] == [f"{BUNDLE_DIR}/*"]
    config = json.loads((folder / "config.json").read_text())
    assert config["backend"] == {"name": "tiny-file", "options": {"weights": "backend/weights/generator.safetensors"}}
    assert (folder / "backend" / "weights" / "generator.safetensors").read_bytes() == file_backend.read_bytes()
    expected = pipeline.generate(2, seed=1)
    cache_repo(hub_cache, "acme/bundled", folder)
    file_backend.unlink()  # the original weights are gone: only the repo holds them now
    loaded = LatentMotionPipeline.from_pretrained("acme/bundled")
    assert Path(loaded.backend.options["weights"]).is_relative_to(hub_cache.resolve() / "models--acme--bundled")
    assert torch.equal(loaded.generate(2, seed=1), expected)


def test_only_declared_file_options_are_uploaded(file_backend, tmp_path, monkeypatch):
    notes = tmp_path / "notes.txt"
    notes.write_text("not weights")
    relative = os.path.relpath(file_backend)
    backend = latentmotion.get_backend("tiny-file", weights=relative, notes=str(notes))
    assert backend.options == {"weights": str(file_backend.resolve()), "notes": str(notes)}  # the file option made absolute
    hub = FakeHub(tmp_path).install(monkeypatch)
    make_pipeline(backend, bias=0.5).push_to_hub("acme/bundled")
    [(_, folder, _)] = hub.uploads
    config = json.loads((folder / "config.json").read_text())
    assert config["backend"]["options"] == {"weights": "backend/weights/generator.safetensors", "notes": str(notes)}
    assert sorted(path.name for path in (folder / "backend").rglob("*") if path.is_file()) == ["generator.safetensors"]


def test_a_hub_repo_in_a_file_option_is_kept_as_a_reference(tmp_path):
    options = {"weights": "acme/weights", "dim": 8}
    assert bundle_backend_files(options, tmp_path, file_options=("weights",)) == options
    assert not (tmp_path / "backend").exists()


def test_push_refuses_backend_weights_that_are_gone(file_backend, tmp_path, monkeypatch):
    pipeline = make_pipeline(latentmotion.get_backend("tiny-file", weights=str(file_backend)), bias=0.5)
    hub = FakeHub(tmp_path).install(monkeypatch)
    file_backend.unlink()
    with pytest.raises(ConfigError, match="backend option 'weights' names .* which does not exist"):
        pipeline.push_to_hub("acme/bundled")
    assert hub.uploads == []


def test_bundled_paths_must_stay_inside_the_pipeline(tmp_path):
    (tmp_path / "backend" / "w").mkdir(parents=True)
    (tmp_path / "backend" / "w" / "g.bin").write_bytes(b"x")
    assert resolve_backend_options({"w": "backend/w/g.bin", "dim": 8, "name": "cat"}, tmp_path) == {
        "w": str(tmp_path / "backend/w/g.bin"),
        "dim": 8,
        "name": "cat",
    }
    with pytest.raises(CheckpointError, match="outside"):
        resolve_backend_options({"w": "backend/../../secret"}, tmp_path)
    with pytest.raises(CheckpointError, match="missing from the pipeline"):
        resolve_backend_options({"w": "backend/w/absent.bin"}, tmp_path)


# ----------------------------------------------------------------------------------------------
# A pipeline reads files from its own folder only.


@pytest.mark.parametrize("value", ["/etc/hostname", "~/weights.pt", "../weights.pt", "weights.pt", "backend/../../weights.pt"])
def test_options_naming_files_outside_the_pipeline_are_refused(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weights.pt").write_bytes(b"x")  # an existing file beside the pipeline, reached relative to the working folder
    (tmp_path / "pipeline").mkdir()
    with pytest.raises(CheckpointError, match="outside the pipeline"):
        resolve_backend_options({"weights": value}, tmp_path / "pipeline")


def test_a_link_under_backend_that_leads_outside_is_refused(tmp_path):
    (tmp_path / "secret.pt").write_bytes(b"x")
    (tmp_path / "pipeline" / "backend" / "w").mkdir(parents=True)
    (tmp_path / "pipeline" / "backend" / "w" / "g.pt").symlink_to(tmp_path / "secret.pt")
    with pytest.raises(CheckpointError, match="a link that leads outside the pipeline"):
        resolve_backend_options({"w": "backend/w/g.pt"}, tmp_path / "pipeline")


def test_a_snapshots_links_into_the_repos_blobs_are_followed(tmp_path):
    (tmp_path / "pipeline" / "backend" / "w").mkdir(parents=True)
    (tmp_path / "pipeline" / "backend" / "w" / "g.pt").write_bytes(b"x")
    cache_repo(tmp_path / "cache", "acme/w", tmp_path / "pipeline")
    snapshot = tmp_path / "cache" / "models--acme--w" / "snapshots" / SHA_A
    assert resolve_backend_options({"w": "backend/w/g.pt"}, snapshot) == {"w": str(snapshot / "backend/w/g.pt")}


def test_save_pretrained_copies_the_backends_files_into_the_folder(file_backend, tmp_path):
    pipeline = make_pipeline(latentmotion.get_backend("tiny-file", weights=str(file_backend)), bias=0.5)
    folder = pipeline.save_pretrained(tmp_path / "saved")
    config = json.loads((folder / "config.json").read_text())
    assert config["backend"]["options"] == {"weights": "backend/weights/generator.safetensors"}
    expected = pipeline.generate(2, seed=1)
    file_backend.unlink()  # the folder holds everything
    loaded = LatentMotionPipeline.from_pretrained(folder)
    assert torch.equal(loaded.generate(2, seed=1), expected)
    loaded.save_pretrained(folder)  # saved again in place: its own files stay
    assert LatentMotionPipeline.from_pretrained(folder).generate(2, seed=1).equal(expected)


def test_every_file_of_a_saved_pipeline_has_one_mode(pipeline, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "saved")
    modes = {path.name: path.stat().st_mode & 0o777 for path in folder.iterdir()}
    mask = os.umask(0o022)
    os.umask(mask)
    assert set(modes.values()) == {0o666 & ~mask}, modes


class TransportError(Exception):
    """The family of "cannot connect" errors of httpx, which huggingface_hub uses."""


class ConnectError(TransportError):
    pass


def test_push_without_network_is_one_typed_error(pipeline, monkeypatch):
    def unreachable(api, repo_id, **kwargs):
        raise ConnectError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(HfApi, "create_repo", unreachable)
    with pytest.raises(HubError, match="cannot reach the Hub"):
        pipeline.push_to_hub("acme/tiny-motion")


# ----------------------------------------------------------------------------------------------
# Model cards: the Hub's structured metadata, a sample, regenerated at every save.

EVALUATED = CardInfo(
    license="mit",
    datasets=["acme/toy-videos"],
    metrics={"motion_distance": 0.317, "colour_acd": 1.11},
    evaluation="toy world, 1,024 videos",
    training={"mode": "in-domain", "optim": {"lr": 0.0001}},
)


def load_tiny_hub(*, source="acme/biggan-like", filename="g.safetensors"):
    """The tiny generator, as if its weights came from the Hub repo `source` (a backend with a file option)."""
    backend = tiny_backend(resolution=16, dim=8)
    backend.file_options = ("source",)
    return backend


class TinyHubPlugin:
    @hookimpl
    def register_backends(self, register):
        register("tiny-hub", load_tiny_hub, description="tiny generator whose weights name a Hub repo (tests)")


@pytest.fixture
def hub_backend():
    pm.register(TinyHubPlugin(), name="test-tiny-hub")
    yield
    pm.unregister(name="test-tiny-hub")


def test_the_card_holds_the_hubs_structured_metadata(pipeline, tmp_path):
    pipeline = make_pipeline(pipeline.backend, bias=0.5)
    pipeline.card = EVALUATED
    folder = pipeline.save_pretrained(tmp_path / "tiny-motion")
    card = ModelCard.load(folder / "README.md")
    data = card.data
    assert data.library_name == "latentmotion"
    assert data.license == "mit"
    assert {"video-generation", "mocogan-hd", "tiny"} <= set(data.tags)
    assert data.datasets == ["acme/toy-videos"]
    assert data.base_model is None  # the tiny backend's weights come from no Hub repo
    assert {result.metric_type: result.metric_value for result in data.eval_results} == EVALUATED.metrics
    assert {result.dataset_name for result in data.eval_results} == {"toy world, 1,024 videos"}
    assert data.to_dict()["training_config"] == EVALUATED.training
    assert 'LatentMotionPipeline.from_pretrained("tiny-motion")' in card.text
    assert "![A sample video (seed 0)](sample.gif)" in card.text
    assert '"lr": 0.0001' in card.text and "| motion_distance | 0.317 |" in card.text


def test_a_card_without_evaluation_or_licence_invents_none(pipeline, tmp_path):
    data = ModelCard.load(pipeline.save_pretrained(tmp_path / "p") / "README.md").data
    assert data.license == "unknown"
    assert data.eval_results is None and data.metrics is None and data.datasets is None
    assert "training_config" not in data.to_dict()


def test_base_model_is_the_hub_repo_the_backends_weights_come_from(hub_backend, tmp_path, monkeypatch):
    pipeline = make_pipeline(latentmotion.get_backend("tiny-hub", source="acme/biggan-like"), bias=0.5)
    hub = FakeHub(tmp_path).install(monkeypatch)
    pipeline.push_to_hub("acme/motion")
    [(_, folder, _)] = hub.uploads
    card = ModelCard.load(folder / "README.md")
    assert card.data.base_model in ("acme/biggan-like", ["acme/biggan-like"])
    assert 'LatentMotionPipeline.from_pretrained("acme/motion")' in card.text


def test_the_sample_is_a_small_gif_of_the_pipelines_video(pipeline, tmp_path):
    folder = pipeline.save_pretrained(tmp_path / "p")
    frames = read_video(folder / "sample.gif")
    assert frames.shape == (pipeline.n_frames, 3, 16, 16)  # the pipeline's length (at most 16 frames) and resolution
    expected = to_uint8(pipeline.generate(1, pipeline.n_frames, seed=0)[0])
    assert (frames.int() - expected.int()).abs().max() <= 8  # GIF's palette
    folder = pipeline.save_pretrained(folder, sample=False)  # a slow backend: no sample, and no stale one
    assert not (folder / "sample.gif").exists()
    assert "sample.gif" not in (folder / "README.md").read_text()


def test_metrics_must_be_finite_numbers():
    for metrics in ({"fvd": float("nan")}, {"fvd": "low"}, {"": 1.0}, {"fvd": True}):
        with pytest.raises(ConfigError, match="finite numbers"):
            CardInfo(metrics=metrics)


def test_a_loaded_pipeline_keeps_its_card_when_pushed(pipeline, tmp_path, monkeypatch):
    pipeline = make_pipeline(pipeline.backend, bias=0.5)
    pipeline.card = EVALUATED
    loaded = LatentMotionPipeline.from_pretrained(pipeline.save_pretrained(tmp_path / "p"))
    assert loaded.card == EVALUATED
    hub = FakeHub(tmp_path).install(monkeypatch)
    loaded.push_to_hub("acme/evaluated")
    [(_, folder, _)] = hub.uploads
    data = ModelCard.load(folder / "README.md").data
    assert data.license == "mit" and data.to_dict()["training_config"] == EVALUATED.training
    assert {result.metric_type for result in data.eval_results} == {"motion_distance", "colour_acd"}


def test_your_own_card_text_is_written_as_it_is(pipeline, tmp_path, monkeypatch):
    folder = pipeline.save_pretrained(tmp_path / "p", card_text="# Mine\n")
    assert (folder / "README.md").read_text() == "# Mine\n"
    hub = FakeHub(tmp_path).install(monkeypatch)
    pipeline.push_to_hub("acme/mine", card_text="# Mine, pushed\n", sample=False)
    [(_, uploaded, _)] = hub.uploads
    assert (uploaded / "README.md").read_text() == "# Mine, pushed\n" and not (uploaded / "sample.gif").exists()
    assert LatentMotionPipeline.from_pretrained(folder).card == CardInfo()  # a card without our metadata carries nothing


def test_a_retrained_pipeline_gets_a_fresh_card(tmp_path):
    config = smoke_config({"run.steps": 1, "run.checkpoint_every": 1})
    Trainer(config, tmp_path / "run", dataset=MovingSquares(), progress=False).train()
    folder = tmp_path / "run" / "pipeline"
    data = ModelCard.load(folder / "README.md").data
    assert data.to_dict()["training_config"] == config.to_dict() and data.eval_results is None
    evaluated = LatentMotionPipeline.from_pretrained(folder)  # evaluated, then saved in place
    evaluated.card = CardInfo(metrics={"motion_distance": 0.5}, training=evaluated.card.training)
    evaluated.save_pretrained(folder)
    assert ModelCard.load(folder / "README.md").data.eval_results[0].metric_value == 0.5
    sample = (folder / "sample.gif").read_bytes()
    longer = smoke_config({"run.steps": 3, "run.checkpoint_every": 1})
    Trainer(longer, tmp_path / "run", dataset=MovingSquares(), resume=True, progress=False).train()
    data = ModelCard.load(folder / "README.md").data
    assert data.to_dict()["training_config"]["run"]["steps"] == 3  # this run's configuration
    assert data.eval_results is None  # the old evaluation scored other weights
    assert (folder / "sample.gif").read_bytes() != sample  # the new weights' video
