"""A real RTSP server on loopback (Debian's GStreamer RTSP server, run with /usr/bin/python3), serving real footage.

Tests that need it skip with the reason when /usr/bin/python3 lacks the GStreamer RTSP server bindings
(``scripts/test.sh`` installs them) or when ../shared/data is absent.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import shared_clip

collect_ignore = ["rtsp_server.py"]  # runs under Debian's python3 with GStreamer, not in the venv

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
CLIP = "us_residential_street.mp4"  # 640x352, 24 fps, GOP 2 s; a car stands on the driveway the whole clip
USER, PASSWORD = "admin", "Ho7-kq9x!"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float = 60.0, every: float = 0.1, what: str = "") -> object:
    """Poll ``condition`` until it is truthy; fail the test (naming ``what``) if it never is."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"gave up waiting {timeout:g} s for {what or condition}")


@pytest.fixture(scope="session")
def gst_rtsp_available() -> None:
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
                            "from gi.repository import GstRtspServer"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("GStreamer's RTSP server is not installed for /usr/bin/python3 (Debian packages "
                    "gir1.2-gst-rtsp-server-1.0, python3-gi; scripts/test.sh installs them)")


@pytest.fixture(scope="session")
def looped_footage(tmp_path_factory) -> Path:
    """The real clip repeated ten times (6 min 17 s) without re-encoding, so a stream never runs out in a test."""
    clip = shared_clip(CLIP)
    out = tmp_path_factory.mktemp("footage") / "looped.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "9", "-i", str(clip), "-an", "-c", "copy",
                    str(out)], check=True)
    return out


class RtspServer:
    """One server process serving ``footage`` at ``/cam`` (and ``/cam2``), started and stopped by the test."""

    def __init__(self, footage: Path, port: int, auth: bool, log: Path):
        self.footage, self.port, self.auth, self.log = footage, port, auth, log
        self.process: subprocess.Popen | None = None

    def url(self, mount: str = "cam", password: str | None = None) -> str:
        credentials = f"{USER}:{PASSWORD if password is None else password}@" if self.auth else ""
        return f"rtsp://{credentials}127.0.0.1:{self.port}/{mount}"

    def start(self) -> RtspServer:
        command = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(self.port),
                   "--mount", f"cam={self.footage}", "--mount", f"cam2={self.footage}"]
        if self.auth:
            command += ["--user", USER, "--password", PASSWORD]
        with self.log.open("a") as errors:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("ready"):
            self.process.kill()
            pytest.fail(f"the RTSP server did not start: {line}{self.log.read_text()}")
        return self

    def kill(self) -> None:
        """Die abruptly, as a camera losing power does."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def toggle_stall(self) -> None:
        """Keep the RTSP sessions up but stop (or resume) sending video."""
        self.process.send_signal(signal.SIGUSR1)
        assert self.process.stdout.readline().strip() in ("stalled", "flowing")


@pytest.fixture
def rtsp_server(gst_rtsp_available, looped_footage, tmp_path) -> Iterator[Callable[..., RtspServer]]:
    """``rtsp_server(auth=False, port=None)`` starts a server; every server started is killed after the test."""
    servers: list[RtspServer] = []

    def start(auth: bool = False, port: int | None = None) -> RtspServer:
        server = RtspServer(looped_footage, port or free_port(), auth, tmp_path / "rtsp-server.log").start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill()
