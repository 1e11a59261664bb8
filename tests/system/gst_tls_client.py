"""GStreamer RTSPS client that verifies the camera's certificate: rtspsrc with tls-database set to a
GTlsFileDatabase on the device certificate (an absolute path) and the default validation (validate-all),
then rtph264depay ! h264parse ! avdec_h264. gst-launch-1.0 cannot set tls-database (an object), so this is
the same pipeline built from Python (python3-gi).

usage: gst_tls_client.py URL USER PASSWORD CAFILE FRAMES TIMEOUT_S
prints one JSON line: {"frames": decoded frames, "errors": [bus errors], "warnings": [...]}"""
import json
import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gio, GLib, Gst  # noqa: E402


def main():
    url, user, pw, cafile, want, timeout_s = sys.argv[1:7]
    want, timeout_s = int(want), float(timeout_s)
    Gst.init(None)
    pipe = Gst.parse_launch("rtspsrc name=src protocols=tcp latency=200 ! rtph264depay ! h264parse ! "
                            "avdec_h264 name=dec ! fakesink name=sink sync=false")
    src = pipe.get_by_name("src")
    src.set_property("location", url)
    src.set_property("user-id", user)
    src.set_property("user-pw", pw)
    src.set_property("tls-database", Gio.TlsFileDatabase.new(os.path.abspath(cafile)))
    out = {"frames": 0, "errors": [], "warnings": []}
    loop = GLib.MainLoop()

    def on_buffer(pad, info):
        out["frames"] += 1
        if out["frames"] >= want:
            GLib.idle_add(loop.quit)
        return Gst.PadProbeReturn.OK

    pipe.get_by_name("dec").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_buffer)

    def on_message(bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            out["errors"].append(f"{msg.src.get_name()}: {err.message}")
            loop.quit()
        elif msg.type == Gst.MessageType.WARNING:
            err, dbg = msg.parse_warning()
            out["warnings"].append(f"{msg.src.get_name()}: {err.message}")
        elif msg.type == Gst.MessageType.EOS:
            loop.quit()

    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    GLib.timeout_add(int(timeout_s * 1000), loop.quit)
    pipe.set_state(Gst.State.PLAYING)
    loop.run()
    pipe.set_state(Gst.State.NULL)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
