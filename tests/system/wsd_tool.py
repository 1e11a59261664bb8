"""WS-Discovery client for tests/system/test_discovery.py, run inside the client network namespace the test made
(ip netns exec NS python3 wsd_tool.py ...). Prints one JSON object on stdout.

  probe --to ADDR [--body FILE|--kind K] [--count N] [--wait S]
        sends N probes to ADDR:3702 (ADDR may be the group 239.255.255.250) from one socket and collects every
        answer for S seconds: {"sent": [bytes...], "replies": [{"from", "len", "text"}]}
  listen --wait S   joins the group and records what arrives (Hello, Bye): {"messages": [{"from","len","text"}]}
  sniff --iface IF --wait S   captures every UDP datagram to or from port 3702 on IF (an AF_PACKET socket, so
        another client's exchange, e.g. onvif-util's, is seen as it went over the link):
        {"packets": [{"src","dst","sport","dport","len","text"}]}

Kinds: nvt (dn:NetworkVideoTransmitter, as an NVR sends), device (tds:Device, as libonvif sends), none (no Types),
printer (another device type), scoped (a Scopes filter), malformed (cut in the middle), doctype (an entity),
oversized (9 KiB), nomsgid (no MessageID), small (a minimal valid probe with a short MessageID).
"""
import argparse
import json
import socket
import struct
import sys
import time
import uuid

GROUP = "239.255.255.250"
PORT = 3702


def probe_xml(types="dn:NetworkVideoTransmitter", msgid=None, scopes=None, header_extra=""):
    msgid = msgid or f"urn:uuid:{uuid.uuid4()}"
    t = f"<d:Types>{types}</d:Types>" if types is not None else ""
    s = f"<d:Scopes>{scopes}</d:Scopes>" if scopes else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:w="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
            'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
            'xmlns:dn="http://www.onvif.org/ver10/network/wsdl" '
            'xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
            f'<e:Header>{header_extra}<w:MessageID>{msgid}</w:MessageID>'
            '<w:To e:mustUnderstand="true">urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>'
            '<w:Action e:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</w:Action>'
            f'</e:Header><e:Body><d:Probe>{t}{s}</d:Probe></e:Body></e:Envelope>').encode()


def build(kind):
    if kind == "nvt":
        return probe_xml()
    if kind == "device":
        return probe_xml("tds:Device")
    if kind == "none":
        return probe_xml(None)
    if kind == "printer":
        return probe_xml("p:Printer").replace(b'xmlns:tds=', b'xmlns:p="http://example.org/p" xmlns:tds=')
    if kind == "scoped":
        return probe_xml("dn:NetworkVideoTransmitter", scopes="onvif://www.onvif.org/location/elsewhere")
    if kind == "malformed":
        b = probe_xml()
        return b[: len(b) // 2]
    if kind == "doctype":
        return b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaa">]>' + probe_xml().split(b"?>", 1)[1]
    if kind == "oversized":
        return probe_xml(header_extra="<w:ReplyTo>" + "x" * 9216 + "</w:ReplyTo>")
    if kind == "nomsgid":
        return probe_xml().replace(b"<w:MessageID>", b"<w:Other>").replace(b"</w:MessageID>", b"</w:Other>")
    if kind == "small":
        return ('<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
                'xmlns:w="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
                'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><e:Header><w:MessageID>m1</w:MessageID>'
                '</e:Header><e:Body><d:Probe/></e:Body></e:Envelope>').encode()
    raise SystemExit(f"unknown kind {kind}")


def collect(sock, wait):
    out = []
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        sock.settimeout(left)
        try:
            data, addr = sock.recvfrom(65536)
        except socket.timeout:
            return out
        out.append({"from": addr[0], "len": len(data), "text": data.decode("utf-8", "replace")})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=("probe", "listen", "sniff"))
    ap.add_argument("--iface")
    ap.add_argument("--src", action="append", default=[],
                    help="source address to send from (repeatable: one socket per address, --count probes each)")
    ap.add_argument("--to", default=GROUP)
    ap.add_argument("--kind", default="nvt")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--wait", type=float, default=2.0)
    ap.add_argument("--rate", type=float, default=0, help="probes per second (0: as fast as possible)")
    a = ap.parse_args()
    if a.cmd == "sniff":
        # ETH_P_ALL: the kernel shows outgoing packets only to sockets bound to every protocol
        s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
        s.bind((a.iface, 3))
        print("ready", file=sys.stderr, flush=True)
        pkts = []
        deadline = time.monotonic() + a.wait
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, addr = s.recvfrom(65536)
            except socket.timeout:
                break
            if addr[1] != 0x0800:
                continue
            ihl = (data[0] & 15) * 4
            if len(data) < ihl + 8 or data[9] != 17:
                continue
            sport, dport, ulen = struct.unpack("!HHH", data[ihl:ihl + 6])
            if PORT not in (sport, dport):
                continue
            payload = data[ihl + 8:ihl + ulen]
            pkts.append({"src": socket.inet_ntoa(data[12:16]), "dst": socket.inet_ntoa(data[16:20]), "sport": sport,
                         "dport": dport, "len": len(payload), "ttl": data[8],
                         "text": payload.decode("utf-8", "replace")})
        print(json.dumps({"packets": pkts}))
        return 0
    if a.cmd == "listen":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", PORT))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton(GROUP),
                                                                             socket.inet_aton("0.0.0.0")))
        print(json.dumps({"messages": collect(s, a.wait)}))
        return 0
    if a.src:  # many sources at once: every socket sends its probes, then all answers are collected
        socks = []
        for addr in a.src:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((addr, 0))
            socks.append(s)
        sent = []
        for _ in range(a.count):
            for s in socks:
                body = build(a.kind)
                s.sendto(body, (a.to, PORT))
                sent.append(len(body))
        time.sleep(a.wait)
        replies = []
        for addr, s in zip(a.src, socks):
            s.setblocking(False)
            while True:
                try:
                    data, frm = s.recvfrom(65536)
                except BlockingIOError:
                    break
                replies.append({"from": frm[0], "to": addr, "len": len(data), "text": data.decode("utf-8", "replace")})
        print(json.dumps({"sent": sent, "replies": replies}))
        return 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.bind(("", 0))
    sent = []
    t0 = time.monotonic()
    for i in range(a.count):
        body = build(a.kind)
        s.sendto(body, (a.to, PORT))
        sent.append(len(body))
        if a.rate:
            time.sleep(max(0.0, t0 + (i + 1) / a.rate - time.monotonic()))
    print(json.dumps({"sent": sent, "replies": collect(s, a.wait)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
