"""safecam-media encodes only what is watched (issue 9): with no RTSPS viewer, no live-view client and no
snapshot request no encoder runs and the pipeline idles; the first consumer starts its stream's encoder and
its first frame is a keyframe; when the last one leaves the encoder stops again. A file source whose H.264
matches the stream settings is passed through; otherwise the status says why it is re-encoded. The encoder
is a setting (x264 or v4l2h264enc). Real clients: ffmpeg, ffprobe."""
import json
import os
import subprocess
import threading
import time

import pytest

from media_harness import BUILD_DEFAULT, MEDIA_LIVE_OPEN, MediaProcess, jpeg_size, read_all

BUILD = os.environ.get("SAFECAM_BUILD", BUILD_DEFAULT)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOOTAGE = os.path.join(REPO, "tests", "data", "walkway-person-30s.mp4")
PW = "Adm1n-Secret-" + os.urandom(4).hex()
USERS = {"admin": {"password": PW, "role": "admin"}}


@pytest.fixture
def stop_list():
    procs = []
    yield procs
    for m in procs:
        m.stop()


def wait_status(m, pred, timeout=15):
    deadline = time.monotonic() + timeout
    st = m.status()
    while not pred(st) and time.monotonic() < deadline:
        time.sleep(0.2)
        st = m.status()
    assert pred(st), f"{st}\n{m.read_log()}"
    return st


def idle(st):
    return st.get("pipeline") == "idle" and st.get("encoders_running") == 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def record(m, path, seconds, out):
    """ffmpeg, as an RTSPS viewer, copies `seconds` of the stream (no re-encoding) into an MPEG-TS file."""
    return subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-rtsp_transport", "tcp", "-i",
                           f"rtsps://admin:{PW}@127.0.0.1:{m.port}{path}", "-t", str(seconds), "-c", "copy",
                           "-f", "mpegts", "-y", str(out)], capture_output=True, timeout=90)


def frames_of(path):
    """[(key_frame, pict_type)] of every decoded video frame of a recording (ffprobe -show_frames)."""
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_frames", "-show_entries",
                        "frame=key_frame,pict_type", "-of", "json", str(path)], capture_output=True, timeout=60,
                       text=True)
    assert r.returncode == 0, r.stderr
    return [(f.get("key_frame"), f.get("pict_type")) for f in json.loads(r.stdout).get("frames", [])]


def view_while(m, path, seconds, out, during):
    """Record from RTSPS in a thread; call during() once the viewer is streaming. Returns (ffmpeg result, what
    during() returned)."""
    res = {}
    t = threading.Thread(target=lambda: res.setdefault("r", record(m, path, seconds, out)))
    t.start()
    got = during()
    t.join(120)
    return res.get("r"), got


def test_no_viewer_no_encoder_then_on_demand(stop_list, tmp_path):
    # keyframe every 10 s: only a forced IDR gives a late viewer its first frame at once
    m = MediaProcess(BUILD, users=USERS, stream={"keyframe_interval_s": 10})
    stop_list.append(m)
    m.wait_rtsps()
    m.wait_playing()
    st = wait_status(m, idle)
    assert st["streams"]["main"]["encoder"] == "stopped" and st["streams"]["sub"]["encoder"] == "stopped", st
    assert st["encoder"] == "x264enc", st
    # Idle for real: the media process uses next to no CPU (both x264 encoders running cost 13-17 % of a core).
    c0, t0 = cpu_seconds(m.proc.pid), time.monotonic()
    time.sleep(4)
    share = (cpu_seconds(m.proc.pid) - c0) / (time.monotonic() - t0)
    assert share < 0.05, f"idle media process used {share:.1%} of a core"
    assert idle(m.status())

    for round_ in range(2):  # the second viewer comes after the encoder was stopped once
        out = tmp_path / f"main{round_}.ts"
        r, during = view_while(m, "/stream1", 4, out,
                               lambda: wait_status(m, lambda s: s["streams"]["main"]["encoder"] == "running"))
        assert r is not None and r.returncode == 0, r and r.stderr
        assert during["pipeline"] == "playing" and during["encoders_running"] == 1, during
        assert during["streams"]["sub"]["encoder"] == "stopped", during  # only the watched stream encodes
        frames = frames_of(out)
        assert len(frames) >= 50, (len(frames), m.read_log())  # 4 s at 25 fps, less start-up
        assert frames[0] == (1, "I"), frames[:3]  # the first decoded frame is a keyframe
        # the viewer left: the encoder stops, then the pipeline idles
        st = wait_status(m, idle)
        assert st["streams"]["main"]["consumers"] == 0, st


