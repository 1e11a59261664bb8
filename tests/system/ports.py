"""Loopback TCP ports for the system tests, free of races between pytest-xdist workers and between test runs.

Binding port 0 and closing the socket again (the old free_port) races: another worker can be handed the same port
before the daemon binds it, or the kernel can give it out as the source port of a client connection. Here:

- ports come from LOW..HIGH, below the kernel's ephemeral range (net.ipv4.ip_local_port_range), so no client
  connection ever gets one as its source port;
- the range is cut into blocks of BLOCK ports. A process owns a block while it holds an flock(2) on the block's
  lock file in LOCK_DIR (released by the kernel when the process exits, even on kill -9), so two workers, or two
  test runs from different checkouts, never share a block;
- each xdist worker starts its search at its own block (gw0 at the start, gw1 a slice further...), so workers
  normally never even contend for a lock;
- inside its blocks a process hands out each port once, in order, after checking that it can bind it right now
  (something outside the tests may listen there, or a socket of an earlier run may linger in TIME_WAIT).

No pytest dependency: bench/media_rtsps.py uses it through media_harness too.
"""
import fcntl
import os
import socket
import threading

BLOCK = 100
LOCK_DIR = os.environ.get("SAFECAM_PORT_LOCK_DIR", "/tmp/safecam-test-ports")


def _range():
    low, high = 20000, 32000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_low, eph_high = (int(x) for x in f.read().split())
        if eph_low <= high and eph_high >= low:  # overlaps: stay below the ephemeral range
            high = eph_low - 1
            low = min(low, max(1024, high - 12000))
    except (OSError, ValueError):
        pass
    return low, high


LOW, HIGH = _range()
NBLOCKS = (HIGH - LOW + 1) // BLOCK


def worker_index():
    """0 for gw0 (or no xdist), 1 for gw1..."""
    w = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(w[2:]) if w.startswith("gw") and w[2:].isdigit() else 0


_lock = threading.Lock()
_held = []  # lock fds of the blocks this process owns (kept open until it exits)
_next = 0
_end = 0


def _claim_block():
    """Take the lock of a free block, starting from this worker's own slice. Returns its first port."""
    os.makedirs(LOCK_DIR, mode=0o1777, exist_ok=True)
    stride = max(1, NBLOCKS // 8)
    first = (worker_index() * stride + len(_held)) % NBLOCKS
    for i in range(NBLOCKS):
        b = (first + i) % NBLOCKS
        start = LOW + b * BLOCK
        fd = os.open(os.path.join(LOCK_DIR, f"{start}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another process (or this one, through an earlier fd) owns it
            os.close(fd)
            continue
        _held.append(fd)
        return start
    raise RuntimeError(f"no free block of test ports left in {LOW}-{HIGH} (lock files in {LOCK_DIR})")


def _bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port():
    """A TCP port on 127.0.0.1 that is free now and that no other worker or test run will be given."""
    global _next, _end
    with _lock:
        while True:
            if _next >= _end:
                _next = _claim_block()
                _end = _next + BLOCK
            port = _next
            _next += 1
            if _bindable(port):
                return port
