"""corpus.py — real third-party servers from Debian, configured like the camera-like devices a test lab
meets, for tests/system/test_check_corpus.py. Each server runs inside a network namespace the test
creates (ip netns add; its own loopback), with configuration and keys generated at test time into a
temporary directory. Test fixtures, never shipped.

Servers: mosquitto (MQTT, anonymous in clear; MQTT over TLS with a password file), lighttpd (an
unauthenticated webcam with an endless MJPEG stream and a version in its page; HTTP Basic on /),
vsftpd (anonymous FTP), nginx (HTTPS sites serving the files a test writes, e.g. a CSAF feed), snmpd
(net-snmp with the read community "public"), minidlna (SSDP + HTTP) and wsdd (WS-Discovery), the two
on a veth pair inside the namespace (ns_lan) since discovery daemons ignore the loopback."""
import os
import subprocess

JPEG = bytes([0xFF, 0xD8, 0xFF, 0xE0]) + b"\0" * 3000 + bytes([0xFF, 0xD9])

# an endless multipart/x-mixed-replace answer like mjpg-streamer's /?action=stream (CGI under lighttpd)
STREAM_CGI = r'''import sys, time
out = sys.stdout.buffer
out.write(b"Content-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n")
jpg = bytes([0xFF, 0xD8, 0xFF, 0xE0]) + b"\0" * 4000 + bytes([0xFF, 0xD9])
while True:
    out.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpg) + jpg + b"\r\n")
    out.flush()
    time.sleep(0.05)
'''


def ns_popen(ns, *argv, **kw):
    return subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **kw)


def make_cert(d, cn="corpus-device"):
    key, crt = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha256",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "30", "-subj", f"/CN={cn}"],
                   check=True, capture_output=True)
    return key, crt


