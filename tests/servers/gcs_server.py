#!/usr/bin/python3
"""A Google Cloud Storage JSON API server for tests, Python standard library
only, following Google's documented protocol where Google's own emulator
(firebase-tools) does not:

- resumable uploads: POST uploadType=resumable -> 200 + Location with an
  upload_id; chunk PUTs with Content-Range "bytes a-b/*" (a multiple of
  256 KiB, else 400) and "bytes a-b/TOTAL" for the last; 308 with
  "Range: bytes=0-N" while incomplete; status queries (empty PUT with
  "Content-Range: bytes */*" or "bytes */TOTAL"); 200 with the object at the
  end; DELETE of the session URI cancels it (499);
- a fault: drop the connection in the middle of the Nth chunk, keeping the
  bytes received so far rounded down to 256 KiB as GCS does (while armed,
  every reply closes its connection, so the cut hits a fresh one);
- compose (POST .../o/DEST/compose): at most 32 sources (400 beyond), every
  source must exist at the generation named (404);
- preconditions: ifGenerationMatch (0 = must not exist) -> 412 conditionNotMet;
- simple (media) and multipart uploads; crc32c and md5Hash in the metadata are
  checked against the bytes (400 on mismatch);
- alt=media downloads with Range (206, 416 past the end) and x-goog-hash;
  object metadata; list with prefix, pageToken and a small page size; delete;
- OAuth2: POST /token takes a service-account JWT (RS256, checked against the
  test account's public key with pure-Python RSA) and issues bearer tokens
  that expire after --token-ttl seconds; with --public-key every API request
  needs a live token it issued (401 otherwise).

Test hooks: GET /_test/stats, POST /_test/faults {"drop_chunk": N,
"token_ttl": S} (the Nth data-carrying chunk PUT from now on is cut; tokens
issued from now on live S seconds), POST /_test/reset (zeroes the stats).

    gcs_server.py --port P [--bucket B]... [--public-key PEM --client-email E]
                  [--token-ttl S] [--page-size N]
"""
import argparse
import base64
import binascii
import hashlib
import json
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK_UNIT = 256 * 1024
COMPOSE_MAX = 32
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


# ---- checksums --------------------------------------------------------------

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    table = CRC_TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


def crc_b64(crc):
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


# ---- RS256 ------------------------------------------------------------------

def load_public_key(path):
    """(n, e) of an RSA public key, read with the openssl CLI once."""
    out = subprocess.run(["openssl", "pkey", "-pubin", "-in", path, "-noout", "-text"],
                         check=True, capture_output=True, text=True).stdout
    mod = re.search(r"Modulus:\s*((?:[0-9a-f]{2}:?\s*)+)", out)
    exp = re.search(r"Exponent:\s*(\d+)", out)
    n = int(re.sub(r"[^0-9a-f]", "", mod.group(1)), 16)
    return n, int(exp.group(1))


def rs256_valid(key, signed, sig):
    """RSASSA-PKCS1-v1_5 with SHA-256, by the book (RFC 8017 8.2.2)."""
    n, e = key
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:
        return False
    em = pow(int.from_bytes(sig, "big"), e, n).to_bytes(k, "big")
    t = SHA256_DIGEST_INFO + hashlib.sha256(signed).digest()
    want = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return secrets.compare_digest(em, want)


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# ---- state ------------------------------------------------------------------

class Obj:
    def __init__(self, bucket, name, data, generation, components=1):
        self.bucket, self.name, self.data = bucket, name, data
        self.generation = generation
        self.updated = time.time()
        self.crc = crc32c(data)
        self.md5 = md5_b64(data)
        self.components = components

    def resource(self):
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.updated)) + ".000Z"
        r = {"kind": "storage#object", "bucket": self.bucket, "name": self.name,
             "id": "%s/%s/%d" % (self.bucket, self.name, self.generation),
             "generation": str(self.generation), "metageneration": "1",
             "contentType": "application/octet-stream", "size": str(len(self.data)),
             "crc32c": crc_b64(self.crc), "etag": "CK%d" % self.generation,
             "timeCreated": ts, "updated": ts, "storageClass": "STANDARD"}
        if self.components > 1:
            r["componentCount"] = self.components
        else:
            r["md5Hash"] = self.md5  # composite objects have no MD5, as on GCS
        return r


