#!/usr/bin/python3
"""A WebHDFS test server: NameNode and DataNode REST endpoints on separate
ports, data on disk, following Hadoop's documented protocol
(hadoop-hdfs/src/site/markdown/WebHDFS.md) and the NameNode/DataNode sources
where the documentation is silent. Python 3 standard library only.

    webhdfs_server.py --dir DIR [--port-file FILE] [--nn-port P] [--dn-port P]
                      [--block-size N] [--min-block-size N] [--batch-size N]
                      [--superuser NAME] [--token TOKEN=USER]...
                      [--httpfs] [--no-liststatus-batch] [--concat-partial-blocks]
                      [--checksum-type CRC32C|CRC32] [--combine-mode MD5MD5CRC|COMPOSITE_CRC]
                      [--standby [--nameservice NS]] [--tls-cert PEM --tls-key PEM]
                      [--token-key HEX] [--token-files DIR]

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
  * GETFILECHECKSUM as Hadoop serializes it: bytes padded to the 32-byte
    DataOutputBuffer (length 28); CRC32 chunks (--checksum-type); in
    HttpFS mode COMPOSITE-CRC (--combine-mode), which the DataNode's
    WebHDFS never answers.
  * HA (--standby): a second NameNode port on the same namespace; the
    standby answers StandbyException as Hadoop's StandbyState does.
  * HTTPS (--tls-cert/--tls-key) on every port, https:// redirects.
  * Hadoop delegation tokens (Token.encodeToUrlString, HMAC-SHA1 passwords)
    and credentials files in both formats (--token-files).
  * user.name pseudo authentication with POSIX permission checks
    (403 AccessControlException), delegation= tokens carried through the
    redirect, and an HttpFS mode (one port, redirect to itself with
    data=true, data requests need Content-Type: application/octet-stream).

Test hooks (not WebHDFS), GET /_control?... on any port, answering
counters {"concat", "create", "dropped", "standby", "active"}: failover=1,
failover_after=N and hang=I (-1 lifts it) for HA; checksum_algorithm=NAME
renames the next GETFILECHECKSUM's algorithm; drop_after=N[&drop_times=K] makes
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
import base64
import hmac
import ssl
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
import zlib

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


# ---- checksums: CRC32C/CRC32, MD5-of-MD5-of-CRC and COMPOSITE-CRC -----------
#
# dfs.checksum.type (--checksum-type) picks the per-chunk CRC a DataNode keeps
# in a block's .meta file: CRC32C (the default since Hadoop 2.0) or CRC32 (the
# gzip polynomial, zlib.crc32). DataChecksum.Type; MD5MD5CRC32FileChecksum.

def _crc_table(poly):
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C_POLY = 0x82F63B78  # reflected Castagnoli
CRC32_POLY = 0xEDB88320   # reflected IEEE (gzip)
CRC_TABLE = _crc_table(CRC32C_POLY)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    t = CRC_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def chunk_crc(ctype):
    """The per-chunk CRC function of a DataChecksum.Type."""
    return crc32c if ctype == "CRC32C" else zlib.crc32


def block_md5(data, ctype="CRC32C"):
    """A DataNode's block checksum in MD5MD5CRC mode: MD5 over the
    big-endian CRC of each 512-byte chunk of the block
    (BlockChecksumHelper.ReplicatedBlockChecksumComputer, the .meta CRCs)."""
    f = chunk_crc(ctype)
    crcs = b"".join(struct.pack(">I", f(data[i:i + CHUNK])) for i in range(0, len(data), CHUNK))
    return hashlib.md5(crcs).digest()


def data_output_buffer(parts):
    """What DataOutputBuffer.getData() returns after writing parts: the whole
    backing array (initial capacity 32 - ByteArrayOutputStream's default -
    doubled as needed), zero padded. FileChecksumHelper.makeMd5CrcResult
    digests exactly that (MD5Hash.digest(blockChecksumBuf.getData())), and
    FileChecksum.getBytes() of MD5MD5CRC32FileChecksum is
    WritableUtils.toByteArray(this), i.e. the same kind of array."""
    n = sum(len(p) for p in parts)
    cap = 32
    while cap < n:
        cap *= 2
    return b"".join(parts) + b"\0" * (cap - n)


# CrcUtil (hadoop-common org.apache.hadoop.util.CrcUtil): polynomials in the
# reflected representation, the top bit being x^0.
MULTIPLICATIVE_IDENTITY = 1 << 31


def gf_multiply(p, q, m):
    """CrcUtil.galoisFieldMultiply."""
    summation, cur, px = 0, MULTIPLICATIVE_IDENTITY, p
    while cur:
        if q & cur:
            summation ^= px
        has_max = px & 1
        px >>= 1
        if has_max:
            px ^= m
        cur >>= 1
    return summation


def monomial(length_bytes, m):
    """CrcUtil.getMonomial: x^(8 * length_bytes) mod m."""
    if length_bytes == 0:
        return MULTIPLICATIVE_IDENTITY
    mult, product, degree = 0x00800000, MULTIPLICATIVE_IDENTITY, length_bytes  # x^8
    while degree > 0:
        if degree & 1:
            product = mult if product == MULTIPLICATIVE_IDENTITY else gf_multiply(product, mult, m)
        mult = gf_multiply(mult, mult, m)
        degree >>= 1
    return product


def compose_crcs(crcs_and_lengths, ctype):
    """CrcComposer.update/digest over (crc, length) pairs: the CRC of the
    concatenation (CrcUtil.composeWithMonomial)."""
    m = CRC32C_POLY if ctype == "CRC32C" else CRC32_POLY
    cur = None
    for crc, n in crcs_and_lengths:
        cur = crc if cur is None else gf_multiply(cur, monomial(n, m), m) ^ crc
    return cur or 0


def empty_file_checksum():
    """FileChecksumHelper.FileChecksumComputer.compute for an empty file, in
    any combine mode: the "magic" MD5MD5CRC32GzipFileChecksum(0, 0,
    MD5Hash.digest(new byte[32]))."""
    return md5crc_result(0, 0, hashlib.md5(b"\0" * 32).digest(), "CRC32")


def md5crc_result(bpc, cpb, md5, ctype):
    """JsonUtil.toJsonString(MD5MD5CRC32FileChecksum): algorithm
    (getAlgorithmName: "MD5-of-" + crcPerBlock + "MD5-of-" + bytesPerCRC +
    crcType), length (LENGTH = 16 + 4 + 8 = 28) and bytes =
    StringUtils.byteToHexString(getBytes()), where getBytes() is
    WritableUtils.toByteArray(this): the 28 bytes of write() (int
    bytesPerCRC, long crcPerBlock, MD5) in DataOutputBuffer's 32-byte
    backing array, so 64 hex digits of which the last 8 are zero."""
    raw = struct.pack(">iq", bpc, cpb) + md5
    return {"FileChecksum": {"algorithm": "MD5-of-%dMD5-of-%d%s" % (cpb, bpc, ctype),
                             "bytes": data_output_buffer([raw]).hex(), "length": len(raw)}}


def file_checksum(block_datas, ctype="CRC32C"):
    """FileChecksumHelper.makeMd5CrcResult for a replicated file."""
    if not block_datas:
        return empty_file_checksum()
    md5 = hashlib.md5(data_output_buffer([block_md5(b, ctype) for b in block_datas])).digest()
    # crcPerBlock comes from the first block's reply, only for >1 block
    cpb = (len(block_datas[0]) + CHUNK - 1) // CHUNK if len(block_datas) > 1 else 0
    return md5crc_result(CHUNK, cpb, md5, ctype)


def composite_checksum(block_datas, ctype="CRC32C"):
    """FileChecksumHelper.makeCompositeCrcResult (dfs.checksum.combine.mode
    = COMPOSITE_CRC): each block's CRC (BlockChecksumHelper's composite of
    its chunk CRCs, i.e. the CRC of the block) composed over the block
    lengths; reported as HttpFS's FSOperations.fileChecksumToJSON writes a
    CompositeCrcFileChecksum: algorithm "COMPOSITE-" + crcType.name(),
    bytes = CrcUtil.intToBytes(crc) (4 bytes, no buffer), length = 4."""
    if not block_datas:
        return empty_file_checksum()
    f = chunk_crc(ctype)
    crc = compose_crcs([(f(b), len(b)) for b in block_datas], ctype)
    # HttpFS's LinkedHashMap order: algorithm, bytes, length
    return {"FileChecksum": {"algorithm": "COMPOSITE-" + ctype,
                             "bytes": struct.pack(">I", crc).hex(), "length": 4}}


# ---- delegation tokens and the Hadoop token storage file ------------------
#
# A delegation token is Token.write()'s Writable: vint identifier length,
# identifier, vint password length, password, Text kind, Text service
# (Token.write/readFields). Token.encodeToUrlString() is
# encodeWritable(this): that Writable in URL-safe base64 without padding
# (commons-codec Base64(0, null, true)); it is what delegation= carries.
# The identifier of an HDFS token is AbstractDelegationTokenIdentifier.write:
# byte version (0), Text owner, Text renewer, Text realUser, vlong
# issueDate, vlong maxDate, vint sequenceNumber, vint masterKeyId; the
# password is HMAC-SHA1(master key, identifier)
# (SecretManager.createPassword). Kinds: HDFS_DELEGATION_TOKEN
# (DelegationTokenIdentifier.HDFS_DELEGATION_KIND), "WEBHDFS delegation" and
# "SWEBHDFS delegation" (WebHdfsConstants.WEBHDFS_TOKEN_KIND/SWEBHDFS_...).

HDFS_TOKEN_KINDS = ("HDFS_DELEGATION_TOKEN", "WEBHDFS delegation", "SWEBHDFS delegation")


def write_vlong(n):
    """WritableUtils.writeVLong."""
    if -112 <= n <= 127:
        return struct.pack("b", n)
    length = -112
    if n < 0:
        n ^= -1
        length = -120
    tmp = n
    while tmp:
        tmp >>= 8
        length -= 1
    size = -(length + 120) if length < -120 else -(length + 112)
    return struct.pack("b", length) + n.to_bytes(size, "big")


def read_vlong(buf, pos):
    """WritableUtils.readVLong: (value, next position)."""
    first = struct.unpack_from("b", buf, pos)[0]
    if first >= -112:
        return first, pos + 1
    size = (-119 - first) if first < -120 else (-111 - first)
    n = int.from_bytes(buf[pos + 1:pos + size], "big")
    if first < -120:
        n ^= -1
    return n, pos + size


def text(b):
    """Text.write: vint length, UTF-8 bytes."""
    return write_vlong(len(b)) + b


def read_text(buf, pos):
    n, pos = read_vlong(buf, pos)
    if n < 0 or pos + n > len(buf):
        raise ValueError("truncated")
    return buf[pos:pos + n], pos + n


def token_identifier(owner, renewer=b"yarn", seq=1, key_id=1):
    now = int(time.time() * 1000)
    return (b"\0" + text(owner) + text(renewer) + text(b"") + write_vlong(now)
            + write_vlong(now + 7 * 86400 * 1000) + write_vlong(seq) + write_vlong(key_id))


def make_token(key, owner, kind, service, seq=1):
    ident = token_identifier(owner.encode(), seq=seq)
    pw = hmac.new(key, ident, hashlib.sha1).digest()
    return (ident, pw, kind.encode(), service.encode())


def token_writable(tok):
    ident, pw, kind, service = tok
    return write_vlong(len(ident)) + ident + write_vlong(len(pw)) + pw + text(kind) + text(service)


def encode_url_string(tok):
    return base64.urlsafe_b64encode(token_writable(tok)).rstrip(b"=").decode()


def decode_url_string(s):
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    n, pos = read_vlong(raw, 0)
    ident, pos = raw[pos:pos + n], pos + n
    n, pos = read_vlong(raw, pos)
    pw, pos = raw[pos:pos + n], pos + n
    kind, pos = read_text(raw, pos)
    service, pos = read_text(raw, pos)
    if pos != len(raw):
        raise ValueError("trailing bytes")
    return ident, pw, kind, service


def identifier_owner(ident):
    if not ident or ident[0] != 0:
        raise ValueError("unknown identifier version")
    owner, _ = read_text(ident, 1)
    return owner.decode()


def pb_varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_field(num, data):
    """A length-delimited protobuf field."""
    return pb_varint(num << 3 | 2) + pb_varint(len(data)) + data


def credentials_file(tokens, secrets, fmt):
    """Credentials.writeTokenStorageToStream: "HDTS", the format byte
    (SerializedFormat WRITABLE 0, PROTOBUF 1), then Credentials.write
    (vint count, Text alias + Token.write each; vint count, Text alias +
    vint length + bytes per secret) or writeProto (a CredentialsProto,
    writeDelimitedTo: varint length first; Security.proto: tokens = 1,
    secrets = 2 of CredentialsKVProto {alias = 1, TokenProto token = 2,
    bytes secret = 3}; TokenProto {identifier 1, password 2, kind 3,
    service 4})."""
    if fmt == "writable":
        body = write_vlong(len(tokens))
        for alias, tok in tokens:
            body += text(alias.encode()) + token_writable(tok)
        body += write_vlong(len(secrets))
        for alias, value in secrets:
            body += text(alias.encode()) + write_vlong(len(value)) + value
        return b"HDTS\0" + body
    msg = b""
    for alias, (ident, pw, kind, service) in tokens:
        tp = pb_field(1, ident) + pb_field(2, pw) + pb_field(3, kind) + pb_field(4, service)
        msg += pb_field(1, pb_field(1, alias.encode()) + pb_field(2, tp))
    for alias, value in secrets:
        msg += pb_field(2, pb_field(1, alias.encode()) + pb_field(3, value))
    return b"HDTS\1" + pb_varint(len(msg)) + msg


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
        self.checksum_algorithm = None
        self.kerberos = False
        self.no_batch = args.no_liststatus_batch
        self.stats = {"concat": 0, "create": 0, "dropped": 0, "standby": 0}
        # HA (--standby): index of the active NameNode; failover_after counts
        # the requests the active one still answers before the switch
        self.active = 0
        self.failover_after = None
        self.hang = None  # index of a NameNode that accepts but never answers
        self.token_key = bytes.fromhex(args.token_key) if args.token_key else os.urandom(20)

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

    def checksum(self, node, combine):
        datas = []
        with open(self.data_path(node), "rb") as f:
            for n in node.blocks:
                datas.append(f.read(n))
        if combine == "COMPOSITE_CRC":
            return composite_checksum(datas, self.args.checksum_type)
        return file_checksum(datas, self.args.checksum_type)


# ---- HTTP --------------------------------------------------------------------

PREFIX = "/webhdfs/v1"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "Jetty(9.4.51.v20230217)"
    ns = None          # Namespace, set on the class per server
    role = "namenode"  # or "datanode"

    nn_index = None    # which NameNode of an HA pair; None without --standby

    def setup(self):
        """TLS per connection, in the handler's thread, so that a client that
        fails the handshake (an unverified certificate) holds up no other."""
        if self.server.tls:
            self.request.settimeout(10)
            self.request = self.server.tls.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()

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
            user = self.ns.tokens.get(tok) or self.token_owner(tok)
            if user is None:
                raise HdfsError("SecurityException",
                                "Failed to obtain user group information: "
                                "org.apache.hadoop.security.token.SecretManager$InvalidToken: "
                                "token (HDFS_DELEGATION_TOKEN) can't be found in cache")
            return user
        return q.get("user.name") or "dr.who"

    def token_owner(self, url_string):
        """A token in Token.encodeToUrlString form, checked as the NameNode's
        DelegationTokenSecretManager does (retrievePassword: the password
        must be HMAC-SHA1 of the identifier with the master key); the
        identifier's owner is the user. None when it does not check out."""
        try:
            ident, pw, kind, _ = decode_url_string(url_string)
            owner = identifier_owner(ident)
        except (ValueError, IndexError, struct.error, UnicodeDecodeError):
            return None
        good = hmac.new(self.ns.token_key, ident, hashlib.sha1).digest()
        if kind.decode("latin-1") not in HDFS_TOKEN_KINDS or not hmac.compare_digest(pw, good):
            return None
        with self.ns.lock:
            self.ns.stats["token_users"] = self.ns.stats.get("token_users", 0) + 1
        return owner

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
            if self.role == "namenode":
                self.ha_state(op)
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
            if "failover" in q:
                self.ns.active = 1 - self.ns.active
            if "failover_after" in q:
                self.ns.failover_after = int(q["failover_after"])
            if "hang" in q:
                self.ns.hang = int(q["hang"]) if int(q["hang"]) >= 0 else None
            if "checksum_algorithm" in q:
                self.ns.checksum_algorithm = q["checksum_algorithm"]
            if "kerberos" in q:
                self.ns.kerberos = q["kerberos"] == "1"
            if "liststatus_batch" in q:
                self.ns.no_batch = q["liststatus_batch"] == "0"
            if "fail_op" in q:
                self.ns.faults[q["fail_op"].upper()] = [
                    q.get("exception", "StandbyException"), int(q.get("status", 0)) or None,
                    int(q.get("times", 1))]
            stats = dict(self.ns.stats)
            stats["active"] = self.ns.active
        self.send_json(stats)

    # HA. A standby NameNode's RPC methods call FSNamesystem.checkOperation,
    # whose StandbyState.checkOperation throws StandbyException("Operation
    # category " + op + " is not supported in state standby. Visit
    # https://s.apache.org/sbnn-error"); WebHDFS's ExceptionHandler answers
    # it as any IOException: 403 RemoteException. READ: getFileInfo,
    # getListing, getBlockLocations (GETFILESTATUS, LISTSTATUS[_BATCH], and
    # NamenodeWebHdfsMethods.redirectURI's getFileInfo for OPEN,
    # GETFILECHECKSUM and APPEND); WRITE: mkdirs, rename, delete, concat.
    # CREATE is redirected even by a standby: chooseDatanode picks a DataNode
    # from the BlockManager without an HA check, and the DataNode's
    # DFSClient reaches the active NameNode through the nameservice in
    # namenoderpcaddress (NamenodeAddressParam).
    STANDBY_READ = ("GETFILESTATUS", "LISTSTATUS", "LISTSTATUS_BATCH", "OPEN",
                    "GETFILECHECKSUM", "APPEND")
    STANDBY_WRITE = ("MKDIRS", "RENAME", "DELETE", "CONCAT")

    def ha_state(self, op):
        ns = self.ns
        if self.nn_index is None:
            return
        with ns.lock:
            hang = ns.hang == self.nn_index
        if hang:
            self.hang_up()
            raise ConnectionResetError("hung up")
        with ns.lock:
            standby = self.nn_index != ns.active
            if not standby and ns.failover_after is not None:
                ns.failover_after -= 1
                if ns.failover_after <= 0:
                    ns.failover_after = None
                    ns.active = 1 - ns.active
            if standby and op in self.STANDBY_READ + self.STANDBY_WRITE:
                ns.stats["standby"] += 1
        if standby and op in self.STANDBY_READ + self.STANDBY_WRITE:
            category = "READ" if op in self.STANDBY_READ else "WRITE"
            raise HdfsError("StandbyException", "Operation category %s is not supported in "
                            "state standby. Visit https://s.apache.org/sbnn-error" % category)

    def hang_up(self):
        """A NameNode that accepted the connection but does not answer (a
        stuck JVM, a dead host behind a kept-alive socket): waits until the
        test lifts it or 30 s, then closes without a reply."""
        for _ in range(300):
            with self.ns.lock:
                if self.ns.hang != self.nn_index:
                    break
            time.sleep(0.1)
        self.close_connection = True

    def maybe_fault(self, op):
        with self.ns.lock:
            f = self.ns.faults.get(op)
            if not f:
                return
            f[2] -= 1
            if f[2] <= 0:
                del self.ns.faults[op]
        raise HdfsError(f[0], "Operation category %s is not supported in state standby. "
                        "Visit https://s.apache.org/sbnn-error"
                        % ("WRITE" if op in self.STANDBY_WRITE else "READ")
                        if f[0] == "StandbyException" else "injected failure", f[1])

    # -- NameNode --
    def redirect(self, path, q, extra=()):
        args = self.server.args
        params = [(k, v) for k, v in q.items() if k != "noredirect"]
        if args.httpfs:
            params.append(("data", "true"))
            port = self.server.server_address[1]
        else:
            # NamenodeAddressParam: the nameservice of an HA cluster
            rpc = args.nameservice if args.standby else "127.0.0.1:%d" % self.server.nn_port
            params.append(("namenoderpcaddress", rpc))
            port = self.server.dn_port
        params.extend(extra)
        # redirectURI: https and the DataNode's infoSecurePort on an HTTPS cluster
        loc = "%s://127.0.0.1:%d%s%s?%s" % (self.server.scheme, port, PREFIX,
                                              urllib.parse.quote(path),
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
            # The DataNode (WebHdfsHandler.onGetFileChecksum) calls
            # DFSClient.getFileChecksum(path, Long.MAX_VALUE), which always
            # combines as MD5MD5CRC; HttpFS (FSOperations.FSFileChecksum) calls
            # FileSystem.getFileChecksum, i.e. DistributedFileSystem's
            # getFileChecksumWithCombineMode with dfs.checksum.combine.mode.
            combine = args.combine_mode if args.httpfs else "MD5MD5CRC"
            result = ns.checksum(node, combine) if blocks else empty_file_checksum()
            with ns.lock:
                fc = result["FileChecksum"]
                if ns.flip_checksum:
                    ns.flip_checksum = False
                    i = 2 * fc["length"] - 1  # the last meaningful digit
                    fc["bytes"] = fc["bytes"][:i] + ("0" if fc["bytes"][i] != "0" else "1") \
                        + fc["bytes"][i + 1:]
                if ns.checksum_algorithm:
                    fc["algorithm"], ns.checksum_algorithm = ns.checksum_algorithm, None
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

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError, socket.timeout)):
            super().handle_error(request, client_address)


