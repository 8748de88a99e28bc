#!/usr/bin/python3
"""A WebHDFS test server: NameNode and DataNode REST endpoints on separate
ports, data on disk, following Hadoop's documented protocol
(hadoop-hdfs/src/site/markdown/WebHDFS.md) and the NameNode/DataNode sources
where the documentation is silent. Python 3 standard library only.

    webhdfs_server.py --dir DIR [--port-file FILE] [--nn-port P] [--dn-port P]
                      [--block-size N] [--min-block-size N] [--batch-size N]
                      [--superuser NAME] [--token TOKEN=USER]...
                      [--httpfs] [--no-liststatus-batch] [--concat-partial-blocks]

The port file gets one JSON line {"namenode": P, "datanode": P, "pid": PID}
once both ports listen. Metadata lives in memory (a restart forgets it); file
bytes live under DIR/blocks, one file per inode.

What it reproduces (see docs/hdfs.md for the sources of each rule):
  * CREATE/APPEND/OPEN/GETFILECHECKSUM answer 307 with a Location on the
    DataNode port (noredirect=true: 200 {"Location": ...}); the DataNode
    answers CREATE with 201 + Location, APPEND with 200.
  * overwrite=false by default (403 FileAlreadyExistsException); parents
    created; one writer per file (403 AlreadyBeingCreatedException); a client
    that disconnects mid-upload leaves a closed, truncated file.
  * RENAME/DELETE answer {"boolean": false} where Hadoop does; MKDIRS makes
    parents; RemoteException bodies with Hadoop's status mapping.
  * LISTSTATUS, LISTSTATUS_BATCH (startAfter, remainingEntries), GETFILESTATUS
    with Hadoop's FileStatus fields; CONCAT with the NameNode's checks;
    GETFILECHECKSUM as MD5-of-MD5-of-CRC32C, byte for byte as Hadoop's
    FileChecksumHelper computes it.
  * user.name pseudo authentication with POSIX permission checks
    (403 AccessControlException), delegation= tokens carried through the
    redirect, and an HttpFS mode (one port, redirect to itself with
    data=true, data requests need Content-Type: application/octet-stream).

Test hooks (not WebHDFS), GET /_control?... on either port, answering
counters {"concat", "create", "dropped"}: drop_after=N[&drop_times=K] makes
the next (K) data uploads lose their connection after N body bytes; fail_op=OP&exception=NAME
[&status=NNN][&times=K] makes the next K NameNode requests for OP fail with
that RemoteException; flip_checksum=1 corrupts the next GETFILECHECKSUM
reply; liststatus_batch=0|1 turns LISTSTATUS_BATCH off (400 as Hadoop
before 2.8) or on; kerberos=1 makes the NameNode answer as a secure
cluster's AuthenticationFilter does to a request without SPNEGO credentials:
401 with "WWW-Authenticate: Negotiate" (the ticket exchange itself needs a
KDC, which this server does not have).
"""

import argparse
import hashlib
import http.server
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

CHUNK = 512  # dfs.bytes-per-checksum
ROOT_INODE_ID = 16385  # INodeId.ROOT_INODE_ID

# exception -> (javaClassName, HTTP status), per WebHDFS.md "Error Responses"
# (IllegalArgument 400, Security 401, IOException 403, FileNotFound 404,
# other 500); the IOException subclasses keep 403.
EXCEPTIONS = {
    "IllegalArgumentException": ("java.lang.IllegalArgumentException", 400),
    "HadoopIllegalArgumentException": ("org.apache.hadoop.HadoopIllegalArgumentException", 400),
    "InvalidPathException": ("org.apache.hadoop.fs.InvalidPathException", 400),
    "UnsupportedOperationException": ("java.lang.UnsupportedOperationException", 400),
    "SecurityException": ("java.lang.SecurityException", 401),
    "IOException": ("java.io.IOException", 403),
    "EOFException": ("java.io.EOFException", 403),
    "AccessControlException": ("org.apache.hadoop.security.AccessControlException", 403),
    "FileAlreadyExistsException": ("org.apache.hadoop.fs.FileAlreadyExistsException", 403),
    "AlreadyBeingCreatedException":
        ("org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException", 403),
    "PathIsNotEmptyDirectoryException":
        ("org.apache.hadoop.fs.PathIsNotEmptyDirectoryException", 403),
    "ParentNotDirectoryException": ("org.apache.hadoop.fs.ParentNotDirectoryException", 403),
    "StandbyException": ("org.apache.hadoop.ipc.StandbyException", 403),
    "RetriableException": ("org.apache.hadoop.ipc.RetriableException", 403),
    "FileNotFoundException": ("java.io.FileNotFoundException", 404),
    "RuntimeException": ("java.lang.RuntimeException", 500),
}


