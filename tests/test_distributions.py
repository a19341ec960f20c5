"""The built distributions: wheels installed (not editable) into a clean virtual environment work."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = [ROOT, ROOT / "plugins/latentmotion-toyworld", ROOT / "plugins/latentmotion-stylegan2", ROOT / "plugins/latentmotion-biggan"]


def run(*command, **options):
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, check=False, **options)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_the_wheels_install_into_a_clean_environment_and_generate(tmp_path):
    wheels = tmp_path / "wheels"
    for package in PACKAGES:
        run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", wheels, package)
    assert len(list(wheels.glob("*.whl"))) == len(PACKAGES)
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python, latentmotion = venv / "bin" / "python", venv / "bin" / "latentmotion"
    run(python, "-m", "pip", "install", "--quiet", "torch==2.13.0")  # the CPU build, as the README says
    run(python, "-m", "pip", "install", "--quiet", *sorted(wheels.glob("*.whl")))
    # Nothing of the checkout may leak in: every module comes from the environment.
    located = run(python, "-c", "import latentmotion, latentmotion_toyworld; print(latentmotion.__file__, latentmotion_toyworld.__file__)", cwd=tmp_path)
    assert str(ROOT) not in located and str(venv) in located
    backends = {row["name"]: row["version"] for row in json.loads(run(latentmotion, "backends", "--json", cwd=tmp_path))}
    assert {"tiny", "toy", "stylegan2", "biggan"} <= set(backends)
    run(latentmotion, "generate", "-n", "2", "--output", tmp_path / "demo.png", cwd=tmp_path)  # the bundled `toy` pipeline
    assert (tmp_path / "demo.png").stat().st_size > 1000