def test_sub_stream_viewer_runs_only_the_sub_encoder(stop_list, tmp_path):
    m = MediaProcess(BUILD, users=USERS)
    stop_list.append(m)
    m.wait_rtsps()
    m.wait_playing()
    wait_status(m, idle)
    out = tmp_path / "sub.ts"
    r, during = view_while(m, "/stream2", 3, out,
                           lambda: wait_status(m, lambda s: s["streams"]["sub"]["encoder"] == "running"))
    assert r.returncode == 0, r.stderr
    assert during["streams"]["main"]["encoder"] == "stopped" and during["encoders_running"] == 1, during
    frames = frames_of(out)
    assert len(frames) >= 30 and frames[0] == (1, "I"), frames[:3]
    wait_status(m, idle)


def test_snapshot_and_live_view_start_the_pipeline_on_demand(stop_list):
    m = MediaProcess(BUILD, users=USERS)
    stop_list.append(m)
    m.wait_rtsps()
    m.wait_playing()
    wait_status(m, idle)
    body, data = m.snapshot()
    assert jpeg_size(data or b"") == (1280, 720), (body, m.read_log())
    wait_status(m, idle)  # a snapshot runs no encoder and the pipeline idles again
    body, fd = m.web_call(MEDIA_LIVE_OPEN, {"stream": "main"})
    assert body.get("ok") and fd >= 0, body
    try:
        st = wait_status(m, lambda s: s["streams"]["main"]["encoder"] == "running" and s["live_viewers"] == 1)
        assert st["pipeline"] == "playing"
        data = read_all(os.dup(fd), timeout=2)
        assert b"ftyp" in data[:64] and b"moof" in data, data[:64]
    finally:
        os.close(fd)
    st = wait_status(m, idle)
    assert st["live_viewers"] == 0


def matching_clip(path, seconds=6, size="1280x720", fps=25):
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", FOOTAGE, "-t", str(seconds), "-vf",
                    f"scale={size.replace('x', ':')},fps={fps}", "-c:v", "libx264", "-profile:v", "baseline",
                    "-preset", "ultrafast", "-g", str(fps), "-bf", "0", "-an", str(path)], check=True, timeout=120)


def test_matching_file_is_passed_through(stop_list, tmp_path):
    clip = tmp_path / "matching.mp4"
    matching_clip(clip)
    m = MediaProcess(BUILD, source=f"file:{clip}", users=USERS)
    stop_list.append(m)
    m.wait_rtsps()
    st = m.wait_playing()
    assert st["main_mode"] == "passthrough" and "reencode_reason" not in st, st
    assert st["streams"]["main"]["mode"] == "passthrough" and st["streams"]["main"]["encoder"] == "none", st
    assert "passed through" in m.read_log()
    wait_status(m, idle)
    out = tmp_path / "pt.ts"
    r, during = view_while(m, "/stream1", 3, out,
                           lambda: wait_status(m, lambda s: s["streams"]["main"]["consumers"] == 1))
    assert r.returncode == 0, r.stderr
    assert during["encoders_running"] == 0, during  # no encoder for a passed-through stream
    frames = frames_of(out)
    assert len(frames) >= 40 and frames[0] == (1, "I"), (len(frames), frames[:3])
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height,profile",
                            "-of", "default=nw=1", str(out)], capture_output=True, text=True, timeout=30)
    assert "width=1280" in probe.stdout and "height=720" in probe.stdout, probe.stdout
    assert "Baseline" in probe.stdout, probe.stdout
    # the sub stream and snapshots still work (decoded on demand from a keyframe)
    body, data = m.snapshot()
    assert jpeg_size(data or b"") == (1280, 720), (body, m.read_log())
    r = record(m, "/stream2", 2, tmp_path / "sub.ts")
    assert r.returncode == 0, r.stderr
    sub = frames_of(tmp_path / "sub.ts")
    assert len(sub) >= 20 and sub[0] == (1, "I"), sub[:3]
    wait_status(m, idle)


