"""ember.utils.collect_env: the report carries ember's and NumPy's versions and follows the
conventions of torch's (Yes/No, "Could not collect", "No CUDA", "[pip3] name==version")."""

import subprocess
import sys

import numpy as np

import ember
from ember.utils import collect_env


def test_env_info_fields():
    info = collect_env.get_env_info()
    assert info.ember_version == str(ember.__version__)
    assert info.numpy_version == np.__version__
    assert info.is_debug_build is False
    assert info.is_cuda_available == ember.cuda.is_available()
    assert f"numpy=={np.__version__}" in info.pip_packages.splitlines()


def test_pretty_str_conventions():
    info = collect_env.get_env_info()._replace(
        os=None, is_cuda_available=False, cuda_runtime_version=None, nvidia_gpu_models=None,
        nvidia_driver_version=None, pip_packages="numpy==2.0.0\nember==0.1.0")
    lines = collect_env.pretty_str(info).splitlines()
    assert lines[0] == f"ember version: {ember.__version__}"
    assert "Is debug build: No" in lines and "OS: Could not collect" in lines
    assert "Is CUDA available: No" in lines and "Nvidia driver version: No CUDA" in lines
    assert lines[-2:] == ["[pip3] numpy==2.0.0", "[pip3] ember==0.1.0"]
    empty = collect_env.pretty_str(info._replace(pip_packages=""))
    assert empty.endswith("[pip3] No relevant packages")
    gpus = collect_env.pretty_str(info._replace(is_cuda_available=True,
                                                nvidia_gpu_models="GPU 0: A\nGPU 1: B"))
    assert "GPU models and configuration: \nGPU 0: A\nGPU 1: B\n" in gpus


def test_main_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "ember.utils.collect_env"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "Collecting environment information..."
    assert f"NumPy version: {np.__version__}" in lines
    assert "RuntimeWarning" not in out.stderr