class HdfsError(Exception):
    def __init__(self, exception, message, status=None):
        super().__init__(message)
        self.exception = exception
        self.java = EXCEPTIONS[exception][0]
        self.status = status or EXCEPTIONS[exception][1]
        self.message = message

    def body(self):
        return json.dumps({"RemoteException": {
            "exception": self.exception, "javaClassName": self.java,
            "message": self.message}}).encode()


# ---- CRC32C and Hadoop's MD5-of-MD5-of-CRC32C ------------------------------

def _crc_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    t = CRC_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def block_md5(data):
    """A DataNode's block checksum: MD5 over the big-endian CRC32C of each
    512-byte chunk of the block (BlockChecksumHelper, the .meta file's CRCs)."""
    crcs = b"".join(struct.pack(">I", crc32c(data[i:i + CHUNK]))
                    for i in range(0, len(data), CHUNK))
    return hashlib.md5(crcs).digest()


def data_output_buffer(parts):
    """What DataOutputBuffer.getData() returns after writing parts: the whole
    backing array (initial capacity 32, doubled as needed), zero padded.
    FileChecksumHelper digests exactly that."""
    n = sum(len(p) for p in parts)
    cap = 32
    while cap < n:
        cap *= 2
    return b"".join(parts) + b"\0" * (cap - n)


def file_checksum(block_datas):
    """FileChecksumHelper.makeMd5CrcResult for a replicated file."""
    if not block_datas:
        # the "magic" empty-file value: MD5 of 32 zero bytes, CRC32 (gzip) type
        md5 = hashlib.md5(b"\0" * 32).digest()
        bpc, cpb, ctype = 0, 0, "CRC32"
    else:
        md5 = hashlib.md5(data_output_buffer([block_md5(b) for b in block_datas])).digest()
        bpc, ctype = CHUNK, "CRC32C"
        # crcPerBlock comes from the first block's reply, only for >1 block
        cpb = (len(block_datas[0]) + CHUNK - 1) // CHUNK if len(block_datas) > 1 else 0
    raw = struct.pack(">iq", bpc, cpb) + md5
    return {"FileChecksum": {"algorithm": "MD5-of-%dMD5-of-%d%s" % (cpb, bpc, ctype),
                             "bytes": raw.hex(), "length": len(raw)}}


# ---- the namespace -----------------------------------------------------------

class Node:
    def __init__(self, fs, name, is_dir, owner, group, perm):
        self.name = name
        self.is_dir = is_dir
        self.owner = owner
        self.group = group
        self.perm = perm
        self.file_id = fs.next_id()
        self.mtime = self.atime = int(time.time() * 1000)
        self.children = {} if is_dir else None
        self.parent = None
        self.block_size = 0
        self.replication = 0
        self.blocks = []          # lengths of the file's blocks
        self.writer = None        # lease holder while a write is open

    @property
    def length(self):
        return sum(self.blocks)

    def add_bytes(self, n):
        while n:
            if not self.blocks or self.blocks[-1] == self.block_size:
                self.blocks.append(0)
            take = min(n, self.block_size - self.blocks[-1])
            self.blocks[-1] += take
            n -= take

    def status(self, suffix):
        st = {
            "accessTime": 0 if self.is_dir else self.atime,
            "blockSize": 0 if self.is_dir else self.block_size,
            "childrenNum": len(self.children) if self.is_dir else 0,
            "fileId": self.file_id,
            "group": self.group,
            "length": 0 if self.is_dir else self.length,
            "modificationTime": self.mtime,
            "owner": self.owner,
            "pathSuffix": suffix,
            "permission": "%o" % self.perm,
            "replication": 0 if self.is_dir else self.replication,
            "storagePolicy": 0,
            "type": "DIRECTORY" if self.is_dir else "FILE",
        }
        return st

    def path(self):
        parts = []
        n = self
        while n.parent:
            parts.append(n.name)
            n = n.parent
        return "/" + "/".join(reversed(parts))

    def perm_string(self):
        s = "d" if self.is_dir else "-"
        for shift in (6, 3, 0):
            bits = (self.perm >> shift) & 7
            s += ("r" if bits & 4 else "-") + ("w" if bits & 2 else "-") + ("x" if bits & 1 else "-")
        return s


