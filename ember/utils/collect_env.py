"""The environment report to paste into a bug report, as ``torch.utils.collect_env``:
ember's and NumPy's versions (and NumPy's BLAS), the OS, Python, the GPU stack (CuPy) and the
installed packages that matter to ember. Run it as ``python -m ember.utils.collect_env``.

The layout follows torch's (``Label: value``, ``Could not collect`` for what cannot be found,
``Yes``/``No`` for flags, ``[pip3] name==version`` lines); the fields are ember's, since it has
no CUDA build, cuDNN or XNNPACK of its own.

Example:
    >>> import ember
    >>> info = get_env_info()
    >>> info.ember_version == str(ember.__version__)
    True
"""

from __future__ import annotations

import locale
import os
import platform
import re
import subprocess
import sys
from collections import namedtuple

__all__ = ["SystemEnv", "get_env_info", "get_pretty_env_info", "pretty_str", "main"]

SystemEnv = namedtuple("SystemEnv", [
    "ember_version", "is_debug_build", "numpy_version", "numpy_blas", "os", "gcc_version",
    "libc_version", "python_version", "python_platform", "is_cuda_available", "cupy_version",
    "cuda_runtime_version", "nvidia_gpu_models", "nvidia_driver_version", "cpu_info",
    "pip_version", "pip_packages",
])
SystemEnv.__doc__ = """What ``get_env_info`` collects, one field per line of the report.

Example:
    >>> "numpy_version" in SystemEnv._fields
    True
"""

# packages whose versions matter to an ember bug report
PACKAGE_NAMES = ("ember", "numpy", "cupy", "ml_dtypes", "scipy", "onnx", "onnxruntime",
                 "mpi4py", "pillow", "tqdm", "matplotlib", "tensorboard", "safetensors",
                 "torch", "torchvision")