def mosquitto_anonymous(ns, d, port=1883):
    conf = os.path.join(d, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(f"user root\npersistence false\nlog_dest none\nlistener {port} 127.0.0.1\nallow_anonymous true\n")
    return ns_popen(ns, "mosquitto", "-c", conf)


def mosquitto_tls_password(ns, d, port=8883):
    key, crt = make_cert(d)
    pw = os.path.join(d, "passwd")
    open(pw, "w").close()
    subprocess.run(["mosquitto_passwd", "-b", pw, "camera", os.urandom(12).hex()], check=True, capture_output=True)
    conf = os.path.join(d, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(f"user root\npersistence false\nlog_dest none\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
                f"password_file {pw}\ncertfile {crt}\nkeyfile {key}\ntls_version tlsv1.2\n"
                "ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305\n")
    return ns_popen(ns, "mosquitto", "-c", conf)


def lighttpd_webcam(ns, d, port=80, stream_port=8081):
    """port: an index page naming the product and its firmware version, /snapshot.jpg and an endless
    MJPEG /stream, no authentication; stream_port: the stream on / (like mjpg-streamer)."""
    www, sw = os.path.join(d, "www"), os.path.join(d, "www-stream")
    os.makedirs(www)
    os.makedirs(sw)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("<html><head><title>NetCam</title></head><body><h1>NetCam Pro</h1>"
                "<p>Firmware version 2.4.1 (build 2023-05-02)</p><img src=\"/stream\"></body></html>")
    with open(os.path.join(www, "snapshot.jpg"), "wb") as f:
        f.write(JPEG)
    for dd in (www, sw):
        with open(os.path.join(dd, "stream"), "w") as f:
            f.write(STREAM_CGI)
    conf = os.path.join(d, "lighttpd.conf")
    with open(conf, "w") as f:
        f.write(f'''server.modules = ("mod_cgi")
server.document-root = "{www}"
server.bind = "127.0.0.1"
server.port = {port}
server.tag = "camera"
server.stream-response-body = 2
server.errorlog = "{d}/error.log"
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html", ".jpg" => "image/jpeg")
cgi.assign = ("/stream" => "/usr/bin/python3")
$SERVER["socket"] == "127.0.0.1:{stream_port}" {{
    server.document-root = "{sw}"
    index-file.names = ("stream")
}}
''')
    return ns_popen(ns, "lighttpd", "-D", "-f", conf)


def lighttpd_basic(ns, d, port=8080, password=None):
    """HTTP Basic on every path (user admin, a random password: not a well-known default)."""
    www = os.path.join(d, "www-basic")
    os.makedirs(www)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("<html><body>camera admin</body></html>")
    users = os.path.join(d, "users")
    with open(users, "w") as f:
        f.write(f"admin:{password or os.urandom(12).hex()}\n")
    conf = os.path.join(d, "lighttpd-basic.conf")
    with open(conf, "w") as f:
        f.write(f'''server.modules = ("mod_auth", "mod_authn_file")
server.document-root = "{www}"
server.bind = "127.0.0.1"
server.port = {port}
server.tag = "camera"
server.errorlog = "{d}/error-basic.log"
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html")
auth.backend = "plain"
auth.backend.plain.userfile = "{users}"
auth.require = ("/" => ("method" => "basic", "realm" => "camera", "require" => "valid-user"))
''')
    return ns_popen(ns, "lighttpd", "-D", "-f", conf)


def vsftpd_anonymous(ns, d, port=21):
    root, empty = os.path.join(d, "ftproot"), os.path.join(d, "empty")
    os.makedirs(root)
    os.makedirs(empty)
    os.chmod(d, 0o755)
    os.chmod(root, 0o755)
    with open(os.path.join(root, "record-0001.mp4"), "wb") as f:
        f.write(b"\0" * 64)
    conf = os.path.join(d, "vsftpd.conf")
    with open(conf, "w") as f:
        f.write(f"listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\n"
                f"anonymous_enable=YES\nlocal_enable=NO\nwrite_enable=NO\nanon_root={root}\n"
                f"secure_chroot_dir={empty}\nseccomp_sandbox=NO\nxferlog_enable=NO\nconnect_from_port_20=NO\n")
    return ns_popen(ns, "vsftpd", conf)


def make_rsa_cert(d, cn="corpus-device"):
    key, crt = os.path.join(d, "rsa-key.pem"), os.path.join(d, "rsa-cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "30", "-subj", f"/CN={cn}"], check=True, capture_output=True)
    return key, crt


def nginx_https_sites(ns, d, sites, rsa=False):
    """One nginx, one HTTPS server per port of sites ({port: {"path/in/site": bytes or str}}), each serving
    only the files given (everything else 404), with a certificate made here (P-256; with rsa, an RSA 2048
    one beside it). nginx's default cipher list (OpenSSL's HIGH:!aNULL:!MD5) includes the ARIA-GCM suites
    GnuTLS cannot offer: 0xC05C/0xC05D with the EC key, 0xC060/0xC061 with the RSA one."""
    key, crt = make_cert(d)
    certs = f"ssl_certificate {crt}; ssl_certificate_key {key};"
    if rsa:
        rkey, rcrt = make_rsa_cert(d)
        certs += f" ssl_certificate {rcrt}; ssl_certificate_key {rkey};"
    servers = []
    for port, files in sites.items():
        root = os.path.join(d, f"site-{port}")
        os.makedirs(root)
        for rel, data in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data.encode() if isinstance(data, str) else data)
        servers.append(f"  server {{ listen 127.0.0.1:{port} ssl; {certs}\n"
                       f"    ssl_protocols TLSv1.2 TLSv1.3; server_tokens off; root {root}; }}\n")
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; master_process off; worker_processes 1; pid {d}/nginx.pid;
error_log {d}/nginx-error.log; events {{ worker_connections 64; }}
http {{ access_log off; client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f;
  uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
  types {{ application/json json; text/plain txt; text/html html; }} default_type application/octet-stream;
{"".join(servers)}}}
""")
    return ns_popen(ns, "nginx", "-e", os.path.join(d, "nginx-error.log"), "-p", d, "-c", conf)


def snmpd_public(ns, d, port=161):
    """Debian net-snmp's agent with the read community "public" (the package's example default) and its own
    sysDescr, which names the kernel: `uname -a`. No default config file is read (-C); state goes to d."""
    conf = os.path.join(d, "snmpd.conf")
    with open(conf, "w") as f:
        f.write(f"agentAddress udp:127.0.0.1:{port}\nrocommunity public 127.0.0.1\n"
                "sysLocation lab\nsysContact lab@example.invalid\n")
    env = dict(os.environ, SNMP_PERSISTENT_DIR=os.path.join(d, "snmp-state"), MIBS="")
    return ns_popen(ns, "/usr/sbin/snmpd", "-f", "-C", "-c", conf, "-Ln", "-p", os.path.join(d, "snmpd.pid"),
                    env=env)


def ns_lan(ns, addr="10.213.0.1/24", dev="lan0"):
    """A veth pair with both ends inside the namespace: the camera's LAN side for the discovery daemons
    (they ignore the loopback interface). Nothing is routed out of the namespace."""
    for argv in (["ip", "link", "add", dev, "type", "veth", "peer", "name", dev + "p"],
                 ["ip", "addr", "add", addr, "dev", dev], ["ip", "link", "set", dev + "p", "up"],
                 ["ip", "link", "set", dev, "up"]):
        subprocess.run(["ip", "netns", "exec", ns, *argv], check=True, capture_output=True)
    return addr.split("/")[0]


def minidlna(ns, d, iface="lan0", port=8200):
    """Debian's MiniDLNA (UPnP AV media server): SSDP on udp/1900, its HTTP description and media on port."""
    media, db = os.path.join(d, "media"), os.path.join(d, "dlna-db")
    os.makedirs(media)
    os.makedirs(db)
    with open(os.path.join(media, "clip.jpg"), "wb") as f:
        f.write(JPEG)
    conf = os.path.join(d, "minidlna.conf")
    with open(conf, "w") as f:
        f.write(f"media_dir=P,{media}\ndb_dir={db}\nlog_dir={db}\nnetwork_interface={iface}\nport={port}\n"
                "friendly_name=corpus-nvr\ninotify=no\nnotify_interval=900\nlog_level=general,artwork,database,"
                "inotify,scanner,metadata,http,ssdp,tivo=off\n")
    return ns_popen(ns, "/usr/sbin/minidlnad", "-S", "-f", conf, "-P", os.path.join(d, "minidlna.pid"))


def wsdd(ns, d, iface="lan0"):
    """Debian's wsdd (WS-Discovery host for Samba): answers a multicast Probe for wsdp:Device and a Resolve
    with XAddrs http://<address>:5357/<uuid>, its metadata service (HTTP, port 5357)."""
    return ns_popen(ns, "/usr/sbin/wsdd", "-4", "-i", iface, "-n", "corpus-nvr", "-w", "LAB",
                    "--uuid", "0c4a9e2e-1111-4000-8000-000000000001", cwd=d)