class Session:
    def __init__(self, bucket, name, meta, if_gen):
        self.bucket, self.name, self.meta, self.if_gen = bucket, name, meta, if_gen
        self.data = bytearray()
        self.total = None
        self.done = None  # the Obj once finalised


class State:
    def __init__(self, args):
        self.lock = threading.RLock()
        self.buckets = {b: {} for b in args.bucket}
        self.sessions = {}
        self.tokens = {}
        self.next_gen = int(time.time() * 1000000)
        self.key = load_public_key(args.public_key) if args.public_key else None
        self.client_email = args.client_email
        self.token_ttl = args.token_ttl
        self.page_size = args.page_size
        self.drop_chunk = 0  # cut the Nth chunk PUT from now (0 = never)
        self.reset_stats()

    def reset_stats(self):
        self.stats = {"status_queries": 0, "chunk_puts": 0, "chunk_bytes": 0, "dropped": 0,
                      "tokens_issued": 0, "unauthorized": 0, "compose_calls": 0,
                      "resumable_sessions": 0, "multipart_uploads": 0}

    def generation(self):
        self.next_gen += 1
        return self.next_gen


class Fail(Exception):
    def __init__(self, code, reason, message):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


# ---- the handler ------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kvault-gcs-test/1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("gcs_server: " + fmt % args + "\n")

    @property
    def st(self):
        return self.server.state

    # -- replies

    def reply(self, code, body=b"", headers=None, ctype="application/json; charset=UTF-8"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        with self.st.lock:
            armed = self.st.drop_chunk > 0
        if armed:
            # curl silently resends a request whose reused connection died
            # before any reply (a stale keep-alive); a cut on a fresh
            # connection is what a network failure mid-upload looks like
            self.send_header("Connection", "close")
            self.close_connection = True
        if body or code not in (204, 304):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def fail(self, f, headers=None):
        self.reply(f.code, {"error": {"code": f.code, "message": f.message,
                                      "errors": [{"domain": "global", "reason": f.reason,
                                                  "message": f.message}]}}, headers)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # -- routing

    def dispatch(self):
        self._read_body = False
        try:
            url = urllib.parse.urlsplit(self.path)
            self.q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            path = url.path
            if path == "/token" and self.command == "POST":
                return self.token()
            if path.startswith("/_test/"):
                return self.test_hook(path)
            self.authorize()
            m = re.fullmatch(r"/upload/storage/v1/b/([^/]+)/o", path)
            if m:
                return self.upload(m.group(1))
            m = re.fullmatch(r"/storage/v1/b/([^/]+)/o/([^/]+)/compose", path)
            if m and self.command == "POST":
                return self.compose(m.group(1), urllib.parse.unquote(m.group(2)))
            m = re.fullmatch(r"/storage/v1/b/([^/]+)/o/([^/]+)", path)
            if m:
                return self.object(m.group(1), urllib.parse.unquote(m.group(2)))
            m = re.fullmatch(r"/storage/v1/b/([^/]+)/o", path)
            if m and self.command == "GET":
                return self.list(m.group(1))
            raise Fail(404, "notFound", "No such API: %s %s" % (self.command, path))
        except Fail as f:
            self.body_drain()
            self.fail(f)
        except ConnectionError:
            self.close_connection = True

    def body_drain(self):
        if not self._read_body and self.command in ("POST", "PUT"):
            self.body()

    do_GET = do_POST = do_PUT = do_DELETE = dispatch

    # -- authentication

    def authorize(self):
        if not self.st.key:
            return
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else None
        with self.st.lock:
            exp = self.st.tokens.get(tok)
            if exp is None or exp < time.time():
                self.st.stats["unauthorized"] += 1
                raise Fail(401, "authError", "Invalid Credentials" if exp is None
                           else "Request had invalid authentication credentials: token expired")

    def token(self):
        self._read_body = True
        form = dict(urllib.parse.parse_qsl(self.body().decode()))
        try:
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                raise ValueError("unsupported_grant_type", "Invalid grant_type")
            self.check_jwt(form.get("assertion", ""))
        except ValueError as e:
            return self.reply(400, {"error": e.args[0], "error_description": e.args[1]})
        tok = "ya29.test-" + secrets.token_urlsafe(32)
        with self.st.lock:
            self.st.tokens[tok] = time.time() + self.st.token_ttl
            self.st.stats["tokens_issued"] += 1
        self.reply(200, {"access_token": tok, "expires_in": self.st.token_ttl,
                         "token_type": "Bearer"})

    def check_jwt(self, jwt):
        parts = jwt.split(".")
        if len(parts) != 3 or not self.st.key:
            raise ValueError("invalid_grant", "Invalid JWT: malformed")
        try:
            hdr = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            sig = b64url_decode(parts[2])
        except (ValueError, binascii.Error):
            raise ValueError("invalid_grant", "Invalid JWT: not base64url JSON")
        if hdr.get("alg") != "RS256":
            raise ValueError("invalid_grant", "Invalid JWT: alg must be RS256")
        if not rs256_valid(self.st.key, (parts[0] + "." + parts[1]).encode(), sig):
            raise ValueError("invalid_grant", "Invalid JWT Signature.")
        now = time.time()
        if claims.get("iss") != self.st.client_email:
            raise ValueError("invalid_grant", "Invalid JWT: unknown issuer")
        if claims.get("aud") != "http://%s/token" % self.headers.get("Host"):
            raise ValueError("invalid_grant", "Invalid JWT: audience is not the token URI")
        if "devstorage" not in claims.get("scope", ""):
            raise ValueError("invalid_scope", "No storage scope requested")
        iat, exp = claims.get("iat", 0), claims.get("exp", 0)
        if iat > now + 60 or exp < now or exp - iat > 3600:
            raise ValueError("invalid_grant", "Invalid JWT: Token must be a short-lived token "
                             "(60 minutes) and in a reasonable timeframe. Check your iat and "
                             "exp values in the JWT claim.")

    # -- test hooks

    def test_hook(self, path):
        self._read_body = True
        body = self.body()
        with self.st.lock:
            if path == "/_test/faults":
                req = json.loads(body or b"{}")
                self.st.drop_chunk = req.get("drop_chunk", 0)
                self.st.token_ttl = req.get("token_ttl", self.st.token_ttl)
            elif path == "/_test/reset":
                self.st.reset_stats()
            stats = dict(self.st.stats)
        self.reply(200, stats)

    # -- objects

    def bucket(self, name):
        b = self.st.buckets.get(name)
        if b is None:
            raise Fail(404, "notFound", "The specified bucket does not exist.")
        return b

    def precondition(self, bucket, name, if_gen):
        if if_gen is None:
            return
        o = self.bucket(bucket).get(name)
        if (int(if_gen) == 0 and o is not None) or \
                (int(if_gen) != 0 and (o is None or o.generation != int(if_gen))):
            raise Fail(412, "conditionNotMet",
                       "At least one of the pre-conditions you specified did not hold.")

    def store(self, bucket, name, data, meta, if_gen, components=1):
        """Checks digests and preconditions, then stores; lock held."""
        if "crc32c" in meta and meta["crc32c"] != crc_b64(crc32c(data)):
            raise Fail(400, "invalid", "Provided CRC32C \"%s\" doesn't match calculated CRC32C "
                       "\"%s\"." % (meta["crc32c"], crc_b64(crc32c(data))))
        if "md5Hash" in meta and meta["md5Hash"] != md5_b64(data):
            raise Fail(400, "invalid", "Provided MD5 hash \"%s\" doesn't match calculated MD5 "
                       "hash \"%s\"." % (meta["md5Hash"], md5_b64(data)))
        self.precondition(bucket, name, if_gen)
        o = Obj(bucket, name, bytes(data), self.st.generation(), components)
        self.bucket(bucket)[name] = o
        return o

    def object(self, bucket, name):
        with self.st.lock:
            o = self.bucket(bucket).get(name)
            if self.command == "DELETE":
                if o is None:
                    raise Fail(404, "notFound", "No such object: %s/%s" % (bucket, name))
                self.precondition(bucket, name, self.q.get("ifGenerationMatch"))
                del self.bucket(bucket)[name]
                return self.reply(204)
        if o is None or self.command != "GET":
            raise Fail(404, "notFound", "No such object: %s/%s" % (bucket, name))
        if self.q.get("alt") != "media":
            return self.reply(200, o.resource())
        self.media(o)

    def media(self, o):
        size = len(o.data)
        hdrs = {"x-goog-hash": "crc32c=%s,md5=%s" % (crc_b64(o.crc), o.md5),
                "x-goog-generation": str(o.generation),
                "x-goog-stored-content-length": str(size)}
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if not m:
            return self.reply(200, o.data, hdrs, "application/octet-stream")
        start = int(m.group(1))
        end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
        if start >= size:
            hdrs["Content-Range"] = "bytes */%d" % size
            return self.fail(Fail(416, "requestedRangeNotSatisfiable",
                                  "The requested range cannot be satisfied."), hdrs)
        hdrs["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
        self.reply(206, o.data[start:end + 1], hdrs, "application/octet-stream")

    def list(self, bucket):
        prefix = self.q.get("prefix", "")
        size = min(int(self.q.get("maxResults") or self.st.page_size), self.st.page_size)
        after = b64url_decode(self.q["pageToken"]).decode() if self.q.get("pageToken") else None
        with self.st.lock:
            names = sorted(n for n in self.bucket(bucket) if n.startswith(prefix)
                           and (after is None or n > after))
            items = [self.bucket(bucket)[n].resource() for n in names[:size]]
        body = {"kind": "storage#objects", "items": items}
        if len(names) > size:
            body["nextPageToken"] = base64.urlsafe_b64encode(
                names[size - 1].encode()).decode().rstrip("=")
        self.reply(200, body)

    def compose(self, bucket, dest):
        self._read_body = True
        req = json.loads(self.body() or b"{}")
        srcs = req.get("sourceObjects") or []
        with self.st.lock:
            self.st.stats["compose_calls"] += 1
            if not srcs or len(srcs) > COMPOSE_MAX:
                raise Fail(400, "invalid", "The number of source components provided (%d) "
                           "exceeds the maximum (%d)" % (len(srcs), COMPOSE_MAX) if srcs
                           else "sourceObjects is required")
            data, comps = bytearray(), 0
            for s in srcs:
                o = self.bucket(bucket).get(s.get("name"))
                want = s.get("generation")
                if o is None or (want is not None and int(want) != o.generation):
                    raise Fail(404, "notFound", "Object %s (generation: %s) not found"
                               % (s.get("name"), want or "latest"))
                data += o.data
                comps += o.components
            if comps > 1024:
                raise Fail(400, "invalid", "The total component count would exceed 1024")
            o = self.store(bucket, dest, data, {}, self.q.get("ifGenerationMatch"), comps)
            self.reply(200, o.resource())

    # -- uploads

    def upload(self, bucket):
        kind = self.q.get("uploadType", "media")
        if self.command == "PUT" and "upload_id" in self.q:
            return self.chunk()
        if self.command == "DELETE" and "upload_id" in self.q:
            with self.st.lock:
                self.st.sessions.pop(self.q["upload_id"], None)
            return self.reply(499, b"", ctype="text/plain")
        if self.command != "POST":
            raise Fail(405, "methodNotAllowed", "Use POST")
        self._read_body = True
        body = self.body()
        if kind == "resumable":
            return self.initiate(bucket, body)
        if kind == "multipart":
            meta, data = self.parse_multipart(body)
        elif kind == "media":
            meta, data = {"name": self.q.get("name")}, body
        else:
            raise Fail(400, "invalid", "Unknown uploadType %s" % kind)
        if not meta.get("name"):
            raise Fail(400, "required", "Required: object name")
        with self.st.lock:
            self.bucket(bucket)
            self.st.stats["multipart_uploads"] += kind == "multipart"
            o = self.store(bucket, meta["name"], data, meta, self.q.get("ifGenerationMatch"))
        self.reply(200, o.resource())

    def parse_multipart(self, body):
        m = re.search(r'boundary="?([^";]+)"?', self.headers.get("Content-Type", ""))
        if not m or not self.headers.get("Content-Type", "").startswith("multipart/related"):
            raise Fail(400, "invalid", "multipart/related with a boundary is required")
        delim = b"--" + m.group(1).encode()
        parts = body.split(delim)
        # ["", part1, part2, "--\r\n"]
        if len(parts) < 4 or not parts[-1].startswith(b"--"):
            raise Fail(400, "invalid", "Malformed multipart body")

        def payload(p):
            head, sep, rest = p.partition(b"\r\n\r\n")
            if not sep or not rest.endswith(b"\r\n"):
                raise Fail(400, "invalid", "Malformed multipart part")
            return rest[:-2]
        try:
            meta = json.loads(payload(parts[1]))
        except ValueError:
            raise Fail(400, "parseError", "The metadata part is not JSON")
        return meta, payload(b"".join(p if i == 0 else delim + p
                                      for i, p in enumerate(parts[2:-1])))

    def initiate(self, bucket, body):
        meta = json.loads(body or b"{}")
        name = meta.get("name") or self.q.get("name")
        if not name:
            raise Fail(400, "required", "Required: object name")
        with self.st.lock:
            self.bucket(bucket)
            self.precondition(bucket, name, self.q.get("ifGenerationMatch"))
            sid = secrets.token_urlsafe(16)
            self.st.sessions[sid] = Session(bucket, name, meta, self.q.get("ifGenerationMatch"))
            self.st.stats["resumable_sessions"] += 1
        loc = "http://%s/upload/storage/v1/b/%s/o?uploadType=resumable&upload_id=%s" % (
            self.headers.get("Host"), bucket, sid)
        self.reply(200, b"", {"Location": loc}, "text/plain")

    def session_status(self, s):
        if s.done is not None:
            return self.reply(200, s.done.resource())
        hdrs = {"Range": "bytes=0-%d" % (len(s.data) - 1)} if s.data else {}
        self.reply(308, b"", hdrs, "text/plain")

    def chunk(self):
        with self.st.lock:
            s = self.st.sessions.get(self.q["upload_id"])
        if s is None:
            raise Fail(404, "notFound", "No such upload session")
        cr = self.headers.get("Content-Range", "")
        n = int(self.headers.get("Content-Length") or 0)
        m = re.fullmatch(r"bytes \*/(\*|\d+)", cr)
        if m:
            self._read_body = True
            self.body()
            with self.st.lock:
                self.st.stats["status_queries"] += 1
                if m.group(1) != "*":
                    s.total = int(m.group(1))
                if s.total is not None and s.done is None and len(s.data) == s.total:
                    s.done = self.store(s.bucket, s.name, s.data, s.meta, s.if_gen)
            return self.session_status(s)
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\*|\d+)", cr)
        if not m or int(m.group(2)) - int(m.group(1)) + 1 != n:
            raise Fail(400, "invalid", "Bad Content-Range '%s' for %d bytes" % (cr, n))
        first, total = int(m.group(1)), None if m.group(3) == "*" else int(m.group(3))
        final = total is not None and int(m.group(2)) + 1 == total
        if not final and n % CHUNK_UNIT:
            self._read_body = True
            self.body()
            raise Fail(400, "invalid", "Invalid request. The number of bytes uploaded is "
                       "required to be a multiple of 262144, except for the final request.")
        with self.st.lock:
            self.st.stats["chunk_puts"] += 1
            drop = self.st.drop_chunk == 1
            if self.st.drop_chunk:
                self.st.drop_chunk -= 1
        if drop:
            return self.cut(s, first, n)
        self._read_body = True
        data = self.body()
        with self.st.lock:
            self.st.stats["chunk_bytes"] += len(data)
            if s.done is not None:
                return self.session_status(s)
            if first > len(s.data):
                raise Fail(400, "invalid", "Chunk starts at %d, the session holds %d bytes"
                           % (first, len(s.data)))
            s.data += data[len(s.data) - first:]
            if total is not None:
                s.total = total
            if final:
                s.done = self.store(s.bucket, s.name, s.data, s.meta, s.if_gen)
        self.session_status(s)

    def cut(self, s, first, n):
        """Reads half the chunk, keeps what the session would persist (whole
        256 KiB units), then drops the connection without a reply."""
        got = self.rfile.read(n // 2)
        with self.st.lock:
            self.st.stats["chunk_bytes"] += len(got)
            self.st.stats["dropped"] += 1
            if first <= len(s.data):
                s.data += got[len(s.data) - first:]
                del s.data[len(s.data) // CHUNK_UNIT * CHUNK_UNIT:]
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)
        raise ConnectionResetError("dropped on purpose")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bucket", action="append", default=[])
    ap.add_argument("--public-key", help="PEM of the test service account; enables OAuth")
    ap.add_argument("--client-email", default="kvault-test@kvault-test.iam.gserviceaccount.com")
    ap.add_argument("--token-ttl", type=int, default=3600)
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = State(args)
    srv.verbose = args.verbose
    print("gcs_server: listening on http://127.0.0.1:%d (buckets %s, oauth %s)" % (
        srv.server_address[1], ",".join(args.bucket) or "-", "on" if args.public_key else "off"),
        flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
