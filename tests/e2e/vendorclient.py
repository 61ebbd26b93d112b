"""A vendor's client of the hub, written from docs/PROTOCOL.md alone (for
test_94 and test_99): its own key-file reader (§3 "Key files"), its own
framing (§2), the schema compiled from proto/ungebro.proto with protoc as
the page says, CURVE set up as §1 says, and an encoder of the wire format
(varints, tags, lengths) for what a foreign protobuf library might write.
Nothing here comes from hubtest.py's clients."""

import importlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import zmq

ROOT = Path(__file__).resolve().parents[2]
EVENT, ACK, HELLO, ALERT, ALERT_ACK, WELCOME, QUERY, RESULT = \
    1, 2, 3, 4, 5, 6, 7, 8
_m = []


def schema():
    """protoc --python_out of proto/ungebro.proto (PROTOCOL.md intro)."""
    if not _m:
        out = tempfile.mkdtemp(prefix="vendor-")
        subprocess.run(["protoc", f"--python_out={out}",
                        f"-I{ROOT / 'proto'}", "ungebro.proto"], check=True)
        sys.path.insert(0, out)
        _m.append(importlib.import_module("ungebro_pb2"))
        sys.path.remove(out)
    return _m[0]


def read_key_file(path):
    """§3 Key files: `name = value` lines, split at the first `=`,
    blanks trimmed; `#` lines and blank lines skipped; last line wins."""
    values = {}
    for line in Path(path).read_text().splitlines():
        s = line.strip(" \t\r")
        if not s or s.startswith("#"):
            continue
        name, _, value = s.partition("=")
        values[name.strip(" \t")] = value.strip(" \t")
    return values


def varint(v):
    out = bytearray()
    while True:
        out.append((v & 0x7f) | (0x80 if v >> 7 else 0))
        v >>= 7
        if not v:
            return bytes(out)


def tag(number, wire_type):
    return varint(number << 3 | wire_type)


def ld(number, data):
    """A length-delimited field."""
    return tag(number, 2) + varint(len(data)) + data


class Client:
    """A DEALER, CURVE client of the hub (§1), one frame per message."""

    def __init__(self, hub, who, endpoint):
        self.ctx = zmq.Context()
        self.s = self.ctx.socket(zmq.DEALER)
        mine = read_key_file(hub.keys_dir / f"{who}.key_secret")
        self.s.curve_serverkey = read_key_file(
            hub.keys_dir / "hub.key")["public"].encode()
        self.s.curve_publickey = mine["public"].encode()
        self.s.curve_secretkey = mine["secret"].encode()
        self.s.linger = 0
        self.s.connect(endpoint)
        self.other = []

    def raw(self, data):
        self.s.send(data)

    def send(self, kind, msg):
        self.s.send(bytes([1, kind]) + msg.SerializeToString())

    def recv(self, timeout=10):
        if not self.s.poll(int(timeout * 1000)):
            return None
        data = self.s.recv()
        assert data[0] == 1, data        # §6: always version byte 1
        m = schema()
        cls = {ACK: m.Ack, ALERT: m.Alert, WELCOME: m.Welcome,
               RESULT: m.Result}[data[1]]
        return data[1], cls.FromString(data[2:])

    def want(self, kind, timeout=10):
        """The next frame of that kind (alerts pushed in between kept:
        §1 "Order of answers")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.recv(deadline - time.monotonic())
            if got and got[0] == kind:
                return got[1]
            if got:
                self.other.append(got)
        raise AssertionError(f"no frame of kind {kind}")

    def ask(self, data, kind):
        self.raw(data)
        return self.want(kind)

    def close(self):
        self.s.close()
        self.ctx.term()
