"""Run by test_train.py under torchrun: train a few steps in each of 2 processes, record each replica."""

import json
import sys
from pathlib import Path

import torch

from latentmotion.testing import MovingSquares, smoke_config
from latentmotion.train import Trainer

out_dir, mode = Path(sys.argv[1]), sys.argv[2]
trainer = Trainer(smoke_config({"mode": mode, "data.batch_size": 4}), out_dir, dataset=MovingSquares(), progress=False)
trainer.train()
record = {
    "motion": [float(p.double().sum()) for p in trainer.motion.parameters()],
    "video_d": [float(p.double().sum()) for p in trainer.video_d.parameters()],
    "clips_seen": trainer.clips_seen,
    "world_size": torch.distributed.get_world_size(),
}
(out_dir / f"rank{trainer.dist.rank}.json").write_text(json.dumps(record))
