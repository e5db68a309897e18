"""Speech -> vertices -> the trained Gaussian avatar -> an mp4 with the speech muxed in.

``ns-l2t animate --load-config AVATAR/config.yml --run RUN --audio speech.wav --output talk.mp4``
calls :func:`animate_avatar`. The motion comes from a trained audio-to-vertices network
(``run``: ``ns-l2t train``'s output; its predicted offsets from its template are added to the
avatar's template, so a network trained on another head still drives this one) or from an
explicit vertex sequence (``vertices``: a [T, V, 3] .npy in the capture's coordinates). Each
frame poses the avatar's Gaussians on the frame's mesh and renders them from one fixed camera:
the frontal camera (on the template's +z axis, y up, at the training cameras' distance, with
their intrinsics) or a dataset camera (``camera_index``). :func:`predict_avatar_motion` (speech
-> the avatar's meshes) is shared with the viewer's "Animate from speech" button (``viewer.py``);
it lives in ``motion.py``, which loads no nerfstudio pipeline.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, cast

import numpy as np
import torch
from nerfstudio.cameras.cameras import Cameras
from nerfstudio.utils.rich_utils import CONSOLE

from ns_plugins.data.errors import DataError
from ns_plugins.learn2talk.avatar.dataparser import to_dataparser_frame
from ns_plugins.learn2talk.avatar.motion import load_vertex_sequence, predict_avatar_motion
from ns_plugins.learn2talk.talking_head.audio import SAMPLE_RATE, read_wav
from ns_plugins.learn2talk.talking_head.video import write_video_with_audio
from ns_plugins.splat.evaluate import load_trained_pipeline
from ns_plugins.splat.geometry import look_at

if TYPE_CHECKING:
    from nerfstudio.data.dataparsers.base_dataparser import DataparserOutputs

    from ns_plugins.learn2talk.avatar.model import AvatarModel

DEFAULT_FPS = 25.0


def frontal_camera(pipeline, width: Optional[int] = None, camera_index: Optional[int] = None) -> Cameras:
    """One camera [1] in dataparser coordinates looking at the avatar's face.

    Intrinsics (scaled to ``width``, sizes made even for H.264) come from the first training
    camera; without ``camera_index`` the camera sits on the template's +z axis (the face's
    direction) at that camera's distance from the head, y up; with it, it is that training camera.
    """
    outputs = pipeline.datamanager.train_dataparser_outputs
    cams = outputs.cameras
    index = 0 if camera_index is None else camera_index
    if not 0 <= index < len(cams):
        raise DataError("--camera-index", f"{index} is not a training camera index (0..{len(cams) - 1})")
    c2w = cams.camera_to_worlds[index].clone()
    if camera_index is None:
        template = pipeline.model.template.cpu()
        centre = template.mean(0)
        rot = outputs.dataparser_transform[:, :3]
        distance = float((c2w[:, 3] - centre).norm())
        eye = centre + distance * torch.nn.functional.normalize(rot @ torch.tensor([0.0, 0.0, 1.0]), dim=0)
        c2w = look_at(eye, centre, up=rot @ torch.tensor([0.0, 1.0, 0.0]))[:3].float()
    w, h = int(cams.width[index]), int(cams.height[index])
    scale = 1.0 if width is None else width / w
    out_w, out_h = 2 * round(w * scale / 2), 2 * round(h * scale / 2)
    return Cameras(
        camera_to_worlds=c2w[None],
        fx=cams.fx[index : index + 1] * out_w / w,
        fy=cams.fy[index : index + 1] * out_h / h,
        cx=cams.cx[index : index + 1] * out_w / w,
        cy=cams.cy[index : index + 1] * out_h / h,
        width=torch.tensor([[out_w]]),
        height=torch.tensor([[out_h]]),
    )


def render_frames(model, camera: Cameras, vertices: torch.Tensor) -> Iterator[np.ndarray]:
    """The avatar posed on each of ``vertices`` [T, V, 3] (dataparser coordinates) -> uint8 [H, W, 3] frames."""
    model.eval()
    rest = model.pose_vertices
    try:
        for verts in vertices:
            model.pose_vertices = verts.to(model.template)
            with torch.no_grad():
                rgb = model.get_outputs_for_camera(camera)["rgb"]
            yield (rgb.clamp(0, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)
    finally:
        model.pose_vertices = rest


def animate_avatar(
    load_config: Path,
    audio: Path,
    output: Path,
    run: Optional[Path] = None,
    vertices: Optional[Path] = None,
    speaker: Optional[str] = None,
    fps: Optional[float] = None,
    width: Optional[int] = 256,
    camera_index: Optional[int] = None,
    **_: object,
) -> dict:
    """Render the avatar of ``load_config`` talking: motion from ``run`` (audio -> vertices) or ``vertices``.

    Args:
        load_config: an ``ns-train learn2talk`` run's config.yml.
        audio: the speech (.wav), muxed into the video.
        output: the .mp4 to write.
        run: an ``ns-l2t train`` run directory (the audio-to-vertices network).
        vertices: a [T, V, 3] .npy, used when no ``run`` is given.
        fps: frame rate (default: the network's, else 25).
        width: output width in pixels (height keeps the aspect), None: the training resolution.
        camera_index: render from this training camera instead of the frontal one.
        Other keywords the CLI may pass are ignored.

    Returns:
        {"frames", "fps", "render_fps" (avatar frames rendered per second), "output"}.
    """
    if (run is None) == (vertices is None):
        raise DataError("--run", "give either a trained network run (--run) or a vertex sequence (vertices=...)")
    pipeline, _step = load_trained_pipeline(Path(load_config))
    model = cast("AvatarModel", pipeline.model)  # a learn2talk run
    # set by the datamanager's __init__; nerfstudio's DataManager base class does not declare it
    outputs = cast("DataparserOutputs", pipeline.datamanager.train_dataparser_outputs)
    transform, scale = outputs.dataparser_transform, float(outputs.dataparser_scale)
    if run is not None:
        motion = predict_avatar_motion(model.template.cpu(), scale * transform[:, :3], Path(run), Path(audio), speaker)
        sequence, fps, sample_rate = motion.vertices, fps or motion.fps, motion.sample_rate
    else:
        assert vertices is not None  # exactly one of run / vertices (checked above)
        sequence = to_dataparser_frame(load_vertex_sequence(Path(vertices), model.template.shape[0]), transform, scale)
        fps = fps or DEFAULT_FPS
        sample_rate = SAMPLE_RATE
    waveform = read_wav(Path(audio), sample_rate)
    camera = frontal_camera(pipeline, width, camera_index)
    start = time.perf_counter()
    frames = list(render_frames(model, camera, sequence))
    render_seconds = time.perf_counter() - start
    write_video_with_audio(frames, fps, waveform, Path(output), sample_rate)
    result = {
        "frames": len(frames),
        "fps": fps,
        "render_fps": len(frames) / max(render_seconds, 1e-9),
        "output": str(output),
    }
    CONSOLE.print(f"wrote {output} ({len(frames)} frames, avatar rendered at {result['render_fps']:.1f} frames/s)")
    return result
