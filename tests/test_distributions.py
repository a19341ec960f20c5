"""The built distributions: every bundled file in its wheel, a clean version, and wheels that work installed (not editable) in a clean environment."""

import csv
import importlib.util
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = [ROOT, ROOT / "plugins/latentmotion-toyworld", ROOT / "plugins/latentmotion-stylegan2", ROOT / "plugins/latentmotion-biggan"]


def run(*command, **options):
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, check=False, **options)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def import_folder(package):
    """The import package a distribution folder ships: `latentmotion`, or `latentmotion_<plugin>`."""
    return package / ("latentmotion" if package == ROOT else package.name.replace("-", "_"))


def wheel_files(wheel):
    """The files a wheel's RECORD lists."""
    with zipfile.ZipFile(wheel) as archive:
        [record] = [name for name in archive.namelist() if name.endswith(".dist-info/RECORD")]
        return {row[0] for row in csv.reader(io.StringIO(archive.read(record).decode())) if row}


def missing_from_wheel(wheel, package):
    """The files git tracks in a distribution's import package that its wheel lacks, as paths inside the wheel."""
    folder = import_folder(package)
    tracked = subprocess.run(["git", "ls-files", "-z", "--", folder], capture_output=True, check=True, cwd=ROOT).stdout.decode().split("\0")
    expected = {str((ROOT / path).relative_to(folder.parent)) for path in tracked if path}
    return sorted(expected - wheel_files(wheel))


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    """One wheel of each package, built as `make dist` builds them: `{package folder: wheel}`."""
    out = tmp_path_factory.mktemp("wheels")
    built = {}
    for package in PACKAGES:
        before = set(out.glob("*.whl"))
        run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, package)
        [built[package]] = set(out.glob("*.whl")) - before
    return built


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git checkout to know the bundled files")
def test_every_file_of_each_package_is_in_its_wheel(wheels):
    for package, wheel in wheels.items():
        missing = missing_from_wheel(wheel, package)
        assert not missing, f"{wheel.name} lacks {', '.join(missing)}"
    bundled = wheel_files(wheels[ROOT / "plugins/latentmotion-toyworld"])
    assert {"latentmotion_toyworld/pretrained/toy/motion.safetensors", "latentmotion_toyworld/weights/toy-shapes.safetensors"} <= bundled


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git checkout to know the bundled files")
def test_a_wheel_missing_a_bundled_file_is_named(wheels, tmp_path):
    package = ROOT / "plugins/latentmotion-toyworld"
    complete = wheels[package]
    broken = tmp_path / complete.name
    lost = "latentmotion_toyworld/pretrained/toy/motion.safetensors"
    with zipfile.ZipFile(complete) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith(".dist-info/RECORD"):
                data = "".join(line + "\n" for line in data.decode().splitlines() if not line.startswith(lost + ",")).encode()
            if item.filename != lost:
                target.writestr(item, data)
    assert missing_from_wheel(broken, package) == [lost]


def test_the_wheels_install_into_a_clean_environment_and_generate(wheels, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python, latentmotion = venv / "bin" / "python", venv / "bin" / "latentmotion"
    run(python, "-m", "pip", "install", "--quiet", "torch==2.13.0")  # the CPU build, as the README says
    run(python, "-m", "pip", "install", "--quiet", *sorted(wheels.values()))
    # Nothing of the checkout may leak in: every module comes from the environment.
    located = run(python, "-c", "import latentmotion, latentmotion_toyworld; print(latentmotion.__file__, latentmotion_toyworld.__file__)", cwd=tmp_path)
    assert str(ROOT) not in located and str(venv) in located
    backends = {row["name"]: row["version"] for row in json.loads(run(latentmotion, "backends", "--json", cwd=tmp_path))}
    assert {"tiny", "toy", "stylegan2", "biggan"} <= set(backends)
    run(latentmotion, "generate", "-n", "2", "--output", tmp_path / "demo.png", cwd=tmp_path)  # the bundled `toy` pipeline
    assert (tmp_path / "demo.png").stat().st_size > 1000


# ----------------------------------------------------------------------------------------------
# A release build refuses a dirty version (scripts/check_release.py, run by `make dist`).


def check_release():
    spec = importlib.util.spec_from_file_location("check_release", ROOT / "scripts" / "check_release.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHANGELOG = """# Changelog

## [Unreleased]
{unreleased}
## [0.2.0] - 2026-12-02

### Added
- Training modes as objects.

## [0.1.0] - 2026-11-24

### Added
- MoCoGAN-HD as a library.
"""


def test_a_clean_release_passes():
    assert check_release().release_problems({"latentmotion": "0.2.0", "latentmotion-toyworld": "0.1.0"}, CHANGELOG.format(unreleased="")) == []


def test_a_released_version_with_unreleased_changes_is_a_dirty_version():
    changelog = CHANGELOG.format(unreleased="\n### Added\n- Model cards.\n- Streaming.\n")
    [problem] = check_release().release_problems({"latentmotion": "0.2.0"}, changelog)
    assert "latentmotion 0.2.0 is a dirty version" in problem and "2 unreleased change(s)" in problem and "bump the version" in problem
    bumped = changelog.replace("## [Unreleased]\n\n### Added\n- Model cards.\n- Streaming.\n", "## [Unreleased]\n\n## [0.3.0] - 2026-12-09\n\n### Added\n- Model cards.\n- Streaming.\n")
    assert check_release().release_problems({"latentmotion": "0.3.0"}, bumped) == []


def test_a_version_without_a_dated_entry_is_refused():
    module = check_release()
    [problem] = module.release_problems({"latentmotion-biggan": "0.2.1"}, CHANGELOG.format(unreleased=""))
    assert problem.startswith("latentmotion-biggan 0.2.1 has no entry in CHANGELOG.md")
    undated = CHANGELOG.format(unreleased="").replace("## [0.2.0] - 2026-12-02", "## [0.2.0]")
    [problem] = module.release_problems({"latentmotion": "0.2.0"}, undated)
    assert "has no release date" in problem


def test_the_script_reads_every_packages_one_version():
    import latentmotion

    module = check_release()
    assert module.read_version(module.PACKAGES["latentmotion"]) == latentmotion.__version__
    assert set(module.PACKAGES) == {"latentmotion", "latentmotion-toyworld", "latentmotion-stylegan2", "latentmotion-biggan"}
    result = subprocess.run([sys.executable, ROOT / "scripts" / "check_release.py"], capture_output=True, text=True, check=False)
    assert result.returncode in (0, 1) and all(line.startswith("error: ") for line in result.stderr.splitlines())