class Namespace:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self._id = ROOT_INODE_ID - 1
        self.blocks_dir = os.path.join(args.dir, "blocks")
        os.makedirs(self.blocks_dir, exist_ok=True)
        self.root = Node(self, "", True, args.superuser, "supergroup", 0o777)
        self.tokens = dict(t.split("=", 1) for t in args.token)
        self.drop_after = None
        self.drop_times = 0
        self.faults = {}
        self.flip_checksum = False
        self.kerberos = False
        self.no_batch = args.no_liststatus_batch
        self.stats = {"concat": 0, "create": 0, "dropped": 0}

    def next_id(self):
        self._id += 1
        return self._id

    def data_path(self, node):
        return os.path.join(self.blocks_dir, str(node.file_id))

    # -- permissions (FSPermissionChecker) --
    def check(self, user, node, access):
        if user == self.args.superuser:
            return
        want = {"READ": 4, "WRITE": 2, "EXECUTE": 1, "READ_EXECUTE": 5}[access]
        bits = node.perm >> 6 if user == node.owner else node.perm
        if (bits & 7) & want != want:
            raise HdfsError("AccessControlException",
                            'Permission denied: user=%s, access=%s, inode="%s":%s:%s:%s'
                            % (user, access, node.path(), node.owner, node.group,
                               node.perm_string()))

    @staticmethod
    def split(path):
        if not path.startswith("/"):
            raise HdfsError("IllegalArgumentException", "Invalid path name " + path)
        parts = [p for p in path.split("/") if p]
        for p in parts:
            # DFSUtil.isValidName
            if p in (".", "..") or ":" in p:
                raise HdfsError("InvalidPathException",
                                "Invalid path name Invalid file name: " + path)
        return parts

    def lookup(self, path, user):
        """The node at path or None; checks traverse (EXECUTE) on ancestors."""
        node = self.root
        parts = self.split(path)
        for p in parts:
            if not node.is_dir:
                return None
            self.check(user, node, "EXECUTE")
            node = node.children.get(p)
            if node is None:
                return None
        return node

    def existing_ancestor(self, parts, user):
        node = self.root
        for p in parts:
            if not node.is_dir:
                raise HdfsError("ParentNotDirectoryException",
                                "%s (is not a directory)" % node.path())
            nxt = node.children.get(p)
            if nxt is None:
                return node
            self.check(user, node, "EXECUTE")
            node = nxt
        return node

    def get(self, path, user):
        node = self.lookup(path, user)
        if node is None:
            raise HdfsError("FileNotFoundException", "File does not exist: " + path)
        return node

    def mkdirs(self, path, user, perm):
        parts = self.split(path)
        anc = self.existing_ancestor(parts, user)
        node = self.root
        for p in parts:
            nxt = node.children.get(p)
            if nxt is None:
                if node is anc:
                    self.check(user, anc, "WRITE")
                nxt = Node(self, p, True, user, "supergroup", perm)
                nxt.parent = node
                node.children[p] = nxt
                node.mtime = nxt.mtime
            elif not nxt.is_dir:
                raise HdfsError("FileAlreadyExistsException",
                                "Path is not a directory: " + nxt.path())
            node = nxt
        return node

    def unlink(self, node):
        del node.parent.children[node.name]
        node.parent.mtime = int(time.time() * 1000)
        self.drop_data(node)

    def drop_data(self, node):
        if node.is_dir:
            for c in list(node.children.values()):
                self.drop_data(c)
        else:
            try:
                os.unlink(self.data_path(node))
            except FileNotFoundError:
                pass

    # -- file operations --
    def start_file(self, path, user, q):
        """FSDirWriteFileOp.startFile: the DataNode's create call."""
        overwrite = q.get("overwrite", "false").lower() == "true"
        parts = self.split(path)
        if not parts:
            raise HdfsError("FileAlreadyExistsException", "/ already exists as a directory")
        parent_path = "/" + "/".join(parts[:-1])
        node = self.lookup(path, user)
        if node is not None:
            if node.is_dir:
                raise HdfsError("FileAlreadyExistsException",
                                "%s already exists as a directory" % path)
            if node.writer:
                raise HdfsError("AlreadyBeingCreatedException",
                                "Failed to CREATE_FILE %s for %s on 127.0.0.1 because this "
                                "file lease is currently owned by %s on 127.0.0.1"
                                % (path, "DFSClient_webhdfs_%s" % user, node.writer))
            if not overwrite:
                raise HdfsError("FileAlreadyExistsException",
                                "%s for client 127.0.0.1 already exists" % path)
            self.check(user, node.parent, "WRITE")
            self.unlink(node)
        if q.get("createparent", "true").lower() == "false":
            parent = self.lookup(parent_path, user)
            if parent is None:
                raise HdfsError("FileNotFoundException",
                                "Parent directory doesn't exist: " + parent_path)
        else:
            parent = self.mkdirs(parent_path, user, 0o755)
        self.check(user, parent, "WRITE")
        block_size = int(q.get("blocksize") or self.args.block_size)
        if block_size < self.args.min_block_size:
            raise HdfsError("IOException",
                            "Specified block size is less than configured minimum value "
                            "(dfs.namenode.fs-limits.min-block-size): %d < %d"
                            % (block_size, self.args.min_block_size))
        if block_size % CHUNK:
            raise HdfsError("IOException", "io.bytes.per.checksum(=%d) and blockSize(=%d) do "
                            "not match. blockSize should be a multiple of io.bytes.per.checksum"
                            % (CHUNK, block_size))
        node = Node(self, parts[-1], False, user, "supergroup", int(q.get("permission") or "644", 8))
        node.block_size = block_size
        node.replication = int(q.get("replication") or 3)
        node.parent = parent
        parent.children[node.name] = node
        parent.mtime = node.mtime
        open(self.data_path(node), "wb").close()
        return node

    def open_append(self, path, user):
        node = self.get(path, user)
        if node.is_dir:
            raise HdfsError("FileNotFoundException", "Failed to append to non-existent file %s"
                            " (it is a directory)" % path)
        self.check(user, node, "WRITE")
        if node.writer:
            raise HdfsError("AlreadyBeingCreatedException",
                            "Failed to APPEND_FILE %s for DFSClient_webhdfs_%s on 127.0.0.1 "
                            "because this file lease is currently owned by %s on 127.0.0.1"
                            % (path, user, node.writer))
        return node

    def rename(self, src, dst, user):
        """FSDirRenameOp.renameTo (the old rename: false rather than errors)."""
        sparts = self.split(src)
        dparts = self.split(dst)
        node = self.lookup(src, user)
        if node is None or not sparts:
            return False
        self.check(user, node.parent, "WRITE")
        target = self.lookup(dst, user)
        if target is not None and target.is_dir:
            # into an existing directory, under the source's name
            dparts = dparts + [sparts[-1]]
            target = target.children.get(sparts[-1])
        if dparts == sparts:
            return True
        if target is not None:
            return False
        if dparts[:len(sparts)] == sparts:
            return False  # into itself
        parent = self.lookup("/" + "/".join(dparts[:-1]), user)
        if parent is None or not parent.is_dir:
            return False
        self.check(user, parent, "WRITE")
        del node.parent.children[node.name]
        node.parent.mtime = int(time.time() * 1000)
        node.name = dparts[-1]
        node.parent = parent
        parent.children[node.name] = node
        parent.mtime = int(time.time() * 1000)
        return True

    def delete(self, path, user, recursive):
        node = self.lookup(path, user)
        if node is None:
            return False
        if node is self.root:
            return False
        self.check(user, node.parent, "WRITE")
        if node.is_dir and node.children and not recursive:
            raise HdfsError("PathIsNotEmptyDirectoryException",
                            "`%s is non empty': Directory is not empty" % path)
        self.unlink(node)
        return True

    def concat(self, target_path, sources, user):
        """FSDirConcatOp.concat and its verifySrcFiles/verifyTargetFile."""
        if not sources or sources == [""]:
            raise HdfsError("HadoopIllegalArgumentException", "concat: srcs list is empty")
        target = self.get(target_path, user)
        if target.is_dir:
            raise HdfsError("FileNotFoundException", "Path is not a file: " + target_path)
        self.check(user, target, "WRITE")
        if target.writer:
            raise HdfsError("HadoopIllegalArgumentException",
                            "concat: target file %s is under construction" % target_path)
        srcs, seen = [], set()
        for s in sources:
            node = self.get(s, user)
            if node.is_dir:
                raise HdfsError("FileNotFoundException", "Path is not a file: " + s)
            self.check(user, node, "READ")
            self.check(user, node.parent, "WRITE")
            if node.parent is not target.parent:
                raise HdfsError("HadoopIllegalArgumentException",
                                "Source file %s is not in the same directory with the target %s"
                                % (s, target_path))
            if node is target:
                raise HdfsError("HadoopIllegalArgumentException",
                                "concat: the src file %s is the same with the target file %s"
                                % (s, target_path))
            if node.writer or not node.blocks:
                raise HdfsError("HadoopIllegalArgumentException",
                                "concat: source file %s is invalid or empty or underConstruction"
                                % s)
            if node.block_size > target.block_size:
                raise HdfsError("HadoopIllegalArgumentException",
                                "concat: source file %s has preferred block size %d which is "
                                "greater than the target file's preferred block size %d"
                                % (s, node.block_size, target.block_size))
            seen.add(node.file_id)
            srcs.append(node)
        if len(seen) < len(srcs):
            raise HdfsError("HadoopIllegalArgumentException",
                            "concat: at least two of the source files are the same")
        if not self.args.concat_partial_blocks:
            self.check_full_blocks(target, target_path, srcs, sources)
        with open(self.data_path(target), "ab") as out:
            for node in srcs:
                with open(self.data_path(node), "rb") as f:
                    while True:
                        b = f.read(1 << 20)
                        if not b:
                            break
                        out.write(b)
                target.blocks.extend(node.blocks)
                self.unlink(node)
        target.mtime = int(time.time() * 1000)

    @staticmethod
    def check_full_blocks(target, target_path, srcs, names):
        """Hadoop before 2.7 (HDFS-3689 added variable-length blocks): the
        target's last block and every block of the sources but the last
        source's last must be full. Portable part sizes follow this."""
        bs = target.block_size
        if not target.blocks:
            raise HdfsError("HadoopIllegalArgumentException",
                            "concat: target file %s is empty" % target_path)
        if target.blocks[-1] != bs:
            raise HdfsError("HadoopIllegalArgumentException",
                            "The last block in %s is not full; last block size = %d but file "
                            "block size = %d" % (target_path, target.blocks[-1], bs))
        for i, node in enumerate(srcs):
            blocks = node.blocks if i < len(srcs) - 1 else node.blocks[:-1]
            for idx, n in enumerate(blocks):
                if n != bs:
                    raise HdfsError("HadoopIllegalArgumentException",
                                    "concat: the source file %s and the target file %s should "
                                    "have the same blocks sizes: target block size is %d but "
                                    "the size of source block %d is %d"
                                    % (names[i], target_path, bs, idx, n))

    def listing(self, node):
        return sorted(node.children.items(), key=lambda kv: kv[0].encode())

    def checksum(self, node):
        datas = []
        with open(self.data_path(node), "rb") as f:
            for n in node.blocks:
                datas.append(f.read(n))
        return file_checksum(datas)


