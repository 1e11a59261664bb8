"""Small fake HTTPS devices for the checker's tests (qcvn-check against a device that behaves well or
badly on purpose): a JSON request handler base and a threaded TLS server on a loopback port that can be
stopped and started again on the same port (a device that restarts for real)."""
import http.server
import json
import ssl
import threading

from ports import free_port

SESSION_COOKIE = "sid=" + "s" * 43 + "; Secure; HttpOnly; SameSite=Strict; Path=/"


class JsonHandler(http.server.BaseHTTPRequestHandler):
    """Quiet handler with JSON answers. Subclasses implement do_GET/do_POST/..."""

    def log_message(self, *a):
        pass

    def send(self, code, obj=None, cookie=None):
        body = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def json_body(self):
        try:
            return json.loads(self.body() or b"{}")
        except ValueError:
            return {}

    def authed(self):
        return "sid=" in (self.headers.get("Cookie") or "")


class TlsServer:
    """handler_class served over TLS (crt/key files) on 127.0.0.1:port (0 = a free one from ports.free_port, kept
    across restarts: outside the ephemeral range, so no client connection takes it while the device is down)."""

    def __init__(self, handler_class, crt, key, port=0):
        self.handler_class, self.crt, self.key, self.port = handler_class, crt, key, port
        self.srv = None

    def start(self):
        if not self.port:
            self.port = free_port()
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self.handler_class)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.crt, self.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        self.port = srv.server_address[1]
        self.srv = srv
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        return self.port

    def stop(self):
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None
