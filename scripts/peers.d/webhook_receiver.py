"""A Standard Webhooks receiver for integration tests (run by scripts/peers).

Every request outside /_control/ is a delivery (any method, any path): it is
verified with PyPI's standardwebhooks against each configured secret (the
library's own 5-minute timestamp tolerance), recorded, and answered with the
next scripted response. Tests drive it over HTTP:

  POST /_control/secrets   {"secrets": ["whsec_...", ...]}      replaces the secrets
  POST /_control/script    {"responses": [spec...], "default": spec, "path": "/a"}
                           appends to the queue (of that path, when given; a
                           spec may carry its own "path") and sets the default
  GET  /_control/received[?path=/a]   {"deliveries": [record...]}
  POST /_control/reset     forgets records, queues and defaults (not secrets)

A spec is {"status": 200, "headers": {}, "body": "", "delay_ms": 0}, all
optional. Prints "listening on PORT" on stdout once bound; nothing else goes
to stdout, and request logs go to stderr only with --verbose (a test that
pipes stderr and never reads it must not block us).
"""

import argparse
import json
import signal
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from standardwebhooks import Webhook


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.secrets = []
        self.reset()

    def reset(self):
        self.deliveries = []
        self.queue = deque()
        self.default = {}
        # Per-path scripts: a path listed here uses only its own queue, then
        # its own default, then the global default (never the global queue,
        # which other paths' deliveries are counting on).
        self.path_queues = {}
        self.path_defaults = {}

    def add_script(self, responses, default, path):
        for spec in responses:
            p = spec.get("path", path)
            if p is None:
                self.queue.append(spec)
            else:
                self.path_queues.setdefault(p, deque()).append(spec)
        if default is not None:
            p = default.get("path", path)
            if p is None:
                self.default = default
            else:
                self.path_queues.setdefault(p, deque())
                self.path_defaults[p] = default

    def next_response(self, path):
        if path in self.path_queues:
            queue = self.path_queues[path]
            return queue.popleft() if queue else self.path_defaults.get(path, self.default)
        return self.queue.popleft() if self.queue else self.default


STATE = State()


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a delivery sleeping for delay_ms blocks neither others nor exit
    request_queue_size = 128  # parallel senders must not be refused


def verify(body, headers, secrets):
    """Indexes of the secrets that verify the delivery, and the last error."""
    verified, error = [], "no secret configured" if not secrets else None
    for i, secret in enumerate(secrets):
        try:
            # json_parse=False: the signature is what is checked, not the body's shape.
            Webhook(secret).verify(body, headers, json_parse=False)
            verified.append(i)
        except Exception as e:  # a bad secret or header fails that secret, not the receiver
            error = f"{type(e).__name__}: {e}"
    return verified, (None if verified else error)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do; every answer has a Content-Length

    def __getattr__(self, name):
        # http.server dispatches on do_<METHOD>: take every method.
        if name.startswith("do_"):
            return self.dispatch
        raise AttributeError(name)

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    # trailers up to the blank line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size + 2)[:size]  # the chunk and its CRLF
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def answer_json(self, status, value):
        self.answer(status, json.dumps(value).encode(), {"Content-Type": "application/json"})

    def dispatch(self):
        url = urlsplit(self.path)
        body = self.read_body()
        try:
            if url.path.startswith("/_control/"):
                self.control(url, body)
            else:
                self.delivery(url.path, body)
        except (BrokenPipeError, ConnectionResetError):
            # The sender gave up (its timeout ran out during delay_ms).
            self.close_connection = True

    def control(self, url, body):
        try:
            req = json.loads(body) if body else {}
        except ValueError as e:
            return self.answer_json(400, {"error": f"bad JSON: {e}"})
        with STATE.lock:
            if (self.command, url.path) == ("POST", "/_control/secrets"):
                STATE.secrets = list(req.get("secrets", []))
            elif (self.command, url.path) == ("POST", "/_control/script"):
                STATE.add_script(req.get("responses", []), req.get("default"), req.get("path"))
            elif (self.command, url.path) == ("POST", "/_control/reset"):
                STATE.reset()
            elif (self.command, url.path) == ("GET", "/_control/received"):
                path = parse_qs(url.query).get("path", [None])[0]
                found = [d for d in STATE.deliveries if path is None or d["path"] == path]
                return self.answer_json(200, {"deliveries": found})
            else:
                return self.answer_json(404, {"error": f"no control {self.command} {url.path}"})
        self.answer_json(200, {"ok": True})

    def delivery(self, path, body):
        headers = {k.lower(): v for k, v in self.headers.items()}
        with STATE.lock:
            secrets = list(STATE.secrets)
        verified, error = verify(body, headers, secrets)
        with STATE.lock:
            spec = STATE.next_response(path)
            status = int(spec.get("status", 200))
            # Recorded before the delay, so a test sees a delivery its sender is still waiting on.
            STATE.deliveries.append({
                "seq": len(STATE.deliveries) + 1,
                "path": path,
                "webhook_id": headers.get("webhook-id"),
                "webhook_timestamp": headers.get("webhook-timestamp"),
                "webhook_signature": headers.get("webhook-signature"),
                "content_type": headers.get("content-type"),
                "authorization": headers.get("authorization"),
                "body": body.decode("utf-8", errors="replace"),
                "verified_with": verified,
                "error": error,
                "received_at": time.time(),
                "status": status,
            })
        if spec.get("delay_ms"):
            time.sleep(int(spec["delay_ms"]) / 1000)
        self.answer(status, str(spec.get("body", "")).encode(), spec.get("headers"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0, the default: a free one)")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args()

    server = Server(("127.0.0.1", args.port), Handler)
    server.verbose = args.verbose

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
