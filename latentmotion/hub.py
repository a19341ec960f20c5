"""The Hugging Face Hub side of pipelines: download through the Hub cache, push with a model card.

A pipeline on the Hub is a model repo holding the files of a pipeline folder (`config.json`,
`motion.safetensors`, `basis.safetensors`, a model card `README.md`). Downloads go through the
Hub cache (`HF_HUB_CACHE`), so a repo fetched once loads offline afterwards (`HF_HUB_OFFLINE=1`).

One id loads everything, backend weights included. `config.json` records the backend's options,
and those say where its weights come from:

- an option naming another Hub repo (e.g. BigGAN's `source="osanseviero/BigGAN-deep-128"`) is kept
  as it is; the backend downloads its weights itself when the pipeline is loaded;
- an option naming a local file or folder (an absolute path) cannot travel: `push_to_hub` uploads
  that file or folder with the pipeline, under `backend/<option>/<name>`, and rewrites the option
  to that relative path. Loading resolves every option starting with `backend/` against the
  pipeline's folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from latentmotion.errors import CheckpointError, ConfigError

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
        CheckpointError: The repo or revision does not exist, is not in the cache while offline,
            or lacks one of the `required` files.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        HfHubHTTPError,
        HFValidationError,
        IncompleteSnapshotError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    described = f"Hub repo {repo_id!r} (revision {revision or 'main'})"
    try:
        folder = snapshot_download(
            repo_id,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            allow_patterns=[*required, *optional, f"{BUNDLE_DIR}/*"],
        )
    except HFValidationError as error:
        raise CheckpointError(f"{repo_id!r} is not a valid Hub repo id: {error}") from error
    except RepositoryNotFoundError as error:
        raise CheckpointError(
            f"Hub repo {repo_id!r} does not exist, or is private or gated: check the id, or log in with `hf auth login`"
        ) from error
    except RevisionNotFoundError as error:
        raise CheckpointError(f"Hub repo {repo_id!r} has no branch, tag or commit {revision!r}") from error
    except IncompleteSnapshotError as error:
        raise CheckpointError(
            f"{described} is only partly in the local cache and the Hub cannot be reached: download it again while online"
        ) from error
    except LocalEntryNotFoundError as error:
        raise CheckpointError(
            f"{described} is not in the local Hub cache and the Hub cannot be reached (offline mode or no network): "
            "download it once while online, or unset HF_HUB_OFFLINE"
        ) from error
    except HfHubHTTPError as error:
        raise CheckpointError(f"could not download {described}: {_one_line(error)}") from error
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

    Options starting with `backend/` name weights bundled with the pipeline; they become absolute
    paths inside `folder`. Every other option is returned unchanged.

    Args:
        options: `config["backend"]["options"]`.
        folder: The pipeline's folder (local, or a snapshot in the Hub cache).

    Returns:
        The options, bundled paths resolved.

    Raises:
        CheckpointError: A bundled path leaves the `backend/` folder or is missing.
    """
    resolved = dict(options)
    for key, value in options.items():
        if not (isinstance(value, str) and value.startswith(f"{BUNDLE_DIR}/")):
            continue
        if ".." in PurePosixPath(value).parts:
            raise CheckpointError(f"backend option {key!r} = {value!r} points outside the pipeline's {BUNDLE_DIR}/ folder")
        path = folder / value
        if not path.exists():
            raise CheckpointError(
                f"backend option {key!r} names {value!r}, which is missing from the pipeline at {folder}: "
                "the pipeline is incomplete; download or copy it again"
            )
        resolved[key] = str(path)
    return resolved