def test_mismatching_file_is_reencoded_with_the_reason(stop_list, tmp_path):
    m = MediaProcess(BUILD, source=f"file:{FOOTAGE}", users=USERS)
    stop_list.append(m)
    m.wait_rtsps()
    st = m.wait_playing()
    assert st["main_mode"] == "encode", st
    assert st["reencode_reason"] == "resolution 768x432 != 1280x720", st
    assert "re-encoded: resolution 768x432 != 1280x720" in m.read_log()
    clip = tmp_path / "fps.mp4"
    matching_clip(clip, seconds=3, fps=15)
    m2 = MediaProcess(BUILD, source=f"file:{clip}", users=USERS)
    stop_list.append(m2)
    m2.wait_rtsps()
    st = m2.wait_playing()
    assert st["main_mode"] == "encode" and st["reencode_reason"] == "frame rate 15/1 != 25/1", st


def test_encoder_setting(stop_list):
    m = MediaProcess(BUILD, users=USERS)
    stop_list.append(m)
    m.wait_rtsps()
    m.wait_playing()
    for bad in ("x265", "", "X264", 1, None, "v4l2h264enc; rm -rf /"):
        reply = m.apply(dict(m.status()["stream"], encoder=bad))
        assert reply.get("error") == "invalid_setting" and reply.get("field") == "encoder", (bad, reply)
    assert m.status()["stream"]["encoder"] == "x264"
    have_v4l2 = subprocess.run(["gst-inspect-1.0", "v4l2h264enc"], capture_output=True).returncode == 0
    reply = m.apply(dict(m.status()["stream"], encoder="v4l2h264enc"))
    assert reply == {"ok": True}, reply
    if not have_v4l2:
        # no hardware encoder here: the pipeline says so and keeps retrying; the process lives on
        st = wait_status(m, lambda s: s["state"] == "retrying")
        assert st["stream"]["encoder"] == "v4l2h264enc" and "v4l2h264enc is not available" in st["error"], st
        assert m.alive()
    reply = m.apply(dict(m.status()["stream"], encoder="x264"))
    assert reply == {"ok": True}, reply
    st = m.wait_playing(timeout=40)
    assert st["encoder"] == "x264enc"


def test_source_file_gone_while_idle_is_noticed(stop_list, tmp_path):
    """Nothing reads an idle source: a file that goes away meanwhile is still reported and retried (G8)."""
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", FOOTAGE, "-t", "3", "-c", "copy", str(clip)], check=True,
                   timeout=30)
    saved = tmp_path / "saved.mp4"
    saved.write_bytes(clip.read_bytes())
    m = MediaProcess(BUILD, source=f"file:{clip}", users=USERS)
    stop_list.append(m)
    m.wait_rtsps()
    m.wait_playing()
    wait_status(m, idle)
    os.unlink(clip)
    st = wait_status(m, lambda s: s["state"] == "retrying")
    assert st.get("error"), st  # "source file is gone", then the failed restarts
    assert any(a["type"] == "stream_error" for a in m.vault.audit), m.vault.audit
    clip.write_bytes(saved.read_bytes())
    m.wait_playing(timeout=40)
    r = record(m, "/stream1", 2, tmp_path / "back.ts")
    assert r.returncode == 0 and len(frames_of(tmp_path / "back.ts")) >= 25, r.stderr
