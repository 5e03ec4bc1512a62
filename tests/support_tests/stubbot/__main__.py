"""``python -m support_tests.stubbot serve --port N`` / ``migrate``: a minimal fake bot.

It behaves like the contract says the bot behaves (GET /healthz, SIGTERM ends it, settings
from the environment) so BotProcess can be tested on its own. Knobs, via environment:
STUB_FAIL (exit at start-up with that message), STUB_SLOW_START (seconds before listening).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._json({"ok": True})
        elif self.path == "/env":
            self._json(dict(os.environ))
        else:
            self.send_error(404)

    def _json(self, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        print("request", format % args, flush=True)


def main() -> int:
    command = sys.argv[1]
    if command == "migrate":
        print("migrated", os.environ.get("DATABASE_URL", "(default)"))
        return int(os.environ.get("STUB_MIGRATE_EXIT", "0"))
    if os.environ.get("STUB_FAIL"):
        print(f"error: {os.environ['STUB_FAIL']}", file=sys.stderr)
        return 2
    time.sleep(float(os.environ.get("STUB_SLOW_START", "0")))
    port = int(sys.argv[sys.argv.index("--port") + 1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)

    def on_term(signum: int, frame: object) -> None:
        print("SIGTERM received, shutting down", flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, on_term)
    print(f"listening on {port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
