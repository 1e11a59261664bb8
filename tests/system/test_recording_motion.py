"""Recording in "events" mode through the real safecamd: motion detected from the video itself (frame differencing
on a 160x90 grey copy), pre-roll and post-roll, motion segments listed under event=motion, the motion audit event,
and the motion_sensitivity setting refused out of range (QCVN 135 G7, G9 / EN 303 645 5.8-2, 5.11-1).
Sources: a still picture (no motion) and real footage of a person walking (tests/data). Every request goes through
curl (conftest.Session)."""
import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import REPO, Camera, _finish, make_reachable

pytestmark = pytest.mark.xdist_group("recording_motion")

FOOTAGE = os.path.join(REPO, "tests", "data", "walkway-person-30s.mp4")


@pytest.fixture
def workdir():
    tmp = tempfile.mkdtemp(prefix="safecam-motion-")
    make_reachable(tmp)
    os.chmod(tmp, 0o755)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def start_camera(tmp, clip):
    os.chmod(clip, 0o644)
    d = os.path.join(tmp, "cam")
    os.makedirs(d)
    make_reachable(d)
    cam = Camera(d, source=f"file:{clip}")
    cam.start()
    cam.wait_port(cam.rtsps_port)
    return cam


def still_clip(path, seconds=6):
    """A still picture (colour bars), 1280x720 at 25 fps in the Main profile: re-encoded (the camera's encoder runs
    for it exactly as for a sensor)."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"smptebars=size=1280x720:rate=25:d={seconds}",
                    "-c:v", "libx264", "-profile:v", "main", "-preset", "fast", "-g", "25", "-pix_fmt", "yuv420p",
                    "-an", path], check=True, timeout=120)


def walkway_clip(path):
    """The walkway footage as the camera streams it (1280x720, 25 fps, constrained baseline): passed through, so
    the analysis sees frames decoded from the file on demand (openh264dec behind the decode gate)."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", FOOTAGE, "-vf", "scale=1280:720,fps=25", "-c:v", "libx264",
                    "-profile:v", "baseline", "-preset", "ultrafast", "-g", "25", "-bf", "0", "-an", path],
                   check=True, timeout=300)


def listing(session, **q):
    qs = "&".join(f"{k}={v}" for k, v in q.items())
    r = session.request("GET", "/api/v1/recordings" + ("?" + qs if qs else ""))
    assert r.status == 200, r
    return r.json()["recordings"]


def motion_events(session):
    r = session.request("GET", "/api/v1/events?type=motion&limit=1000")
    assert r.status == 200, r
    out = []
    for e in r.json()["events"]:
        m = re.fullmatch(r"started=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z", e.get("detail", ""))
        assert m, e  # key=value, as the Events page translates it
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
        out.append(int(t.timestamp()) * 1000 + int(m.group(2)))
    return sorted(out)


def set_recording(session, **kw):
    r = session.request("PUT", "/api/v1/settings/recording", json_body=kw)
    assert r.status == 200, r
    return r.json()


def status(session):
    r = session.request("GET", "/api/v1/settings/stream")
    assert r.status == 200, r
    return r.json()


def test_still_picture_records_nothing_and_bad_sensitivity_refused(workdir):
    clip = os.path.join(workdir, "still.mp4")
    still_clip(clip)
    cam = start_camera(workdir, clip)
    try:
        admin = cam.admin()
        j = admin.request("GET", "/api/v1/settings/recording").json()
        assert j["motion_sensitivity"] == 50, j
        for bad in ({"motion_sensitivity": 0}, {"motion_sensitivity": 101}, {"motion_sensitivity": -5},
                    {"mode": "events", "motion_sensitivity": 1000}):
            r = admin.request("PUT", "/api/v1/settings/recording", json_body=bad)
            assert r.status == 422, (bad, r)
            assert r.json()["error"] == "invalid_setting" and r.json()["field"] == "motion_sensitivity", r
            assert (r.json()["min"], r.json()["max"]) == (1, 100), r
        r = admin.request("PUT", "/api/v1/settings/recording", json_body={"motion_sensitivity": "high"})
        assert r.status in (400, 422), r
        assert admin.request("GET", "/api/v1/settings/recording").json() == j  # nothing saved
        cfg = os.path.join(cam.state_dir, "config.json")
        assert not os.path.exists(cfg) or json.load(open(cfg))["recording"].get("motion_sensitivity", 50) == 50

        # events mode without pre-roll: the analysis runs on the raw video, no encoder, nothing recorded
        set_recording(admin, mode="events", segment_seconds=3, pre_roll_s=0, post_roll_s=2, motion_sensitivity=100)
        with open(os.path.join(cam.state_dir, "config.json")) as f:
            assert json.load(f)["recording"]["motion_sensitivity"] == 100
        time.sleep(3)
        st = status(admin)
        assert st["pipeline"] == "playing" and st["encoders_running"] == 0, st
        assert st.get("main_mode") in (None, "encode"), st
        # with pre-roll the main stream is kept in memory: a consumer of the main encoder, as a viewer is
        set_recording(admin, pre_roll_s=2)
        time.sleep(3)
        st = status(admin)
        assert st["pipeline"] == "playing" and st["encoders_running"] == 1, st
        time.sleep(9)  # the 6 s clip loops twice
        assert listing(admin) == [], listing(admin)
        assert listing(admin, event="motion") == []
        assert motion_events(admin) == []
        assert not [f for f in os.listdir(os.path.join(cam.state_dir, "recordings")) if f.endswith(".seg")]
        r = admin.request("GET", "/api/v1/recordings?event=person")
        assert (r.status, r.json()["error"]) == (400, "invalid_event"), r
    finally:
        _finish(cam)


