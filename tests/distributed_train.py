"""Run by test_train.py (and test_gpu.py) under torchrun: train a few steps in each process, record each replica."""

import json
import sys
from pathlib import Path

import torch

from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.train import Trainer

out_dir, mode = Path(sys.argv[1]), sys.argv[2]
device = sys.argv[3] if len(sys.argv) > 3 else "cpu"  # "cuda": each process its own GPU, over NCCL
trainer = Trainer(smoke_config({"mode": mode, "data.batch_size": 4, "run.device": device}), out_dir, dataset=MovingSquares(), progress=False)
trainer.train()
record = {
    "motion": [float(p.double().sum()) for p in trainer.motion.parameters()],
    "video_d": [float(p.double().sum()) for p in trainer.video_d.parameters()],
    "clips_seen": trainer.clips_seen,
    "world_size": torch.distributed.get_world_size(),
}
(out_dir / f"rank{trainer.dist.rank}.json").write_text(json.dumps(record))