def bundle_backend_files(options: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Copy the local files and folders the backend options name into `folder/backend/`.

    Args:
        options: `config["backend"]["options"]` of the pipeline to upload.
        folder: The folder being uploaded.

    Returns:
        The options, each absolute path replaced by its `backend/<option>/<name>` copy.

    Raises:
        ConfigError: An option names an absolute path that does not exist.
    """
    bundled = dict(options)
    for key, value in options.items():
        if not (isinstance(value, str) and os.path.isabs(value)):
            continue
        source = Path(value)
        if not source.exists():
            raise ConfigError(
                f"backend option {key!r} names {value}, which does not exist: the backend's weights must be "
                "uploaded with the pipeline; restore them, or rebuild the pipeline from weights on the Hub"
            )
        relative = f"{BUNDLE_DIR}/{key}/{source.name}"
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
        bundled[key] = relative
    return bundled


def model_card(config: dict[str, Any], *, repo_id: str) -> str:
    """The model card (`README.md`) of a pipeline repo on the Hub.

    Args:
        config: The pipeline's `config.json` as uploaded.
        repo_id: The repo it is uploaded to.

    Returns:
        Markdown with Hub metadata, a summary table, usage and citation.
    """
    backend = config["backend"]
    space = config["latent_space"]
    motion = config["motion"]
    versions = config.get("versions", {})
    condition = f" + {space['condition_dim']}-d condition" if space.get("condition_dim") else ""
    options = ", ".join(f"`{key}={value!r}`" for key, value in backend.get("options", {}).items()) or "none"
    rows = [
        ("Backend", f"`{backend['name']}` (options: {options})"),
        ("Latent space", f"`{space['name']}`, {space['dim']}-d{condition}"),
        ("Resolution", f"{config['resolution']} x {config['resolution']}"),
        ("Frames", f"{config['n_frames']} at {config['fps']} fps"),
        (
            "Motion generator",
            f"LSTM hidden {motion['hidden_dim']}, {motion['n_components']} PCA directions, step scale {motion['step_scale']}",
        ),
        ("Versions", ", ".join(f"{name} {version}" for name, version in versions.items())),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    tags = ["video-generation", "gan", "mocogan-hd", "latentmotion", f"latentmotion-{backend['name']}"]
    return (
        "---\nlibrary_name: latentmotion\ntags:\n"
        + "".join(f"- {tag}\n" for tag in tags)
        + "---\n\n"
        + f"# {repo_id.split('/')[-1]}\n\n"
        + "A latentmotion video generator: a MoCoGAN-HD motion generator that walks through the latent space "
        + f"of the frozen `{backend['name']}` image generator, which renders every frame.\n\n"
        + "| | |\n|---|---|\n"
        + table
        + "\n\n## Usage\n\n"
        + f"The `{backend['name']}` backend must be installed (`latentmotion backends` lists the installed ones).\n\n"
        + f"```bash\nlatentmotion generate --pipeline {repo_id} --n-videos 4 --output video.mp4\n```\n\n"
        + "```python\nfrom latentmotion import LatentMotionPipeline\n\n"
        + f'pipeline = LatentMotionPipeline.from_pretrained("{repo_id}")\n'
        + "videos = pipeline.generate(4, seed=0)  # [4, T, 3, H, W] in [-1, 1]\n```\n\n"
        + f"## Citation\n\n```bibtex\n{MOCOGAN_HD_CITATION}\n```\n"
    )


def push_to_hub(
    pipeline: LatentMotionPipeline,
    repo_id: str,
    *,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str | None = None,
) -> str:
    """Upload a pipeline, its bundled backend weights and a generated model card to a Hub repo.

    The repo is created if needed. Files under `backend/` that the new upload does not hold are
    deleted from the repo in the same commit.

    Args:
        pipeline: The pipeline to upload.
        repo_id: Target repo id `"org/name"`.
        private: Create the repo private (None: the Hub's default); an existing repo keeps its visibility.
        token: Hub token (default: the one saved by `hf auth login`, or `HF_TOKEN`).
        commit_message: Message of the upload commit.

    Returns:
        The URL of the commit.

    Raises:
        ConfigError: `repo_id` is not of the form `"org/name"`, or a backend file is missing.
        CheckpointError: The Hub refused the upload or cannot be reached.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    from latentmotion.pipeline import CONFIG_NAME, MODEL_CARD_NAME

    if not is_repo_id(repo_id):
        raise ConfigError(f"{repo_id!r} is not a Hub repo id; use the form 'org/name'")
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="latentmotion-push-") as temp:
        folder = pipeline.save_pretrained(temp)
        config = json.loads((folder / CONFIG_NAME).read_text())
        config["backend"]["options"] = bundle_backend_files(config["backend"]["options"], folder)
        (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
        (folder / MODEL_CARD_NAME).write_text(model_card(config, repo_id=repo_id))
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
            raise CheckpointError(f"could not push to Hub repo {repo_id!r}: {_one_line(error)}") from error
    return commit.commit_url


def _one_line(error: BaseException) -> str:
    """An exception's message with its line breaks folded, for one-line reports."""
    return " ".join(str(error).split())