def test_walking_person_makes_a_motion_segment_with_pre_roll(workdir):
    clip = os.path.join(workdir, "walkway.mp4")
    walkway_clip(clip)
    cam = start_camera(workdir, clip)
    try:
        admin = cam.admin()
        set_recording(admin, mode="events", segment_seconds=4, pre_roll_s=3, post_roll_s=3, motion_sensitivity=50)
        t_on = int(time.time() * 1000)
        # the footage is still for its first seconds, then a person walks through (it loops every 30 s)
        deadline = time.monotonic() + 120
        found = None
        while time.monotonic() < deadline and not found:
            time.sleep(2)
            motions = [m for m in motion_events(admin) if m > t_on + 5000]  # the ring is full by then
            segs = [s for s in listing(admin, event="motion") if s["complete"]]
            for m in motions:
                for s in segs:
                    if s["start_ms"] <= m <= s["end_ms"]:
                        found = (m, s)
        assert found, (motion_events(admin), listing(admin), cam.read_log()[-3000:])
        motion_ms, seg = found
        # pre-roll: the segment begins before the motion (3 s asked; the ring starts at a keyframe)
        assert seg["start_ms"] <= motion_ms - 2000, (seg, motion_ms)
        assert seg["event"] == "motion"
        every = listing(admin)
        assert all(s["event"] == "motion" for s in every), every  # events mode records motion segments only
        assert {s["id"] for s in listing(admin, event="motion")} == {s["id"] for s in every}
        # segment_seconds (4) still cuts a long event, counted from a segment's first access unit, plus the 500 ms
        # tick and the wait for the file's next keyframe (1 s GOP); start and end are its first and last frames
        assert all(s["end_ms"] - s["start_ms"] <= 6500 for s in every if s["complete"]), every
        # audit: one motion event per event, never one per frame
        motions = motion_events(admin)
        span_s = (int(time.time() * 1000) - t_on) / 1000
        assert 1 <= len(motions) <= span_s / 3 + 1, (len(motions), span_s)
        # the segment plays
        r = admin.request("GET", "/api/v1/recordings/" + seg["id"])
        assert r.status == 200, r
        path = os.path.join(workdir, "motion.mp4")
        with open(path, "wb") as f:
            f.write(r.body)
        out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                              "format=duration:stream=codec_name,nb_read_frames", "-count_frames", "-of", "json", path],
                             capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr
        j = json.loads(out.stdout)
        assert [s["codec_name"] for s in j["streams"]] == ["h264"], j
        assert float(j["format"]["duration"]) >= 2.0, j
        assert int(j["streams"][0]["nb_read_frames"]) >= 40, j
        # the analysis and the ring stayed inside media's walls: no child was killed or restarted
        for ty in ("sandbox_violation", "process_restart"):
            r = admin.request("GET", f"/api/v1/events?type={ty}")
            assert r.status == 200 and r.json()["events"] == [], r
        # off: the analysis stops, and the pipeline may idle again
        set_recording(admin, mode="off")
        time.sleep(4)
        st = status(admin)
        assert st["encoders_running"] == 0 and st["pipeline"] == "idle", st
    finally:
        _finish(cam)


@pytest.mark.plain_only  # 30 s of footage on the clock; the motion and pre-roll code runs under ASan in the walking-person test
def test_close_events_never_record_the_same_moment_twice(workdir):
    """A long pre-roll and a short post-roll: the walking person's motion comes and goes, and each new event starts
    with the pre-roll. It used to start with the whole ring, so it repeated the previous event's last seconds (3.2 s
    of overlap in 45 s of this footage, and a downloaded range held them twice); it now leaves out what the previous
    event's segment took."""
    clip = os.path.join(workdir, "walkway.mp4")
    walkway_clip(clip)
    cam = start_camera(workdir, clip)
    try:
        admin = cam.admin()
        set_recording(admin, mode="events", segment_seconds=60, pre_roll_s=5, post_roll_s=1, motion_sensitivity=50)
        time.sleep(30)  # the footage has two close events in its first 20 s
        done = sorted((s for s in listing(admin) if s["complete"]), key=lambda s: s["start_ms"])
        assert len(done) >= 2, (done, cam.read_log()[-3000:])
        # start and end are wall-clock estimates of the first and last frames (a few frames of slack)
        for a, b in zip(done, done[1:]):
            assert b["start_ms"] >= a["end_ms"] - 300, (a, b)
        set_recording(admin, mode="off")
    finally:
        _finish(cam)
