#!/usr/bin/python3
"""Pins each behaviour of tests/servers/webhdfs_server.py that docs/hdfs.md and
shared/notes/test-servers.md promise, with raw http.client requests (no
kvault code involved). Standard library unittest; run by ctest."""

import hashlib
import http.client
import json
import os
import shutil
import socket
import struct
import sys
import tempfile
import time
import unittest
import ssl
import subprocess
import urllib.parse
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import webhdfs_server  # noqa: E402

BLOCK = 2048


class Client:
    def __init__(self, port):
        self.port = port

    def request(self, method, path, op=None, body=None, headers=None, port=None, url=None,
                **params):
        if url is None:
            if op:
                params["op"] = op
            params.setdefault("user.name", "alice")
            params = {k: v for k, v in params.items() if v is not None}
            url = "/webhdfs/v1" + urllib.parse.quote(path) + "?" + urllib.parse.urlencode(params)
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=30)
        conn.request(method, url, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        conn.close()
        return r.status, hdrs, data

    @staticmethod
    def follow(location):
        u = urllib.parse.urlsplit(location)
        return u.port, u.path + "?" + u.query

    def create(self, path, data, **params):
        st, h, _ = self.request("PUT", path, "CREATE", **params)
        assert st == 307, (st, h)
        port, url = self.follow(h["location"])
        return self.request("PUT", None, body=data, port=port, url=url)

    def append(self, path, data, **params):
        st, h, body = self.request("POST", path, "APPEND", **params)
        if st != 307:
            return st, h, body
        port, url = self.follow(h["location"])
        return self.request("POST", None, body=data, port=port, url=url)

    def open(self, path, **params):
        st, h, body = self.request("GET", path, "OPEN", **params)
        if st != 307:
            return st, h, body
        port, url = self.follow(h["location"])
        return self.request("GET", None, port=port, url=url)

    def json(self, method, path, op, **params):
        st, _, body = self.request(method, path, op, **params)
        return st, json.loads(body) if body else None


def bitwise_crc32c(data):
    """CRC32C without a table: an independent check of the server's."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def expected_checksum(data, block, ctype="CRC32C"):
    """MD5MD5CRC32C (or CRC32) as FileChecksumHelper + BlockChecksumHelper
    compute it, written out independently of the server: the hex of the 28
    bytes of MD5MD5CRC32FileChecksum.write, which getBytes() hands over in
    a 32-byte array (WritableUtils.toByteArray), so 4 zero bytes follow."""
    crc = bitwise_crc32c if ctype == "CRC32C" else zlib.crc32
    blocks = [data[i:i + block] for i in range(0, len(data), block)]
    md5s = b""
    for b in blocks:
        crcs = b"".join(struct.pack(">I", crc(b[i:i + 512]))
                        for i in range(0, len(b), 512))
        md5s += hashlib.md5(crcs).digest()
    cap = 32  # DataOutputBuffer: 32 bytes, doubled; getData() is the whole array
    while cap < len(md5s):
        cap *= 2
    md5 = hashlib.md5(md5s + b"\0" * (cap - len(md5s))).digest()
    cpb = (len(blocks[0]) + 511) // 512 if len(blocks) > 1 else 0
    return ("MD5-of-%dMD5-of-512%s" % (cpb, ctype),
            (struct.pack(">iq", 512, cpb) + md5).hex() + "00000000")


def make_certs(d):
    """A test CA and a certificate for 127.0.0.1 signed by it, made by
    openssl now (tests/servers/webhdfs.sh certs), never committed."""
    subprocess.run(["sh", os.path.join(os.path.dirname(os.path.abspath(__file__)), "webhdfs.sh"),
                    "certs", d], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(d, "ca.pem"), os.path.join(d, "server.pem"), os.path.join(d, "server.key")


class ServerTest(unittest.TestCase):
    extra = []

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="webhdfs-test-")
        self.nn, self.dn = webhdfs_server.start(
            ["--dir", self.dir, "--block-size", str(BLOCK), "--min-block-size", "512",
             "--batch-size", "3", "--token", "tok123=carol"] + self.server_args())
        self.c = Client(self.nn.server_address[1])
        self.ns = self.nn.RequestHandlerClass.ns

    def server_args(self):
        return self.extra

    def tearDown(self):
        for s in {self.nn, self.dn, self.nn.standby_server} - {None}:
            s.shutdown()
            s.server_close()
        shutil.rmtree(self.dir)

    def checksum_of(self, path, port=None):
        st, h, body = self.c.request("GET", path, "GETFILECHECKSUM", port=port)
        if st == 307:  # DataNodes compute it
            port, url = Client.follow(h["location"])
            st, _, body = self.c.request("GET", None, port=port, url=url)
        self.assertEqual(st, 200, body)
        return json.loads(body)["FileChecksum"]

    def assertRemote(self, resp, status, exception):
        st, _, body = resp
        self.assertEqual(st, status, body)
        re = json.loads(body)["RemoteException"]
        self.assertEqual(re["exception"], exception)
        self.assertEqual(re["javaClassName"], webhdfs_server.EXCEPTIONS[exception][0])
        self.assertTrue(re["message"])
        return re["message"]


class WebHdfs(ServerTest):
    def test_create_is_two_steps_on_another_port(self):
        st, h, body = self.c.request("PUT", "/d/f", "CREATE", body=b"")
        self.assertEqual(st, 307)
        loc = urllib.parse.urlsplit(h["location"])
        self.assertEqual(loc.port, self.dn.server_address[1])
        self.assertNotEqual(loc.port, self.nn.server_address[1])
        q = dict(urllib.parse.parse_qsl(loc.query))
        self.assertEqual(q["op"], "CREATE")
        self.assertEqual(q["user.name"], "alice")
        self.assertIn("namenoderpcaddress", q)
        # nothing exists until the data arrives
        self.assertRemote(self.c.request("GET", "/d/f", "GETFILESTATUS"), 404,
                          "FileNotFoundException")
        st, h, _ = self.c.request("PUT", None, body=b"hello", port=loc.port,
                                  url=loc.path + "?" + loc.query)
        self.assertEqual(st, 201)
        self.assertTrue(h["location"].startswith("hdfs://"))
        self.assertEqual(self.c.open("/d/f")[2], b"hello")

    def test_noredirect_answers_location_in_json(self):
        for method, op in (("PUT", "CREATE"), ("GET", "OPEN"), ("POST", "APPEND")):
            if op != "CREATE":
                self.c.create("/n/f", b"x", overwrite="true")
            st, _, body = self.c.request(method, "/n/f", op, noredirect="true")
            self.assertEqual(st, 200, op)
            loc = json.loads(body)["Location"]
            self.assertEqual(urllib.parse.urlsplit(loc).port, self.dn.server_address[1])

    def test_open_offset_length(self):
        self.c.create("/o", b"0123456789")
        self.assertEqual(self.c.open("/o", offset=3, length=4)[2], b"3456")
        self.assertEqual(self.c.open("/o", offset=8, length=100)[2], b"89")
        st, _, body = self.c.open("/o", offset=10)
        self.assertEqual((st, body), (200, b""))  # at EOF: nothing
        self.assertRemote(self.c.open("/o", offset=11), 403, "EOFException")
        self.assertRemote(self.c.open("/missing"), 404, "FileNotFoundException")

    def test_append_redirects_and_answers_200(self):
        self.c.create("/a", b"abc")
        st, _, _ = self.c.append("/a", b"def")
        self.assertEqual(st, 200)
        self.assertEqual(self.c.open("/a")[2], b"abcdef")

    def test_overwrite_defaults_to_false(self):
        self.assertEqual(self.c.create("/w", b"1")[0], 201)
        self.assertRemote(self.c.create("/w", b"2"), 403, "FileAlreadyExistsException")
        self.assertEqual(self.c.create("/w", b"22", overwrite="true")[0], 201)
        self.assertEqual(self.c.open("/w")[2], b"22")

    def test_parents_are_created(self):
        self.c.create("/p/q/r/f", b"x")
        st, js = self.c.json("GET", "/p/q", "GETFILESTATUS")
        self.assertEqual(js["FileStatus"]["type"], "DIRECTORY")
        self.assertRemote(self.c.create("/p2/f", b"x", createparent="false"), 404,
                          "FileNotFoundException")

    def test_single_writer(self):
        # a write in progress: headers and part of the body sent
        st, h, _ = self.c.request("PUT", "/lease", "CREATE")
        port, url = Client.follow(h["location"])
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" % url).encode()
                  + b"x" * 1000)
        for _ in range(100):
            if self.ns.lookup("/lease", "alice") is not None and \
                    self.ns.lookup("/lease", "alice").writer:
                break
            time.sleep(0.02)
        self.assertRemote(self.c.create("/lease", b"y", overwrite="true"), 403,
                          "AlreadyBeingCreatedException")
        self.assertRemote(self.c.append("/lease", b"y"), 403, "AlreadyBeingCreatedException")
        s.close()  # the client goes away mid-upload

    def test_disconnect_leaves_closed_truncated_file(self):
        st, h, _ = self.c.request("PUT", "/trunc", "CREATE")
        port, url = Client.follow(h["location"])
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(("PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" % url).encode()
                  + b"z" * 3000)
        time.sleep(0.3)
        s.close()
        for _ in range(100):
            node = self.ns.lookup("/trunc", "alice")
            if node is not None and not node.writer:
                break
            time.sleep(0.02)
        st, js = self.c.json("GET", "/trunc", "GETFILESTATUS")
        self.assertEqual(js["FileStatus"]["length"], 3000)
        # closed: a new writer may append
        self.assertEqual(self.c.append("/trunc", b"!")[0], 200)

    def test_drop_hook(self):
        self.c.request("GET", None, url="/_control?drop_after=1000")
        st, h, _ = self.c.request("PUT", "/drop", "CREATE")
        port, url = Client.follow(h["location"])
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            self.c.request("PUT", None, body=b"q" * 5000, port=port, url=url)
        st, js = self.c.json("GET", "/drop", "GETFILESTATUS")
        self.assertEqual(js["FileStatus"]["length"], 1000)

    def test_kerberos_mode_demands_spnego(self):
        self.c.request("GET", None, url="/_control?kerberos=1")
        try:
            st, h, _ = self.c.request("GET", "/", "GETFILESTATUS")
            self.assertEqual(st, 401)
            self.assertEqual(h["www-authenticate"], "Negotiate")
            st, _, _ = self.c.request("GET", "/", "GETFILESTATUS",
                                      headers={"Authorization": "Negotiate abc"})
            self.assertEqual(st, 200)
        finally:
            self.c.request("GET", None, url="/_control?kerberos=0")

    def test_rename(self):
        self.c.create("/r/a", b"1")
        self.c.create("/r/b", b"2")
        rn = lambda s, d: self.c.json("PUT", s, "RENAME", destination=d)[1]["boolean"]  # noqa
        self.assertFalse(rn("/r/missing", "/r/c"))
        self.assertFalse(rn("/r/a", "/r/b"))          # destination exists
        self.assertFalse(rn("/r/a", "/nodir/x"))      # destination's parent missing
        self.assertTrue(rn("/r/a", "/r/c"))
        self.assertEqual(self.c.open("/r/c")[2], b"1")
        self.c.json("PUT", "/r/sub", "MKDIRS")
        self.assertTrue(rn("/r/c", "/r/sub"))         # into a directory
        self.assertEqual(self.c.open("/r/sub/c")[2], b"1")

    def test_delete(self):
        self.assertFalse(self.c.json("DELETE", "/nothing", "DELETE")[1]["boolean"])
        self.c.create("/del/f", b"1")
        self.assertRemote(self.c.request("DELETE", "/del", "DELETE", recursive="false"), 403,
                          "PathIsNotEmptyDirectoryException")
        self.assertTrue(self.c.json("DELETE", "/del/f", "DELETE")[1]["boolean"])
        self.assertTrue(self.c.json("DELETE", "/del", "DELETE")[1]["boolean"])
        self.c.create("/del2/x/f", b"1")
        self.assertTrue(self.c.json("DELETE", "/del2", "DELETE", recursive="true")[1]["boolean"])

    def test_mkdirs(self):
        st, js = self.c.json("PUT", "/m/a/b", "MKDIRS", permission="700")
        self.assertEqual((st, js), (200, {"boolean": True}))
        fs = self.c.json("GET", "/m/a/b", "GETFILESTATUS")[1]["FileStatus"]
        self.assertEqual((fs["type"], fs["permission"]), ("DIRECTORY", "700"))
        self.assertEqual(self.c.json("PUT", "/m/a/b", "MKDIRS")[1], {"boolean": True})
        self.c.create("/m/file", b"1")
        self.assertRemote(self.c.request("PUT", "/m/file", "MKDIRS"), 403,
                          "FileAlreadyExistsException")

    def test_error_status_mapping(self):
        self.assertRemote(self.c.request("GET", "/x", "NOSUCHOP"), 400, "IllegalArgumentException")
        self.assertRemote(self.c.request("GET", "/x", "GETFILESTATUS", delegation="bad"), 401,
                          "SecurityException")
        self.assertRemote(self.c.request("GET", "/x", "GETFILESTATUS"), 404,
                          "FileNotFoundException")
        self.assertRemote(self.c.request("PUT", "/a:b", "CREATE"), 400, "InvalidPathException")
        self.c.request("GET", None, url="/_control?fail_op=GETFILESTATUS&exception="
                       "RuntimeException&times=1")
        self.assertRemote(self.c.request("GET", "/", "GETFILESTATUS"), 500, "RuntimeException")
        self.c.request("GET", None, url="/_control?fail_op=GETFILESTATUS&exception="
                       "StandbyException&times=1")
        self.assertRemote(self.c.request("GET", "/", "GETFILESTATUS"), 403, "StandbyException")
        self.assertEqual(self.c.request("GET", "/", "GETFILESTATUS")[0], 200)

    def test_file_status_fields(self):
        self.c.create("/s/f", b"x" * 5000, replication="2")
        fs = self.c.json("GET", "/s/f", "GETFILESTATUS")[1]["FileStatus"]
        self.assertEqual(sorted(fs), sorted([
            "accessTime", "blockSize", "childrenNum", "fileId", "group", "length",
            "modificationTime", "owner", "pathSuffix", "permission", "replication",
            "storagePolicy", "type"]))
        self.assertEqual((fs["length"], fs["blockSize"], fs["replication"], fs["type"],
                          fs["owner"], fs["permission"], fs["pathSuffix"], fs["childrenNum"]),
                         (5000, BLOCK, 2, "FILE", "alice", "644", "", 0))
        self.assertGreater(fs["fileId"], webhdfs_server.ROOT_INODE_ID)
        d = self.c.json("GET", "/s", "GETFILESTATUS")[1]["FileStatus"]
        self.assertEqual((d["type"], d["length"], d["blockSize"], d["replication"],
                          d["childrenNum"], d["accessTime"]), ("DIRECTORY", 0, 0, 0, 1, 0))

    def test_liststatus_and_batches(self):
        names = ["b", "a", "c", "e", "d", "f", "g"]
        for n in names:
            self.c.create("/l/" + n, n.encode())
        self.c.json("PUT", "/l/sub", "MKDIRS")
        st, js = self.c.json("GET", "/l", "LISTSTATUS")
        got = [f["pathSuffix"] for f in js["FileStatuses"]["FileStatus"]]
        self.assertEqual(got, sorted(names + ["sub"]))
        collected, after = [], None
        while True:
            st, js = self.c.json("GET", "/l", "LISTSTATUS_BATCH", startAfter=after)
            dl = js["DirectoryListing"]
            page = [f["pathSuffix"] for f in dl["partialListing"]["FileStatuses"]["FileStatus"]]
            self.assertLessEqual(len(page), 3)
            collected += page
            self.assertEqual(dl["remainingEntries"], 8 - len(collected))
            if not dl["remainingEntries"]:
                break
            after = page[-1]
        self.assertEqual(collected, got)
        # a file lists as itself
        js = self.c.json("GET", "/l/a", "LISTSTATUS")[1]
        self.assertEqual(js["FileStatuses"]["FileStatus"][0]["pathSuffix"], "")
        self.c.request("GET", None, url="/_control?liststatus_batch=0")
        self.assertRemote(self.c.request("GET", "/l", "LISTSTATUS_BATCH"), 400,
                          "IllegalArgumentException")

    def test_concat_rules(self):
        full = b"A" * BLOCK
        self.c.create("/c/t", full)
        self.c.create("/c/s1", b"B" * BLOCK)
        self.c.create("/c/s2", b"C" * 100)
        self.c.create("/c/empty", b"")
        self.c.create("/other/s", b"D" * BLOCK)
        bad = [("/c/s1,/c/s1", "at least two"), ("/other/s", "same directory"),
               ("/c/t", "same with the target"), ("/c/empty", "invalid or empty")]
        for srcs, why in bad:
            msg = self.assertRemote(self.c.request("POST", "/c/t", "CONCAT", sources=srcs), 400,
                                    "HadoopIllegalArgumentException")
            self.assertIn(why, msg)
        self.assertRemote(self.c.request("POST", "/c/t", "CONCAT", sources="/c/nope"), 404,
                          "FileNotFoundException")
        # portable sizes: all but the last source whole blocks
        msg = self.assertRemote(self.c.request("POST", "/c/t", "CONCAT", sources="/c/s2,/c/s1"),
                                400, "HadoopIllegalArgumentException")
        self.assertIn("same blocks sizes", msg)
        st, _, _ = self.c.request("POST", "/c/t", "CONCAT", sources="/c/s1,/c/s2")
        self.assertEqual(st, 200)
        self.assertEqual(self.c.open("/c/t")[2], full + b"B" * BLOCK + b"C" * 100)
        self.assertRemote(self.c.request("GET", "/c/s1", "GETFILESTATUS"), 404,
                          "FileNotFoundException")
        self.assertRemote(self.c.request("GET", "/c/s2", "GETFILESTATUS"), 404,
                          "FileNotFoundException")
        # the target's last block must be full too
        msg = self.assertRemote(self.c.request("POST", "/c/t", "CONCAT", sources="/c/empty"),
                                400, "HadoopIllegalArgumentException")
        self.c.create("/c/part", b"E" * 10)
        msg = self.assertRemote(self.c.request("POST", "/c/t", "CONCAT", sources="/c/part"),
                                400, "HadoopIllegalArgumentException")
        self.assertIn("is not full", msg)

    def test_checksum(self):
        self.assertEqual(bitwise_crc32c(b"123456789"), 0xE3069283)
        self.assertEqual(webhdfs_server.crc32c(b"123456789"), 0xE3069283)
        cases = {"/k/empty": b"", "/k/one": os.urandom(1000), "/k/block": os.urandom(BLOCK),
                 "/k/three": os.urandom(2 * BLOCK + 700), "/k/five": os.urandom(5 * BLOCK - 1)}
        for path, data in cases.items():
            self.c.create(path, data)
            self.assertEqual(self.c.request("GET", path, "GETFILECHECKSUM")[0], 307)
            fc = self.checksum_of(path)
            # JsonUtil.toJsonString(MD5MD5CRC32FileChecksum): length is
            # getLength() = 28, bytes the hex of getBytes(), 32 bytes
            self.assertEqual(fc["length"], 28)
            self.assertEqual(len(fc["bytes"]), 64)
            self.assertEqual(fc["bytes"][56:], "00000000")
            if not data:
                # the magic value Hadoop returns for empty files
                self.assertEqual(fc["algorithm"], "MD5-of-0MD5-of-0CRC32")
                self.assertEqual(fc["bytes"], "00000000000000000000000070bc8f4b72a86921468bf8e"
                                              "8441dce5100000000")
                continue
            alg, hexbytes = expected_checksum(data, BLOCK)
            self.assertEqual((fc["algorithm"], fc["bytes"]), (alg, hexbytes), path)
        self.assertEqual(self.c.json("GET", "/k/three", "GETFILESTATUS")[1]["FileStatus"]
                         ["blockSize"], BLOCK)

    def test_permissions(self):
        self.c.json("PUT", "/home/alice", "MKDIRS", **{"user.name": "alice"})
        self.c.create("/home/alice/f", b"x")
        for op in (lambda: self.c.create("/home/alice/g", b"y", **{"user.name": "bob"}),
                   lambda: self.c.request("DELETE", "/home/alice/f", "DELETE",
                                          **{"user.name": "bob"}),
                   lambda: self.c.request("PUT", "/home/alice/f", "RENAME",
                                          destination="/home/alice/h", **{"user.name": "bob"}),
                   lambda: self.c.request("PUT", "/home/alice/sub", "MKDIRS",
                                          **{"user.name": "bob"})):
            msg = self.assertRemote(op(), 403, "AccessControlException")
            self.assertIn("Permission denied: user=bob, access=WRITE", msg)
            self.assertIn('inode="/home/alice":alice:supergroup:drwxr-xr-x', msg)
        # reading is allowed (644 / 755); the superuser may write
        self.assertEqual(self.c.open("/home/alice/f", **{"user.name": "bob"})[2], b"x")
        self.assertEqual(self.c.create("/home/alice/s", b"z", **{"user.name": "hdfs"})[0], 201)
        self.c.json("PUT", "/home/alice/private", "MKDIRS", permission="700")
        self.assertRemote(self.c.request("GET", "/home/alice/private", "LISTSTATUS",
                                         **{"user.name": "bob"}), 403, "AccessControlException")

    def test_delegation_token_carried_through_redirect(self):
        st, h, _ = self.c.request("PUT", "/tok/f", "CREATE", delegation="tok123",
                                  **{"user.name": None})
        self.assertEqual(st, 307)
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(h["location"]).query))
        self.assertEqual(q["delegation"], "tok123")
        self.assertNotIn("user.name", q)
        port, url = Client.follow(h["location"])
        self.assertEqual(self.c.request("PUT", None, body=b"t", port=port, url=url)[0], 201)
        fs = self.c.json("GET", "/tok/f", "GETFILESTATUS")[1]["FileStatus"]
        self.assertEqual(fs["owner"], "carol")

    def test_checksum_hooks(self):
        self.c.create("/k/f", os.urandom(1000))
        good = self.checksum_of("/k/f")
        self.c.request("GET", None, url="/_control?flip_checksum=1")
        bad = self.checksum_of("/k/f")
        # the flipped digit is inside the first `length` bytes
        self.assertNotEqual(bad["bytes"][:56], good["bytes"][:56])
        self.c.request("GET", None, url="/_control?checksum_algorithm=MD5-of-0MD5-of-512XYZ")
        self.assertEqual(self.checksum_of("/k/f")["algorithm"], "MD5-of-0MD5-of-512XYZ")
        self.assertEqual(self.checksum_of("/k/f"), good)

    def test_combine_mode_does_not_reach_the_datanode(self):
        # WebHdfsHandler.onGetFileChecksum -> DFSClient.getFileChecksum(path,
        # Long.MAX_VALUE), which always combines as MD5MD5CRC
        self.nn.args.combine_mode = "COMPOSITE_CRC"
        try:
            self.c.create("/k/f", os.urandom(3000))
            self.assertTrue(self.checksum_of("/k/f")["algorithm"].startswith("MD5-of-"))
        finally:
            self.nn.args.combine_mode = "MD5MD5CRC"

    def test_hadoop_delegation_token(self):
        key = self.ns.token_key
        tok = webhdfs_server.make_token(key, "carol", "WEBHDFS delegation", "127.0.0.1:1")
        url_string = webhdfs_server.encode_url_string(tok)
        self.assertNotIn("=", url_string)
        self.assertNotIn("+", url_string + "/")  # URL-safe alphabet
        self.assertEqual(webhdfs_server.decode_url_string(url_string), tok)
        self.assertEqual(self.c.create("/ht/f", b"t", delegation=url_string,
                                       **{"user.name": None})[0], 201)
        self.assertEqual(self.c.json("GET", "/ht/f", "GETFILESTATUS")[1]["FileStatus"]["owner"],
                         "carol")
        # another key's token, and a token of a kind the NameNode does not issue
        forged = webhdfs_server.make_token(b"k" * 20, "carol", "WEBHDFS delegation", "x")
        kms = webhdfs_server.make_token(key, "carol", "kms-dt", "x")
        for t in (forged, kms):
            self.assertRemote(self.c.request("GET", "/ht/f", "GETFILESTATUS",
                                             delegation=webhdfs_server.encode_url_string(t),
                                             **{"user.name": None}), 401, "SecurityException")

    def test_writable_encoding(self):
        # WritableUtils.writeVLong's boundaries: one byte for -112..127,
        # then a length byte (-113.. for positive, -121.. for negative)
        for n, enc in ((0, b"\x00"), (127, b"\x7f"), (-112, b"\x90"), (128, b"\x8f\x80"),
                       (-113, b"\x87\x70"), (65536, b"\x8d\x01\x00\x00")):
            self.assertEqual(webhdfs_server.write_vlong(n), enc, n)
            self.assertEqual(webhdfs_server.read_vlong(enc, 0), (n, len(enc)))

    def test_credentials_file_formats(self):
        tok = webhdfs_server.make_token(b"k" * 20, "carol", "HDFS_DELEGATION_TOKEN", "ha-hdfs:x")
        w = webhdfs_server.credentials_file([("a", tok)], [("s", b"v")], "writable")
        # "HDTS", WRITABLE (0), vint 1 token, Text alias, Token.write
        self.assertEqual(w[:5], b"HDTS\0")
        self.assertEqual(w[5:8], b"\x01\x01a")
        self.assertTrue(w[8:].startswith(webhdfs_server.token_writable(tok)))
        self.assertTrue(w.endswith(b"\x01\x01s\x01v"))
        p = webhdfs_server.credentials_file([("a", tok)], [("s", b"v")], "protobuf")
        # "HDTS", PROTOBUF (1), varint length (writeDelimitedTo), then field
        # 1 (tokens) of CredentialsProto
        self.assertEqual(p[:5], b"HDTS\1")
        n = p[5] if p[5] < 128 else (p[5] & 0x7F) | (p[6] << 7)
        self.assertEqual(len(p), 5 + (1 if p[5] < 128 else 2) + n)
        self.assertEqual(p[6 if p[5] < 128 else 7], 0x0A)

    def test_datanode_needs_namenode_address(self):
        st, h, _ = self.c.request("PUT", "/dn", "CREATE")
        port, url = Client.follow(h["location"])
        url = url.replace("namenoderpcaddress", "x")
        self.assertRemote(self.c.request("PUT", None, body=b"", port=port, url=url), 400,
                          "IllegalArgumentException")


class Crc32Cluster(ServerTest):
    """dfs.checksum.type=CRC32: MD5MD5CRC32GzipFileChecksum, algorithm
    ...CRC32, chunk CRCs with the gzip polynomial."""
    extra = ["--checksum-type", "CRC32"]

    def test_checksum_is_md5_of_crc32(self):
        for n in (700, BLOCK, 2 * BLOCK + 5):
            data = os.urandom(n)
            self.c.create("/c32/f%d" % n, data)
            fc = self.checksum_of("/c32/f%d" % n)
            self.assertEqual((fc["algorithm"], fc["bytes"]),
                             expected_checksum(data, BLOCK, "CRC32"))
            self.assertEqual(fc["length"], 28)


class CompositeHttpFs(ServerTest):
    """HttpFS on a cluster with dfs.checksum.combine.mode=COMPOSITE_CRC."""
    extra = ["--httpfs", "--combine-mode", "COMPOSITE_CRC"]

    def put(self, path, data):
        st, _, body = self.c.request("PUT", path, "CREATE", body=data, data="true",
                                     headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(st, 201, body)

    def test_composite_crc_is_the_crc_of_the_file(self):
        for ctype, crc in (("CRC32C", bitwise_crc32c), ("CRC32", zlib.crc32)):
            self.nn.args.checksum_type = ctype
            for n in (1, 700, BLOCK, 3 * BLOCK + 17):
                data = os.urandom(n)
                path = "/cc/%s-%d" % (ctype, n)
                self.put(path, data)
                fc = self.checksum_of(path)
                # CompositeCrcFileChecksum: "COMPOSITE-" + type, 4 bytes,
                # length 4 (LENGTH = Integer.SIZE / Byte.SIZE); the
                # composition of block CRCs is the CRC of the whole file
                self.assertEqual(fc, {"algorithm": "COMPOSITE-" + ctype,
                                      "bytes": "%08x" % crc(data), "length": 4}, path)
        # empty files keep the MD5MD5CRC magic value in every mode
        self.put("/cc/empty", b"")
        self.assertEqual(self.checksum_of("/cc/empty")["algorithm"], "MD5-of-0MD5-of-0CRC32")


class StandbyPair(ServerTest):
    """HA: two NameNode ports sharing the namespace, one active."""
    extra = ["--standby", "--nameservice", "ns1"]

    def setUp(self):
        super().setUp()
        self.nn2 = self.nn.standby_server.server_address[1]

    def test_standby_answers_standby_exception(self):
        self.c.create("/ha/f", b"x")
        for method, op, category in (("GET", "GETFILESTATUS", "READ"),
                                     ("GET", "LISTSTATUS", "READ"),
                                     ("GET", "OPEN", "READ"),
                                     ("GET", "GETFILECHECKSUM", "READ"),
                                     ("POST", "APPEND", "READ"),
                                     ("PUT", "MKDIRS", "WRITE"),
                                     ("DELETE", "DELETE", "WRITE"),
                                     ("POST", "CONCAT", "WRITE")):
            path = "/ha" if op == "LISTSTATUS" else "/ha/f"
            msg = self.assertRemote(self.c.request(method, path, op, port=self.nn2, sources="/ha/g"),
                                    403, "StandbyException")
            self.assertEqual(msg, "Operation category %s is not supported in state standby. "
                                  "Visit https://s.apache.org/sbnn-error" % category, op)
        # CREATE is redirected even by the standby, to a DataNode that
        # reaches the active NameNode through the nameservice
        st, h, _ = self.c.request("PUT", "/ha/g", "CREATE", port=self.nn2)
        self.assertEqual(st, 307)
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(h["location"]).query))
        self.assertEqual(q["namenoderpcaddress"], "ns1")

    def test_failover(self):
        self.c.create("/ha/f", b"x")
        self.c.request("GET", None, url="/_control?failover_after=2")
        self.assertEqual(self.c.request("GET", "/ha/f", "GETFILESTATUS")[0], 200)
        self.assertEqual(self.c.request("GET", "/ha/f", "GETFILESTATUS")[0], 200)
        # the old active is now the standby, the other answers
        self.assertRemote(self.c.request("GET", "/ha/f", "GETFILESTATUS"), 403,
                          "StandbyException")
        st, _, body = self.c.request("GET", "/ha/f", "GETFILESTATUS", port=self.nn2)
        self.assertEqual(st, 200, body)
        st, _, body = self.c.request("GET", None, url="/_control?failover=1", port=self.nn2)
        self.assertEqual(json.loads(body)["active"], 0)

    def test_hang(self):
        self.c.request("GET", None, url="/_control?hang=1")
        conn = http.client.HTTPConnection("127.0.0.1", self.nn2, timeout=1)
        conn.request("GET", "/webhdfs/v1/?op=GETFILESTATUS&user.name=a")
        with self.assertRaises(socket.timeout):
            conn.getresponse()
        conn.close()
        self.c.request("GET", None, url="/_control?hang=-1")
        self.assertEqual(self.c.request("GET", "/", "GETFILESTATUS", port=self.nn2)[0], 403)


class Https(ServerTest):
    """An HTTPS-only cluster (dfs.http.policy=HTTPS_ONLY): TLS on every
    port, redirects to https:// DataNode URLs."""

    def server_args(self):
        self.certs = tempfile.mkdtemp(prefix="webhdfs-certs-")
        self.ca, cert, key = make_certs(self.certs)
        return ["--tls-cert", cert, "--tls-key", key]

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self.certs)

    def request(self, port, url, body=None):
        ctx = ssl.create_default_context(cafile=self.ca)
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        conn.request("PUT" if body is not None else "GET", url, body=body)
        r = conn.getresponse()
        out = r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        conn.close()
        return out

    def test_tls_and_https_redirects(self):
        nn = self.nn.server_address[1]
        st, h, _ = self.request(nn, "/webhdfs/v1/t/f?op=CREATE&user.name=a", b"")
        self.assertEqual(st, 307)
        loc = urllib.parse.urlsplit(h["location"])
        self.assertEqual((loc.scheme, loc.port), ("https", self.dn.server_address[1]))
        self.assertEqual(self.request(loc.port, loc.path + "?" + loc.query, b"tls")[0], 201)
        # verified against the test CA; without it the handshake fails
        with self.assertRaises(ssl.SSLError):
            conn = http.client.HTTPSConnection("127.0.0.1", nn, timeout=10,
                                               context=ssl.create_default_context())
            conn.request("GET", "/webhdfs/v1/?op=GETFILESTATUS")
        # plain HTTP gets no answer
        with self.assertRaises((http.client.HTTPException, ConnectionError, socket.timeout)):
            self.c.request("GET", "/", "GETFILESTATUS")


