#!/usr/bin/python3
"""A fault-injecting HTTP proxy for S3 tests (Python 3 standard library only).

    s3_fault_proxy.py faulty UPSTREAM SEED PORTFILE LOGFILE
        Forwards each request to UPSTREAM (http://host:port) unchanged, Host
        header included (so SigV4 signatures stay valid), but first decides,
        deterministically from SEED and the request, to inject a fault:
          - reset: close the connection (RST) without answering;
          - slowdown: answer 503 SlowDown as S3 does;
          - cut: forward, then send half the reply and reset (the server
            did the work; the client must cope with not knowing). Never on
            CreateMultipartUpload: a lost reply there leaves an upload that
            no client can know of, for a bucket lifecycle rule to remove.
            Always on the first CompleteMultipartUpload attempt: the client's
            retry then finds the upload gone and must see that it worked.
          - error200: on the second CompleteMultipartUpload attempt, answer
            200 with an InternalError document, as S3 may once it has
            started sending its reply.
        Only the first two attempts of a given request may fail, so a client
        that retries a few times always gets through. Every fault is logged.
    s3_fault_proxy.py stall PORTFILE
        Accepts connections and never answers.

Writes the port it listens on (127.0.0.1, picked by the kernel) to PORTFILE.
"""
import hashlib
import http.client
import http.server
import os
import socket
import struct
import sys
import threading
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
FAULT_SHARE = {"reset": 0.12, "slowdown": 0.10, "cut": 0.06}
SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
            b'<Message>Please reduce your request rate.</Message></Error>')
INTERNAL = (b'<?xml version="1.0" encoding="UTF-8"?>\n\n<Error><Code>InternalError</Code>'
            b'<Message>We encountered an internal error. Please try again.</Message></Error>')


class FaultPlan:
    """Which attempt of which request fails, and how: a pure function of the
    seed, the request line and how many times it was seen before."""

    def __init__(self, seed, log_path):
        self.seed = seed
        self.seen = {}
        self.lock = threading.Lock()
        self.log = open(log_path, "a", buffering=1)

    def decide(self, method, path):
        key = f"{method} {path}"
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query, keep_blank_values=True)
        creates_upload = method == "POST" and "uploads" in query
        completes_upload = method == "POST" and "uploadId" in query
        with self.lock:
            attempt = self.seen.get(key, 0)
            self.seen[key] = attempt + 1
        if completes_upload:
            return ["cut", "error200"][attempt] if attempt < 2 else None
        if attempt >= 2:
            return None
        digest = hashlib.sha256(f"{self.seed}|{key}|{attempt}".encode()).digest()
        r = struct.unpack(">Q", digest[:8])[0] / 2**64
        for fault, share in FAULT_SHARE.items():
            if r < share:
                return None if fault == "cut" and creates_upload else fault
            r -= share
        return None

    def record(self, fault, method, path):
        with self.lock:
            self.log.write(f"{fault} {method} {urllib.parse.urlsplit(path).path}\n")


def reset(sock):
    # SO_LINGER with a zero timeout makes close() send RST, not FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None
    plan = None

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def forward(self, body):
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=120)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        length = resp.getheader("Content-Length")
        conn.close()
        return resp.status, headers, data, length

    def answer(self, status, headers, data, length=None):
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        # a HEAD reply keeps the object's length but sends no body
        self.send_header("Content-Length", length if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        fault = self.plan.decide(self.command, self.path)
        if fault:
            self.plan.record(fault, self.command, self.path)
        if fault == "reset":
            self.close_connection = True
            reset(self.connection)
            return
        body = self.read_body()
        if fault == "slowdown":
            self.answer(503, [("Content-Type", "application/xml")], SLOWDOWN)
            return
        if fault == "error200":
            self.answer(200, [("Content-Type", "application/xml")], INTERNAL)
            return
        status, headers, data, length = self.forward(body)
        if fault == "cut":
            self.cut(status, headers, data, length)
            return
        self.answer(status, headers, data, length)

    def cut(self, status, headers, data, length):
        """Sends the first half of the whole reply, then resets."""
        self.wfile = Buffer()
        self.answer(status, headers, data, length)
        reply = self.wfile.getvalue()
        self.connection.sendall(reply[: len(reply) // 2])
        self.close_connection = True
        reset(self.connection)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Buffer:
    """Collects what the handler writes, so a reply can be cut short."""

    closed = False

    def __init__(self):
        self.parts = []

    def write(self, b):
        self.parts.append(bytes(b))

    def flush(self):
        pass

    def getvalue(self):
        return b"".join(self.parts)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # resets are the point; nothing to report


def write_port(path, port):
    with open(path + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.rename(path + ".tmp", path)


def run_faulty(upstream, seed, port_file, log_file):
    Handler.upstream = urllib.parse.urlsplit(upstream)
    Handler.plan = FaultPlan(seed, log_file)
    server = Server(("127.0.0.1", 0), Handler)
    write_port(port_file, server.server_address[1])
    server.serve_forever()


def run_stall(port_file):
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    write_port(port_file, lsock.getsockname()[1])
    held = []
    while True:
        conn, _ = lsock.accept()
        held.append(conn)  # kept open, never read, never answered


def main(argv):
    if len(argv) == 6 and argv[1] == "faulty":
        run_faulty(argv[2], argv[3], argv[4], argv[5])
    elif len(argv) == 3 and argv[1] == "stall":
        run_stall(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
