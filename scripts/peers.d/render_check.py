#!/usr/bin/env python3
"""Checks that the GraphiQL page at URL really renders in headless Chromium
with no request leaving the host.

    render_check.py URL [--token TOKEN]   check the page at URL
    render_check.py --self-test           serve services/gateway/static/graphiql
                                          as the gateway does and check it
    render_check.py --serve [--port N]    only serve it (until interrupted)

--self-test and --serve answer GET /graphql with index.html, GET
/graphql/assets/FILE with the folder's files, both with the gateway's CSP (see
CSP below; --csp to try another), and POST /graphql with a one-field schema.

Chromium (/usr/bin/chromium, or $CHROMIUM) runs headless with every host name
but 127.0.0.1 unresolvable, driven over its DevTools pipe (standard library
only). The page passes when GraphiQL's container and editors are in the DOM,
its settings, short-keys and documentation panels open, dragging selected
text in the query editor works, and there was no
Content-Security-Policy violation, no uncaught script error and no request to
another origin. With --token (always in --self-test) the check also types the
token into GraphiQL's headers editor, runs `{ __typename }` and expects the
answer in the response editor (the self-test server also checks that the
request carried `Authorization: Bearer TOKEN`).

Exit status: 0 when the page passed (what was found goes to stdout), 1 when
it did not (the reasons go to stdout too), 2 when the check itself could not
run (no Chromium, bad arguments).
"""

import argparse
import http.server
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATIC_DIR = os.path.join(ROOT, "services", "gateway", "static", "graphiql")
# The policy the gateway sends with the page (--csp to try another). GraphiQL 3
# needs, beyond 'self': data: fonts (graphiql.min.css embeds its fonts), one
# inline <style> element (react-remove-scroll's, added when a dialog opens) and
# a data: image (CodeMirror's drag image when selected text is dragged).
CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
       "img-src 'self' data:; frame-ancestors 'none'")
SELF_TEST_TOKEN = "render-check-token"

# Runs in the page before its own scripts (as DevTools' injected script, which
# the page's CSP does not govern): records CSP violations as the page sees them.
RECORD_VIOLATIONS = """
window.__renderCheckViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__renderCheckViolations.push(e.effectiveDirective + ' blocked ' +
    (e.blockedURI || '(inline)') + (e.sourceFile ? ' at ' + e.sourceFile + ':' + e.lineNumber : ''));
});
"""


class CheckError(Exception):
    """The check could not run (as opposed to: the page failed it)."""


# --------------------------------------------------------------------------
# The gateway's paths and CSP, for --self-test and --serve.

MIME = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}

# A schema with one field, as an introspection result.
def _scalar(name):
    return {"kind": "SCALAR", "name": name, "description": None, "specifiedByURL": None,
            "fields": None, "inputFields": None, "interfaces": None,
            "enumValues": None, "possibleTypes": None}

INTROSPECTION = {"data": {"__schema": {
    "description": None,
    "queryType": {"name": "Query"}, "mutationType": None, "subscriptionType": None,
    "types": [
        {"kind": "OBJECT", "name": "Query", "description": "The render check's schema.",
         "specifiedByURL": None,
         "fields": [{"name": "hello", "description": "A greeting.", "args": [],
                     "type": {"kind": "SCALAR", "name": "String", "ofType": None},
                     "isDeprecated": False, "deprecationReason": None}],
         "inputFields": None, "interfaces": [], "enumValues": None, "possibleTypes": None},
        _scalar("String"), _scalar("Boolean"),
    ],
    "directives": [],
}}}


class Handler(http.server.BaseHTTPRequestHandler):
    static_dir = STATIC_DIR
    csp = CSP
    authorizations = []  # the Authorization header of each POST /graphql

    def log_message(self, *args):
        pass

    def _send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", self.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/graphql":
            name = "index.html"
        elif path.startswith("/graphql/assets/"):
            name = path[len("/graphql/assets/"):]
        else:
            return self._send(404, b"not found\n", "text/plain")
        ext = os.path.splitext(name)[1]
        file = os.path.join(self.static_dir, name)
        if "/" in name or name.startswith(".") or ext not in MIME or not os.path.isfile(file):
            return self._send(404, b"not found\n", "text/plain")
        with open(file, "rb") as f:
            self._send(200, f.read(), MIME[ext])

    do_HEAD = do_GET

    def do_POST(self):
        if urllib.parse.urlsplit(self.path).path != "/graphql":
            return self._send(404, b"not found\n", "text/plain")
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        Handler.authorizations.append(self.headers.get("Authorization"))
        if request.get("operationName") == "IntrospectionQuery":
            answer = INTROSPECTION
        else:
            answer = {"data": {"__typename": "Query", "hello": "world"}}
        self._send(200, json.dumps(answer).encode(), "application/json")


