"""``ns-deblurgs-export-trajectories``: the learned exposure trajectories in TUM format.

One line per sub-frame, ``timestamp tx ty tz qx qy qz qw`` (camera-to-world, OpenGL camera axes as
nerfstudio uses them), timestamp = training image index + sub-frame time in [0, 1). Poses are in
the dataset's original frame (the dataparser's orientation and scale undone) unless
``--frame dataparser``.

    ns-deblurgs-export-trajectories --load-config outputs/.../config.yml --output-path traj.tum
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import numpy as np
import torch

from ns_plugins.data.errors import exits_on_data_error
from ns_plugins.splat.geometry import rotmat_to_quat

if TYPE_CHECKING:
    from nerfstudio.data.dataparsers.base_dataparser import DataparserOutputs


def tum_lines(poses: np.ndarray, times: np.ndarray) -> list[str]:
    """Poses [B, T, 3, 4] and times [B, T] -> TUM lines (timestamp = image index + time)."""
    lines = []
    quats = rotmat_to_quat(torch.from_numpy(poses[..., :3, :3])).numpy()[..., [1, 2, 3, 0]]  # TUM: x y z w
    for i in range(poses.shape[0]):
        for k in range(poses.shape[1]):
            t, q = poses[i, k, :3, 3], quats[i, k]
            lines.append(f"{i + min(times[i, k], 0.999999):.6f} " + " ".join(f"{v:.8f}" for v in (*t, *q)))
    return lines


def trajectory_poses(model) -> tuple[torch.Tensor, torch.Tensor]:
    """A trained DeblurGS model -> (sub-frame poses [B, N, 3, 4] in dataparser frame, times [B, N])."""
    idx = torch.arange(model.num_train_data, device=model.device)
    with torch.no_grad():
        times = model.trajectory.timestamps(idx)
        return model.trajectory.poses(model.train_camera_to_worlds, idx, times), times


@dataclass
class ExportTrajectories:
    """Write a trained deblurgs run's exposure trajectories in TUM format."""

    load_config: Path
    output_path: Path = Path("trajectories.tum")
    frame: Literal["original", "dataparser"] = "original"
    """Coordinate frame: the dataset's own, or the normalised one the model trains in."""

    def main(self) -> Path:
        from nerfstudio.utils.eval_utils import eval_setup

        _, pipeline, _, _ = eval_setup(self.load_config, test_mode="test")
        poses, times = trajectory_poses(pipeline.model)
        b, n = poses.shape[:2]
        flat = poses.reshape(-1, 3, 4).cpu()
        if self.frame == "original":
            # set by the datamanager's __init__; nerfstudio's DataManager base class does not declare it
            outputs = cast("DataparserOutputs", pipeline.datamanager.train_dataparser_outputs)
            flat = outputs.transform_poses_to_original_space(flat, camera_convention="opengl")
        lines = tum_lines(flat.reshape(b, n, 3, 4).numpy(), times.cpu().numpy())
        self.output_path.parent.mkdir(parents=True, exist_ok=True)
        self.output_path.write_text("# timestamp tx ty tz qx qy qz qw\n" + "\n".join(lines) + "\n")
        print(f"wrote {len(lines)} sub-frame poses of {b} images to {self.output_path}")
        return self.output_path


@exits_on_data_error
def entrypoint() -> None:
    import tyro

    tyro.cli(ExportTrajectories).main()


if __name__ == "__main__":
    entrypoint()