# ---- HTTP --------------------------------------------------------------------

PREFIX = "/webhdfs/v1"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "Jetty(9.4.51.v20230217)"
    ns = None          # Namespace, set on the class per server
    role = "namenode"  # or "datanode"

    def log_message(self, fmt, *a):
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.role, fmt % a))

    # -- replies --
    def send(self, status, body=b"", ctype="application/json", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if body or ctype == "application/json":
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, obj, status=200):
        self.send(status, json.dumps(obj).encode())

    def fail(self, e):
        self.send(e.status, e.body())

    def discard_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        while n > 0:
            b = self.rfile.read(min(n, 1 << 20))
            if not b:
                break
            n -= len(b)

    # -- request parsing --
    def parse(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/_control":
            return None, None, u
        if not u.path.startswith(PREFIX):
            raise HdfsError("IllegalArgumentException", "Not a WebHDFS path: " + u.path)
        path = urllib.parse.unquote(u.path[len(PREFIX):]) or "/"
        q = {}
        for k, v in urllib.parse.parse_qsl(u.query, keep_blank_values=True):
            q[k.lower() if k.lower() != "startafter" else "startAfter"] = v
        return path, q, u

    def user(self, q):
        tok = q.get("delegation")
        if tok:
            user = self.ns.tokens.get(tok)
            if user is None:
                raise HdfsError("SecurityException",
                                "Failed to obtain user group information: "
                                "org.apache.hadoop.security.token.SecretManager$InvalidToken: "
                                "token (HDFS_DELEGATION_TOKEN) can't be found in cache")
            return user
        return q.get("user.name") or "dr.who"

    def handle_any(self):
        self.body_read = False
        try:
            path, q, u = self.parse()
            if path is None:
                return self.control(u)
            op = q.get("op", "").upper()
            if self.role == "namenode" and self.ns.kerberos and \
                    not self.headers.get("Authorization", "").startswith("Negotiate "):
                self.discard_body_if_unread()
                return self.send(401, b"Authentication required", "text/plain",
                                 [("WWW-Authenticate", "Negotiate")])
            user = self.user(q)
            if self.role == "namenode":
                self.maybe_fault(op)
                return self.namenode(op, path, q, user)
            return self.datanode(op, path, q, user)
        except HdfsError as e:
            self.discard_body_if_unread()
            self.fail(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def discard_body_if_unread(self):
        if not getattr(self, "body_read", False):
            try:
                self.discard_body()
            except OSError:
                self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = handle_any

    def control(self, u):
        q = dict(urllib.parse.parse_qsl(u.query))
        with self.ns.lock:
            if "drop_after" in q:
                self.ns.drop_after = int(q["drop_after"])
                self.ns.drop_times = int(q.get("drop_times", 1))
            if "flip_checksum" in q:
                self.ns.flip_checksum = q["flip_checksum"] == "1"
            if "kerberos" in q:
                self.ns.kerberos = q["kerberos"] == "1"
            if "liststatus_batch" in q:
                self.ns.no_batch = q["liststatus_batch"] == "0"
            if "fail_op" in q:
                self.ns.faults[q["fail_op"].upper()] = [
                    q.get("exception", "StandbyException"), int(q.get("status", 0)) or None,
                    int(q.get("times", 1))]
            stats = dict(self.ns.stats)
        self.send_json(stats)

    def maybe_fault(self, op):
        with self.ns.lock:
            f = self.ns.faults.get(op)
            if not f:
                return
            f[2] -= 1
            if f[2] <= 0:
                del self.ns.faults[op]
        raise HdfsError(f[0], "Operation category %s is not supported in state standby" % op
                        if f[0] == "StandbyException" else "injected failure", f[1])

    # -- NameNode --
    def redirect(self, path, q, extra=()):
        args = self.server.args
        params = [(k, v) for k, v in q.items() if k != "noredirect"]
        if args.httpfs:
            params.append(("data", "true"))
            port = self.server.server_address[1]
        else:
            params.append(("namenoderpcaddress", "127.0.0.1:%d" % self.server.nn_port))
            port = self.server.dn_port
        params.extend(extra)
        loc = "http://127.0.0.1:%d%s%s?%s" % (port, PREFIX, urllib.parse.quote(path),
                                                urllib.parse.urlencode(params))
        self.discard_body()
        if q.get("noredirect", "false").lower() == "true":
            return self.send_json({"Location": loc})
        self.send(307, b"", headers=[("Location", loc)], ctype="application/octet-stream")

    def namenode(self, op, path, q, user):
        ns = self.ns
        httpfs = self.server.args.httpfs
        data = q.get("data", "false").lower() == "true"
        cmd = self.command
        if cmd == "PUT" and op == "CREATE":
            ns.split(path)
            if httpfs and data:
                return self.datanode(op, path, q, user)
            return self.redirect(path, q)
        if cmd == "POST" and op == "APPEND":
            with ns.lock:
                ns.get(path, user)
            if httpfs and data:
                return self.datanode(op, path, q, user)
            return self.redirect(path, q)
        if cmd == "GET" and op in ("OPEN", "GETFILECHECKSUM"):
            with ns.lock:
                node = ns.get(path, user)
                if node.is_dir:
                    raise HdfsError("FileNotFoundException", "Path is not a file: " + path)
            if httpfs:
                return self.datanode(op, path, q, user)
            return self.redirect(path, q)
        self.discard_body()
        self.body_read = True
        with ns.lock:
            if cmd == "GET" and op == "GETFILESTATUS":
                return self.send_json({"FileStatus": ns.get(path, user).status("")})
            if cmd == "GET" and op == "LISTSTATUS":
                return self.send_json({"FileStatuses": {"FileStatus": self.list(path, user)}})
            if cmd == "GET" and op == "LISTSTATUS_BATCH" and not ns.no_batch:
                return self.list_batch(path, q, user)
            if cmd == "PUT" and op == "MKDIRS":
                ns.mkdirs(path, user, int(q.get("permission") or "755", 8))
                return self.send_json({"boolean": True})
            if cmd == "PUT" and op == "RENAME":
                dst = q.get("destination")
                if not dst:
                    raise HdfsError("IllegalArgumentException",
                                    "Invalid value for webhdfs parameter \"destination\"")
                return self.send_json({"boolean": ns.rename(path, dst, user)})
            if cmd == "DELETE" and op == "DELETE":
                rec = q.get("recursive", "false").lower() == "true"
                return self.send_json({"boolean": ns.delete(path, user, rec)})
            if cmd == "POST" and op == "CONCAT":
                ns.concat(path, q.get("sources", "").split(","), user)
                ns.stats["concat"] += 1
                return self.send(200, b"", ctype="application/octet-stream")
        kind = {"GET": "GetOpParam", "PUT": "PutOpParam", "POST": "PostOpParam",
                "DELETE": "DeleteOpParam"}[cmd]
        raise HdfsError("IllegalArgumentException",
                        "Invalid value for webhdfs parameter \"op\": No enum constant "
                        "org.apache.hadoop.hdfs.web.resources.%s.Op.%s" % (kind, op))

    def list(self, path, user):
        node = self.ns.get(path, user)
        if not node.is_dir:
            return [node.status("")]
        self.ns.check(user, node, "READ_EXECUTE")
        return [c.status(name) for name, c in self.ns.listing(node)]

    def list_batch(self, path, q, user):
        node = self.ns.get(path, user)
        if not node.is_dir:
            entries, remaining = [node.status("")], 0
        else:
            self.ns.check(user, node, "READ_EXECUTE")
            after = q.get("startAfter", "").encode()
            items = [(n, c) for n, c in self.ns.listing(node) if n.encode() > after]
            batch = items[:self.server.args.batch_size]
            entries = [c.status(n) for n, c in batch]
            remaining = len(items) - len(batch)
        self.send_json({"DirectoryListing": {
            "partialListing": {"FileStatuses": {"FileStatus": entries}},
            "remainingEntries": remaining}})

    # -- DataNode --
    def datanode(self, op, path, q, user):
        ns = self.ns
        args = self.server.args
        if not args.httpfs and not q.get("namenoderpcaddress"):
            raise HdfsError("IllegalArgumentException", "namenoderpcaddress is not specified.")
        if op in ("CREATE", "APPEND"):
            if args.httpfs and self.headers.get("Content-Type", "").split(";")[0].strip() \
                    != "application/octet-stream":
                self.discard_body()
                self.body_read = True
                body = ("<html><body><h2>HTTP ERROR 400</h2><p>Data upload requests must have "
                        "content-type set to 'application/octet-stream'</p></body></html>")
                return self.send(400, body.encode(), ctype="text/html;charset=iso-8859-1")
            with ns.lock:
                if op == "CREATE":
                    node = ns.start_file(path, user, q)
                    ns.stats["create"] += 1
                else:
                    node = ns.open_append(path, user)
                node.writer = "DFSClient_webhdfs_%s_%d" % (user, threading.get_ident())
                drop = ns.drop_after
                if drop is not None:
                    ns.drop_times -= 1
                    if ns.drop_times <= 0:
                        ns.drop_after = None
            self.body_read = True
            try:
                ok = self.receive(node, drop)
            finally:
                with ns.lock:
                    node.writer = None
                    node.mtime = int(time.time() * 1000)
            if not ok:
                self.close_connection = True
                return
            if op == "CREATE":
                loc = "hdfs://127.0.0.1:%d%s" % (self.server.nn_port, urllib.parse.quote(path))
                return self.send(201, b"", headers=[("Location", loc)],
                                 ctype="application/octet-stream")
            return self.send(200, b"", ctype="application/octet-stream")
        self.discard_body()
        self.body_read = True
        if op == "OPEN":
            return self.open_file(path, q, user)
        if op == "GETFILECHECKSUM":
            with ns.lock:
                node = ns.get(path, user)
                ns.check(user, node, "READ")
                blocks = list(node.blocks)
            result = ns.checksum(node) if blocks else file_checksum([])
            with ns.lock:
                if ns.flip_checksum:
                    ns.flip_checksum = False
                    fc = result["FileChecksum"]
                    fc["bytes"] = fc["bytes"][:-1] + ("0" if fc["bytes"][-1] != "0" else "1")
            return self.send_json(result)
        raise HdfsError("IllegalArgumentException", "Invalid operation " + op)

    def receive(self, node, drop):
        """Streams the body into the file; False when the client went away
        (or the drop hook fired): the file keeps what arrived, closed."""
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        left = None if chunked else int(self.headers.get("Content-Length") or 0)
        got = 0
        with open(self.ns.data_path(node), "ab") as f:
            for piece in self.body_pieces(left, chunked):
                if drop is not None and got + len(piece) >= drop:
                    piece = piece[:drop - got]
                    f.write(piece)
                    with self.ns.lock:
                        node.add_bytes(len(piece))
                    with self.ns.lock:
                        self.ns.stats["dropped"] += 1
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return False
                f.write(piece)
                got += len(piece)
                with self.ns.lock:
                    node.add_bytes(len(piece))
        return left is None or got == left

    def body_pieces(self, left, chunked):
        try:
            if chunked:
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return
                    data = self.rfile.read(size)
                    self.rfile.readline()
                    if len(data) < size:
                        yield data
                        return
                    yield data
            while left:
                b = self.rfile.read(min(left, 1 << 20))
                if not b:
                    return
                left -= len(b)
                yield b
        except (ConnectionResetError, socket.timeout):
            return

    def open_file(self, path, q, user):
        ns = self.ns
        with ns.lock:
            node = ns.get(path, user)
            if node.is_dir:
                raise HdfsError("FileNotFoundException", "Path is not a file: " + path)
            ns.check(user, node, "READ")
            size = node.length
            data_path = ns.data_path(node)
        offset = int(q.get("offset") or 0)
        length = q.get("length")
        if offset < 0:
            raise HdfsError("IllegalArgumentException",
                            "Invalid value for webhdfs parameter \"offset\": Invalid value: "
                            "\"%d\" does not satisfy the condition \">= 0\"" % offset)
        if offset > size:
            raise HdfsError("EOFException", "Cannot seek after EOF")
        n = size - offset
        if length not in (None, "", "null"):
            n = min(n, int(length))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        with open(data_path, "rb") as f:
            f.seek(offset)
            while n > 0:
                b = f.read(min(n, 1 << 20))
                if not b:
                    break
                self.wfile.write(b)
                n -= len(b)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def make_server(args, ns, role, port):
    handler = type("H_" + role, (Handler,), {"ns": ns, "role": role})
    srv = Server(("127.0.0.1", port), handler)
    srv.args = args
    srv.verbose = args.verbose
    return srv


def parse_args(argv):
    p = argparse.ArgumentParser(description="WebHDFS test server")
    p.add_argument("--dir", required=True)
    p.add_argument("--port-file")
    p.add_argument("--nn-port", type=int, default=0)
    p.add_argument("--dn-port", type=int, default=0)
    p.add_argument("--block-size", type=int, default=128 << 20)
    p.add_argument("--min-block-size", type=int, default=1 << 20)
    p.add_argument("--batch-size", type=int, default=1000)  # dfs.ls.limit
    p.add_argument("--superuser", default="hdfs")
    p.add_argument("--token", action="append", default=[], help="TOKEN=USER")
    p.add_argument("--httpfs", action="store_true")
    p.add_argument("--no-liststatus-batch", action="store_true")
    p.add_argument("--concat-partial-blocks", action="store_true")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def start(argv):
    """Starts the servers in threads; returns (nn_server, dn_server)."""
    args = parse_args(argv)
    ns = Namespace(args)
    nn = make_server(args, ns, "namenode", args.nn_port)
    dn = nn if args.httpfs else make_server(args, ns, "datanode", args.dn_port)
    for s in {nn, dn}:
        s.nn_port = nn.server_address[1]
        s.dn_port = dn.server_address[1]
        threading.Thread(target=s.serve_forever, daemon=True).start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps({"namenode": nn.nn_port, "datanode": nn.dn_port,
                                "pid": os.getpid()}) + "\n")
        os.rename(tmp, args.port_file)
    return nn, dn


def main():
    start(sys.argv[1:])
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
