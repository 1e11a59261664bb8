"""Standalone harness for safecam-media: plays the supervisor and the vault over real SOCK_SEQPACKET
channels (the wire format of include/safecam/ipc.h) and acts as the web process for snapshot / live-view
requests, so the media process can be tested on its own with real RTSPS clients. Debian's python3 only.

The fake vault keeps a small user table with a lockout after LOCK_AFTER failures per user, records every
AUTH_CHECK it answers (so tests can see the source address and the surface), and every audit event.
"""
import json
import os
import socket
import struct
import subprocess
import tempfile
import threading
import time
import weakref

from ports import free_port  # noqa: F401 - race-free between xdist workers; bench/media_rtsps.py imports it from here

MAGIC = 0x31494353
HDR = struct.Struct("<IIHHI")
FLAG_REPLY = 1

SUP_HEARTBEAT, SUP_CHANNEL, SUP_SHUTDOWN, SUP_MEDIA_CONFIG, SUP_MEDIA_APPLY = 1, 2, 3, 4, 5
VAULT_AUTH_CHECK, VAULT_AUDIT_RECORD, VAULT_TLS_CREDENTIALS = 101, 111, 113
MEDIA_SNAPSHOT, MEDIA_LIVE_OPEN, MEDIA_STATUS = 200, 201, 202

LOCK_AFTER = 5
BUILD_DEFAULT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "build")
DEFAULT_STREAM = {"width": 1280, "height": 720, "fps": 25, "bitrate_kbps": 2000, "keyframe_interval_s": 1,
                  "sub_enabled": True}


def encode(mtype, flags, mid, body):
    payload = json.dumps(body if body is not None else {}).encode()
    return HDR.pack(MAGIC, len(payload), mtype, flags, mid) + payload


def decode(data):
    magic, plen, mtype, flags, mid = HDR.unpack_from(data)
    assert magic == MAGIC and plen == len(data) - HDR.size, "malformed IPC message"
    return mtype, flags, mid, json.loads(data[HDR.size:].decode())


def recv_msg(sock):
    data, fds, _flags, _addr = socket.recv_fds(sock, 300 * 1024, 1)
    if not data:
        raise EOFError("channel closed")
    mtype, flags, mid, body = decode(data)
    return mtype, flags, mid, body, (fds[0] if fds else -1)


def send_msg(sock, mtype, flags, mid, body, fd=-1):
    data = encode(mtype, flags, mid, body)
    if fd >= 0:
        socket.send_fds(sock, [data], [fd])
    else:
        sock.send(data)


