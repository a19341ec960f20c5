"""The authors' training recipes as presets: one per training script of the released MoCoGAN-HD code.

    config = TrainConfig.from_preset("ucf101").with_changes({"data.path": "ucf101/", "backend_options.source": "ucf.pt"})

or `latentmotion train --preset ucf101 --set data.path=ucf101/ --set backend_options.source=ucf.pt --out runs/ucf`.
`latentmotion presets` lists them. A preset sets what the script sets (the mode, the batch, the
number of epochs, `w_match`) and names the image generator the authors trained with; every other
option keeps its default, which is the authors' (16-frame clips at stride 2, 5 generator steps per
discriminator step, learning rate 1e-4, a 1,000,000-sample PCA basis with 384 directions). It
trains for the script's epochs, passes over the video list
([RunOptions.iterations][latentmotion.config.RunOptions.iterations]). The data, the image
generator and the device are the user's to give.
"""

from __future__ import annotations

from typing import Any

import attrs

from latentmotion.config import ContrastiveOptions, DataOptions, RunOptions, TrainConfig
from latentmotion.errors import ConfigError


@attrs.frozen(kw_only=True)
class ReportedResult:
    """A number reported for the authors' model of a preset.

    Attributes:
        metric: What was measured, e.g. `"FVD16"` (16-frame clips) or `"IS"`.
        value: The number.
        protocol: How it was measured (detector, resolution, number of videos), and by whom.
        verified: True when found in a public source; False for a number remembered from a paper
            table that is not at hand (check it against the paper before quoting it).
    """

    metric: str
    value: float
    protocol: str
    verified: bool = True


@attrs.frozen(kw_only=True)
class Preset:
    """One training script of the authors: what it trains, on what, for how long.

    Attributes:
        name: The name `--preset` takes.
        title: Image domain and video domain, for humans.
        mode: `"in-domain"` or `"cross-domain"`.
        videos: The training videos the script expects.
        image_generator: The authors' rosinality-format StyleGAN2 checkpoint the script loads (the
            default `backend_options.source`; give the path of your copy).
        resolution: Side of the image generator's frames (`--style_gan_size`).
        batch_size: Global batch of videos (`--batchSize`).
        epochs: Passes over the video list (`--total_epoch`).
        match_weight: `w_match` of a cross-domain script (None: the default, 1).
        n_frames: Frames per training clip (`--n_frames_G`).
        reported: Numbers reported for the authors' model, for comparison.
        notes: What else to know: where the README disagrees with the script, the released checkpoint.
    """

    name: str
    title: str
    mode: str
    videos: str
    image_generator: str
    resolution: int
    batch_size: int
    epochs: int
    match_weight: float | None = None
    n_frames: int = 16
    reported: tuple[ReportedResult, ...] = ()
    notes: str = ""

    def config(self) -> TrainConfig:
        """The training configuration of this preset.

        Returns:
            The authors' defaults, with this preset's mode, batch, clip length, epochs, `w_match`
            and image generator (the `stylegan2` backend); `data.path` is left unset.
        """
        contrastive = ContrastiveOptions() if self.match_weight is None else ContrastiveOptions(match_weight=self.match_weight)
        return TrainConfig(
            backend="stylegan2",
            backend_options={"source": self.image_generator},
            mode=self.mode,
            contrastive=contrastive,
            data=DataOptions(n_frames=self.n_frames, batch_size=self.batch_size),
            run=RunOptions(epochs=self.epochs),
        )

    def to_dict(self) -> dict[str, Any]:
        """The preset as JSON values (what `latentmotion presets --json` prints).

        Returns:
            Every attribute, and the reported numbers as a list of objects.
        """
        return attrs.asdict(self)


