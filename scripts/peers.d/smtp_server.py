"""An SMTP server for integration tests (run by scripts/peers): PyPI's
aiosmtpd with STARTTLS required and AUTH (PLAIN, LOGIN) required after it.

It makes its own certificate authority and a server certificate for
localhost and 127.0.0.1 (with the openssl command) in --dir, prints
"ca PATH" (the CA certificate a client must trust) and then
"listening on PORT" on stdout, and writes every accepted message to
--dir/messages/<n>.json as {"mail_from", "rcpt_tos", "auth_user", "data"}.

  --user NAME --password SECRET   the only credentials accepted
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
import ssl


def make_certificates(directory):
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ca_key, ca_cert = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.pem")
    key, csr, cert = (os.path.join(directory, n) for n in ("server.key", "server.csr", "server.pem"))
    ext = os.path.join(directory, "server.ext")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_cert,
        "-days", "2", "-subj", "/CN=psa test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext)
    return ca_cert, cert, key


class Handler:
    def __init__(self, directory):
        self.directory = os.path.join(directory, "messages")
        os.makedirs(self.directory, exist_ok=True)
        self.lock = threading.Lock()
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_user": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            "tls": session.ssl is not None,
            "data": envelope.content.decode("utf-8", errors="replace"),
        }
        tmp = os.path.join(self.directory, f".{n}.json")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.directory, f"{n}.json"))
        return "250 Message accepted"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    ca, cert, key = make_certificates(args.dir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == args.user
              and auth_data.password.decode() == args.password)
        # handled=False: aiosmtpd answers a failure itself (535).
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    # aiosmtpd's controller needs a port of its own choosing: a free one,
    # tried again should another process take it in between.
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(
            Handler(args.dir), hostname="127.0.0.1", port=port, tls_context=context,
            require_starttls=True, auth_required=True, auth_require_tls=True,
            authenticator=authenticate, server_hostname="localhost",
        )
        try:
            controller.start()
            break
        except OSError:
            continue
    else:
        sys.exit("no free port")
    print(f"ca {ca}", flush=True)
    print(f"listening on {port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
