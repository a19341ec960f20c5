"""The paper's ablations in the toy world: the method with one part taken out, and what the paper says follows.

Each [Ablation][latentmotion_toyworld.ablations.Ablation] is the bundled recipe
([train_config][latentmotion_toyworld.reproduce.train_config]) with dotted options changed, in the
setting the paper ablates it in, and the figure of
[evaluate][latentmotion_toyworld.evaluate.evaluate] on which the paper's claim should show: a
figure that grows (a distance, or a content distance) when the part is missing.
[summarise][latentmotion_toyworld.ablations.summarise] turns runs of several seeds into a table
and marks each claim as reproduced or not.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from latentmotion.errors import ConfigError


@attrs.frozen
class Ablation:
    """One row of the ablation table.

    Attributes:
        name: Short name, e.g. `"no-residual"`.
        cross_domain: Trained cross-domain (`toy-cross`'s setting) rather than in-domain (`toy`'s).
        changes: Options changed from the recipe, by dotted name; empty for the full method.
        claim: What the paper reports when the part is missing; empty for the full method.
        figure: The evaluation figure on which the claim shows (it grows when the claim holds).
    """

    name: str
    cross_domain: bool
    changes: Mapping[str, Any] = attrs.field(factory=dict)
    claim: str = ""
    figure: str = ""

    @property
    def baseline(self) -> str:
        """Name of the full method in this ablation's setting, which it is compared with."""
        return "cross-full" if self.cross_domain else "full"


ABLATIONS = {
    ablation.name: ablation
    for ablation in (
        Ablation("full", cross_domain=False),
        Ablation(
            "no-residual",
            cross_domain=False,
            changes={"motion.residual": False},
            claim="every step taken from the content code (Eq. 2 dropped): motion collapses",
            figure="trajectory_distance",
        ),
        Ablation(
            "no-video-discriminator",
            cross_domain=False,
            changes={"video_discriminator.enabled": False},
            claim="without D_V nothing teaches motion: it is unlike real motion",
            figure="trajectory_distance",
        ),
        Ablation(
            "no-image-discriminator",
            cross_domain=False,
            changes={"image_discriminator.enabled": False},
            claim="without D_I the frames' content is not held: it drifts",
            figure="colour_acd",
        ),
        Ablation(
            "no-mutual-information",
            cross_domain=False,
            changes={"motion.mi_weight": 0.0},
            claim="without L_m the motion loses its diversity (mode collapse)",
            figure="trajectory_distance",
        ),
        Ablation("cross-full", cross_domain=True),
        Ablation(
            "cross-no-contrastive",
            cross_domain=True,
            changes={"contrastive.weight": 0.0},
            claim="cross-domain without L_contr (D_I keeps its hinge loss and L_f) the content drifts",
            figure="colour_acd",
        ),
    )
}
"""The ablations by name: the full method and one part removed at a time, in- and cross-domain."""

FIGURES = ("trajectory_distance", "motion_distance", "direction_distance", "colour_acd", "mean_speed", "speed_spread", "persistence")
"""The figures the table reports for every ablation."""


def select(names: Sequence[str]) -> list[Ablation]:
    """The ablations to run, each with the full method it is compared with, in table order.

    Args:
        names: Ablation names (keys of `ABLATIONS`); empty for all.

    Returns:
        The ablations, full methods included.

    Raises:
        ConfigError: An unknown name.
    """
    unknown = sorted(set(names) - set(ABLATIONS))
    if unknown:
        raise ConfigError(f"unknown ablations {unknown}; known: {', '.join(ABLATIONS)}")
    wanted = set(names or ABLATIONS)
    wanted |= {ABLATIONS[name].baseline for name in wanted}
    return [ablation for name, ablation in ABLATIONS.items() if name in wanted]


def _spread(values: Sequence[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(results: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The mean and spread of each ablation's figures over its seeds, and whether its claim shows.

    A claim counts as reproduced when the ablation's mean of its figure exceeds the full method's
    by more than the larger of the two seed standard deviations: a difference the seeds alone do
    not make.

    Args:
        results: One record per run: `ablation` (a name), `seed`, and the `model` figures and
            `headline` of its [evaluate][latentmotion_toyworld.evaluate.evaluate] report.

    Returns:
        For each ablation with runs: `seeds`, `mean` and `std` of every figure of `FIGURES`,
        the mean `excess_ratio` of each, and, for the ablations with a claim, `claim`, `figure`
        and `reproduced` (None while the full method has no run).
    """
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for record in results:
        by_name.setdefault(record["ablation"], []).append(record)
    table: dict[str, dict[str, Any]] = {}
    for name, ablation in ABLATIONS.items():
        runs = by_name.get(name, [])
        if not runs:
            continue
        values = {figure: [run["model"][figure] for run in runs] for figure in FIGURES}
        table[name] = {
            "seeds": sorted(run["seed"] for run in runs),
            "mean": {figure: statistics.fmean(v) for figure, v in values.items()},
            "std": {figure: _spread(v) for figure, v in values.items()},
            "excess_ratio": {figure: statistics.fmean([run["headline"][figure]["excess_ratio"] for run in runs]) for figure in FIGURES},
        }
    for name, row in table.items():
        ablation = ABLATIONS[name]
        if not ablation.claim:
            continue
        full = table.get(ablation.baseline)
        reproduced = None
        if full is not None:
            margin = max(row["std"][ablation.figure], full["std"][ablation.figure])
            difference = row["mean"][ablation.figure] - full["mean"][ablation.figure]
            reproduced = bool(not math.isnan(difference) and difference > margin)
        row.update(claim=ablation.claim, figure=ablation.figure, reproduced=reproduced)
    return table


def markdown(table: Mapping[str, Mapping[str, Any]]) -> str:
    """The summary as a Markdown table: mean ± standard deviation over seeds, and the verdict.

    Args:
        table: The output of [summarise][latentmotion_toyworld.ablations.summarise].

    Returns:
        The table's text.
    """
    header = "| ablation | seeds | " + " | ".join(FIGURES) + " | the paper's claim | reproduced |"
    lines = [header, "|" + "---|" * (len(FIGURES) + 4)]
    for name, row in table.items():
        cells = [f"{row['mean'][figure]:.3f} ± {row['std'][figure]:.3f}" for figure in FIGURES]
        verdict = {None: "-", True: "yes", False: "no"}[row.get("reproduced")]
        claim = f"{row['claim']} (`{row['figure']}`)" if row.get("claim") else "-"
        lines.append(f"| {name} | {len(row['seeds'])} | " + " | ".join(cells) + f" | {claim} | {verdict} |")
    return "\n".join(lines)