_STYLEGAN_V = "StyleGAN-V's re-evaluation (256 px, 2048 real and 2048 generated videos, StyleGAN-V's I3D)"
_COVOGAN = "a later re-evaluation (CoVoGAN rebuttal); FVD codebases differ, so only numbers of one protocol compare"

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="ucf101",
            title="UCF-101",
            mode="in-domain",
            videos="UCF-101: all 13,320 videos, train and test splits (as the authors and DVD-GAN train), one folder of frames or one file per video",
            image_generator="ucf-256-fid41.6761-snapshot-006935.pt",
            resolution=256,
            batch_size=16,
            epochs=20,
            reported=(
                ReportedResult(metric="IS", value=33.95, protocol="the paper: frames resized to 128 px, 2048 videos, 10 repeats"),
                ReportedResult(metric="FVD16", value=700.0, protocol="the paper: TF FVD, frames resized to 128 px, 2048 videos"),
                ReportedResult(metric="FVD16", value=1729.6, protocol=_STYLEGAN_V),
                ReportedResult(metric="FVD128", value=2606.5, protocol=_STYLEGAN_V, verified=False),
            ),
            notes="The script trains 20 epochs, the README says 100. The image generator was trained with DiffAugment.",
        ),
        Preset(
            name="faceforensics",
            title="FaceForensics",
            mode="in-domain",
            videos="FaceForensics, preprocessed as TGAN-v2 does (face crops), not trimmed",
            image_generator="faceforensics-fid10.9920-snapshot-008765.pt",
            resolution=256,
            batch_size=16,
            epochs=100,
            reported=(
                ReportedResult(metric="FVD16", value=111.8, protocol=_STYLEGAN_V, verified=False),
                ReportedResult(metric="FVD128", value=653.0, protocol=_STYLEGAN_V, verified=False),
                ReportedResult(metric="FVD16", value=185.51, protocol=_COVOGAN),
            ),
            notes="The released checkpoint is from epoch 799 (first 749), though the script sets 100 epochs.",
        ),
        Preset(
            name="sky-timelapse",
            title="Sky time-lapse",
            mode="in-domain",
            videos="Sky time-lapse (Xiong et al., 2018) training videos",
            image_generator="sky-fid10.8013-snapshot-012633.pt",
            resolution=128,
            batch_size=32,
            epochs=200,
            reported=(
                ReportedResult(metric="FVD16", value=164.1, protocol=_STYLEGAN_V, verified=False),
                ReportedResult(metric="FVD128", value=878.1, protocol=_STYLEGAN_V, verified=False),
                ReportedResult(metric="FVD16", value=1721.89, protocol=_COVOGAN),
            ),
        ),
        Preset(
            name="ffhq256-vox",
            title="FFHQ 256 px images, VoxCeleb motion",
            mode="cross-domain",
            videos="VoxCeleb talking-head videos (face crops)",
            image_generator="ffhq_256.pt",
            resolution=256,
            batch_size=16,
            epochs=30,
            match_weight=5.0,
            notes="The script trains 30 epochs, the README says 25. The paper shows cross-domain results as videos, without numbers.",
        ),
        Preset(
            name="ffhq1024-vox",
            title="FFHQ 1024 px images, VoxCeleb motion",
            mode="cross-domain",
            videos="VoxCeleb talking-head videos (face crops)",
            image_generator="stylegan2-ffhq-config-f.pt",
            resolution=1024,
            batch_size=16,
            epochs=30,
            match_weight=5.0,
            notes="Renders 16 x 16 frames of 1024 px per generator step: the authors' multi-GPU scale.",
        ),
        Preset(
            name="afhqdog-vox",
            title="AFHQ dog images, VoxCeleb motion",
            mode="cross-domain",
            videos="VoxCeleb talking-head videos (face crops)",
            image_generator="afhq-dog-fid7.8476-005655.pt",
            resolution=512,
            batch_size=8,
            epochs=100,
        ),
        Preset(
            name="anime-vox",
            title="Anime portraits, VoxCeleb motion",
            mode="cross-domain",
            videos="VoxCeleb talking-head videos (face crops)",
            image_generator="2020-01-11-skylion-stylegan2-animeportraits-networksnapshot-024664.pt",
            resolution=512,
            batch_size=8,
            epochs=100,
        ),
        Preset(
            name="church-tlvdb",
            title="LSUN church images, time-lapse motion",
            mode="cross-domain",
            videos="the Time-Lapse Video DataBase (TLVDB)",
            image_generator="stylegan2-church-config-f.pt",
            resolution=256,
            batch_size=16,
            epochs=200,
        ),
    )
}
"""Every preset by name, in the order of the authors' scripts."""


def get_preset(name: str) -> Preset:
    """Look a preset up by name.

    Args:
        name: A key of [PRESETS][latentmotion.presets.PRESETS], e.g. `"ucf101"`.

    Returns:
        The preset.

    Raises:
        ConfigError: No preset has that name (the message lists them).
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)} (`latentmotion presets` describes them)")
    return PRESETS[name]
