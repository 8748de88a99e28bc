#!/usr/bin/python3
"""The kvault command against a hostile S3 server (hostile_s3.py, loopback):
listings with keys outside the prefix, dot segments, short keys and
control characters; huge and slow bodies; continuation tokens that repeat
or never end. Each must end in a clear error within bounded time and
memory, and nothing outside the store's prefix may be deleted. Also: a key
with dot segments is sent as it is (the server sees the raw path).

    test_hostile_s3.py KVAULT [CASE]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
STALL = 2           # KVAULT_STALL_TIMEOUT for the slow body
RETRIES = 6         # the store's default max_retries
CAP_KB = 16 * 1024   # KVAULT_MAX_REPLY's default


class Fixture:
    def __init__(self, kvault):
        self.kvault = kvault
        self.base_rss = None  # peak RSS of a small honest listing, KiB
        self.dir = tempfile.mkdtemp(prefix="kvhostile-")
        self.log = os.path.join(self.dir, "requests.log")
        port_file = os.path.join(self.dir, "port")
        self.server = subprocess.Popen([sys.executable, os.path.join(HERE, "hostile_s3.py"),
                                        port_file, self.log])
        for _ in range(100):
            if os.path.exists(port_file):
                break
            time.sleep(0.1)
        with open(port_file) as f:
            self.url = f"http://127.0.0.1:{int(f.read())}"

    def close(self):
        self.server.kill()
        self.server.wait()
        shutil.rmtree(self.dir)

    def env(self, **extra):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir,
               "AWS_ACCESS_KEY_ID": "AKIDHOSTILE", "AWS_SECRET_ACCESS_KEY": "not-checked",
               "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": self.url}
        env.update(extra)
        return env

    def run(self, *args, **extra):
        """Runs kvault under /usr/bin/time: exit status, stderr, seconds, peak RSS (KiB)."""
        rss = os.path.join(self.dir, "rss")
        start = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss, self.kvault, *args],
                           env=self.env(**extra), capture_output=True, text=True, timeout=300)
        took = time.monotonic() - start
        with open(rss) as f:
            peak = int(f.read().split()[-1])
        print(f"  kvault {' '.join(args)}: exit {p.returncode}, {took:.1f} s, {peak} KiB\n"
              f"    {p.stderr.strip()}")
        return p.returncode, p.stderr, took, peak

    def seed(self, bucket, key, data=b"x"):
        req = urllib.request.Request(f"{self.url}/{bucket}/{urllib.parse.quote(key)}",
                                     data=data, method="PUT")
        urllib.request.urlopen(req).read()

    def exists(self, bucket, key):
        try:
            urllib.request.urlopen(f"{self.url}/{bucket}/{urllib.parse.quote(key)}").read()
            return True
        except urllib.error.HTTPError as e:
            assert e.code == 404, e
            return False

    def signed(self, method):
        """The raw paths of the client's requests with this method."""
        with open(self.log) as f:
            return [line.split(" ")[1] for line in f
                    if line.startswith(method + " ") and line.rstrip().endswith(" signed")]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def seed_envs(fx, bucket):
    """An env "default" and, beside it, another env's SST and a key outside
    the store's root, which nothing may delete."""
    fx.seed(bucket, "root/default/rocksdb/2020-01-01/20200101T000000Z-abcdef/000001.sst")
    fx.seed(bucket, "root/other/rocksdb/2020-01-01/20200101T000000Z-012345/000009.sst")
    fx.seed(bucket, "victim")
    fx.seed(bucket, "root/victim")


def untouched(fx, bucket):
    check(fx.exists(bucket, "root/other/rocksdb/2020-01-01/20200101T000000Z-012345/000009.sst"),
          "another env's SST was deleted")
    check(fx.exists(bucket, "victim") and fx.exists(bucket, "root/victim"),
          "a key outside the prefix was deleted")
    for path in fx.signed("DELETE"):
        check(not path.startswith(f"/{bucket}/") or
              (path.startswith(f"/{bucket}/root/default/") and "/../" not in path),
              f"deleted outside the env: {path}")


def case_honest(fx):
    """The control: the same commands against a server that behaves."""
    seed_envs(fx, "honest")
    rc, err, _, fx.base_rss = fx.run("ls", "s3://honest/root/default/")
    check(rc == 0, "ls of an honest listing failed")
    rc, err, _, _ = fx.run("gc", "--grace", "0", "--from", "s3://honest/root")
    check(rc == 0, "gc against an honest server failed")
    untouched(fx, "honest")


