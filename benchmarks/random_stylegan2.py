"""Write a StyleGAN2 generator with config-f widths and random weights, as a checkpoint the `stylegan2` backend loads.

For the benchmarks' configurations at the sizes users train, without downloading a model:

    python benchmarks/random_stylegan2.py --resolution 256 --out /tmp/config-f-256.safetensors
    python benchmarks/train_step.py --backend stylegan2 --backend-options '{"source": "/tmp/config-f-256.safetensors"}'
"""

from __future__ import annotations

import argparse
import json

import torch
from latentmotion_stylegan2.checkpoints import save_generator
from latentmotion_stylegan2.networks import Generator, GeneratorConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=256, help="image side, a power of two from 4 to 1024")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument("--out", required=True, help="the .safetensors file to write")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    config = GeneratorConfig(img_resolution=args.resolution)  # the defaults are config-f's widths
    path = save_generator(Generator(config), args.out, source=f"random weights, seed {args.seed}")
    print(json.dumps({"benchmark": "random_stylegan2", "path": str(path), "config": config.to_dict()}))


if __name__ == "__main__":
    main()
