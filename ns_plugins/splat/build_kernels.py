"""Build and load the C++ CPU kernels (``csrc/``: projection and tile binning in ``project_cpu.cpp``,
SH colours in ``sh_cpu.cpp``, compositing in ``rasterize_cpu.cpp``) as one library.

The kernels are plain C++ with ``extern "C"`` entry points, compiled with the system compiler into
``ns_plugins/splat/_build/`` (or ``$NS_PLUGINS_BUILD_DIR``) and loaded with ctypes: this builds in a
couple of seconds, unlike ``torch.utils.cpp_extension``. The library name carries a hash of the
source and flags, so an edited source is rebuilt; concurrent builders (parallel pytest workers)
each compile to a private temporary file and atomically rename it into place.

Ahead-of-time build: ``python -m ns_plugins.splat.build_kernels [--strict]``.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Optional

CSRC = Path(__file__).parent / "csrc"
SOURCES = [CSRC / "project_cpu.cpp", CSRC / "sh_cpu.cpp", CSRC / "rasterize_cpu.cpp"]
HEADERS = [CSRC / "parallel.h"]
# no FMA contraction: the kernels round like the torch fallback and the dense reference
CXX_FLAGS = ["-std=c++17", "-shared", "-fPIC", "-pthread", "-ffp-contract=off", "-fno-trapping-math", "-fopenmp"]
OPT_ENV = "NS_PLUGINS_KERNEL_OPT"  # optimisation flag, "-O3" unless set (tests build with -O0)
ABI_VERSION = 2

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_load_error: Optional[str] = None


def build_dir() -> Path:
    """Where compiled kernels are cached."""
    env = os.environ.get("NS_PLUGINS_BUILD_DIR")
    return Path(env) if env else Path(__file__).parent / "_build"


def find_compiler() -> Optional[str]:
    """A C++ compiler: ``$CXX``, else g++, else c++, else clang++."""
    for cand in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if cand and shutil.which(cand):
            return shutil.which(cand)
    return None


def cxx_flags() -> list:
    """Compiler flags: the optimisation level from ``$NS_PLUGINS_KERNEL_OPT`` (default -O3)."""
    return [os.environ.get(OPT_ENV, "-O3"), *CXX_FLAGS]


def library_path(compiler: str) -> Path:
    """Cache path; the hash covers the source, the flags, the compiler and the platform."""
    h = hashlib.sha256()
    for src in SOURCES + HEADERS:
        h.update(src.read_bytes())
    h.update(" ".join(cxx_flags()).encode())
    h.update(compiler.encode())
    h.update(platform.machine().encode())
    return build_dir() / f"rasterize_cpu_{h.hexdigest()[:16]}.so"


def build(verbose: bool = False) -> Path:
    """Compile the kernel if it is not cached yet; returns the library path.

    Raises RuntimeError when no compiler is found or compilation fails.
    """
    compiler = find_compiler()
    if compiler is None:
        raise RuntimeError("no C++ compiler found (set $CXX or install g++)")
    out = library_path(compiler)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    # private temporary name in the same directory, then an atomic rename: safe when several
    # processes build at once (the last rename wins; all produce the same file)
    fd, tmp = tempfile.mkstemp(prefix=out.stem + ".", suffix=".tmp.so", dir=out.parent)
    os.close(fd)
    cmd = [compiler, *cxx_flags(), *map(str, SOURCES), "-o", tmp]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:  # e.g. clang without libomp: the std::thread build
            cmd = [c for c in cmd if c != "-fopenmp"]
            proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"kernel build failed: {' '.join(cmd)}\n{proc.stderr}")
        if verbose:
            print(" ".join(cmd))
        os.chmod(tmp, 0o755)  # mkstemp creates 0600
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _declare(lib: ctypes.CDLL) -> None:
    i64, i32, p = ctypes.c_int64, ctypes.c_int, ctypes.c_void_p
    head = [i64] * 8
    for suffix in ("f32", "f64"):
        fwd = getattr(lib, f"ns_rasterize_fwd_{suffix}")
        fwd.argtypes = head + [p] * 10 + [i32]
        fwd.restype = i32
        bwd = getattr(lib, f"ns_rasterize_bwd_{suffix}")
        bwd.argtypes = head + [p] * 16 + [i32]
        bwd.restype = i32
        pro_fwd = getattr(lib, f"ns_project_fwd_{suffix}")
        pro_fwd.argtypes = [i64, i64, p, p, p, p, i64, i64] + [ctypes.c_double] * 4 + [p] * 5 + [i32]
        pro_fwd.restype = i32
        pro_bwd = getattr(lib, f"ns_project_bwd_{suffix}")
        pro_bwd.argtypes = [i64, i64, p, p, p, p, i64, i64, ctypes.c_double] + [p] * 10 + [i32]
        pro_bwd.restype = i32
        count = getattr(lib, f"ns_isect_count_{suffix}")
        count.argtypes = [i64, p, p, i64, i64, i64, p, i32]
        count.restype = i64
        fill = getattr(lib, f"ns_isect_fill_{suffix}")
        fill.argtypes = [i64, i64, p, p, p, i64, i64, i64, i64, p, p, p, i32]
        fill.restype = i32
        sh_fwd = getattr(lib, f"ns_sh_fwd_{suffix}")
        sh_fwd.argtypes = [i64, i64, i64, i32, p, p, i64, p, p, i32]
        sh_fwd.restype = i32
        sh_bwd = getattr(lib, f"ns_sh_bwd_{suffix}")
        sh_bwd.argtypes = [i64, i64, i64, i32, p, p, i64, p, p, p, p, p, i32]
        sh_bwd.restype = i32
    lib.ns_rasterize_abi_version.restype = i32


def load() -> Optional[ctypes.CDLL]:
    """The loaded kernel library, building it on first use; None if it cannot be had."""
    global _lib, _load_error
    if _lib is not None or _load_error is not None:
        return _lib
    with _lock:
        if _lib is None and _load_error is None:
            try:
                lib = ctypes.CDLL(str(build()))
                _declare(lib)
                if lib.ns_rasterize_abi_version() != ABI_VERSION:
                    raise RuntimeError("stale kernel library (ABI version mismatch)")
                _lib = lib
            except Exception as e:  # no compiler, failed build, unloadable library
                _load_error = str(e)
    return _lib


def load_error() -> Optional[str]:
    """Why ``load()`` returned None (None if it did not fail)."""
    return _load_error


def main(argv: Optional[list] = None) -> int:
    """Build ahead of time. Exit status 0 even when the build fails (the torch fallback is used
    then) unless ``--strict`` is given."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        path = build(verbose=True)
    except RuntimeError as e:
        print(f"ns_plugins: could not build the CPU rasterization kernel: {e}", file=sys.stderr)
        print("ns_plugins: the pure-torch fallback will be used", file=sys.stderr)
        return 1 if "--strict" in argv else 0
    print(f"ns_plugins: CPU rasterization kernel built at {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
