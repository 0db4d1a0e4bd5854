"""Fault run: RabbitMQ really stopped while tickets are created through the gateway."""
import json, os, statistics, subprocess, sys, time, urllib.request, uuid
import pika

BASE = os.environ.get("PSA_URL", "http://localhost:8080")
TOKEN = os.environ["PSA_TOKEN"]

def call(method, path, body=None):
    req = urllib.request.Request(BASE + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r), time.perf_counter() - t
    except urllib.error.HTTPError as e:
        return e.code, json.load(e), time.perf_counter() - t

def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000

conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1"))
ch = conn.channel()
q = "fault.tickets." + uuid.uuid4().hex
ch.queue_declare(q, durable=True, arguments={"x-queue-type": "quorum", "x-expires": 900000})
ch.queue_bind(q, "psa.events", "ticket.created")
conn.close()

customer = call("GET", "/v1/customers?limit=1")[1]["data"][0]["id"]
up = [call("POST", "/v1/tickets", {"title": f"up {i}", "customer_id": customer}) for i in range(50)]
assert all(s == 201 for s, _, _ in up), [s for s, _, _ in up]
print("broker up:   p50 %.1f ms p95 %.1f ms" % (pct([t for *_, t in up], .5), pct([t for *_, t in up], .95)))

subprocess.run(["rabbitmqctl", "stop"], check=True, capture_output=True)
down = [call("POST", "/v1/tickets", {"title": f"down {i}", "customer_id": customer}) for i in range(200)]
codes = sorted({s for s, _, _ in down})
print("broker down: statuses", codes, "p50 %.1f ms p95 %.1f ms" % (pct([t for *_, t in down], .5), pct([t for *_, t in down], .95)))
want = {b["id"] for s, b, _ in down if s == 201}
subprocess.run(["rabbitmq-server", "-detached"], check=True, capture_output=True)
started = time.time()
while True:
    try:
        conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1")); break
    except Exception:
        time.sleep(0.5)
ch = conn.channel()
seen = set()
deadline = time.time() + 120
while want - seen and time.time() < deadline:
    m, props, body = ch.basic_get(q, auto_ack=True)
    if m is None:
        time.sleep(0.1); continue
    ev = json.loads(body)
    assert props.message_id == ev["id"]
    seen.add(ev["subject"])
print("after restart: %d of %d ticket.created arrived (distinct) in %.1f s" % (len(want & seen), len(want), time.time() - started))
sys.exit(0 if want <= seen else 1)