def make_server(args, ns, role, port, nn_index=None):
    handler = type("H_" + role, (Handler,), {"ns": ns, "role": role, "nn_index": nn_index})
    srv = Server(("127.0.0.1", port), handler)
    srv.args = args
    srv.verbose = args.verbose
    srv.tls = None
    srv.scheme = "http"
    if args.tls_cert:
        srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.tls.load_cert_chain(args.tls_cert, args.tls_key)
        srv.scheme = "https"
    return srv


def write_token_files(args, nn_ports):
    """DIR/tokens.writable and DIR/tokens.protobuf: the same credentials in
    both of Hadoop's formats, for the tests. The NameNode's own token is
    second, after a token of another kind for the same service; a token for
    another cluster and a secret key are there too, so that picking by kind
    and service is exercised."""
    kind = "SWEBHDFS delegation" if args.tls_cert else "WEBHDFS delegation"
    key = bytes.fromhex(args.token_key)
    tokens = [("kms", make_token(key, "eve", "kms-dt", "127.0.0.1:%d" % nn_ports[0], 5)),
              ("nn", make_token(key, "carol", kind, "127.0.0.1:%d" % nn_ports[0], 6)),
              ("other", make_token(key, "mallory", "HDFS_DELEGATION_TOKEN",
                                   "192.0.2.1:8020", 7))]
    if args.standby:
        tokens.append(("ha", make_token(key, "dave", "HDFS_DELEGATION_TOKEN",
                                        "ha-hdfs:" + args.nameservice, 8)))
    secrets = [("kvtest.secret", b"not a token")]
    for fmt in ("writable", "protobuf"):
        path = os.path.join(args.token_files, "tokens." + fmt)
        with open(path, "wb") as f:
            f.write(credentials_file(tokens, secrets, fmt))


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
    p.add_argument("--checksum-type", choices=("CRC32C", "CRC32"), default="CRC32C",
                   help="dfs.checksum.type")
    p.add_argument("--combine-mode", choices=("MD5MD5CRC", "COMPOSITE_CRC"),
                   default="MD5MD5CRC", help="dfs.checksum.combine.mode (HttpFS only)")
    p.add_argument("--standby", action="store_true",
                   help="HA: a second NameNode port, standby until a failover")
    p.add_argument("--nameservice", default="kvns", help="dfs.nameservices, for HA")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="its private key (PEM)")
    p.add_argument("--token-key", help="hex master key of delegation tokens")
    p.add_argument("--token-files", help="write tokens.writable/.protobuf into this directory")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def start(argv):
    """Starts the servers in threads; returns (nn_server, dn_server)."""
    args = parse_args(argv)
    if args.standby and args.httpfs:
        sys.exit("--standby and --httpfs exclude each other (HttpFS is a client of the HA pair)")
    if args.token_files and not args.token_key:
        args.token_key = os.urandom(20).hex()
    ns = Namespace(args)
    nn = make_server(args, ns, "namenode", args.nn_port, 0 if args.standby else None)
    nn2 = make_server(args, ns, "namenode", 0, 1) if args.standby else None
    dn = nn if args.httpfs else make_server(args, ns, "datanode", args.dn_port)
    servers = [s for s in (nn, nn2, dn) if s is not None]
    for s in set(servers):
        s.nn_port = nn.server_address[1]
        s.dn_port = dn.server_address[1]
        threading.Thread(target=s.serve_forever, daemon=True).start()
    nn.standby_server = nn2
    if args.token_files:
        write_token_files(args, [nn.nn_port] + ([nn2.server_address[1]] if nn2 else []))
    if args.port_file:
        tmp = args.port_file + ".tmp"
        ports = {"namenode": nn.nn_port, "datanode": nn.dn_port, "pid": os.getpid()}
        if nn2:
            ports["namenode2"] = nn2.server_address[1]
        with open(tmp, "w") as f:
            f.write(json.dumps(ports) + "\n")
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
