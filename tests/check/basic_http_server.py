"""basic_http_server.py — a deliberately NON-COMPLIANT web admin for qcvn-check's system tests:
HTTP Basic authentication over cleartext HTTP, a version banner in Server:, a well-known default
password (admin / 12345), no security headers. Binds 127.0.0.1 only. Test fixture, never shipped.
usage: basic_http_server.py PORT"""
import base64
import http.server
import sys

USER, PASSWORD = "admin", "12345"   # the well-known default the checker must find (PW-01)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _authorized(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
        except Exception:
            return False
        return user == USER and pw == PASSWORD

    def do_GET(self):
        if not self._authorized():
            body = b"<html><body>401 Unauthorized</body></html>"
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="IP Camera"')
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        body = b"<html><body>camera settings</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


if __name__ == "__main__":
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    srv.serve_forever()
