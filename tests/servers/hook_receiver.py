#!/usr/bin/env python3
"""A webhook receiver for the notification tests: records every POST.

    hook_receiver.py DIR

Listens on 127.0.0.1 on a port the kernel picks, writes it to DIR/port, and
appends each request as one JSON line to DIR/requests: its path, headers and
body (parsed as JSON, or null when it is not JSON). The path says how to
answer:

    /ok                200
    /flaky-N           500 to the first N requests on this path, then 200
    /forbidden         403
    /slow              answers 200 after 30 s (for timeouts)
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
seen = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        with lock:
            n = seen[self.path] = seen.get(self.path, 0) + 1
            with open(os.path.join(DIR, "requests"), "a") as f:
                f.write(json.dumps({"path": self.path, "headers": dict(self.headers),
                                    "body": doc}) + "\n")
        status = 200
        if self.path.startswith("/flaky-") and n <= int(self.path[7:]):
            status = 500
        elif self.path == "/forbidden":
            status = 403
        elif self.path == "/slow":
            time.sleep(30)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
