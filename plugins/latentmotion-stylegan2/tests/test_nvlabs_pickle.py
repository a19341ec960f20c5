"""Safe loading of NVlabs StyleGAN2-ADA pickles: real structure loads, embedded code never runs, anything else is refused."""

import builtins
import os
import pickle
import subprocess
import sys

import pytest
import torch
from latentmotion_stylegan2.checkpoints import load_generator
from latentmotion_stylegan2.networks import GeneratorConfig
from latentmotion_stylegan2.nvlabs_pickle import load_nvlabs_pickle

from latentmotion.errors import CheckpointError


class Payload:
    """An object that unpickles as a call of `function(*args)`, as a malicious pickle would carry."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def render(generator, seed=0):
    z = torch.randn(2, generator.config.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return generator(z, noise_mode="const")


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_pickle_loads_to_the_same_generator(nvlabs, tiny_generator, tmp_path, protocol):
    path = nvlabs.write(tmp_path / "network-snapshot.pkl", tiny_generator, protocol=protocol)
    config, state = load_nvlabs_pickle(path)
    assert config == tiny_generator.config
    assert state.keys() == tiny_generator.state_dict().keys()
    assert all(torch.equal(state[key], value) for key, value in tiny_generator.state_dict().items())
    assert torch.equal(render(load_generator(path)), render(tiny_generator))
    assert not {"torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util"} & set(sys.modules)


def test_numpy_1_spelling_of_numpy_scalars_is_accepted(nvlabs, tiny_generator, tmp_path):
    # Pickles written under numpy 1.x (every official release) name numpy.core.multiarray.scalar.
    path = nvlabs.write(tmp_path / "g.pkl", tiny_generator, protocol=3)
    data = path.read_bytes()
    assert b"cnumpy._core.multiarray\nscalar\n" in data
    path.write_bytes(data.replace(b"cnumpy._core.multiarray\nscalar\n", b"cnumpy.core.multiarray\nscalar\n"))
    assert torch.equal(render(load_generator(path)), render(tiny_generator))


def test_g_is_used_when_there_is_no_g_ema(nvlabs, make_generator, tmp_path):
    g = make_generator(seed=5)
    path = nvlabs.write(tmp_path / "g.pkl", g, snapshot=lambda fake, persistent: {"G": persistent, "D": None})
    assert torch.equal(render(load_generator(path)), render(g))


def test_the_module_source_in_the_pickle_never_runs(nvlabs, tiny_generator, tmp_path):
    marker = tmp_path / "module_source_ran"
    source = f"open({str(marker)!r}, 'w').close()\n"

    def snapshot(fake, g):
        init_kwargs = nvlabs.init_kwargs(tiny_generator.config, fake)
        return {"G_ema": nvlabs.as_persistent(tiny_generator, fake, init_kwargs=init_kwargs, module_src=source)}

    path = nvlabs.write(tmp_path / "g.pkl", tiny_generator, snapshot=snapshot)
    assert source.encode() in path.read_bytes()
    assert torch.equal(render(load_generator(path)), render(tiny_generator))
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [
        lambda marker: Payload(os.system, f"touch {marker}"),
        lambda marker: Payload(builtins.eval, f"open({str(marker)!r}, 'w').close()"),
        lambda marker: Payload(builtins.exec, f"open({str(marker)!r}, 'w').close()"),
        lambda marker: Payload(subprocess.Popen, ["touch", str(marker)]),
        lambda marker: Payload(getattr, "", "join"),
    ],
    ids=["os.system", "builtins.eval", "builtins.exec", "subprocess.Popen", "builtins.getattr"],
)
@pytest.mark.parametrize("where", ["top level", "inside the generator"])
def test_malicious_payloads_are_refused_and_never_run(nvlabs, tiny_generator, tmp_path, payload, where):
    marker = tmp_path / "pwned"

    def snapshot(fake, g):
        if where == "top level":
            return payload(marker)
        g.meta["state"]["_init_kwargs"]["mapping_kwargs"]["num_layers"] = payload(marker)
        return {"G_ema": g}

    path = nvlabs.write(tmp_path / "evil.pkl", tiny_generator, snapshot=snapshot)
    with pytest.raises(CheckpointError, match="refusing to load") as error:
        load_generator(path)
    assert "nothing in it was run" in str(error.value)
    assert not marker.exists()


def test_a_pickle_without_a_generator_is_refused(tmp_path):
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(CheckpointError, match="no StyleGAN2-ADA generator"):
        load_generator(path)
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(CheckpointError, match="not an NVlabs network snapshot"):
        load_generator(path)


def test_a_discriminator_is_not_a_generator(nvlabs, tiny_generator, tmp_path):
    def snapshot(fake, g):
        return {"G_ema": nvlabs.as_persistent(tiny_generator, fake, class_name="Discriminator")}

    with pytest.raises(CheckpointError, match="'Discriminator', not a StyleGAN2-ADA Generator"):
        load_generator(nvlabs.write(tmp_path / "d.pkl", tiny_generator, snapshot=snapshot))


def test_stylegan3_is_refused_clearly(nvlabs, tiny_generator, tmp_path):
    def snapshot(fake, g):
        g.meta["state"]["_modules"]["synthesis"].meta["state"]["_modules"]["input"] = nvlabs.Persistent(
            fake.reconstruct, "SynthesisInput", {"_parameters": {}, "_buffers": {}, "_modules": {}}
        )
        return {"G_ema": g}

    with pytest.raises(CheckpointError, match="StyleGAN3"):
        load_generator(nvlabs.write(tmp_path / "sg3.pkl", tiny_generator, snapshot=snapshot))


def test_unknown_architecture_settings_are_refused(nvlabs, tiny_generator, tmp_path):
    def resnet(fake, g):
        g.meta["state"]["_init_kwargs"]["synthesis_kwargs"]["architecture"] = "resnet"
        return {"G_ema": g}

    def unknown(fake, g):
        g.meta["state"]["_init_kwargs"]["synthesis_kwargs"]["attention_resolutions"] = [16]
        return {"G_ema": g}

    with pytest.raises(CheckpointError, match="architecture"):
        load_generator(nvlabs.write(tmp_path / "a.pkl", tiny_generator, snapshot=resnet))
    with pytest.raises(CheckpointError, match=r"synthesis_kwargs\.attention_resolutions"):
        load_generator(nvlabs.write(tmp_path / "b.pkl", tiny_generator, snapshot=unknown))


def test_weights_that_contradict_the_recorded_architecture_are_refused(nvlabs, make_generator, tmp_path):
    wider = make_generator(GeneratorConfig(z_dim=16, w_dim=16, img_resolution=32, mapping_layers=2, channel_base=512, channel_max=32))

    def snapshot(fake, g):
        narrow = GeneratorConfig(z_dim=16, w_dim=16, img_resolution=32, mapping_layers=2, channel_base=256, channel_max=32)
        return {"G_ema": nvlabs.as_persistent(wider, fake, init_kwargs=nvlabs.init_kwargs(narrow, fake))}

    with pytest.raises(CheckpointError, match="does not match"):
        load_generator(nvlabs.write(tmp_path / "g.pkl", wider, snapshot=snapshot))


def test_truncated_and_garbage_files_are_clear_errors(nvlabs, tiny_generator, tmp_path):
    path = nvlabs.write(tmp_path / "g.pkl", tiny_generator)
    data = path.read_bytes()
    for length in (len(data) // 2, len(data) - 3, 40):
        path.write_bytes(data[:length])
        with pytest.raises(CheckpointError, match="truncated or corrupt"):
            load_generator(path)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a StyleGAN2 checkpoint"):
        load_generator(path)
    path.write_bytes(b"")
    with pytest.raises(CheckpointError):
        load_generator(path)
