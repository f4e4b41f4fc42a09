"""A real RTSP server on loopback for the live tests: Debian's GStreamer RTSP server, run with /usr/bin/python3.

Serves H.264 MP4 files as they are (no re-encoding) at real-time pace, over RTSP (TCP or UDP):

    /usr/bin/python3 tests/live/rtsp_server.py --port 8554 --mount cam=/path/looped.mp4 [--user U --password P]

It prints ``ready <port>`` on stdout once it listens. SIGUSR1 toggles a valve in every media pipeline: while it is
closed the server keeps the RTSP session up but sends no video (a stalled camera). SIGTERM/SIGINT stop it.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

VALVES: list = []
STALLED = [False]


def pipeline(path: str) -> str:
    return (f'( filesrc location="{path}" ! qtdemux ! h264parse config-interval=-1 ! valve name=stall drop=false '
            "! rtph264pay name=pay0 pt=96 )")


def on_media_configure(_factory, media) -> None:
    valve = media.get_element().get_by_name("stall")
    valve.set_property("drop", STALLED[0])
    VALVES.append(valve)


def toggle_stall() -> bool:
    STALLED[0] = not STALLED[0]
    for valve in VALVES:
        valve.set_property("drop", STALLED[0])
    print("stalled" if STALLED[0] else "flowing", flush=True)
    return GLib.SOURCE_CONTINUE


def add_auth(server, factories, user: str, password: str) -> None:
    """Basic authentication: only ``user`` with ``password`` may open the media."""
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user")
    auth = GstRtspServer.RTSPAuth()
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role("camera-user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
    permissions.add_permission_for_role("camera-user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
    for factory in factories:
        factory.set_permissions(permissions)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mount", action="append", required=True, help="NAME=FILE (an H.264 MP4)")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    factories = []
    for spec in args.mount:
        name, path = spec.split("=", 1)
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(pipeline(path))
        factory.set_shared(True)
        factory.connect("media-configure", on_media_configure)
        mounts.add_factory(f"/{name}", factory)
        factories.append(factory)
    if args.user:
        add_auth(server, factories, args.user, args.password or "")
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        return 1

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, toggle_stall)
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, lambda: loop.quit() or GLib.SOURCE_REMOVE)
    print(f"ready {args.port}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