def run(command):
    """Run ``command`` and return ``(returncode, stdout, stderr)``, stripped.

    Example:
        >>> run([sys.executable, "-c", "print('hi')"])
        (0, 'hi', '')
    """
    try:
        p = subprocess.run(command, capture_output=True, shell=type(command) is str,
                           timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 127, "", str(e)
    enc = "oem" if sys.platform.startswith("win32") else locale.getpreferredencoding()
    return p.returncode, p.stdout.decode(enc).strip(), p.stderr.decode(enc).strip()


def run_and_parse_first_match(run_lambda, command, regex):
    """The first match of ``regex`` in the command's output, or None.

    Example:
        >>> run_and_parse_first_match(run, [sys.executable, "-V"], r"Python (\\d+)")
        '3'
    """
    rc, out, _ = run_lambda(command)
    if rc != 0:
        return None
    match = re.search(regex, out)
    return None if match is None else match.group(1)


def get_platform() -> str:
    """``linux``, ``win32``, ``cygwin``, ``darwin`` or ``sys.platform``.

    Example:
        >>> get_platform() in ("linux", "win32", "cygwin", "darwin", sys.platform)
        True
    """
    for name in ("linux", "win32", "cygwin", "darwin"):
        if sys.platform.startswith(name):
            return name
    return sys.platform


def get_os(run_lambda) -> str | None:
    """The OS name and machine, as torch's report writes it.

    Example:
        >>> isinstance(get_os(run), str)
        True
    """
    machine = platform.machine()
    plat = get_platform()
    if plat in ("win32", "cygwin"):
        return f"{platform.system()} {platform.release()} ({platform.version()} {machine})"
    if plat == "darwin":
        version = run_and_parse_first_match(run_lambda, "sw_vers -productVersion", r"(.*)")
        return None if version is None else f"macOS {version} ({machine})"
    if plat == "linux":
        desc = run_and_parse_first_match(run_lambda, "lsb_release -a", r"Description:\t(.*)")
        if desc is None:
            desc = run_and_parse_first_match(run_lambda, "cat /etc/*-release",
                                             r'PRETTY_NAME="(.*)"')
        return f"{desc if desc is not None else plat} ({machine})"
    return plat


def get_libc_version() -> str:
    """The C library and version on Linux, else ``N/A``.

    Example:
        >>> isinstance(get_libc_version(), str)
        True
    """
    if get_platform() != "linux":
        return "N/A"
    return "-".join(platform.libc_ver())


def get_cpu_info(run_lambda) -> str | None:
    """``lscpu`` on Linux (the processor's name elsewhere).

    Example:
        >>> get_cpu_info(lambda cmd: (0, "Architecture: x86_64", ""))
        'Architecture: x86_64'
    """
    if get_platform() == "linux":
        rc, out, err = run_lambda("lscpu")
        return out if rc == 0 else err or None
    return platform.processor() or None


def _package_versions() -> list:
    from importlib import metadata

    lines = []
    for name in PACKAGE_NAMES:
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return lines


def _numpy_blas() -> str | None:
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # older NumPy has no dict mode; the report then says so
        return None
    return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()


def _cuda_fields(run_lambda):
    # CuPy is ember's GPU backend: ask it only when it is installed, never import it otherwise
    from importlib import metadata

    cupy_version = None
    for dist in ("cupy", "cupy-cuda12x", "cupy-cuda11x", "cupy-cuda13x"):
        try:
            cupy_version = metadata.version(dist)
            break
        except metadata.PackageNotFoundError:
            continue
    runtime = None
    if cupy_version is not None:
        try:
            import cupy

            runtime = str(cupy.cuda.runtime.runtimeGetVersion())
        except Exception:
            runtime = None
    smi = "nvidia-smi"
    gpus = run_and_parse_first_match(run_lambda, f"{smi} -L", r"(.*)")
    driver = run_and_parse_first_match(run_lambda, smi, r"Driver Version: (.*?) ")
    return cupy_version, runtime, gpus, driver


def get_env_info() -> SystemEnv:
    """Collect the report's fields.

    Example:
        >>> get_env_info().numpy_version == __import__("numpy").__version__
        True
    """
    import numpy as np

    import ember

    cupy_version, runtime, gpus, driver = _cuda_fields(run)
    gcc = run_and_parse_first_match(run, "gcc --version", r"gcc (.*)")
    return SystemEnv(
        ember_version=str(ember.__version__),
        is_debug_build=False,  # ember is pure Python: there is no debug build
        numpy_version=np.__version__,
        numpy_blas=_numpy_blas(),
        os=get_os(run),
        gcc_version=gcc,
        libc_version=get_libc_version(),
        python_version=f"{sys.version.replace(os.linesep, ' ')} "
                       f"({sys.maxsize.bit_length() + 1}-bit runtime)",
        python_platform=platform.platform(),
        is_cuda_available=ember.cuda.is_available(),
        cupy_version=cupy_version,
        cuda_runtime_version=runtime,
        nvidia_gpu_models=gpus,
        nvidia_driver_version=driver,
        cpu_info=get_cpu_info(run),
        pip_version="pip3",
        pip_packages="\n".join(_package_versions()),
    )


env_info_fmt = """
ember version: {ember_version}
Is debug build: {is_debug_build}
NumPy version: {numpy_version}
NumPy BLAS: {numpy_blas}

OS: {os}
GCC version: {gcc_version}
Libc version: {libc_version}

Python version: {python_version}
Python platform: {python_platform}
Is CUDA available: {is_cuda_available}
CuPy version: {cupy_version}
CUDA runtime version: {cuda_runtime_version}
GPU models and configuration: {nvidia_gpu_models}
Nvidia driver version: {nvidia_driver_version}

CPU:
{cpu_info}

Versions of relevant libraries:
{pip_packages}
""".strip()


def pretty_str(envinfo: SystemEnv) -> str:
    """The report text for ``envinfo``, with torch's conventions: ``Yes``/``No``, ``Could not
    collect``, ``No CUDA`` on a machine without one, ``[pip3]`` before each package.

    Example:
        >>> text = pretty_str(get_env_info())
        >>> text.splitlines()[0].startswith("ember version: ")
        True
    """
    fields = envinfo._asdict()
    gpus = fields["nvidia_gpu_models"]
    if gpus is not None and "\n" in gpus:  # several GPUs: start the list on its own line
        fields["nvidia_gpu_models"] = f"\n{gpus}\n"
    cuda_fields = ("cuda_runtime_version", "nvidia_gpu_models", "nvidia_driver_version")
    if not envinfo.is_cuda_available and all(fields[f] is None for f in cuda_fields):
        for f in cuda_fields:
            fields[f] = "No CUDA"
    for key, value in fields.items():
        if value is True:
            fields[key] = "Yes"
        elif value is False:
            fields[key] = "No"
        elif value is None:
            fields[key] = "Could not collect"
    packages = fields["pip_packages"]
    if packages == "":
        packages = "No relevant packages"
    fields["pip_packages"] = "\n".join(f"[{envinfo.pip_version}] {line}"
                                       for line in packages.split("\n"))
    return env_info_fmt.format(**fields)


def get_pretty_env_info() -> str:
    """The environment report as text.

    Example:
        >>> "NumPy version: " in get_pretty_env_info()
        True
    """
    return pretty_str(get_env_info())


def main() -> None:
    """Print the environment report (``python -m ember.utils.collect_env``).

    Example:
        >>> main()  # doctest: +ELLIPSIS
        Collecting environment information...
        ember version: ...
    """
    print("Collecting environment information...")
    print(get_pretty_env_info())


if __name__ == "__main__":
    main()
