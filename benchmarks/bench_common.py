"""What the benchmark scripts share: ns-train runs, nerfstudio's step timer, RESULTS.md sections.

Run as ``python benchmarks/bench_<name>.py``: the scripts' folder is on ``sys.path``, so they
import this module as ``bench_common``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def train(
    method: str, data: Path, out: Path, name: str, steps: int, extra: Sequence[str] = (), reuse: bool = False
) -> Path:
    """``ns-train method`` for ``steps`` steps into out/name (log in out/name.log) -> its config.yml.

    reuse: return an earlier run's config when it has a checkpoint instead of training again.
    """
    from ns_plugins.demo import ns_command

    existing = list(out.glob(f"{name}/*/t/config.yml"))
    if reuse and existing and list(existing[0].parent.glob("nerfstudio_models/*.ckpt")):
        return existing[0]
    cmd = [
        ns_command("ns-train"),
        method,
        "--data",
        str(data),
        "--output-dir",
        str(out),
        "--experiment-name",
        name,
        "--timestamp",
        "t",
        "--max-num-iterations",
        str(steps),
        "--steps-per-save",
        str(steps),
        "--steps-per-eval-image",
        str(steps),
        "--steps-per-eval-all-images",
        str(10 * steps),
        "--vis",
        "tensorboard",
        "--viewer.quit-on-train-completion",
        "True",
        *extra,
    ]
    print("$ " + " ".join(cmd), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{name}.log", "w") as f:
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT)
    return next(out.glob(f"{name}/*/t/config.yml"))


def seconds_per_step(config: Path) -> float:
    """Median of nerfstudio's 'Train Iter (time)' over the last half of the run."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(config.parent))
    acc.Reload()
    events = acc.Scalars("Train Iter (time)")
    return float(np.median([e.value for e in events[len(events) // 2 :]]))


def markers(name: str) -> tuple[str, str]:
    """The HTML comments around benchmark ``name``'s section of RESULTS.md."""
    return f"<!-- bench_{name}:start -->", f"<!-- bench_{name}:end -->"


def write_section(name: str, text: str, before: Optional[str] = None, path: Path = RESULTS) -> None:
    """Replace benchmark ``name``'s section of ``path`` with ``text``.

    A new section goes just before benchmark ``before``'s section when that exists, else at the end.
    """
    start, end = markers(name)
    content = path.read_text() if path.exists() else "# Results\n"
    block = f"{start}\n{text}\n{end}"
    if start in content and end in content:
        content = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, content, flags=re.S)
    elif before is not None and markers(before)[0] in content:
        content = content.replace(markers(before)[0], f"{block}\n\n{markers(before)[0]}", 1)
    else:
        content = content.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(content)
