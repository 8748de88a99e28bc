#!/usr/bin/python3
"""A hostile S3 server for tests (Python 3 standard library only).

    hostile_s3.py PORTFILE LOGFILE

Answers path-style S3 requests (/bucket/key?query) on 127.0.0.1, on a port
the kernel picks (written to PORTFILE), without checking their signatures.
Objects live in memory, per bucket: PUT, GET (with Range), HEAD, DELETE,
ListObjectsV2 and an empty ListMultipartUploads. The bucket's name says how
ListObjectsV2 misbehaves:

    honest     as S3 does
    noprefix   ignores prefix= (a server or proxy that drops it): every key
               of the bucket
    dots       adds "<prefix>20200101T000000Z-abcdef/../../../../../victim",
               a key S3 allows
    short      adds "r", shorter than any store root
    ctrl       adds "<prefix>bad\\x7fname\\n" (legal XML 1.0 text)
    huge       a 3 GiB listing body, made as it is sent
    hugeerror  403 with a 1.5 GiB error body
    slow       a valid listing, one byte every 0.4 s
    loop       more pages, always with the continuation token "same"
    cycle      the tokens A, B, A, B, ...
    fresh      a new token on every page, and the same key on each
    empty      a new token on every page, and no keys on any

Paged misbehaviours list a new key on each page (a counter of the
server's), so only the token gives them away. Every request is logged to
LOGFILE as "METHOD RAW-PATH signed|unsigned" (the request target as it came,
dot segments and all); signed ones are the client's, unsigned ones the test
driver's own (it seeds and checks objects with plain HTTP).
"""
import http.server
import itertools
import os
import sys
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

GIB = 1 << 30
CHUNK = 1 << 20
NS = "http://s3.amazonaws.com/doc/2006-03-01/"

objects = {}              # bucket -> {key: bytes}
lock = threading.Lock()
counter = itertools.count(1)


def contents(keys):
    return "".join(
        f"<Contents><Key>{escape(k)}</Key><LastModified>2020-01-01T00:00:00.000Z"
        f"</LastModified><ETag>\"e\"</ETag><Size>{n}</Size>"
        f"<StorageClass>STANDARD</StorageClass></Contents>" for k, n in keys)


def listing(bucket, prefix, keys, token=None):
    more = "<IsTruncated>false</IsTruncated>"
    if token:
        more = (f"<IsTruncated>true</IsTruncated>"
                f"<NextContinuationToken>{escape(token)}</NextContinuationToken>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="{NS}">'
            f"<Name>{bucket}</Name><Prefix>{escape(prefix)}</Prefix>"
            f"<KeyCount>{len(keys)}</KeyCount><MaxKeys>1000</MaxKeys>{more}"
            f"{contents(keys)}</ListBucketResult>").encode()


def stored(bucket, prefix):
    with lock:
        items = objects.get(bucket, {})
        return sorted((k, len(v)) for k, v in items.items() if k.startswith(prefix))


def next_token(bucket, token):
    """The token after token in a paged misbehaviour (None: no more pages)."""
    if bucket == "loop":
        return "same"
    if bucket == "cycle":
        return "B" if token == "A" else "A"
    return f"t{next(counter)}"


