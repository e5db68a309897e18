"""ns-train learn2talk-small on a tiny synthetic head capture, then the avatar animated to an mp4 with audio."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, cast

import numpy as np
import pytest
import torch

from ns_plugins.learn2talk.synth.avatar_capture import generate_avatar_dataset
from ns_plugins.learn2talk.synth.head_mesh import deform, make_head_mesh

if TYPE_CHECKING:
    from ns_plugins.learn2talk.avatar.model import AvatarModel
from tests.cli import run, train_args

STEPS = 60


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("avatar_e2e")
    data = generate_avatar_dataset(
        root / "data",
        num_train_frames=3,
        num_test_frames=2,
        num_cameras=3,
        width=32,
        height=32,
        mesh_resolution=16,
        supersample=2,
    )
    run(
        *train_args("learn2talk-small", data, root / "outputs", "e2e", STEPS, "--steps-per-eval-all-images", 100000),
        cwd=root,
    )
    return {"root": root, "data": data, "config": next((root / "outputs").glob("e2e/*/t/config.yml"))}


def test_training_fits_and_keeps_bindings(trained: dict) -> None:
    from ns_plugins.splat.evaluate import heldout_metrics, load_trained_pipeline

    pipeline, step = load_trained_pipeline(trained["config"])
    model = cast("AvatarModel", pipeline.model)
    faces = np.load(trained["data"] / "faces.npy")
    binding = model.gauss_params["binding"][:, 0]
    assert torch.equal(binding, binding.round()) and binding.min() >= 0 and binding.max() < len(faces)
    assert model.num_points != 2 * len(faces)  # densification changed the set, bindings came along
    trained_psnr = heldout_metrics(pipeline)["psnr"]
    model.initialise_on_mesh()  # back to the Gaussians training started from
    initial_psnr = heldout_metrics(pipeline)["psnr"]
    # measured: 15.1 dB at initialisation, 18.9 dB after 60 steps
    assert trained_psnr > initial_psnr + 2.5 and trained_psnr > 17.0, (initial_psnr, trained_psnr)


def test_animate_writes_video_with_audio(trained: dict) -> None:
    import imageio_ffmpeg

    from ns_plugins.learn2talk.avatar.animate import animate_avatar
    from ns_plugins.learn2talk.talking_head.audio import write_wav

    root = trained["root"]
    # a still head, the head moved 0.4 along +x (image right), the jaw wide open: the video must follow the mesh
    template = np.load(trained["data"] / "template.npy")
    mesh = make_head_mesh(16)
    jaw = deform(mesh, torch.eye(len(mesh.basis_names))[:1] * 1.5)[0].numpy()
    sequence = np.stack([template, template + np.array([0.4, 0.0, 0.0], dtype=np.float32), jaw])
    np.save(root / "talk.npy", sequence)
    t = torch.arange(16000 * len(sequence) // 25) / 16000.0
    write_wav(root / "speech.wav", 0.3 * torch.sin(2 * torch.pi * 220.0 * t), 16000)
    result = animate_avatar(
        trained["config"], root / "speech.wav", root / "talk.mp4", vertices=root / "talk.npy", width=64
    )
    assert result["frames"] == len(sequence) and result["render_fps"] > 0
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(root / "talk.mp4")], capture_output=True, text=True
    ).stderr
    assert "Video: h264" in probe and "64x64" in probe and "Audio: aac" in probe
    frames = list(imageio_ffmpeg.read_frames(str(root / "talk.mp4")))[1:]
    assert len(frames) == len(sequence)
    still, moved, jaw = (np.frombuffer(f, np.uint8).reshape(64, 64, 3).astype(float) for f in frames)
    # the horizontal shift that best aligns the moved frame with the still one (measured: 11 px). The silhouette
    # read against the corner pixel that this replaced failed once in CI: columns 9-53 of both frames differed
    # from that pixel, so the head's shift read as 0
    errors = [np.abs(moved[:, shift:] - still[:, : 64 - shift]).mean() for shift in range(21)]
    assert 5 <= int(np.argmin(errors)) <= 15, errors  # 0.4 * focal 88 px / distance 3.4: ~10 px
    mouth = np.abs(jaw - still)[36:56, 16:48].mean()
    assert mouth > 3 * np.abs(jaw - still)[8:28, 16:48].mean() and mouth > 2.0  # the jaw moved, the brows did not
