"""A stream that recorders take without errors (issue 11, point 5), proved with real clients against
safecam-media (media_harness.py): ffmpeg decoding with its default threading, ffmpeg recording the way an
NVR or Frigate does (-c copy -f segment), ffprobe's packet list (every packet timestamped, SPS/PPS in-band
with each keyframe, no stray packet), GStreamer's rtspsrc verifying the device certificate (tls-database),
and the RTSP answers themselves (Content-Base says rtsps://, no Server banner: QCVN 135 G6).
The test pattern and the real footage (file source) are both tested. Clients run in parallel."""
import glob
import json
import os
import re
import subprocess
import sys
import threading

import pytest

from media_harness import BUILD_DEFAULT, MediaProcess, basic, rtsp_read, rtsp_request, tls_connect

# Stream correctness as real clients see it, bound by the clock (10 s decodes, a 30 s recording): the plain build
# only; the same media code runs under ASan in test_media_*.py.
pytestmark = pytest.mark.plain_only

BUILD = os.environ.get("SAFECAM_BUILD", BUILD_DEFAULT)
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FOOTAGE = os.path.join(REPO, "tests", "data", "walkway-person-30s.mp4")
PW = "Adm1n-Secret-" + os.urandom(4).hex()
USERS = {"admin": {"password": PW, "role": "admin"}}
FPS = 25
BAD_DECODE = re.compile(rb"corrupt|conceal|error|non-existing|no frame|missing picture", re.I)


def url(m, path="/stream1"):
    return f"rtsps://admin:{PW}@127.0.0.1:{m.port}{path}"