def make_cert(directory):
    """An ECDSA P-256 device certificate for 127.0.0.1 (PEM cert, PKCS#8 key) like safecam-provision's."""
    key = os.path.join(directory, "tls.key")
    crt = os.path.join(directory, "tls.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "30", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return crt, key


class FakeVault(threading.Thread):
    def __init__(self, sock, cert_pem, key_pem, users):
        super().__init__(daemon=True)
        self.sock = sock
        self.cert_pem = cert_pem
        self.key_pem = key_pem
        self.users = users  # name -> {"password","role","pcr"}
        self.failures = {}
        self.checks = []  # (username, source, surface, result)
        self.audit = []  # dicts
        self.lock = threading.Lock()

    def run(self):
        try:
            while True:
                mtype, flags, mid, body, fd = recv_msg(self.sock)
                if fd >= 0:
                    os.close(fd)
                reply = self.handle(mtype, body)
                send_msg(self.sock, mtype, FLAG_REPLY, mid, reply)
        except (EOFError, OSError):
            return

    def handle(self, mtype, body):
        with self.lock:
            if mtype == VAULT_TLS_CREDENTIALS:
                return {"ok": True, "cert_pem": self.cert_pem, "key_pem": self.key_pem}
            if mtype == VAULT_AUDIT_RECORD:
                self.audit.append(body)
                return {"ok": True}
            if mtype == VAULT_AUTH_CHECK:
                user = body.get("username")
                u = self.users.get(user)
                if u and u.get("busy"):  # the vault's hash workers at their admission budget
                    result = {"error": "busy", "retry_after": 3}
                elif self.failures.get(user, 0) >= LOCK_AFTER:
                    result = {"error": "locked", "retry_after": 60}
                elif u and u["password"] == body.get("password"):
                    self.failures[user] = 0
                    result = {"ok": True, "username": user, "role": u["role"],
                              "password_change_required": u.get("pcr", False)}
                else:
                    self.failures[user] = self.failures.get(user, 0) + 1
                    result = {"error": "invalid_credentials"}
                self.checks.append((user, body.get("source"), body.get("surface"), result.get("error", "ok")))
                return result
            return {"error": "unknown_type"}


class MediaProcess:
    """Runs build/daemon/safecam-media with a fake supervisor, vault and web on real channels."""

    def __init__(self, build, source=None, stream=None, users=None, port=None, wrap=None, env=None):
        self.tmp = tempfile.mkdtemp(prefix="safecam-media-")
        self.state_dir = os.path.join(self.tmp, "state")
        os.makedirs(self.state_dir)
        self.cacert, keyfile = make_cert(self.tmp)
        with open(self.cacert) as f:
            cert_pem = f.read()
        with open(keyfile) as f:
            key_pem = f.read()
        os.unlink(keyfile)
        self.users = users or {}
        self.port = port or free_port()
        self.exe = os.path.join(build, "daemon", "safecam-media")
        self.log_path = os.path.join(self.tmp, "media.log")
        self.sup, child_sup = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        vault_media, vault_ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.web, web_media = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.vault = FakeVault(vault_ours, cert_pem, key_pem, self.users)
        self.vault.start()
        cmd = [self.exe, "--state-dir", self.state_dir, "--ipc-fd", str(child_sup.fileno()), "--bind",
               "127.0.0.1", "--rtsps-port", str(self.port)]
        if source:
            cmd += ["--source", source]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(list(wrap or []) + cmd, pass_fds=[child_sup.fileno()], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=dict(os.environ, **(env or {})))
        child_sup.close()
        self.mid = 1000
        self.id_lock = threading.Lock()
        self.sup_lock = threading.Lock()
        self.web_lock = threading.Lock()
        send_msg(self.sup, SUP_CHANNEL, 0, self.next_id(), {"peer": "vault"}, vault_media.fileno())
        send_msg(self.sup, SUP_CHANNEL, 0, self.next_id(), {"peer": "web"}, web_media.fileno())
        vault_media.close()
        web_media.close()
        self.sup_replies = {}
        self.sup_cond = threading.Condition()
        self.sup_reader = threading.Thread(target=self._sup_read, daemon=True)
        self.sup_reader.start()
        self.apply(dict(DEFAULT_STREAM, **(stream or {})), wait=False)
        self.stop_hb = threading.Event()
        self.hb = threading.Thread(target=self._heartbeats, daemon=True)
        self.hb.start()

    def next_id(self):
        with self.id_lock:
            self.mid += 1
            return self.mid

    def _heartbeats(self):
        while not self.stop_hb.wait(1.0):
            try:
                self.sup_call(SUP_HEARTBEAT, None, wait=False)
            except OSError:
                return

    def _sup_read(self):
        try:
            while True:
                _t, flags, mid, body, fd = recv_msg(self.sup)
                if fd >= 0:
                    os.close(fd)
                if flags & FLAG_REPLY:
                    with self.sup_cond:
                        self.sup_replies[mid] = body
                        self.sup_cond.notify_all()
        except (EOFError, OSError):
            return

    def sup_call(self, mtype, body, wait=True, timeout=15):
        with self.sup_lock:
            mid = self.next_id()
            send_msg(self.sup, mtype, 0, mid, body)
        if not wait:
            return None
        with self.sup_cond:
            ok = self.sup_cond.wait_for(lambda: mid in self.sup_replies, timeout)
            assert ok, "no reply from safecam-media"
            return self.sup_replies.pop(mid)

    def apply(self, stream, wait=True):
        """PROTO_SUP_MEDIA_APPLY; returns media's reply ({"ok":true} or an error) when wait."""
        return self.sup_call(SUP_MEDIA_APPLY, {"stream": stream}, wait)

    def web_call(self, mtype, body, timeout=10):
        with self.web_lock:
            mid = self.next_id()
            send_msg(self.web, mtype, 0, mid, body)
            self.web.settimeout(timeout)
            try:
                while True:
                    rtype, flags, rid, rbody, fd = recv_msg(self.web)
                    if rid == mid and flags & FLAG_REPLY:
                        return rbody, fd
                    if fd >= 0:
                        os.close(fd)
            finally:
                self.web.settimeout(None)

    def snapshot(self, timeout=10):
        body, fd = self.web_call(MEDIA_SNAPSHOT, {})
        if fd < 0:
            return body, None
        data = read_all(fd, timeout)
        return body, data

    def status(self):
        return self.web_call(MEDIA_STATUS, {})[0]

    def wait_rtsps(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"safecam-media exited ({self.proc.returncode}):\n{self.read_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"RTSPS not listening:\n{self.read_log()}")

    def wait_playing(self, timeout=30):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.status()
            if st.get("state") == "playing":
                return st
            time.sleep(0.2)
        raise TimeoutError(f"not playing: {st}\n{self.read_log()}")

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                self._last_log = f.read().decode("utf-8", "replace")
        except OSError:
            pass
        return getattr(self, "_last_log", "")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.stop_hb.set()
        if self.proc.poll() is None:
            try:
                self.sup_call(SUP_SHUTDOWN, None, wait=False)
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for s in (self.sup, self.web):
            try:
                s.close()
            except OSError:
                pass
        self.log.close()
        bad = [line for line in self.read_log().splitlines()
               if "ERROR: AddressSanitizer" in line or "runtime error:" in line or "ERROR: LeakSanitizer" in line]
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)
        assert not bad, "sanitizer report in safecam-media's log:\n" + "\n".join(bad[:20])
        return self.proc.returncode


def read_all(fd, timeout=10, limit=64 << 20):
    """Read fd to EOF (bounded in time and size)."""
    import select
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(out) < limit:
            r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            out += chunk
    finally:
        os.close(fd)
    return bytes(out)


def jpeg_size(data):
    """(width, height) from a JPEG's SOF marker, or None when it is not a well-formed JPEG."""
    if len(data) < 4 or data[:2] != b"\xff\xd8" or data[-2:] != b"\xff\xd9":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        seglen = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + seglen
    return None


# ---- raw RTSP over TLS (python ssl, validating the device certificate) ----

def tls_connect(port, cafile, timeout=10, source=None):
    """TLS to 127.0.0.1:port, from the loopback address `source` when given (127.0.0.0/8 is all loopback: the
    camera counts connections per source address)."""
    import ssl
    ctx = ssl.create_default_context(cafile=cafile)
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    return ctx.wrap_socket(s, server_hostname="127.0.0.1")


def basic(user, password):
    import base64
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# Bytes read past a response, per socket: after PLAY the first interleaved frames often arrive in the same
# TLS record as the answer. Dropping them cut a frame in two, and a reader that then looked for "$" lost step
# for good (a bench viewer counted 0 frames of 2 MB received). rtsp_read starts with them; rtsp_pending hands
# them to a caller that reads the interleaved stream itself.
_PENDING = weakref.WeakKeyDictionary()


def rtsp_pending(sock):
    """The bytes rtsp_read received after the last response on sock (possibly b""), handed over once."""
    return _PENDING.pop(sock, b"")


def rtsp_read(sock, limit=1 << 20):
    """Read one RTSP response: (status, {lower-name: value}, body), skipping interleaved $-frames; what
    follows it stays for the next read (rtsp_pending). None when the server closed the connection."""
    buf = rtsp_pending(sock)
    while True:
        while buf.startswith(b"$"):
            if len(buf) < 4:
                break
            n = struct.unpack(">H", buf[2:4])[0]
            if len(buf) < 4 + n:
                break
            buf = buf[4 + n:]
        if b"\r\n\r\n" in buf and not buf.startswith(b"$"):
            break
        try:
            chunk = sock.recv(65536)
        except (ConnectionError, OSError):
            return None
        if not chunk:
            return None
        buf += chunk
        if len(buf) > limit:
            raise AssertionError("response too large")
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    if len(rest) > n:
        _PENDING[sock] = rest[n:]
    return status, headers, rest[:n]


def rtsp_request(sock, method, url, cseq, headers=None):
    lines = [f"{method} {url} RTSP/1.0", f"CSeq: {cseq}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return rtsp_read(sock)


def rtsp_play_session(port, cafile, auth, path="/stream1", source=None):
    """DESCRIBE + SETUP (TCP interleaved) on a new TLS connection. Returns (sock, session_id, base_url)."""
    s = tls_connect(port, cafile, source=source)
    url = f"rtsps://127.0.0.1:{port}{path}"
    st, hd, body = rtsp_request(s, "DESCRIBE", url, 1, {"Authorization": auth, "Accept": "application/sdp"})
    assert st == 200, (st, hd)
    control = "stream=0"
    for line in body.decode().splitlines():
        if line.startswith("a=control:") and "stream=" in line:
            control = line.split(":", 1)[1].strip()
    setup_url = control if control.startswith("rtsp") else f"{url}/{control}"
    st, hd, _ = rtsp_request(s, "SETUP", setup_url, 2, {"Authorization": auth,
                                                          "Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
    assert st == 200, (st, hd)
    return s, hd["session"].split(";")[0], url
