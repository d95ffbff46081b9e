"""A store that always answers one fault, for the retry tests: fault.py DIR STATUS CODE.

Listens on a free loopback port, writes http://127.0.0.1:PORT to DIR/endpoint, answers every
request with STATUS and an S3 error body <Code>CODE</Code>, and appends "METHOD PATH CLAIMED
ACTUAL" of each request to DIR/requests: the x-amz-content-sha256 header and the SHA-256 of the
body received (moto checks the signature over the claimed hash but never the body against it).
Stops on SIGTERM.
"""

import hashlib
import http.server
import os
import sys


def main():
    d, status, code = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
        "<Message>fault injected by the test</Message></Error>" % code
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            h = hashlib.sha256()
            while n > 0:
                chunk = self.rfile.read(min(n, 65536))
                if not chunk:
                    break
                h.update(chunk)
                n -= len(chunk)
            claimed = self.headers.get("x-amz-content-sha256", "-")
            with open(os.path.join(d, "requests"), "a") as f:
                f.write("%s %s %s %s\n" % (self.command, self.path, claimed, h.hexdigest()))
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = answer

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = os.path.join(d, "endpoint.tmp")
    with open(tmp, "w") as f:
        f.write("http://127.0.0.1:%d\n" % srv.server_address[1])
    os.rename(tmp, os.path.join(d, "endpoint"))
    srv.serve_forever()


if __name__ == "__main__":
    main()
