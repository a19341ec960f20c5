"""The Hugging Face Hub side of latentmotion: fetch backend weights, download and push pipelines.

[fetch][latentmotion.hub.fetch] turns a backend's weight option (a local path, or a Hub repo id
with file names and a revision) into local files; every backend plugin uses it, so that downloads
go through the Hub cache (`HF_HUB_CACHE`), work offline once cached (`HF_HUB_OFFLINE=1`), and
fail with one typed error whose message says what to do.

A pipeline on the Hub is a model repo holding the files of a pipeline folder (`config.json`,
`motion.safetensors`, `basis.safetensors`, a model card `README.md` generated for the repo, and a
sample video `sample.gif`; see [model_card][latentmotion.hub.model_card]). One id loads everything,
backend weights included. `config.json` records the backend's options, and those say where its
weights come from. A backend declares which of its options name files
([file_options][latentmotion.backend.ImageGeneratorBackend.file_options]); for those:

- a Hub repo id (e.g. BigGAN's `source="osanseviero/BigGAN-deep-128"`) is kept as it is; the
  backend downloads its weights itself when the pipeline is loaded;
- a local file or folder is copied into the pipeline folder by `save_pretrained`, under
  `backend/<option>/<name>`, and the option rewritten to that relative path; `push_to_hub`
  uploads it with the rest. Loading resolves every option starting with `backend/` against the
  pipeline's folder.

A pipeline reads files from its own folder only: loading refuses an option that names any other
local path (absolute, `~`, `..`, an existing file, or a link under `backend/` leading out of the
folder), so that a downloaded `config.json` cannot point the weight loader at a file elsewhere.
Other options (numbers, names) are kept as they are.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import attrs

from latentmotion.errors import CheckpointError, ConfigError, HubError, one_line

if TYPE_CHECKING:
    from latentmotion.pipeline import LatentMotionPipeline

BUNDLE_DIR = "backend"
"""Folder of a pipeline repo holding backend weights uploaded with it."""

MOCOGAN_HD_CITATION = """@inproceedings{tian2021a,
  title     = {A Good Image Generator Is What You Need for High-Resolution Video Synthesis},
  author    = {Yu Tian and Jian Ren and Menglei Chai and Kyle Olszewski and Xi Peng and
               Dimitris N. Metaxas and Sergey Tulyakov},
  booktitle = {International Conference on Learning Representations},
  year      = {2021}
}"""


def is_repo_id(name: str) -> bool:
    """Whether `name` has the shape of a Hub repo id, `"org/name"`.

    Args:
        name: A pipeline argument as the user typed it.

    Returns:
        True for exactly one `/` between two non-empty parts, neither starting with `.`.
    """
    org, slash, repo = name.partition("/")
    return bool(slash and org and repo and "/" not in repo and not org.startswith(".") and not repo.startswith("."))


def fetch(
    source: str | os.PathLike[str],
    *,
    filenames: Sequence[str] = (),
    revision: str | None = None,
    what: str = "weights",
) -> list[Path]:
    """Local files from a local path, or from a Hub repo through the Hub cache.

    `source` is local when it exists on disk (a file, or a folder holding `filenames`), else it
    must be a Hub repo id `"org/name"` whose `filenames` are downloaded (from the cache only while
    offline). Every Hub failure becomes one [HubError][latentmotion.errors.HubError] whose
    one-line message says what to do.

    Args:
        source: A local file or folder, or a Hub repo id `"org/name"`.
        filenames: Files inside the folder or repo (paths relative to its root); empty when
            `source` is itself the file.
        revision: Branch, tag or commit of the Hub repo (default: `main`); Hub repos only.
        what: What the files are, for error messages (e.g. `"StyleGAN2 checkpoint"`).

    Returns:
        Absolute local paths (in the Hub cache for a repo): one per entry of `filenames`, or
        `[source]` when it is empty.

    Raises:
        ConfigError: `revision` with a local source, or no `filenames` for a Hub repo or folder.
        CheckpointError: A local source that lacks one of `filenames`, or a source that is
            neither an existing path nor a Hub repo id.
        HubError: The repo, revision or a file is missing, private or gated, or not cached while offline.
    """
    local = Path(source).expanduser()
    if local.exists():
        if revision is not None:
            raise ConfigError(f"revision={revision!r} applies to Hub repos, but {what} source {str(source)!r} is a local path")
        if not filenames:
            if local.is_dir():
                raise ConfigError(f"{what} source {str(source)!r} is a folder: name the file inside it with filename=")
            return [local.resolve()]
        if not local.is_dir():
            raise ConfigError(f"{what} source {str(source)!r} is a file, but file names inside it were given ({', '.join(filenames)})")
        paths = [local.resolve() / name for name in filenames]
        absent = [name for name, path in zip(filenames, paths) if not path.is_file()]
        if absent:
            raise CheckpointError(f"{what} folder {local} lacks {', '.join(absent)}; it needs {', '.join(filenames)}")
        return paths
    if not is_repo_id(str(source)):
        raise CheckpointError(f"{what} source {str(source)!r} is neither an existing file or folder nor a Hub repo id 'org/name'")
    if not filenames:
        raise ConfigError(f"{what} from Hub repo {str(source)!r} needs the file name inside the repo: give filename=")
    from huggingface_hub import hf_hub_download

    paths = []
    for name in filenames:
        with hub_errors(str(source), revision=revision, filename=name):
            paths.append(Path(hf_hub_download(str(source), name, revision=revision)))
    return paths


@contextlib.contextmanager
def hub_errors(repo_id: str, *, revision: str | None, filename: str | None = None) -> Iterator[None]:
    """Turn the errors `huggingface_hub` raises inside the block into one-line [HubError][latentmotion.errors.HubError]s.

    Args:
        repo_id: The repo being read.
        revision: Its branch, tag or commit (None: `main`).
        filename: The file being downloaded (None: a whole snapshot).

    Yields:
        Nothing; the block runs the download.

    Raises:
        HubError: The repo id is invalid; the repo, revision or file does not exist, is private
            or gated; the files are not (or only partly) in the cache while offline; or the Hub
            answered with another error.
    """
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        IncompleteSnapshotError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    described = f"Hub repo {repo_id!r} (revision {revision or 'main'})"
    if filename is not None:
        described = f"{filename!r} of {described}"
    try:
        yield
    except HFValidationError as error:
        raise HubError(f"{repo_id!r} is not a valid Hub repo id: {one_line(error)}") from error
    except GatedRepoError as error:
        raise HubError(f"Hub repo {repo_id!r} is gated: accept its conditions on its Hub page, then log in with `hf auth login`") from error
    except RepositoryNotFoundError as error:
        raise HubError(f"Hub repo {repo_id!r} does not exist, or is private: check the id, or log in with `hf auth login`") from error
    except RevisionNotFoundError as error:
        raise HubError(f"Hub repo {repo_id!r} has no branch, tag or commit {revision!r}") from error
    except IncompleteSnapshotError as error:
        raise HubError(f"{described} is only partly in the local cache and the Hub cannot be reached: download it again while online") from error
    except LocalEntryNotFoundError as error:
        raise HubError(
            f"{described} is not in the local Hub cache and the Hub cannot be reached (offline mode or no network): "
            "download it once while online, or unset HF_HUB_OFFLINE"
        ) from error
    except EntryNotFoundError as error:
        raise HubError(f"Hub repo {repo_id!r} (revision {revision or 'main'}) has no file {filename!r}") from error
    except HfHubHTTPError as error:
        raise HubError(f"could not download {described}: {one_line(error)}") from error


def download_pipeline(
    repo_id: str,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
) -> Path:
    """Fetch a pipeline repo (its pipeline files and bundled backend weights) into the Hub cache.

    Offline (`HF_HUB_OFFLINE=1` or `local_files_only`), the files come from the cache only.

    Args:
        repo_id: Hub repo id `"org/name"`.
        required: Files the repo must hold (e.g. `config.json`, the weights).
        optional: Files fetched when present (e.g. the model card).
        revision: Branch, tag or commit sha (default: `main`).
        cache_dir: Hub cache folder (default: `HF_HUB_CACHE`).
        local_files_only: Never reach the network.

    Returns:
        The snapshot folder in the cache.

    Raises:
        HubError: The repo or revision does not exist, is private or gated, or is not in the cache while offline.
        CheckpointError: The repo lacks one of the `required` files.
    """
    from huggingface_hub import snapshot_download

    with hub_errors(repo_id, revision=revision):
        folder = snapshot_download(
            repo_id,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            allow_patterns=[*required, *optional, f"{BUNDLE_DIR}/*"],
        )
    described = f"Hub repo {repo_id!r} (revision {revision or 'main'})"
    folder = Path(folder)
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(
            f"{described} has no {', '.join(missing)}: it is not a latentmotion pipeline, or the local cache holds "
            "only part of it (download it again while online)"
        )
    return folder


def resolve_backend_options(options: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Turn the backend options of a pipeline's config into the keyword arguments of its factory.

    A pipeline reads files from its own folder only. Options starting with `backend/` name
    weights bundled with the pipeline; they become absolute paths inside `folder`, and must stay
    inside it once `..` and symbolic links are resolved (a Hub snapshot's files are links into
    the repo's blobs: they may lead anywhere inside the repo's cache folder). An option naming any
    other local path (absolute, `~`, `..`, or an existing file or folder) is refused. Every other
    option (numbers, names, Hub repo ids) is returned unchanged.

    Args:
        options: `config["backend"]["options"]`.
        folder: The pipeline's folder (local, or a snapshot in the Hub cache).

    Returns:
        The options, bundled paths resolved.

    Raises:
        CheckpointError: An option names a file outside the pipeline, or a bundled file is missing.
    """
    root = (folder.parent.parent if folder.parent.name == "snapshots" else folder).resolve()
    resolved = dict(options)
    for key, value in options.items():
        if not isinstance(value, str) or not value:
            continue
        bundled = value.startswith(f"{BUNDLE_DIR}/")
        if not bundled and not _names_local_path(value):
            continue
        if not bundled or ".." in PurePosixPath(value).parts:
            raise CheckpointError(
                f"backend option {key!r} = {value!r} names a file outside the pipeline at {folder}; a pipeline reads files "
                f"only from its own {BUNDLE_DIR}/ folder: save it again with save_pretrained, which copies the backend's files there"
            )
        path = folder / value
        if not path.exists():
            raise CheckpointError(
                f"backend option {key!r} names {value!r}, which is missing from the pipeline at {folder}: "
                "the pipeline is incomplete; download or copy it again"
            )
        if not path.resolve().is_relative_to(root):
            raise CheckpointError(
                f"backend option {key!r} names {value!r}, a link that leads outside the pipeline at {folder} "
                f"(to {path.resolve()}); a pipeline reads files only from its own folder"
            )
        resolved[key] = str(path)
    return resolved


