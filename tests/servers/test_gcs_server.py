#!/usr/bin/python3
"""Pins the behaviours of tests/servers/gcs_server.py that kvault's GCS tests rely
on, as Google documents them. Standard library only:

    python3 tests/servers/test_gcs_server.py
"""
import base64
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gcs_server  # noqa: E402

UNIT = 256 * 1024
EMAIL = "unit@kvault-test.iam.gserviceaccount.com"


def b64url(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="gcs-server-test-")
        cls.key = os.path.join(cls.dir, "key.pem")
        pub = os.path.join(cls.dir, "pub.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", cls.key], check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", cls.key, "-pubout", "-out", pub], check=True)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        cls.port = s.getsockname()[1]
        s.close()
        cls.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "gcs_server.py"), "--port", str(cls.port),
             "--bucket", "b", "--public-key", pub, "--client-email", EMAIL, "--token-ttl", "2",
             "--page-size", "3"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", cls.port), 0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        cls.token = cls.get_token(cls.jwt())

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait()
        shutil.rmtree(cls.dir)

    # -- helpers

    @classmethod
    def jwt(cls, key=None, **claims):
        now = int(time.time())
        c = {"iss": EMAIL, "scope": "https://www.googleapis.com/auth/devstorage.read_write",
             "aud": "http://127.0.0.1:%d/token" % cls.port, "iat": now, "exp": now + 3600}
        c.update(claims)
        signed = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()) + "." + \
            b64url(json.dumps(c).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key or cls.key],
                             input=signed.encode(), check=True, capture_output=True).stdout
        return signed + "." + b64url(sig)

    @classmethod
    def raw(cls, method, path, body=b"", headers=None):
        c = http.client.HTTPConnection("127.0.0.1", cls.port, timeout=10)
        c.request(method, path, body, headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    @classmethod
    def get_token(cls, assertion):
        form = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                       "assertion": assertion})
        st, _, body = cls.raw("POST", "/token", form.encode(),
                              {"Content-Type": "application/x-www-form-urlencoded"})
        return json.loads(body)["access_token"] if st == 200 else (st, json.loads(body))

    def req(self, method, path, body=b"", headers=None):
        h = {"Authorization": "Bearer " + self.token}
        h.update(headers or {})
        st, hdrs, data = self.raw(method, path, body, h)
        if st == 401:  # the 2 s token expired: take a new one
            type(self).token = self.get_token(self.jwt())
            h["Authorization"] = "Bearer " + self.token
            st, hdrs, data = self.raw(method, path, body, h)
        return st, hdrs, data

    def put(self, name, data, meta=None, query=""):
        m = {"name": name}
        m.update(meta or {})
        body = (b"--XX\r\nContent-Type: application/json\r\n\r\n" + json.dumps(m).encode() +
                b"\r\n--XX\r\nContent-Type: application/octet-stream\r\n\r\n" + data +
                b"\r\n--XX--\r\n")
        return self.req("POST", "/upload/storage/v1/b/b/o?uploadType=multipart" + query, body,
                        {"Content-Type": "multipart/related; boundary=XX"})

    def initiate(self, name):
        st, h, _ = self.req("POST", "/upload/storage/v1/b/b/o?uploadType=resumable",
                            json.dumps({"name": name}).encode(),
                            {"Content-Type": "application/json"})
        self.assertEqual(st, 200)
        return urllib.parse.urlsplit(h["Location"])._replace(scheme="", netloc="").geturl()

    def chunk(self, uri, data, first, total="*"):
        return self.req("PUT", uri, data, {"Content-Range": "bytes %d-%d/%s" % (
            first, first + len(data) - 1, total)})

    # -- authentication

    def test_requests_need_an_issued_token(self):
        st, _, body = self.raw("GET", "/storage/v1/b/b/o")
        self.assertEqual(st, 401)
        self.assertEqual(json.loads(body)["error"]["code"], 401)
        st, _, _ = self.raw("GET", "/storage/v1/b/b/o", headers={"Authorization": "Bearer made-up"})
        self.assertEqual(st, 401)

    def test_jwt_signed_by_another_key_is_invalid_grant(self):
        other = os.path.join(self.dir, "other.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-out", other], check=True,
                       capture_output=True)
        st, body = self.get_token(self.jwt(key=other))
        self.assertEqual((st, body["error"]), (400, "invalid_grant"))

    def test_jwt_claims_are_checked(self):
        self.assertEqual(self.get_token(self.jwt(iss="someone@else"))[1]["error"], "invalid_grant")
        self.assertEqual(self.get_token(self.jwt(aud="https://elsewhere/token"))[1]["error"],
                         "invalid_grant")
        now = int(time.time())
        self.assertEqual(self.get_token(self.jwt(iat=now - 7200, exp=now - 3600))[1]["error"],
                         "invalid_grant")

    def test_tokens_expire(self):
        tok = self.get_token(self.jwt())
        h = {"Authorization": "Bearer " + tok}
        self.assertEqual(self.raw("GET", "/storage/v1/b/b/o", headers=h)[0], 200)
        time.sleep(2.2)
        self.assertEqual(self.raw("GET", "/storage/v1/b/b/o", headers=h)[0], 401)

    # -- objects

    def test_multipart_upload_checks_digests(self):
        data = b"hello digests"
        crc = gcs_server.crc_b64(gcs_server.crc32c(data))
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        self.assertEqual(self.put("d/ok", data, {"crc32c": crc, "md5Hash": md5})[0], 200)
        st, _, body = self.put("d/bad", data, {"crc32c": gcs_server.crc_b64(1)})
        self.assertEqual(st, 400)
        self.assertIn("CRC32C", json.loads(body)["error"]["message"])
        self.assertEqual(self.put("d/bad", data, {"md5Hash": crc + "AAAAAAAAAAAAAA=="})[0], 400)
        self.assertEqual(self.req("GET", "/storage/v1/b/b/o/d%2Fbad")[0], 404)

    def test_crc32c_is_castagnoli(self):
        self.assertEqual(gcs_server.crc32c(b"123456789"), 0xE3069283)

    def test_if_generation_match_zero_on_existing_is_412(self):
        self.assertEqual(self.put("p/x", b"1", query="&ifGenerationMatch=0")[0], 200)
        st, _, body = self.put("p/x", b"2", query="&ifGenerationMatch=0")
        self.assertEqual(st, 412)
        self.assertEqual(json.loads(body)["error"]["errors"][0]["reason"], "conditionNotMet")

    def test_media_with_range_and_hash(self):
        data = bytes(range(200)) * 5
        self.put("m/obj", data)
        st, h, body = self.req("GET", "/storage/v1/b/b/o/m%2Fobj?alt=media",
                               headers={"Range": "bytes=10-19"})
        self.assertEqual((st, body, h["Content-Range"]), (206, data[10:20], "bytes 10-19/1000"))
        self.assertIn("crc32c=" + gcs_server.crc_b64(gcs_server.crc32c(data)), h["x-goog-hash"])
        self.assertEqual(self.req("GET", "/storage/v1/b/b/o/m%2Fobj?alt=media",
                                  headers={"Range": "bytes=1000-1009"})[0], 416)
        st, _, body = self.req("GET", "/storage/v1/b/b/o/m%2Fobj")
        self.assertEqual(json.loads(body)["size"], "1000")
        self.assertEqual(self.req("DELETE", "/storage/v1/b/b/o/m%2Fobj")[0], 204)
        self.assertEqual(self.req("DELETE", "/storage/v1/b/b/o/m%2Fobj")[0], 404)

    def test_list_pages(self):
        for i in range(7):
            self.put("l/k%d" % i, b"x")
        names, token = [], None
        while True:
            q = "?prefix=l/" + ("&pageToken=" + token if token else "")
            body = json.loads(self.req("GET", "/storage/v1/b/b/o" + q)[2])
            self.assertLessEqual(len(body["items"]), 3)
            names += [i["name"] for i in body["items"]]
            token = body.get("nextPageToken")
            if not token:
                break
        self.assertEqual(names, ["l/k%d" % i for i in range(7)])

    def test_compose_limits(self):
        self.put("c/a", b"aa")
        self.put("c/b", b"bbb")
        src = lambda names: json.dumps({"sourceObjects": [{"name": n} for n in names]}).encode()
        st, _, body = self.req("POST", "/storage/v1/b/b/o/c%2Fab/compose", src(["c/a", "c/b"]))
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body)["size"], "5")
        self.assertEqual(self.req("GET", "/storage/v1/b/b/o/c%2Fab?alt=media")[2], b"aabbb")
        self.assertEqual(self.req("POST", "/storage/v1/b/b/o/c%2Fx/compose",
                                  src(["c/a"] * 33))[0], 400)
        self.assertEqual(self.req("POST", "/storage/v1/b/b/o/c%2Fx/compose",
                                  src(["c/a", "c/none"]))[0], 404)
        wrong_gen = json.dumps({"sourceObjects": [{"name": "c/a", "generation": 1}]}).encode()
        self.assertEqual(self.req("POST", "/storage/v1/b/b/o/c%2Fx/compose", wrong_gen)[0], 404)

    # -- resumable uploads

    def test_resumable_chunks_308_and_final(self):
        data = os.urandom(2 * UNIT + 100)
        uri = self.initiate("r/obj")
        st, h, _ = self.chunk(uri, data[:UNIT], 0)
        self.assertEqual((st, h.get("Range")), (308, "bytes=0-%d" % (UNIT - 1)))
        st, _, body = self.chunk(uri, data[UNIT:UNIT + 1000], UNIT)
        self.assertEqual(st, 400)  # not a multiple of 256 KiB and not the last
        st, h, _ = self.req("PUT", uri, b"", {"Content-Range": "bytes */*"})
        self.assertEqual((st, h.get("Range")), (308, "bytes=0-%d" % (UNIT - 1)))
        st, _, body = self.chunk(uri, data[UNIT:], UNIT, len(data))
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body)["size"], str(len(data)))
        st, _, body = self.req("PUT", uri, b"", {"Content-Range": "bytes */%d" % len(data)})
        self.assertEqual(st, 200)
        self.assertEqual(self.req("GET", "/storage/v1/b/b/o/r%2Fobj?alt=media")[2], data)

    def test_dropped_chunk_keeps_whole_units(self):
        data = os.urandom(4 * UNIT)
        uri = self.initiate("r/dropped")
        self.raw("POST", "/_test/faults", json.dumps({"drop_chunk": 1}).encode())
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.chunk(uri, data[:4 * UNIT], 0)
        st, h, _ = self.req("PUT", uri, b"", {"Content-Range": "bytes */%d" % len(data)})
        self.assertEqual((st, h.get("Range")), (308, "bytes=0-%d" % (2 * UNIT - 1)))
        st, _, _ = self.chunk(uri, data[2 * UNIT:], 2 * UNIT, len(data))
        self.assertEqual(st, 200)
        self.assertEqual(self.req("GET", "/storage/v1/b/b/o/r%2Fdropped?alt=media")[2], data)

    def test_cancelled_session_is_gone(self):
        uri = self.initiate("r/cancelled")
        self.assertEqual(self.req("DELETE", uri)[0], 499)
        self.assertEqual(self.req("PUT", uri, b"", {"Content-Range": "bytes */*"})[0], 404)


if __name__ == "__main__":
    unittest.main()
