"""A webhook receiver for the delivery tests, checking signatures with the
Standard Webhooks reference library from PyPI (`standardwebhooks`), not
with Vigia's own code.

    python3 webhook-receiver.py PORT_FILE LOG SECRET

It listens on a free 127.0.0.1 port (written to PORT_FILE) and answers by
path:

- /ok      200
- /fail3   500 to the first three attempts of each event, then 200
- /dead    503, until POST /control/heal, then 200
- /slow    200 after two seconds
- /slack   200 "ok", as Slack's incoming webhooks answer

Every request is a line of LOG (JSON): the path, the webhook-id, whether
the signature verified, the attempt number for that path and id, the status
answered and the body. /slow also writes a line when a request arrives,
before it waits.
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks

port_file, log_path, secret = sys.argv[1:4]
verifier = standardwebhooks.Webhook(secret)
lock = threading.Lock()
attempts = {}
healed = {"dead": False}
log = open(log_path, "a", encoding="utf-8")


def write(entry):
    with lock:
        log.write(json.dumps(entry) + "\n")
        log.flush()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        path = self.path
        if path == "/control/heal":
            healed["dead"] = True
            return self.answer(200, b"healed")
        event_id = self.headers.get("webhook-id")
        try:
            verifier.verify(body, dict(self.headers))
            valid = True
        except Exception:  # any failure: not valid
            valid = False
        with lock:
            key = (path, event_id)
            attempts[key] = attempts.get(key, 0) + 1
            attempt = attempts[key]
        if path == "/fail3":
            status = 500 if attempt <= 3 else 200
        elif path == "/dead":
            status = 200 if healed["dead"] else 503
        elif path == "/slow":
            write({"path": path, "id": event_id, "arrived": True, "attempt": attempt})
            time.sleep(2)
            status = 200
        else:
            status = 200
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        write({"path": path, "id": event_id, "valid": valid, "attempt": attempt,
               "status": status, "body": parsed})
        self.answer(status, b"ok" if status == 200 else b"not now")

    def answer(self, status, text):
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
os.replace(port_file + ".tmp", port_file)
server.serve_forever()