def _names_local_path(value: str) -> bool:
    """Whether an option's text names a local path: absolute, under `~`, with `..`, or existing."""
    path = Path(value)
    return path.is_absolute() or value.startswith("~") or ".." in path.parts or path.exists()


def bundle_backend_files(options: dict[str, Any], folder: Path, *, file_options: Sequence[str]) -> dict[str, Any]:
    """Copy the local files and folders the backend's file options name into `folder/backend/`.

    A pipeline folder holds every file its backend reads (see
    [resolve_backend_options][latentmotion.hub.resolve_backend_options]); `save_pretrained`
    calls this, and so everything it writes can be loaded elsewhere and uploaded as it is.

    Args:
        options: `config["backend"]["options"]` of the pipeline being saved.
        folder: The pipeline folder being written.
        file_options: The options that name files (the backend's
            [file_options][latentmotion.backend.ImageGeneratorBackend.file_options]); no other
            option is copied, whatever its value.

    Returns:
        The options, each local path of a file option replaced by its `backend/<option>/<name>`
        copy; Hub repo ids are kept.

    Raises:
        ConfigError: A file option names a local path that does not exist.
    """
    bundled = dict(options)
    for key in file_options:
        value = options.get(key)
        if value is None or (isinstance(value, str) and is_repo_id(value) and not Path(value).exists()):
            continue
        source = Path(value)
        if not source.exists():
            raise ConfigError(
                f"backend option {key!r} names {value}, which does not exist: the backend's weights must be "
                "uploaded with the pipeline; restore them, or rebuild the pipeline from weights on the Hub"
            )
        relative = f"{BUNDLE_DIR}/{key}/{source.name}"
        target = folder / relative
        if not (target.exists() and target.resolve() == source.resolve()):  # saved again into the folder it was loaded from
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target)
        bundled[key] = relative
    return bundled


