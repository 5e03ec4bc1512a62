"""A TCP proxy on loopback that the tests can break, to play a database that goes away.

PostgreSQL is shared by everything on the machine, so the fault tests never stop it.
Instead a bot gets a DATABASE_URL that points at this proxy, which forwards to the real
server until told otherwise:

- ``down()``: new connections are accepted and closed at once (a server that is not
  there: libpq fails fast), and every open connection is cut.
- ``blackhole()``: new connections are accepted and then never answered (a host that
  has vanished: the client's connect timeout has to fire); open connections are cut.
- ``up()``: forward again.

Everything listens on 127.0.0.1 and every loop is bounded by the sockets it serves.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from typing import Literal

Mode = Literal["up", "down", "blackhole"]


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._mode: Mode = "up"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self.connections = 0  # how many connections were forwarded, for assertions

    # ------------------------------------------------------------------ control

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._listener.close()
        self._cut_all()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def mode(self) -> Mode:
        return self._mode

    def up(self) -> None:
        self._mode = "up"

    def down(self) -> None:
        self._mode = "down"
        self._cut_all()

    def blackhole(self) -> None:
        self._mode = "blackhole"
        self._cut_all()

    # ------------------------------------------------------------------ plumbing

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.update(socks)

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._open.discard(sock)
                with contextlib.suppress(OSError):
                    sock.close()

    def _cut_all(self) -> None:
        with self._lock:
            socks, self._open = list(self._open), set()
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            mode = self._mode
            if mode == "down":
                client.close()
                continue
            if mode == "blackhole":
                # Hold it open, say nothing; it is cut by the next mode change or stop().
                self._track(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=3)
            except OSError:
                client.close()
                continue
            self.connections += 1
            self._track(client, upstream)
            threading.Thread(
                target=self._pump, args=(client, upstream), name="tcp-proxy-pump", daemon=True
            ).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peer = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for sock in peer:
                sock.setblocking(True)
                selector.register(sock, selectors.EVENT_READ)
            try:
                while not self._stopped.is_set():
                    for key, _ in selector.select(timeout=0.2):
                        sock = key.fileobj
                        assert isinstance(sock, socket.socket)
                        data = sock.recv(65536)
                        if not data:
                            return
                        peer[sock].sendall(data)
            except (OSError, ValueError):
                return  # cut by a mode change, or the other side went away
            finally:
                self._forget(client, upstream)
