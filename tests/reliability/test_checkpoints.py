"""PortableTrainer's parts: atomic checkpoints, skipping unreadable ones, resume bookkeeping, in-place
parameter loading, the viewer port line."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from nerfstudio.data.scene_box import SceneBox

from ns_plugins.data.errors import DataError
from ns_plugins.splat.model import PortableSplatModelConfig
from ns_plugins.splat.trainer import (
    PortableTrainer,
    check_run_paths,
    checkpoint_files,
    newest_readable_checkpoint,
    read_checkpoint,
    remaining_steps,
    write_atomically,
)
from ns_plugins.splat.trainer_config import PortableTrainerConfig


def state(step: int) -> dict:
    return {
        "step": step,
        "pipeline": {"w": torch.full((3,), float(step))},
        "optimizers": {},
        "schedulers": {},
        "scalers": {},
    }


def test_atomic_write_leaves_no_temp_file(tmp_path: Path) -> None:
    models = tmp_path / "nerfstudio_models"
    models.mkdir()
    path = models / "step-000000007.ckpt"
    write_atomically(state(7), path, tmp_path / ".step-000000007.ckpt.partial")
    assert read_checkpoint(path)["step"] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nerfstudio_models"]


def test_truncated_newest_checkpoint_falls_back(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for step in (10, 20):
        torch.save(state(step), tmp_path / f"step-{step:09d}.ckpt")
    newest = tmp_path / "step-000000030.ckpt"
    newest.write_bytes((tmp_path / "step-000000020.ckpt").read_bytes()[:100])
    (tmp_path / "notes.txt").write_text("not a checkpoint")  # nerfstudio's loader would choke on this name
    path, loaded = newest_readable_checkpoint(tmp_path)
    assert path.name == "step-000000020.ckpt" and loaded["step"] == 20
    out = capsys.readouterr().out
    assert out.count("skipping") == 1 and "step-000000030.ckpt" in out


def test_no_readable_checkpoint_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "step-000000010.ckpt").write_bytes(b"")
    with pytest.raises(DataError, match="none of its 1 checkpoints can be read"):
        newest_readable_checkpoint(tmp_path)
    with pytest.raises(DataError, match="truncated or unreadable"):
        read_checkpoint(tmp_path / "step-000000010.ckpt")


def test_checkpoint_files_sorted_by_step(tmp_path: Path) -> None:
    for name in ("step-000000100.ckpt", "step-000000020.ckpt", "step-x.ckpt", ".step-000000200.ckpt.partial"):
        (tmp_path / name).write_bytes(b"x")
    assert [s for s, _ in checkpoint_files(tmp_path)] == [20, 100]


def test_run_paths_are_checked(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"\(--data\) does not exist"):
        check_run_paths(tmp_path / "none", None, None, None)
    with pytest.raises(DataError, match=r"no step-\*\.ckpt"):
        check_run_paths(None, tmp_path, None, None)
    with pytest.raises(DataError, match=r"\(--load-step\) does not exist"):
        check_run_paths(None, tmp_path, 5, None)
    check_run_paths(None, None, None, None)


def test_max_num_iterations_is_the_total() -> None:
    assert remaining_steps(300, 151) == 149  # checkpoint at step 150: steps 151..299 remain
    assert remaining_steps(300, 300) == 0


def test_load_state_dict_resizes_parameters_in_place() -> None:
    seed = (torch.rand(50, 3) - 0.5, torch.randint(0, 255, (50, 3), dtype=torch.uint8))
    box = SceneBox(aabb=torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]]))
    model = PortableSplatModelConfig().setup(scene_box=box, num_train_data=2, seed_points=seed)
    saved = {k: torch.cat([v, v[:10]]) if k.startswith("gauss_params.") else v for k, v in model.state_dict().items()}
    before = {name: id(p) for name, p in model.gauss_params.items()}
    model.update_to_step(123)
    model.load_state_dict(saved)
    # the same Parameter objects (optimizers built before loading stay bound to them), at the saved size
    assert {name: id(p) for name, p in model.gauss_params.items()} == before
    assert model.means.shape[0] == 60 and torch.equal(model.means, saved["gauss_params.means"])
    assert model.step == 123  # splatfacto sets 30000 here


class _Server:
    def __init__(self, port: int) -> None:
        self.port = port

    def get_port(self) -> int:
        return self.port


@pytest.mark.parametrize(("taken", "said"), [(7007, False), (41234, True)])
def test_trainer_says_which_viewer_port_it_took(taken: int, said: bool, capsys: pytest.CaptureFixture) -> None:
    trainer = PortableTrainer.__new__(PortableTrainer)  # only the viewer bookkeeping, no pipeline
    trainer.config = PortableTrainerConfig()
    # a stand-in viewer: only its server's port is read
    trainer.viewer_state = SimpleNamespace(viser_server=_Server(taken))  # pyright: ignore[reportAttributeAccessIssue]
    trainer._say_viewer_port()
    out = capsys.readouterr().out
    assert ("port 7007 is busy, using port 41234" in out) == said
