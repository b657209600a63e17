"""A TCP proxy in front of the real test Neo4j that plays "the server died while committing".

It forwards Bolt traffic both ways unchanged until the client sends its ``cut_at``-th COMMIT
message; it forwards that COMMIT to Neo4j, then closes every connection and refuses new ones.
The client therefore cannot know whether the commit was applied (the driver's
``IncompleteCommit``), exactly as when the JVM is killed mid-commit, but at a chosen commit
instead of a racy moment, and without a server restart. No database behaviour is faked: Neo4j
executes everything the client sent.
"""

from __future__ import annotations

import socket
import threading

COMMIT = b"\x00\x02\xb0\x12\x00\x00"
"""A Bolt COMMIT message as sent: chunk size 2, struct of 0 fields with signature 0x12, end marker."""


class CommitCutter:
    """``with CommitCutter(neo4j_port, cut_at=2) as proxy:`` connect to ``proxy.uri``."""

    def __init__(self, target_port: int, cut_at: int) -> None:
        self.target_port = target_port
        self.cut_at = cut_at
        self.commits = 0
        self.cut = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def __enter__(self) -> "CommitCutter":
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._close_all()

    def _accept(self) -> None:
        while not self.cut.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:  # listener closed by the cut
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
            except OSError:
                break
            if from_client and COMMIT in data:
                with self._lock:
                    self.commits += data.count(COMMIT)
                    cut_now = self.commits >= self.cut_at and not self.cut.is_set()
                if cut_now:
                    self.cut.set()
                    self._close_all()
                    break

    def _close_all(self) -> None:
        self.cut.set()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in [self._listener, *sockets]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