def run_parallel(jobs):
    """jobs: {name: argv}; runs them all at once, returns {name: CompletedProcess or TimeoutExpired}."""
    out = {}

    def one(name, argv, timeout):
        try:
            out[name] = subprocess.run(argv, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            out[name] = e

    threads = [threading.Thread(target=one, args=(n, a, t)) for n, (a, t) in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def ffmpeg_decode(m, seconds):
    return (["ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", url(m), "-t", str(seconds),
             "-f", "null", "-"], seconds + 60)


def ffprobe_packets(m, seconds):
    return (["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-read_intervals", f"%+{seconds}",
             "-show_entries", "packet=pts,dts,size,flags", "-of", "csv", url(m)], seconds + 60)


def gst_verify(m, frames):
    return ([sys.executable, os.path.join(HERE, "gst_tls_client.py"), url(m).replace(f"admin:{PW}@", ""),
             "admin", PW, os.path.abspath(m.cacert), str(frames), str(frames / FPS + 30)], frames / FPS + 60)


def check_decode(r):
    assert not isinstance(r, subprocess.TimeoutExpired), r
    bad = [ln for ln in r.stderr.splitlines() if BAD_DECODE.search(ln)]
    frames = re.findall(rb"frame=\s*(\d+)", r.stderr)
    assert r.returncode == 0 and frames, r.stderr[-1500:]
    assert not bad, bad[:10]
    return int(frames[-1])


def check_packets(r, kint):
    """ffprobe's packets: every one timestamped (the first excepted, see below), strictly increasing, one per
    frame, keyframes at most kint frames apart, never two keyframe packets at one timestamp (the stray packet
    of issue 11: SPS/PPS or half a frame sent as a packet of its own)."""
    assert not isinstance(r, subprocess.TimeoutExpired), r
    rows = [ln.split(",") for ln in r.stdout.decode().splitlines() if ln.startswith("packet,")]
    assert len(rows) > 3 * FPS, r.stdout[-500:]
    # ffmpeg's RTSP demuxer leaves the pts of its very first packet unset (the packet carries the
    # RTP-Info rtptime exactly); every packet after it must carry one.
    body = rows[1:]
    unset = [i for i, row in enumerate(body) if row[1] == "N/A" or row[2] == "N/A"]
    assert not unset, [body[i] for i in unset[:5]]
    pts = [int(row[1]) for row in body]
    step = 90000 // FPS
    assert all(b > a for a, b in zip(pts, pts[1:])), "pts not increasing"
    # evenly spaced at the frame rate (the encoder's spacing, whatever the delivery jitter)
    assert all(b - a == step for a, b in zip(pts, pts[1:]) if b - a < 2 * step), sorted({b - a for a, b in zip(pts, pts[1:])})
    keys = [i for i, row in enumerate(body) if row[4].startswith("K")]
    assert keys, "no keyframe"
    gaps = [b - a for a, b in zip(keys, keys[1:])]
    assert all(0 < g <= kint for g in gaps), gaps  # the configured interval (a new viewer's IDR may come sooner)
    # no parameter sets (~30 bytes) as a keyframe packet of their own (duplicated frames may be that small)
    assert min(int(body[i][3]) for i in keys) > 500, [body[i] for i in keys]


def check_segments(r, pattern):
    assert not isinstance(r, subprocess.TimeoutExpired), r
    err = r.stderr
    # Same first-packet note as above: at most the one line for the demuxer's first packet.
    assert err.count(b"Timestamps are unset") <= 1, err[-2000:]
    assert len(re.findall(rb"Non-monotonous DTS", err)) <= 1, err[-2000:]
    assert not re.search(rb"Non-monotonous DTS.*previous: [1-9]", err), err[-2000:]
    segs = sorted(glob.glob(pattern))
    assert len(segs) >= 3, (segs, err[-1500:])
    counts = []
    for s in segs:
        p = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_frames,duration", "-of", "json", s], capture_output=True, timeout=60)
        st = json.loads(p.stdout)["streams"][0]
        frames, dur = int(st["nb_read_frames"]), float(st["duration"])
        counts.append((os.path.basename(s), frames, dur))
        # duration x fps frames, +-1 (10.12 s: 253 +-1): never more (a stray or doubled packet), and fewer only
        # by what a live source starved of CPU drops, at most 2 % (255 frames in 10.28 s was seen with the
        # whole suite running on 2 cores; the gap is in the time line, as check_packets allows it).
        assert -1 - 0.02 * dur * FPS - 1e-6 <= frames - dur * FPS <= 1 + 1e-6, counts
    return counts


@pytest.fixture(scope="module")
def media():
    m = MediaProcess(BUILD, users=USERS)
    m.wait_rtsps()
    m.wait_playing()
    yield m
    assert m.stop() == 0, m.read_log()


def test_rtsp_answers_say_rtsps_and_carry_no_banner(media):
    """OPTIONS, the 401 challenge, DESCRIBE, SETUP and PLAY over TLS: no Server header in any answer
    (QCVN 135 G6: no banner naming the software), Content-Base and RTP-Info are rtsps:// URLs."""
    s = tls_connect(media.port, media.cacert)
    base = f"rtsps://127.0.0.1:{media.port}/stream1"
    answers = []
    st, hd, _ = rtsp_request(s, "OPTIONS", base, 1)
    answers.append((st, hd))
    st, hd, _ = rtsp_request(s, "DESCRIBE", base, 2, {"Accept": "application/sdp"})
    assert st == 401 and hd.get("www-authenticate", "").startswith("Basic"), (st, hd)
    answers.append((st, hd))
    auth = basic("admin", PW)
    st, hd, body = rtsp_request(s, "DESCRIBE", base, 3, {"Accept": "application/sdp", "Authorization": auth})
    assert st == 200, (st, hd)
    answers.append((st, hd))
    assert hd["content-base"].startswith(f"rtsps://127.0.0.1:{media.port}/stream1"), hd
    control = next(ln.split(":", 1)[1].strip() for ln in body.decode().splitlines()
                   if ln.startswith("a=control:") and "stream=" in ln)
    setup_url = control if control.startswith("rtsp") else hd["content-base"] + control
    st, hd, _ = rtsp_request(s, "SETUP", setup_url, 4, {"Authorization": auth,
                                                         "Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
    assert st == 200, (st, hd)
    answers.append((st, hd))
    session = hd["session"].split(";")[0]
    st, hd, _ = rtsp_request(s, "PLAY", hd.get("content-base", base), 5, {"Authorization": auth, "Session": session})
    assert st == 200, (st, hd)
    answers.append((st, hd))
    assert "url=rtsps://" in hd["rtp-info"] and "rtsp://" not in hd["rtp-info"], hd
    s.close()
    for st, hd in answers:
        assert "server" not in hd, (st, hd)
        assert not any("gstreamer" in v.lower() for v in hd.values()), (st, hd)


def test_test_pattern_is_clean_for_every_client(media, tmp_path):
    pattern = str(tmp_path / "seg%03d.mp4")
    jobs = {
        "decode": ffmpeg_decode(media, 10),
        "packets": ffprobe_packets(media, 8),
        "segment": (["ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", url(media), "-t", "30",
                     "-c", "copy", "-f", "segment", "-segment_time", "10", "-reset_timestamps", "1", pattern], 100),
        "gst": gst_verify(media, 10 * FPS),
    }
    res = run_parallel(jobs)
    assert check_decode(res["decode"]) >= 9 * FPS
    check_packets(res["packets"], FPS * 1)
    check_segments(res["segment"], str(tmp_path / "seg*.mp4"))
    g = res["gst"]
    assert not isinstance(g, subprocess.TimeoutExpired) and g.returncode == 0, g
    out = json.loads(g.stdout.decode().strip().splitlines()[-1])
    assert out["frames"] >= 10 * FPS and not out["errors"], (out, g.stderr[-1500:])


def test_gstreamer_refuses_another_certificate(media, tmp_path):
    """tls-database really verifies: on an unrelated certificate the same client decodes nothing."""
    other, _ = __import__("media_harness").make_cert(str(tmp_path))
    argv, timeout = gst_verify(media, 25)
    argv[4] = other
    r = subprocess.run(argv, capture_output=True, timeout=timeout)
    out = json.loads(r.stdout.decode().strip().splitlines()[-1])
    assert out["frames"] == 0 and out["errors"], out


def test_real_footage_is_clean():
    m = MediaProcess(BUILD, source=f"file:{FOOTAGE}", users=USERS)
    try:
        m.wait_rtsps()
        m.wait_playing()
        res = run_parallel({"decode": ffmpeg_decode(m, 10), "packets": ffprobe_packets(m, 8)})
        assert check_decode(res["decode"]) >= 9 * FPS
        check_packets(res["packets"], FPS * 1)  # re-encoded (768x432 at 10 fps): the configured 1 s GOP
    finally:
        assert m.stop() == 0, m.read_log()
