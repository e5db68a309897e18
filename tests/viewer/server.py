"""The viewer under test: ``ns-viewer`` as a process, or the same viewer in this process.

``ViewerProcess`` runs the user's command (``ns-viewer --load-config ...``) in its own process
group on a free loopback port. ``InProcessViewer`` builds the viewer exactly as ``ns-viewer`` does
(nerfstudio.scripts.viewer.run_viewer: eval_setup -> Viewer -> init_scene -> update_scene) minus
its endless sleep loop, so a test can reach the server-side handles: the client's camera, the
render state machine, the model's viewer controls, and render a reference frame with our backend.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING, Dict, Optional, cast

import numpy as np
import torch

from tests.cli import ns
from tests.viewer.browser import kill_group

if TYPE_CHECKING:
    from ns_plugins.splat.model import PortableSplatModel


def free_port() -> int:
    """A loopback TCP port nobody listens on (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, timeout_s: float, alive=lambda: True, what: str = "the viewer") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive():
            raise AssertionError(f"{what} exited before listening on port {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{what} did not listen on port {port} within {timeout_s:.0f} s")


class ViewerProcess:
    """``ns-viewer --load-config CONFIG`` on 127.0.0.1:PORT; ``stop`` kills its process group."""

    def __init__(self, config: Path, log: Path, timeout_s: float = 240.0, env: Optional[Dict[str, str]] = None) -> None:
        import os

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = Path(log)
        cmd = [
            ns("ns-viewer"),
            "--load-config",
            str(config),
            "--viewer.websocket-port",
            str(self.port),
            "--viewer.websocket-host",
            "127.0.0.1",
        ]
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                cmd,
                cwd=Path(config).parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
            )
        try:
            wait_listening(self.port, timeout_s, alive=lambda: self.proc.poll() is None, what="ns-viewer")
        except BaseException as exc:
            self.stop()
            raise AssertionError(f"{exc}\n{self.log_tail()}") from None

    def log_tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def stop(self) -> None:
        kill_group(self.proc)

    def __enter__(self) -> "ViewerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class InProcessViewer:
    """nerfstudio's viewer for a trained run, served from this process (main thread only)."""

    initial_camera: tuple
    """(position, wxyz) of viser's initial camera, set by the ``show`` fixture once the page connects."""

    def __init__(self, config_path: Path) -> None:
        from nerfstudio.utils.eval_utils import eval_setup
        from nerfstudio.viewer.viewer import Viewer

        config, self.pipeline, _, step = eval_setup(Path(config_path), eval_num_rays_per_chunk=None, test_mode="test")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        config.vis = "viewer"
        config.viewer.websocket_port = self.port
        config.viewer.websocket_host = "127.0.0.1"
        self.lock = Lock()
        self.viewer = Viewer(
            config.viewer,
            log_filename=config.get_base_dir() / config.viewer.relative_log_filename,
            datapath=self.pipeline.datamanager.get_datapath(),
            pipeline=self.pipeline,
            train_lock=self.lock,
        )
        train_dataset = self.pipeline.datamanager.train_dataset
        assert train_dataset is not None  # eval_setup's datamanager loads the training split
        try:
            self.viewer.init_scene(
                train_dataset=train_dataset,
                train_state="completed",
                eval_dataset=self.pipeline.datamanager.eval_dataset,
            )
            self.viewer.update_scene(step=step)
        except BaseException:
            self.stop()
            raise

    @property
    def model(self) -> PortableSplatModel:
        return cast("PortableSplatModel", self.pipeline.model)  # every method here is a splatfacto-portable model

    def stop(self) -> None:
        """Stop the render threads and the server (once; later calls do nothing)."""
        if getattr(self, "_stopped", False):
            return
        self._stopped = True
        for machine in list(self.viewer.render_statemachines.values()):
            machine.running = False
        self.viewer.viser_server.stop()

    def __enter__(self) -> "InProcessViewer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- server-side state -----------------------------------------------------------------

    def client(self):
        """The one connected browser (None before it connects)."""
        clients = self.viewer.viser_server.get_clients()
        return next(iter(clients.values()), None) if len(clients) == 1 else None

    def look_through_train_camera(self, index: int = 0) -> None:
        """Move the client's camera onto a training camera, as clicking its frustum in the page does."""
        client, frustum = self.client(), self.viewer.camera_handles[index]
        assert client is not None, "no browser is connected"
        self.viewer.current_camera_idx = index
        with client.atomic():
            client.camera.position = frustum.position
            client.camera.wxyz = frustum.wxyz

    def settled(self) -> bool:
        """The client's render thread has sent its full-resolution frame and has nothing queued."""
        client = self.client()
        machine = self.viewer.render_statemachines.get(client.client_id) if client else None
        return machine is not None and machine.state == "high" and machine.next_action is None

    def reference(self, output: str = "rgb", max_res: Optional[int] = None) -> np.ndarray:
        """[H, W, 3] float: the output the viewer shows for the client's current camera, rendered here.

        Same camera (``Viewer.get_camera_state`` of the client), same background, same model; at the
        viewer's resolution (the control panel's max res) unless ``max_res`` is given.
        """
        from nerfstudio.viewer.utils import get_camera

        client = self.client()
        assert client is not None, "no browser is connected"
        state = self.viewer.get_camera_state(client)
        machine = self.viewer.render_statemachines[client.client_id]
        if max_res is None:
            height, width = machine._calculate_image_res(state.aspect)
        else:
            height, width = max(1, round(max_res / state.aspect)), max_res
        camera = get_camera(state, height, width).to(self.model.device)
        color = self.viewer.control_panel.background_color
        with self.lock, torch.no_grad():
            self.model.set_background(torch.tensor([c / 255.0 for c in color], device=self.model.device))
            image = self.model.get_outputs_for_camera(camera)[output]
        return image[..., :3].clamp(0, 1).float().cpu().numpy()

    def ray(self, x: float, y: float, width: int, height: int) -> tuple:
        """World ray (origin [3], direction [3]) through pixel (x, y) of a width x height view of the client's
        camera."""
        from nerfstudio.viewer.utils import get_camera

        client = self.client()
        assert client is not None, "no browser is connected"
        camera = get_camera(self.viewer.get_camera_state(client), height, width)
        rays = camera.generate_rays(camera_indices=0, coords=torch.tensor([[y + 0.5, x + 0.5]]))
        return rays.origins.reshape(3).float(), rays.directions.reshape(3).float()
