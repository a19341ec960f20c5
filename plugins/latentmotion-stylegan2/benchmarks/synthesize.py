"""Images per second of StyleGAN2 synthesis on CPU, printed as JSON.

Renders batches of 16 images from W at 64 px and 128 px (channel_base 16384: 512 channels down
to 256 at 64 px and 128 at 128 px) and at 256 px with config-f widths (channel_base 32768), for:

- `ours`: the plugin's generator (channels-last feature maps, the default);
- `ours_contiguous`: the same with contiguous NCHW feature maps;
- `ours_compiled`: the default under `torch.compile` (with `--compile`);
- `reference`: NVlabs' original generator on its reference (non-CUDA) path, imported from the
  folder given with `--reference` (a checkout of stylegan2-ada-pytorch); skipped without it.

Variants are timed in turns, so that load from other processes spreads over all of them.

    python benchmarks/synthesize.py --reference /path/to/stylegan2-ada-pytorch --compile
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from latentmotion_stylegan2.networks import Generator, GeneratorConfig

SETTINGS = {  # resolution -> (channel_base, channel_max)
    64: (16384, 512),
    128: (16384, 512),
    256: (32768, 512),
}


def build_reference(folder: str, config: GeneratorConfig) -> torch.nn.Module:
    """NVlabs' generator with the same architecture, from a checkout of stylegan2-ada-pytorch.

    Args:
        folder: Path of the checkout (holding `training/`, `torch_utils/`, `dnnlib/`).
        config: The architecture.

    Returns:
        The reference generator, in eval mode.
    """
    sys.path.insert(0, folder)
    from training.networks import Generator as ReferenceGenerator

    return ReferenceGenerator(
        z_dim=config.z_dim,
        c_dim=0,
        w_dim=config.w_dim,
        img_resolution=config.img_resolution,
        img_channels=3,
        mapping_kwargs={"num_layers": config.mapping_layers},
        synthesis_kwargs={"channel_base": config.channel_base, "channel_max": config.channel_max, "conv_clamp": 256, "num_fp16_res": 4},
    ).eval()


Render = Callable[[torch.Tensor], torch.Tensor]


def variants(config: GeneratorConfig, *, reference: str | None, with_compile: bool) -> dict[str, Render]:
    """The renderers to time, all with the same random weights.

    Args:
        config: The architecture.
        reference: Checkout of stylegan2-ada-pytorch, or None to skip the reference.
        with_compile: Add the `torch.compile` variant.

    Returns:
        Variant name to `render(ws) -> images`.
    """
    ours = Generator(config).eval()
    contiguous = Generator(config, channels_last=False).eval()
    contiguous.load_state_dict(ours.state_dict())
    renderers: dict[str, Render] = {"ours": ours.synthesis, "ours_contiguous": contiguous.synthesis}
    if with_compile:
        renderers["ours_compiled"] = torch.compile(ours.synthesis)
    if reference:
        original = build_reference(reference, config)
        original.load_state_dict(ours.state_dict())
        renderers["reference"] = lambda ws: original.synthesis(ws, noise_mode="const", force_fp32=True)
    return renderers


def benchmark(config: GeneratorConfig, *, batch: int, repeats: int, reference: str | None, with_compile: bool) -> dict[str, float]:
    """Images per second of each variant: one warm-up batch each, then `repeats` batches taken in turns.

    Args:
        config: The architecture.
        batch: Images per batch.
        repeats: Timed batches per variant.
        reference: Checkout of stylegan2-ada-pytorch, or None.
        with_compile: Include the `torch.compile` variant.

    Returns:
        Variant name to images per second (median batch), plus speed-ups over the reference.
    """
    renderers = variants(config, reference=reference, with_compile=with_compile)
    w_avg = torch.zeros(config.w_dim)
    ws = (w_avg + 0.7 * torch.randn(batch, 1, config.w_dim)).expand(-1, config.num_ws, -1)
    seconds: dict[str, list[float]] = {name: [] for name in renderers}
    for render in renderers.values():  # warm-up (and compilation)
        render(ws)
    for _ in range(repeats):
        for name, render in renderers.items():
            start = time.perf_counter()
            render(ws)
            seconds[name].append(time.perf_counter() - start)
    row = {name: round(batch / sorted(durations)[len(durations) // 2], 3) for name, durations in seconds.items()}
    if "reference" in row:
        for name in [name for name in row if name.startswith("ours")]:
            row[f"{name}_speedup"] = round(row[name] / row["reference"], 2)
    return row


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", help="checkout of NVlabs/stylegan2-ada-pytorch to compare with")
    parser.add_argument("--compile", action="store_true", help="also time the generator under torch.compile")
    parser.add_argument("--resolutions", type=int, nargs="+", default=sorted(SETTINGS), choices=sorted(SETTINGS))
    parser.add_argument("--batch", type=int, default=16, help="images per batch")
    parser.add_argument("--repeats", type=int, default=3, help="timed batches per variant (after one warm-up batch)")
    args = parser.parse_args()

    torch.manual_seed(0)
    report: dict[str, Any] = {
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "batch": args.batch,
        "unit": "images/s (median batch)",
        "results": {},
    }
    with torch.no_grad():
        for resolution in args.resolutions:
            channel_base, channel_max = SETTINGS[resolution]
            config = GeneratorConfig(img_resolution=resolution, channel_base=channel_base, channel_max=channel_max, conv_clamp=256)
            row = benchmark(config, batch=args.batch, repeats=args.repeats, reference=args.reference, with_compile=args.compile)
            report["results"][f"{resolution}px"] = {**row, "channel_base": channel_base, "channel_max": channel_max}
            print(json.dumps({f"{resolution}px": report["results"][f"{resolution}px"]}), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
