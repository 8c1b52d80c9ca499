#!/usr/bin/python3
"""A private RTSP server for Portail's camera tests (GStreamer's RTSP server through PyGObject).

Serves one H.264 stream on 127.0.0.1:<port><path>, either a clip decoded once by ffmpeg into memory
(never written to disk: the clips show faces) and looped forever, or a moving test pattern.
Optionally requires basic-auth credentials (--user, password in $RTSP_PASSWORD), so tests can
present wrong ones.

Prints `READY <port>` on stdout once it listens. It exits when its stdin closes or its parent dies,
so a crashed test run never leaves it behind. Run with /usr/bin/python3 (Debian's python3-gi).
"""
import argparse
import ctypes
import os
import signal
import subprocess
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

PR_SET_PDEATHSIG = 1
MAX_CLIP_FRAMES = 600  # memory bound: 600 frames of 640x360 I420 is ~200 MB at most


def die_with_parent(parent_pid):
    """SIGKILL from the kernel when the process that started us exits, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError as err:
        # not glibc: the stdin watch below still ends us when the parent's pipe closes
        print(f"prctl unavailable: {err}", file=sys.stderr)
    if os.getppid() != parent_pid:
        sys.exit(0)  # the parent died before prctl took effect


def decode_clip(path, width, height, fps):
    """Whole clip as I420 frames in memory, at a fixed size and rate, through ffmpeg."""
    frame_bytes = width * height * 3 // 2
    out = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", path, "-an",
         "-vf", f"fps={fps},scale={width}:{height}", "-frames:v", str(MAX_CLIP_FRAMES),
         "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"],
        check=True, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
    ).stdout
    frames = [out[i:i + frame_bytes] for i in range(0, len(out) - frame_bytes + 1, frame_bytes)]
    if not frames:
        raise SystemExit(f"no frame decoded from {path}")
    return frames


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    p.add_argument("--path", default="/cam")
    p.add_argument("--clip", help="video file to loop; a test pattern when absent")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--fps", type=int, default=10)
    p.add_argument("--user", help="require basic auth; the password is read from RTSP_PASSWORD (not argv: ps shows it)")
    p.add_argument("--parent-pid", type=int, default=os.getppid())
    a = p.parse_args()
    die_with_parent(a.parent_pid)
    Gst.init(None)

    caps = f"video/x-raw,format=I420,width={a.width},height={a.height},framerate={a.fps}/1"
    # zerolatency: no B-frames or lookahead, like a camera's stream; a keyframe every second (each
    # session also starts with one, media are not shared)
    encode = (f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={a.fps} bitrate=600 "
              f"! video/x-h264,profile=constrained-baseline ! rtph264pay name=pay0 pt=96 config-interval=1")
    frames = decode_clip(a.clip, a.width, a.height, a.fps) if a.clip else None
    if frames:
        launch = f"( appsrc name=src is-live=true do-timestamp=true format=time caps={caps} ! {encode} )"
    else:
        launch = f"( videotestsrc is-live=true pattern=ball ! {caps} ! {encode} )"

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(False)  # each client its own pipeline: a reconnect starts on a keyframe

    if frames:
        period_ms = max(1, round(1000 / a.fps))

        def on_configure(_factory, media):
            src = media.get_element().get_by_name_recurse_up("src")
            state = {"n": 0}

            # pushed at the frame rate and stamped on arrival, like a camera: no burst when a
            # client connects, and a paused server (SIGSTOP) really stops the stream
            def push():
                buf = Gst.Buffer.new_wrapped(frames[state["n"] % len(frames)])
                state["n"] += 1
                # FLUSHING before the media plays is expected: the buffer is dropped
                src.emit("push-buffer", buf)
                return True

            timer = GLib.timeout_add(period_ms, push)
            media.connect("unprepared", lambda _m: GLib.source_remove(timer))

        factory.connect("media-configure", on_configure)

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))
    if a.user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a.user, os.environ.get("RTSP_PASSWORD", "")), token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role("viewer", "media.factory.access", True)
        perms.add_permission_for_role("viewer", "media.factory.construct", True)
        factory.set_permissions(perms)
    server.get_mount_points().add_factory(a.path, factory)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on port {a.port}")

    loop = GLib.MainLoop()

    def on_stdin(_fd, _cond):
        # the parent closed its end (or died): stop
        loop.quit()
        return False

    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.PRIORITY_DEFAULT,
                      GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR, on_stdin)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, lambda: loop.quit() or False)
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