class TokenFiles(ServerTest):
    """--token-files: the fixture's Hadoop credentials files."""

    def server_args(self):
        return ["--standby", "--token-files", self.dir]

    def test_files_hold_working_tokens(self):
        for fmt in ("writable", "protobuf"):
            with open(os.path.join(self.dir, "tokens." + fmt), "rb") as f:
                data = f.read()
            self.assertEqual(data[:5], b"HDTS" + bytes([fmt == "protobuf"]))
        # the writable file parsed back, and its tokens accepted
        with open(os.path.join(self.dir, "tokens.writable"), "rb") as f:
            data = f.read()
        n, pos = webhdfs_server.read_vlong(data, 5)
        owners = {}
        for _ in range(n):
            alias, pos = webhdfs_server.read_text(data, pos)
            fields = []
            for _ in range(2):
                m, pos = webhdfs_server.read_vlong(data, pos)
                fields.append(data[pos:pos + m])
                pos += m
            kind, pos = webhdfs_server.read_text(data, pos)
            service, pos = webhdfs_server.read_text(data, pos)
            tok = (fields[0], fields[1], kind, service)
            st, _, body = self.c.request("GET", "/", "GETFILESTATUS", **{
                "user.name": None, "delegation": webhdfs_server.encode_url_string(tok)})
            owners[alias.decode()] = (st, kind.decode(), service.decode())
        port = self.nn.server_address[1]
        self.assertEqual(owners["nn"], (200, "WEBHDFS delegation", "127.0.0.1:%d" % port))
        self.assertEqual(owners["ha"], (200, "HDFS_DELEGATION_TOKEN", "ha-hdfs:kvns"))
        self.assertEqual(owners["kms"][0], 401)  # not a kind the NameNode takes


class HttpFs(ServerTest):
    extra = ["--httpfs"]

    def test_redirects_to_itself_with_data_true(self):
        st, h, _ = self.c.request("PUT", "/h/f", "CREATE")
        self.assertEqual(st, 307)
        loc = urllib.parse.urlsplit(h["location"])
        self.assertEqual(loc.port, self.nn.server_address[1])
        self.assertEqual(dict(urllib.parse.parse_qsl(loc.query))["data"], "true")
        url = loc.path + "?" + loc.query
        st, _, body = self.c.request("PUT", None, body=b"abc", url=url)
        self.assertEqual(st, 400)
        self.assertIn(b"application/octet-stream", body)
        st, _, _ = self.c.request("PUT", None, body=b"abc", url=url,
                                  headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(st, 201)
        # OPEN answers with the data itself
        st, _, body = self.c.request("GET", "/h/f", "OPEN", offset=1)
        self.assertEqual((st, body), (200, b"bc"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