SAMPLE_NAME = "sample.gif"
"""The sample video a pipeline folder holds beside its model card."""

SAMPLE_FRAMES = 16
"""Most frames of the sample video (fewer when the pipeline's videos are shorter)."""

TRAINING_CONFIG_KEY = "training_config"
"""Key of the card's metadata that holds the training configuration."""

LICENSE_UNKNOWN = "unknown"
"""The card's licence when none is given: the Hub's value for "not stated"."""


def _metrics(instance: Any, attribute: attrs.Attribute, value: dict[str, float]) -> None:
    for name, number in value.items():
        if not isinstance(name, str) or not name or isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise ConfigError(f"card metrics map names to finite numbers, got {name!r}: {number!r}")


@attrs.frozen(kw_only=True)
class CardInfo:
    """What a pipeline's model card states beyond the pipeline's own configuration.

    A pipeline carries one ([LatentMotionPipeline.card][latentmotion.pipeline.LatentMotionPipeline]);
    the trainer fills `training`, the caller fills the rest. `from_pretrained` reads it back from
    the card's metadata, so a pipeline loaded and saved or pushed again keeps it.

    Attributes:
        license: Licence of the pipeline, as a Hub licence id (e.g. `"mit"`, `"apache-2.0"`,
            `"other"`); None writes `"unknown"`. The backend's weights keep their own licence.
        datasets: Hub dataset ids (or names) of the training videos.
        metrics: Results of the last evaluation, metric name to value (e.g. `fvd16`), written by
            `latentmotion evaluate --record` or by the caller.
        evaluation: What the metrics were measured on (e.g. `"toy world, 1,024 videos"`);
            default: the first of `datasets`, else `"unspecified"`.
        training: The training configuration (a [TrainConfig][latentmotion.config.TrainConfig] as
            a dict) of the run that trained the motion generator.
    """

    license: str | None = None
    datasets: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    metrics: dict[str, float] = attrs.field(factory=dict, converter=dict, validator=_metrics)
    evaluation: str | None = None
    training: dict[str, Any] | None = None