def paged_keys(bucket, prefix):
    if bucket == "empty":
        return []
    if bucket == "fresh":
        return [(prefix + "k", 1)]
    return [(f"{prefix}k{next(counter):08d}", 1)]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once
    log_file = None

    def log_message(self, fmt, *args):
        pass

    def record(self):
        signed = "signed" if self.headers.get("Authorization") else "unsigned"
        with lock:
            self.log_file.write(f"{self.command} {self.path} {signed}\n")
            self.log_file.flush()

    def target(self):
        u = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(u.path)
        bucket, _, key = path.lstrip("/").partition("/")
        return bucket, key, urllib.parse.parse_qs(u.query, keep_blank_values=True)

    def reply(self, status, body=b"", headers=(), length=None):
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def stream(self, status, head, total, tail=b""):
        """Sends head, then spaces, for a body of total bytes, until the
        client goes away."""
        self.reply(status, b"", [("Content-Type", "application/xml")], total)
        sent = 0
        try:
            self.wfile.write(head)
            sent = len(head)
            pad = b" " * CHUNK
            while sent + CHUNK + len(tail) <= total:
                self.wfile.write(pad)
                sent += CHUNK
            self.wfile.write(b" " * (total - sent - len(tail)) + tail)
        except OSError:
            self.close_connection = True

    def drip(self, body):
        self.reply(200, b"", [("Content-Type", "application/xml")], len(body))
        try:
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(0.4)
        except OSError:
            self.close_connection = True

    def list_objects(self, bucket, q):
        prefix = q.get("prefix", [""])[0]
        token = q.get("continuation-token", [None])[0]
        keys = stored(bucket, prefix)
        if bucket == "noprefix":
            keys = stored(bucket, "")
        elif bucket == "dots":
            keys = sorted(keys + [(prefix + "20200101T000000Z-abcdef/../../../../../victim", 1)])
        elif bucket == "short":
            keys = sorted(keys + [("r", 1)])
        elif bucket == "ctrl":
            keys = sorted(keys + [(prefix + "bad\x7fname\n", 1)])
        elif bucket == "huge":
            return self.stream(200, listing(bucket, prefix, keys)[:-len(b"</ListBucketResult>")],
                               3 * GIB, b"</ListBucketResult>")
        elif bucket == "hugeerror":
            return self.stream(403, b"<Error><Code>AccessDenied</Code><Message>", 3 * GIB // 2,
                               b"</Message></Error>")
        elif bucket == "slow":
            return self.drip(listing(bucket, prefix, keys))
        elif bucket in ("loop", "cycle", "fresh", "empty"):
            body = listing(bucket, prefix, paged_keys(bucket, prefix), next_token(bucket, token))
            return self.reply(200, body, [("Content-Type", "application/xml")])
        self.reply(200, listing(bucket, prefix, keys), [("Content-Type", "application/xml")])

    def get_object(self, bucket, key):
        with lock:
            data = objects.get(bucket, {}).get(key)
        if data is None:
            return self.reply(404, b"<Error><Code>NoSuchKey</Code><Message>The specified key "
                                   b"does not exist.</Message></Error>")
        rng = self.headers.get("Range")
        if not rng or self.command == "HEAD":
            return self.reply(200, data, [("ETag", '"e"')], len(data))
        first, _, last = rng[len("bytes="):].partition("-")
        first, last = int(first), min(int(last), len(data) - 1)
        if first >= len(data):
            return self.reply(416, b"")
        self.reply(206, data[first:last + 1],
                   [("Content-Range", f"bytes {first}-{last}/{len(data)}"), ("ETag", '"e"')])

    def do_GET(self):
        self.record()
        bucket, key, q = self.target()
        if not key and "uploads" in q:
            body = (f'<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult '
                    f'xmlns="{NS}"><Bucket>{bucket}</Bucket><IsTruncated>false</IsTruncated>'
                    f"</ListMultipartUploadsResult>").encode()
            return self.reply(200, body, [("Content-Type", "application/xml")])
        if not key:
            return self.list_objects(bucket, q)
        self.get_object(bucket, key)

    do_HEAD = do_GET

    def do_PUT(self):
        self.record()
        bucket, key, _ = self.target()
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with lock:
            objects.setdefault(bucket, {})[key] = data
        self.reply(200, b"", [("ETag", '"e"')])

    def do_DELETE(self):
        self.record()
        bucket, key, _ = self.target()
        with lock:
            objects.get(bucket, {}).pop(key, None)
        self.reply(204)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that give up mid-body are the point


def main():
    port_file, log_path = sys.argv[1], sys.argv[2]
    Handler.log_file = open(log_path, "a")
    server = Server(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