def case_keys_outside_the_prefix(fx):
    seed_envs(fx, "noprefix")
    rc, err, _, _ = fx.run("ls", "s3://noprefix/root/default/")
    check(rc == 1 and "outside the prefix" in err, "a key outside the prefix was listed")
    check("'root/default" in err and "'root/other/rocksdb/" in err, "the message names both")
    check("nothing was done with that key" in err, "the message says nothing was done")
    for args in (["gc", "--grace", "0", "--from", "s3://noprefix/root"],
                 ["prune", "--keep-last", "1", "--grace", "0", "--from", "s3://noprefix/root"]):
        rc, err, _, _ = fx.run(*args)
        check(rc == 1 and "outside the prefix" in err, f"{args[0]} acted on a foreign key")
    untouched(fx, "noprefix")


def case_dot_segments(fx):
    seed_envs(fx, "dots")
    rc, err, _, _ = fx.run("ls", "s3://dots/root/default/")
    check(rc == 1 and "'.' or '..' segment" in err and "/../../../../../victim'" in err,
          "a key with dot segments was listed")
    rc, err, _, _ = fx.run("gc", "--grace", "0", "--from", "s3://dots/root")
    check(rc == 1 and "'.' or '..' segment" in err, "gc acted on a key with dot segments")
    untouched(fx, "dots")


def case_short_and_control(fx):
    rc, err, _, _ = fx.run("ls", "s3://short/rootdir/")
    check(rc == 1 and "'r'" in err and "outside the prefix" in err, "a short key was listed")
    rc, err, _, _ = fx.run("ls", "s3://ctrl/root/")
    check(rc == 1 and "bad\\x7fname\\n'" in err and "control character" in err,
          "a key with control characters was listed, or printed raw")


def case_huge_bodies(fx):
    """3 GiB and 1.5 GiB replies: memory stays within a few times the cap
    above what a small listing takes (the buffer and its last copy)."""
    if fx.base_rss is None:
        fx.base_rss = fx.run("ls", "s3://honest/none/")[3]
    for bucket in ("huge", "hugeerror"):
        rc, err, took, peak = fx.run("ls", f"s3://{bucket}/root/")
        check(rc == 1 and "KVAULT_MAX_REPLY" in err, f"{bucket}: no clear error")
        check(peak < fx.base_rss + 3 * CAP_KB, f"{bucket}: peak RSS {peak} KiB")
        check(took < 60, f"{bucket}: took {took:.0f} s")
    rc, err, _, peak = fx.run("ls", "s3://huge/root/", KVAULT_MAX_REPLY="1M")
    check(rc == 1 and "1048576 bytes" in err, "KVAULT_MAX_REPLY is not applied")
    check(peak < fx.base_rss + 3 * 1024, f"peak RSS {peak} KiB with a cap of 1 MiB")


def case_slow_body(fx):
    rc, err, took, _ = fx.run("ls", "s3://slow/root/", KVAULT_STALL_TIMEOUT=str(STALL))
    check(rc == 1 and "KVAULT_MIN_RATE" in err, "a dripping body is not refused clearly")
    # every attempt ends after the stall window (plus curl's one-second
    # checks); the retries' backoff is capped at 0.2 s x 2^n, 12.6 s in all
    bound = (RETRIES + 1) * (STALL + 2) + 12.6
    check(took < bound, f"the slow body took {took:.0f} s, more than {bound:.0f} s")


def case_endless_pages(fx):
    for bucket, words in (("loop", "repeated the continuation token 'same'"),
                          ("cycle", "repeated the continuation token 'A'"),
                          ("fresh", "after"),
                          ("empty", "held nothing")):
        rc, err, took, _ = fx.run("ls", f"s3://{bucket}/root/")
        check(rc == 1 and words in err, f"{bucket}: the listing did not stop clearly")
        check(took < 60, f"{bucket}: took {took:.0f} s")


def case_path_as_is(fx):
    """A key with dot segments is signed and sent literally: the server sees
    the raw path, and removes that key, not the one the segments point to."""
    fx.seed("honest", "root/a/b/../../victim2", b"literal")
    fx.seed("honest", "root/victim2", b"other")
    rc, err, _, _ = fx.run("rm", "s3://honest/root/a/b/../../victim2")
    check(rc == 0, "rm of a key with dot segments failed")
    check("/honest/root/a/b/../../victim2" in fx.signed("DELETE"), "the path was normalised")
    check(not fx.exists("honest", "root/a/b/../../victim2"), "the literal key is still there")
    check(fx.exists("honest", "root/victim2"), "the key the dots point to was removed")


CASES = [case_honest, case_keys_outside_the_prefix, case_dot_segments, case_short_and_control,
         case_huge_bodies, case_slow_body, case_endless_pages, case_path_as_is]


def main():
    kvault, only = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
    fx = Fixture(kvault)
    failed = 0
    try:
        for case in CASES:
            if only and only not in case.__name__:
                continue
            print(f"--- {case.__name__}", flush=True)
            try:
                case(fx)
            except AssertionError as e:
                failed += 1
                print(f"FAIL {case.__name__}: {e}", flush=True)
    finally:
        fx.close()
    print(f"{'failed' if failed else 'passed'}: {failed} case(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
