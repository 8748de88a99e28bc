#!/usr/bin/python3
"""Pins each behaviour of tests/webhdfs_server.py that docs/hdfs.md and
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
import urllib.parse

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


def expected_checksum(data, block):
    """MD5MD5CRC32C as FileChecksumHelper + BlockChecksumHelper compute it,
    written out independently of the server."""
    blocks = [data[i:i + block] for i in range(0, len(data), block)]
    md5s = b""
    for b in blocks:
        crcs = b"".join(struct.pack(">I", bitwise_crc32c(b[i:i + 512]))
                        for i in range(0, len(b), 512))
        md5s += hashlib.md5(crcs).digest()
    cap = 32  # DataOutputBuffer: 32 bytes, doubled; getData() is the whole array
    while cap < len(md5s):
        cap *= 2
    md5 = hashlib.md5(md5s + b"\0" * (cap - len(md5s))).digest()
    cpb = (len(blocks[0]) + 511) // 512 if len(blocks) > 1 else 0
    return "MD5-of-%dMD5-of-512CRC32C" % cpb, (struct.pack(">iq", 512, cpb) + md5).hex()


class ServerTest(unittest.TestCase):
    extra = []

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="webhdfs-test-")
        self.nn, self.dn = webhdfs_server.start(
            ["--dir", self.dir, "--block-size", str(BLOCK), "--min-block-size", "512",
             "--batch-size", "3", "--token", "tok123=carol"] + self.extra)
        self.c = Client(self.nn.server_address[1])
        self.ns = self.nn.RequestHandlerClass.ns

    def tearDown(self):
        for s in {self.nn, self.dn}:
            s.shutdown()
            s.server_close()
        shutil.rmtree(self.dir)

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
            st, h, _ = self.c.request("GET", path, "GETFILECHECKSUM")
            self.assertEqual(st, 307)  # DataNodes compute it
            port, url = Client.follow(h["location"])
            st, _, body = self.c.request("GET", None, port=port, url=url)
            fc = json.loads(body)["FileChecksum"]
            self.assertEqual(fc["length"], 28)
            if not data:
                # the magic value Hadoop returns for empty files
                self.assertEqual(fc["algorithm"], "MD5-of-0MD5-of-0CRC32")
                self.assertEqual(fc["bytes"], "00000000000000000000000070bc8f4b72a86921468bf8e"
                                              "8441dce51")
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

    def test_datanode_needs_namenode_address(self):
        st, h, _ = self.c.request("PUT", "/dn", "CREATE")
        port, url = Client.follow(h["location"])
        url = url.replace("namenoderpcaddress", "x")
        self.assertRemote(self.c.request("PUT", None, body=b"", port=port, url=url), 400,
                          "IllegalArgumentException")


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
