"""Images per second of BigGAN-deep synthesis on CPU: latentmotion-biggan beside the reference package.

Both generators hold the same random weights (a reference model is built from the published
architecture, then its state dict is loaded into ours) and render the same codes at the same
truncation, alternately, so that both see the same machine load. Prints one JSON object.

    python plugins/latentmotion-biggan/benchmarks/synthesize.py --resolution 128 --batch 16

Needs the `test` extra (`pytorch-pretrained-biggan`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch


@torch.no_grad()
def make_realistic(model: torch.nn.Module, *, iterations: int = 10) -> None:
    """Give a freshly initialised reference model the traits of trained weights.

    Runs power iterations on every spectral norm's stored `u`, `v` (fresh ones give an arbitrary
    `sigma = u . (W v)`, even negative, hence exploding activations), spreads the batch-norm
    statistics, opens the attention gate and sets the final batch norm's affine (which the reference
    leaves uninitialised), so that activations and images have realistic magnitudes.

    Args:
        model: A `pytorch_pretrained_biggan.BigGAN`.
        iterations: Power iterations per layer.
    """
    state = model.state_dict()
    for key, value in state.items():
        if key.endswith("running_means"):
            value.normal_(0, 0.2)
        elif key.endswith("running_vars"):
            value.uniform_(0.5, 1.5)
        elif key.endswith("gamma"):
            value.fill_(0.8)
        elif key == "generator.bn.weight":  # left uninitialised by the reference
            value.uniform_(0.5, 1.5)
        elif key == "generator.bn.bias":
            value.normal_(0, 0.1)
    for key in [key for key in state if key.endswith("weight_orig")]:
        prefix = key.removesuffix("_orig")
        matrix = state[key].reshape(state[key].shape[0], -1)
        u, v = state[f"{prefix}_u"], state[f"{prefix}_v"]
        for _ in range(iterations):
            v.copy_(torch.nn.functional.normalize(matrix.t() @ u, dim=0))
            u.copy_(torch.nn.functional.normalize(matrix @ v, dim=0))


def main() -> None:
    """Parse the arguments, time both generators, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=128, choices=(128, 256, 512), help="published architecture to build")
    parser.add_argument("--batch", type=int, default=16, help="images per synthesize call")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per generator (after one warm-up call)")
    parser.add_argument("--truncation", type=float, default=0.4, help="truncation of z and of the batch-norm statistics")
    parser.add_argument("--channel-width", type=int, default=128, help="channel unit (128 = the published models)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch intra-op threads")
    args = parser.parse_args()
    try:
        import pytorch_pretrained_biggan as reference
    except ImportError:
        sys.exit("this benchmark compares against pytorch-pretrained-biggan: pip install -e 'plugins/latentmotion-biggan[test]'")

    from latentmotion_biggan.backend import BigGANBackend
    from latentmotion_biggan.config import BigGANConfig
    from latentmotion_biggan.network import BigGANDeep
    from latentmotion_biggan.weights import convert_state_dict

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = BigGANConfig.for_resolution(args.resolution, channel_width=args.channel_width)
    theirs = reference.BigGAN(reference.BigGANConfig.from_dict(config.to_dict())).eval()
    make_realistic(theirs)
    network = BigGANDeep(config)
    network.load_state_dict(convert_state_dict(theirs.state_dict(), config))
    ours = BigGANBackend(network, truncation=args.truncation)

    z = torch.from_numpy(reference.truncated_noise_sample(batch_size=args.batch, truncation=args.truncation, seed=0))
    classes = torch.randint(config.num_classes, (args.batch,), generator=torch.Generator().manual_seed(0))
    codes = ours.content_codes(z, classes)
    one_hot = torch.nn.functional.one_hot(classes, config.num_classes).float()
    runs = {
        "latentmotion_biggan": lambda: ours.synthesize(codes),
        "pytorch_pretrained_biggan": lambda: theirs(z, one_hot, args.truncation),
    }

    seconds: dict[str, list[float]] = {name: [] for name in runs}
    outputs = {}
    with torch.inference_mode():
        for name, run in runs.items():  # warm-up
            outputs[name] = run()
        for _ in range(args.repeats):
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                seconds[name].append(time.perf_counter() - started)

    rate = {name: args.batch / statistics.median(times) for name, times in seconds.items()}
    print(
        json.dumps(
            {
                "benchmark": "biggan_synthesize",
                "resolution": args.resolution,
                "batch": args.batch,
                "channel_width": args.channel_width,
                "truncation": args.truncation,
                "device": "cpu",
                "threads": args.threads,
                "cpu_count": os.cpu_count(),
                "torch": torch.__version__,
                "images_per_second": rate,
                "seconds_per_call": seconds,
                "speedup": rate["latentmotion_biggan"] / rate["pytorch_pretrained_biggan"],
                "max_abs_difference": (outputs["latentmotion_biggan"] - outputs["pytorch_pretrained_biggan"]).abs().max().item(),
                "image_std": outputs["pytorch_pretrained_biggan"].std().item(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
