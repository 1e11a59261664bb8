"""Real linked services for the tests and the bench: Debian's mosquitto with TLS and a password file, nginx
with WebDAV over HTTPS (PUT/DELETE from the dav module, a flag file that makes it answer 507), both on
loopback on free ports, with a CA and server certificates made here with openssl; and a driver for
safecam-link in its standalone form (JSON lines on stdin/stdout).

No pytest dependency: bench/link_recovery.py uses it too."""
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time

from ports import free_port


def run(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def available():
    return all(shutil.which(x) for x in ("mosquitto", "mosquitto_sub", "mosquitto_passwd", "openssl")) and \
        os.access("/usr/sbin/nginx", os.X_OK)


def make_ca(pki, name):
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", pki / f"{name}.key", "-out", pki / f"{name}.crt", "-days", "2", "-subj", f"/CN={name}")


def make_cert(pki, name, san, ca):
    key, csr, crt, ext = (pki / f"{name}.{x}" for x in ("key", "csr", "crt", "ext"))
    ext.write_text(f"subjectAltName={san}\n")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
        "-out", csr, "-subj", f"/CN={name}")
    run("openssl", "x509", "-req", "-in", csr, "-CA", pki / f"{ca}.crt", "-CAkey", pki / f"{ca}.key",
        "-set_serial", "9", "-out", crt, "-days", "2", "-extfile", ext)