def serve(port=0):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d/graphql" % server.server_address[1]


# --------------------------------------------------------------------------
# Chromium over --remote-debugging-pipe: JSON messages ended by NUL, commands
# on the browser's fd 3, answers and events on its fd 4.

class Chromium:
    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="render-check-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def child_fds():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", "--user-data-dir=" + self.profile,
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-default-apps", "--metrics-recording-only",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             "--window-size=1280,900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr,
            pass_fds=(3, 4), preexec_fn=child_fds)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.from_chrome, selectors.EVENT_READ)

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.to_chrome, self.from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                return None
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                self.stderr.seek(0)
                tail = self.stderr.read().decode(errors="replace")[-2000:]
                raise CheckError("Chromium exited (status %s): %s" % (self.proc.poll(), tail))
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline)
            if answer is None:
                raise CheckError("Chromium did not answer %s within %ss" % (method, timeout))
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise CheckError("%s failed: %s" % (method, answer["error"]))
                return answer.get("result", {})
            if "method" in answer:
                self.events.append(answer)

    def pump(self, seconds):
        """Collects events for a while."""
        deadline = time.monotonic() + seconds
        while True:
            event = self._read(deadline)
            if event is None:
                return
            if "method" in event:
                self.events.append(event)


class Page:
    def __init__(self, chromium, url):
        self.chromium = chromium
        target = chromium.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = chromium.send("Target.attachToTarget",
                                     {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log", "Audits"):
            self.send(domain + ".enable")
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
        self.send("Page.navigate", {"url": url})

    def send(self, method, params=None, timeout=30):
        return self.chromium.send(method, params, session=self.session, timeout=timeout)

    def eval(self, expression, timeout=30):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in result:
            raise CheckError("evaluating %r: %s" % (expression[:80], result["exceptionDetails"]))
        return result["result"].get("value")

    def wait_for(self, expression, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.eval(expression)
            if value:
                return value
            self.chromium.pump(0.2)
        return None


# Selectors of GraphiQL 3's DOM.
CONTAINER = ".graphiql-container"
PANELS = [
    # (button, what must appear, how to close it)
    ('[aria-label="Open settings dialog"]', ".graphiql-dialog", "Escape"),
    ('[aria-label="Open short keys dialog"]', ".graphiql-dialog", "Escape"),
    ('[aria-label="Show Documentation Explorer"]', ".graphiql-doc-explorer", None),
]


def js(value):
    return json.dumps(value)


def check(url, token=None, timeout=30.0, binary=None):
    """Returns (found, problems): lines saying what the page showed, and why it failed."""
    binary = binary or os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if not os.access(binary, os.X_OK):
        raise CheckError("no Chromium at %s (scripts/browser install)" % binary)
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(url))
    found, problems = [], []
    chromium = Chromium(binary)
    try:
        page = Page(chromium, url)
        rendered = page.wait_for(
            "document.querySelectorAll(%s).length && document.querySelectorAll('%s .CodeMirror').length"
            % (js(CONTAINER), CONTAINER), timeout)
        if not rendered:
            body = page.eval("document.body ? document.body.innerText.slice(0, 300) : ''")
            problems.append("GraphiQL did not render within %ss: no %s with CodeMirror editors "
                            "(page text: %r)" % (timeout, CONTAINER, body))
        else:
            found.append("rendered: %s with %d CodeMirror editors" % (CONTAINER, rendered))
            # The schema's introspection answer (or its error) lands in a second.
            chromium.pump(1.0)
            version = page.eval("window.GraphiQL && window.React ? 'React ' + React.version : ''")
            if version:
                found.append("scripts: %s, GraphiQL UMD build (window.GraphiQL)" % version)
            # The headers editor is one of the tools panel's editors; find it by content.
            headers = page.eval(
                "Array.prototype.map.call(document.querySelectorAll('.graphiql-editor-tool .CodeMirror'),"
                " function (e) { return e.CodeMirror.getValue(); }).filter(function (v) {"
                " return v.indexOf('Authorization') >= 0; })[0] || null")
            if headers:
                found.append("headers editor: %s" % " ".join(headers.split()))
            else:
                problems.append("the headers editor has no Authorization header")
            for button, shows, close in PANELS:
                opened = page.eval(
                    "(function () { var b = document.querySelector(%s); if (!b) return false;"
                    " b.click(); return true; })()" % js(button))
                if not opened:
                    problems.append("no button %s" % button)
                    continue
                if page.wait_for("!!document.querySelector(%s)" % js(shows), 5):
                    found.append("opened %s -> %s" % (button, shows))
                else:
                    problems.append("%s did not show %s" % (button, shows))
                if close:
                    for kind in ("keyDown", "keyUp"):
                        page.send("Input.dispatchKeyEvent", {"type": kind, "key": close,
                                                             "code": close, "windowsVirtualKeyCode": 27})
                    if not page.wait_for("!document.querySelector(%s)" % js(shows), 5):
                        problems.append("%s did not close on %s" % (shows, close))
            drag_text(page, found, problems)
            if token:
                run_query(page, token, found, problems)
        chromium.pump(0.5)
        violations = page.eval("window.__renderCheckViolations || []") or []
        events = chromium.events
    finally:
        chromium.close()

    requests, offsite, audited = {}, [], []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            request_url = params["request"]["url"]
            scheme = urllib.parse.urlsplit(request_url).scheme
            if scheme in ("data", "blob", "about"):
                key = scheme + ":"
            elif request_url.startswith(origin + "/"):
                key = "%s %s" % (params["request"]["method"], request_url[len(origin):])
            else:
                offsite.append(request_url)
                continue
            requests[key] = requests.get(key, 0) + 1
        elif method == "Network.responseReceived":
            response = params["response"]
            path = response["url"][len(origin):] if response["url"].startswith(origin + "/") else None
            # POST /graphql may well answer 401 without a token; browsers ask for a favicon.
            if (path and response["status"] >= 400 and params.get("type") != "Fetch"
                    and path != "/favicon.ico"):
                problems.append("GET %s answered %s" % (path, response["status"]))
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            if params.get("blockedReason") == "csp":
                continue  # reported as a CSP violation
            problems.append("request failed: %s %s" % (params.get("errorText"),
                                                       params.get("blockedReason") or ""))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            problems.append("uncaught script error: %s" % text.splitlines()[0])
        elif method == "Audits.issueAdded" and params["issue"]["code"] == "ContentSecurityPolicyIssue":
            details = params["issue"]["details"]["contentSecurityPolicyIssueDetails"]
            audited.append("%s blocked %s" % (details.get("violatedDirective"),
                                              details.get("blockedURL") or "(inline)"))
    found.append("requests: " + ", ".join("%s%s" % (k, " x%d" % n if n > 1 else "")
                                          for k, n in sorted(requests.items())))
    for request_url in offsite:
        problems.append("request left %s: %s" % (origin, request_url))
    # The page's own reports, or DevTools' when the page could not record them.
    violations = violations or audited
    counts = {}
    for violation in violations:
        short = violation.split(";base64,")[0]
        short = short if len(short) < 200 else short[:150] + "..." + short[-40:]
        counts[short] = counts.get(short, 0) + 1
    for violation, n in counts.items():
        problems.append("CSP violation: %s%s" % (violation, " (x%d)" % n if n > 1 else ""))
    if not offsite:
        found.append("no request left %s" % origin)
    if not violations:
        found.append("no Content-Security-Policy violation")
    return found, problems


def drag_text(page, found, problems):
    """Starts dragging selected text in the query editor (CodeMirror then sets a
    data: image as the drag image)."""
    started = page.eval("""(function () {
      var cm = document.querySelector('.graphiql-query-editor .CodeMirror');
      if (!cm) return false;
      var before = cm.CodeMirror.getValue();
      cm.CodeMirror.setValue('{ __typename }');
      cm.CodeMirror.execCommand('selectAll');
      var lines = cm.querySelector('.CodeMirror-lines');
      lines.dispatchEvent(new DragEvent('dragstart',
        {dataTransfer: new DataTransfer(), bubbles: true, cancelable: true}));
      lines.dispatchEvent(new DragEvent('dragend', {bubbles: true}));
      cm.CodeMirror.setValue(before);
      return true; })()""")
    if started:
        page.chromium.pump(0.3)
        found.append("dragged selected text in the query editor")
    else:
        problems.append("no query editor to drag text in")


def run_query(page, token, found, problems):
    """Puts the token in the headers editor, runs `{ __typename }`, reads the response editor."""
    set_editors = """(function () {
      var tools = document.querySelectorAll('.graphiql-editor-tool .CodeMirror');
      var headers = Array.prototype.filter.call(tools, function (e) {
        return e.CodeMirror.getValue().indexOf('Authorization') >= 0; })[0];
      var query = document.querySelector('.graphiql-query-editor .CodeMirror');
      if (!headers || !query) return false;
      headers.CodeMirror.setValue(JSON.stringify({Authorization: 'Bearer ' + %s}));
      query.CodeMirror.setValue('{ __typename }');
      return true; })()""" % js(token)
    if not page.eval(set_editors):
        problems.append("could not fill the query and headers editors")
        return
    page.chromium.pump(0.5)  # GraphiQL reads the editors after a debounce
    if not page.eval("(function () { var b = document.querySelector('.graphiql-execute-button');"
                     " if (!b) return false; b.click(); return true; })()"):
        problems.append("no run button (.graphiql-execute-button)")
        return
    response = page.wait_for(
        "(function () { var r = document.querySelector('.graphiql-response .CodeMirror');"
        " var v = r && r.CodeMirror.getValue(); return v && v.indexOf('__typename') >= 0 ? v : null; })()",
        10)
    if response:
        found.append("ran { __typename }: " + " ".join(response.split()))
    else:
        problems.append("running { __typename } showed no answer in the response editor")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="the GraphiQL page, e.g. http://127.0.0.1:8080/graphql")
    parser.add_argument("--self-test", action="store_true",
                        help="serve %s as the gateway does and check it" % STATIC_DIR)
    parser.add_argument("--serve", action="store_true", help="only serve it (prints the URL)")
    parser.add_argument("--port", type=int, default=0, help="--serve's port (default: any free one)")
    parser.add_argument("--dir", default=STATIC_DIR, help="the folder to serve")
    parser.add_argument("--csp", default=CSP,
                        help="the Content-Security-Policy --self-test and --serve send "
                             "(default: %(default)s)")
    parser.add_argument("--token", help="type this bearer token into the headers editor and run "
                                        "{ __typename }")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds GraphiQL may take to render (default 30)")
    args = parser.parse_args()
    if sum(map(bool, (args.url, args.self_test, args.serve))) != 1:
        parser.error("give exactly one of URL, --self-test, --serve")
    Handler.static_dir = args.dir
    Handler.csp = args.csp

    if args.serve:
        server, url = serve(args.port)
        print(url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            server.shutdown()
        return 0

    server = None
    url, token = args.url, args.token
    if args.self_test:
        server, url = serve()
        token = token or SELF_TEST_TOKEN
    try:
        found, problems = check(url, token, args.timeout)
    except CheckError as e:
        print("render check could not run: %s" % e)
        return 2
    finally:
        if server:
            server.shutdown()
    if server:
        found.insert(0, "served %s with Content-Security-Policy: %s" % (Handler.static_dir, Handler.csp))
        seen = [a for a in Handler.authorizations if a]
        found.append("server saw Authorization: %s" % ", ".join(dict.fromkeys(seen)) if seen
                     else "server saw no Authorization header")
        if "Bearer " + token not in seen:
            problems.append("no POST /graphql carried Authorization: Bearer %s" % token)
    print("render check of %s" % url)
    for line in found:
        print("  ok: %s" % line)
    for line in problems:
        print("  FAIL: %s" % line)
    print("GraphiQL rendered" if not problems else "GraphiQL did NOT pass the render check")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
