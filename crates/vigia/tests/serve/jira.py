"""A stand-in for Jira's REST API (v2) in the delivery tests: Jira itself
cannot run here. It checks what Jira checks of the calls Vigia makes and
keeps the issues it is given.

    python3 jira.py PORT_FILE EMAIL TOKEN

- Every call needs HTTP basic authentication with EMAIL and the API token
  TOKEN (Jira Cloud's scheme): 401 otherwise.
- GET  /rest/api/2/search/jql?jql=project = "P" AND labels = "L"
                                              issues of project P carrying label L
- GET  /rest/api/2/search                     410: Jira Cloud retired it
- POST /rest/api/2/issue                      201 {id, key, self}; 400 with
  Jira's {"errorMessages", "errors"} when the project is not SEC, the issue
  type not Bug or Task, the summary empty or over 255 characters, the
  description not a string, or a label holds a space
- POST /rest/api/2/issue/KEY/comment          201; 404 for an unknown issue
- GET  /control/state                         every issue with its comments
"""

import base64
import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

port_file, email, token = sys.argv[1:4]
expected = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
lock = threading.Lock()
issues = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        if self.headers.get("authorization") != expected:
            self.reply(401, {"errorMessages": ["You are not authenticated."], "errors": {}})
            return False
        return True

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/control/state":
            with lock:
                return self.reply(200, {"issues": issues})
        if not self.authorized():
            return
        if url.path == "/rest/api/2/search":
            return self.reply(410, {"errorMessages": ["The requested API has been removed. Please migrate to /rest/api/2/search/jql."], "errors": {}})
        if url.path == "/rest/api/2/search/jql":
            jql = parse_qs(url.query).get("jql", [""])[0]
            m = re.fullmatch(r'\s*project\s*=\s*"([A-Z0-9_]+)"\s+AND\s+labels\s*=\s*"([^"]+)"\s*', jql)
            if not m:
                return self.reply(400, {"errorMessages": [f"unsupported JQL: {jql}"], "errors": {}})
            with lock:
                found = [{"key": k, "fields": {}} for k, i in issues.items()
                         if i["fields"]["project"]["key"] == m.group(1) and m.group(2) in i["fields"]["labels"]]
            return self.reply(200, {"issues": found, "isLast": True})
        self.reply(404, {"errorMessages": ["not found"], "errors": {}})

    def do_POST(self):
        if not self.authorized():
            return
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            doc = json.loads(body)
        except ValueError:
            return self.reply(400, {"errorMessages": ["Unexpected character"], "errors": {}})
        path = urlparse(self.path).path
        if path == "/rest/api/2/issue":
            fields = doc.get("fields", {})
            errors = {}
            if fields.get("project", {}).get("key") != "SEC":
                errors["project"] = "valid project is required"
            if fields.get("issuetype", {}).get("name") not in ("Bug", "Task"):
                errors["issuetype"] = "valid issue type is required"
            summary = fields.get("summary")
            if not isinstance(summary, str) or not summary or len(summary) > 255:
                errors["summary"] = "Summary must be less than 255 characters."
            if not isinstance(fields.get("description"), str):
                errors["description"] = "Operation value must be a string"
            if any(" " in l for l in fields.get("labels", [])):
                errors["labels"] = "The label 'x y' contains spaces which is invalid."
            if errors:
                return self.reply(400, {"errorMessages": [], "errors": errors})
            with lock:
                key = f"SEC-{len(issues) + 1}"
                issues[key] = {"fields": fields, "comments": []}
            return self.reply(201, {"id": str(10000 + len(issues)), "key": key,
                                    "self": f"http://127.0.0.1/rest/api/2/issue/{key}"})
        m = re.fullmatch(r"/rest/api/2/issue/([A-Z]+-\d+)/comment", path)
        if m:
            with lock:
                if m.group(1) not in issues:
                    return self.reply(404, {"errorMessages": ["Issue does not exist"], "errors": {}})
                if not isinstance(doc.get("body"), str):
                    return self.reply(400, {"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}})
                issues[m.group(1)]["comments"].append(doc["body"])
            return self.reply(201, {"id": "1", "body": doc["body"]})
        self.reply(404, {"errorMessages": ["not found"], "errors": {}})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w", encoding="utf-8") as f:
    f.write(str(server.server_address[1]))
os.replace(port_file + ".tmp", port_file)
server.serve_forever()