def make_pki(d):
    """ca (the admin's), other-ca; good (127.0.0.1 by ca), foreign (127.0.0.1 by other-ca), wrongname (by ca)."""
    pki = d / "pki"
    pki.mkdir()
    make_ca(pki, "ca")
    make_ca(pki, "other-ca")
    make_cert(pki, "good", "IP:127.0.0.1,DNS:localhost", "ca")
    make_cert(pki, "foreign", "IP:127.0.0.1,DNS:localhost", "other-ca")
    make_cert(pki, "wrongname", "DNS:nas.example.com", "ca")
    for p in pki.iterdir():
        os.chmod(p, 0o644)
    return pki


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_port_closed(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(0.05)
        except OSError:
            return True
    return False


class Broker:
    """mosquitto on 127.0.0.1:port with TLS (cert NAME from pki), users cam and sub, persistence on disk (so a
    persistent subscriber's queued QoS 1 messages survive a restart)."""

    def __init__(self, d, pki, cert="good", port=None):
        self.d, self.pki, self.cert = d, pki, cert
        self.port = port or free_port()
        self.proc = None
        d.mkdir(exist_ok=True)
        self.pw = d / "passwd"
        run("mosquitto_passwd", "-b", "-c", self.pw, "cam", "cam-secret-Mq7")
        run("mosquitto_passwd", "-b", self.pw, "sub", "sub-secret-Mq7")
        os.chmod(self.pw, 0o600)
        self.conf = d / "mosquitto.conf"
        self.conf.write_text(
            f"user root\nper_listener_settings false\nallow_anonymous false\npassword_file {self.pw}\n"
            f"persistence true\npersistence_location {d}/\nautosave_interval 1\n"
            f"log_dest file {d}/mosquitto.log\n"
            f"listener {self.port} 127.0.0.1\ncafile {pki}/ca.crt\ncertfile {pki}/{cert}.crt\n"
            f"keyfile {pki}/{cert}.key\n")

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not wait_port(self.port):
            self.stop()
            raise RuntimeError("mosquitto did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        wait_port_closed(self.port)

    def sub_cmd(self, topic, *extra):
        return ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "--cafile", str(self.pki / "ca.crt"),
                "-u", "sub", "-P", "sub-secret-Mq7", "-t", topic, *extra]

    def retained(self, topic, wait=3):
        """The retained messages on topic as the broker holds them (mosquitto_sub --retained-only)."""
        r = subprocess.run(self.sub_cmd(topic, "-v", "--retained-only", "-W", str(wait)), capture_output=True,
                           text=True, timeout=wait + 10)
        return [line for line in r.stdout.splitlines() if line.strip()]


class Subscriber:
    """A long-running persistent subscriber (clean session off, QoS 1) that reconnects by itself; -R hides
    retained copies sent on (re)subscription, so each live message is seen once per delivery."""

    def __init__(self, broker, topic):
        self.lines = []
        self.proc = subprocess.Popen(broker.sub_cmd(topic, "-q", "1", "-c", "-i", "test-sub", "-R"),
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_count(self, n, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.lines) < n:
            time.sleep(0.05)
        return list(self.lines)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Dav:
    """nginx with WebDAV over HTTPS on 127.0.0.1:port, basic auth user cam; while the file FULL exists in its
    directory it answers PUT with 507 Insufficient Storage."""

    def __init__(self, d, pki, cert="good", port=None):
        self.d, self.pki = d, pki
        self.port = port or free_port()
        self.root = d / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.full = d / "FULL"
        htpasswd = d / "htpasswd"
        h = subprocess.run(["openssl", "passwd", "-apr1", "dav-secret-Wd9"], capture_output=True, text=True,
                           check=True).stdout.strip()
        htpasswd.write_text(f"cam:{h}\n")
        self.conf = d / "nginx.conf"
        self.conf.write_text(
            f"daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;\n"
            "events { worker_connections 64; }\n"
            f"http {{ access_log {d}/access.log; client_body_temp_path {d}/t1; proxy_temp_path {d}/t2;\n"
            f" fastcgi_temp_path {d}/t3; uwsgi_temp_path {d}/t4; scgi_temp_path {d}/t5;\n"
            f" server {{ listen 127.0.0.1:{self.port} ssl; ssl_certificate {pki}/{cert}.crt;\n"
            f"  ssl_certificate_key {pki}/{cert}.key; ssl_protocols TLSv1.2 TLSv1.3; root {self.root};\n"
            f"  client_max_body_size 64m; auth_basic dav; auth_basic_user_file {htpasswd};\n"
            f"  location /cam/ {{ if (-f {self.full}) {{ return 507; }}\n"
            f"   dav_methods PUT DELETE MKCOL; create_full_put_path on; dav_access user:rw; }}\n"
            " }\n}\n")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["/usr/sbin/nginx", "-p", str(self.d), "-e", "stderr", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.port):
            self.stop()
            raise RuntimeError("nginx did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        wait_port_closed(self.port)

    def files(self):
        d = self.root / "cam"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []


def settings(pki, broker=None, dav=None, topic="cams", retention_days=30):
    s = {"data_location": "vn"}
    ca = (pki / "ca.crt").read_text()
    if broker:
        s["mqtt"] = {"url": f"mqtts://127.0.0.1:{broker.port}", "ca_pem": ca, "username": "cam",
                     "password": "cam-secret-Mq7", "topic": topic}
    if dav:
        s["webdav"] = {"url": f"https://127.0.0.1:{dav.port}/cam/", "ca_pem": ca, "username": "cam",
                       "password": "dav-secret-Wd9", "retention_days": retention_days}
    return s


class Link:
    """safecam-link --standalone: commands in, JSON lines out (replies and audit events kept apart)."""

    def __init__(self, exe, state_dir, device_id="cam-0001"):
        self.state_dir = state_dir
        self.proc = subprocess.Popen([exe, "--standalone", "--dir", str(state_dir), "--device-id", device_id],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.replies = queue.Queue()
        self.audit = []
        self.stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            msg = json.loads(line)
            if "audit" in msg:
                self.audit.append((time.monotonic(), msg["audit"], msg["detail"]))
            else:
                self.replies.put(msg)

    def _err(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def cmd(self, obj, timeout=30):
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()
        return self.replies.get(timeout=timeout)

    def stats(self):
        return self.cmd({"cmd": "stats"})["stats"]

    def wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.stats()
            if pred(s):
                return s
            time.sleep(0.1)
        return self.stats()

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