def base_models(options: dict[str, Any], file_options: Sequence[str]) -> list[str]:
    """The Hub repos the backend's weights come from: file options whose value is a repo id.

    Args:
        options: The backend options as saved in `config.json` (local files already bundled).
        file_options: The backend's options that name files.

    Returns:
        Repo ids, in option order (empty for local or bundled weights).
    """
    return [value for key, value in options.items() if key in file_options and isinstance(value, str) and is_repo_id(value) and not Path(value).exists()]


def model_card(
    config: dict[str, Any],
    *,
    repo_id: str,
    info: CardInfo | None = None,
    file_options: Sequence[str] = (),
    sample: str | None = None,
) -> str:
    """The model card (`README.md`) of a pipeline: the Hub's structured metadata, then a description.

    The metadata (`huggingface_hub.ModelCardData`) holds `library_name: latentmotion`, the
    licence, `base_model` (the Hub repos the backend's weights come from), tags, datasets, the
    last evaluation's metrics as a `model-index`, and the training configuration. The text shows
    the sample video, a summary table, the training configuration and the metrics, and how to
    load the pipeline.

    Args:
        config: The pipeline's `config.json` as saved.
        repo_id: The Hub repo (or folder name) the card's usage loads.
        info: What the card states beyond `config` (default: nothing).
        file_options: The backend's options that name files (see
            [base_models][latentmotion.hub.base_models]).
        sample: File name of the sample video beside the card, or None for no sample.

    Returns:
        The card's Markdown, with YAML metadata that `huggingface_hub.ModelCard.load` reads.
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    info = info or CardInfo()
    backend = config["backend"]
    space = config["latent_space"]
    motion = config["motion"]
    versions = config.get("versions", {})
    name = repo_id.split("/")[-1]
    bases = base_models(backend.get("options", {}), file_options)
    evaluation = info.evaluation or (info.datasets[0] if info.datasets else "unspecified")
    data = ModelCardData(
        library_name="latentmotion",
        license=info.license or LICENSE_UNKNOWN,
        base_model=bases or None,
        tags=["video-generation", "gan", "mocogan-hd", "latentmotion", backend["name"], f"latentmotion-{backend['name']}"],
        datasets=list(info.datasets) or None,
        metrics=list(info.metrics) or None,
        model_name=name,
        eval_results=[
            EvalResult(
                task_type="unconditional-video-generation",
                task_name="Unconditional video generation",
                dataset_type=evaluation,
                dataset_name=evaluation,
                metric_type=metric,
                metric_value=value,
            )
            for metric, value in info.metrics.items()
        ]
        or None,
        **({TRAINING_CONFIG_KEY: info.training} if info.training is not None else {}),
    )
    condition = f" + {space['condition_dim']}-d condition" if space.get("condition_dim") else ""
    options = ", ".join(f"`{key}={value!r}`" for key, value in backend.get("options", {}).items()) or "none"
    rows = [
        ("Backend", f"`{backend['name']}` (options: {options})"),
        ("Base model", ", ".join(f"[{base}](https://huggingface.co/{base})" for base in bases) or "weights bundled with the pipeline"),
        ("Latent space", f"`{space['name']}`, {space['dim']}-d{condition}"),
        ("Resolution", f"{config['resolution']} x {config['resolution']}"),
        ("Frames", f"{config['n_frames']} at {config['fps']} fps"),
        (
            "Motion generator",
            f"LSTM hidden {motion['hidden_dim']}, {motion['n_components']} PCA directions, step scale {motion['step_scale']}",
        ),
        ("Licence", info.license or "not stated"),
        ("Training data", ", ".join(info.datasets) or "not stated"),
        ("Versions", ", ".join(f"{name} {version}" for name, version in versions.items())),
    ]
    table = "\n".join(f"| {key} | {value} |" for key, value in rows)
    sections = [
        (
            f"# {name}\n\n"
            "A latentmotion video generator: a MoCoGAN-HD motion generator that walks through the latent space "
            f"of the frozen `{backend['name']}` image generator, which renders every frame.\n"
        ),
    ]
    if sample:
        sections.append(f"![A sample video (seed 0)]({sample})\n")
    sections.append("| | |\n|---|---|\n" + table + "\n")
    if info.metrics:
        metric_rows = "\n".join(f"| {metric} | {value:.6g} |" for metric, value in info.metrics.items())
        sections.append(f"## Evaluation\n\nThe last evaluation, on {evaluation}:\n\n| metric | value |\n|---|---|\n{metric_rows}\n")
    if info.training is not None:
        sections.append(
            "## Training\n\nThe configuration of the run that trained the motion generator "
            "(`latentmotion train` reads it as JSON or as TOML with the same tables):\n\n"
            f"```json\n{json.dumps(info.training, indent=2)}\n```\n"
        )
    sections.append(
        "## Usage\n\n"
        f"The `{backend['name']}` backend must be installed (`latentmotion backends` lists the installed ones).\n\n"
        f"```bash\nlatentmotion generate --pipeline {repo_id} --n-videos 4 --output video.mp4\n```\n\n"
        "```python\nfrom latentmotion import LatentMotionPipeline\n\n"
        f'pipeline = LatentMotionPipeline.from_pretrained("{repo_id}")\n'
        "videos = pipeline.generate(4, seed=0)  # [4, T, 3, H, W] in [-1, 1]\n```\n"
    )
    sections.append(f"## Citation\n\n```bibtex\n{MOCOGAN_HD_CITATION}\n```\n")
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(sections)))


def read_card_info(path: Path) -> CardInfo:
    """Read what a model card states back from its metadata (the inverse of [model_card][latentmotion.hub.model_card]).

    Args:
        path: A pipeline's `README.md`.

    Returns:
        The licence, datasets, metrics and training configuration it holds; an empty
        [CardInfo][latentmotion.hub.CardInfo] when the file is missing or its metadata cannot
        be read (a hand-written card).
    """
    from huggingface_hub import ModelCard

    if not path.is_file():
        return CardInfo()
    try:
        data = ModelCard.load(path, ignore_metadata_errors=True).data
        license = data.license if isinstance(data.license, str) and data.license != LICENSE_UNKNOWN else None
        datasets = [data.datasets] if isinstance(data.datasets, str) else list(data.datasets or [])
        results = data.eval_results or []
        training = data.to_dict().get(TRAINING_CONFIG_KEY)
        return CardInfo(
            license=license,
            datasets=[str(dataset) for dataset in datasets],
            metrics={result.metric_type: float(result.metric_value) for result in results},
            evaluation=results[0].dataset_name if results else None,
            training=training if isinstance(training, dict) else None,
        )
    except Exception:  # a card that is not ours: nothing to carry over
        return CardInfo()


def push_to_hub(
    pipeline: LatentMotionPipeline,
    repo_id: str,
    *,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str | None = None,
    card_text: str | None = None,
    sample: bool = True,
) -> str:
    """Upload a pipeline, its bundled backend weights and a freshly generated model card to a Hub repo.

    The repo is created if needed. Files under `backend/` that the new upload does not hold are
    deleted from the repo in the same commit. The card is generated for `repo_id` from the
    pipeline's configuration and [card][latentmotion.hub.CardInfo], as
    [save_pretrained][latentmotion.pipeline.LatentMotionPipeline.save_pretrained] writes it.

    Args:
        pipeline: The pipeline to upload.
        repo_id: Target repo id `"org/name"`.
        private: Create the repo private (None: the Hub's default); an existing repo keeps its visibility.
        token: Hub token (default: the one saved by `hf auth login`, or `HF_TOKEN`).
        commit_message: Message of the upload commit.
        card_text: Your own model card, uploaded as it is instead of the generated one.
        sample: Render and upload the sample video `sample.gif` (False for a slow backend).

    Returns:
        The URL of the commit.

    Raises:
        ConfigError: `repo_id` is not of the form `"org/name"`, or a backend file is missing.
        CheckpointError: The Hub refused the upload.
        HubError: The Hub cannot be reached (no network).
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    from latentmotion.pipeline import CONFIG_NAME

    if not is_repo_id(repo_id):
        raise ConfigError(f"{repo_id!r} is not a Hub repo id; use the form 'org/name'")
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="latentmotion-push-") as temp:
        folder = pipeline.save_pretrained(temp, repo_id=repo_id, card_text=card_text, sample=sample)  # backend files bundled under backend/
        config = json.loads((folder / CONFIG_NAME).read_text())
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            commit = api.upload_folder(
                repo_id=repo_id,
                folder_path=folder,
                commit_message=commit_message or f"Upload latentmotion pipeline ({config['backend']['name']} backend)",
                delete_patterns=[f"{BUNDLE_DIR}/*"],
            )
        except OfflineModeIsEnabled as error:
            raise CheckpointError(f"cannot push to {repo_id!r}: Hub offline mode is on (unset HF_HUB_OFFLINE)") from error
        except (HfHubHTTPError, OSError) as error:
            raise CheckpointError(f"could not push to Hub repo {repo_id!r}: {one_line(error)}") from error
        except Exception as error:
            if not _is_network_error(error):
                raise
            raise HubError(
                f"cannot reach the Hub to push to {repo_id!r} ({type(error).__name__}: {one_line(error)}): check the network connection and retry"
            ) from error
    return commit.commit_url


def _is_network_error(error: BaseException) -> bool:
    """Whether an error is the HTTP client's "cannot connect" (no network, DNS failure, timeout).

    `huggingface_hub` has used several HTTP clients (requests, httpx, ...); each names this family
    `TransportError` or `ConnectionError`, and none of them is an `OSError`.
    """
    return any(cls.__name__ in ("TransportError", "ConnectionError") for cls in type(error).__mro__)
