"""Wall time of `latentmotion generate` with default settings (the `toy` pipeline of latentmotion-toyworld, one mp4),
and of `import latentmotion`, each as a fresh process, against a bare `python -c pass`.

Targets (issue 3): the default generation under 10 s including start-up; the import under 1 s.

    python benchmarks/toy_generate.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from cli_startup import ENTRY, median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        commands = {
            "baseline (python -c pass)": [sys.executable, "-c", "pass"],
            "import latentmotion": [sys.executable, "-c", "import latentmotion"],
            "latentmotion generate": [sys.executable, *ENTRY, "generate", "--output", str(Path(out) / "video.mp4")],
        }
        seconds = {name: median_seconds(command, repeats=args.repeats) for name, command in commands.items()}
    targets = {"import latentmotion": 1.0, "latentmotion generate": 10.0}
    print(
        json.dumps(
            {name: {"median_s": round(value, 3), **({"target_s": targets[name], "under_target": value < targets[name]} if name in targets else {})} for name, value in seconds.items()},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
