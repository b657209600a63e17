"""A TCP proxy in front of the real test Neo4j that plays "the server died while committing".

It forwards Bolt traffic both ways unchanged until the client sends its ``cut_at``-th COMMIT
message; it forwards that COMMIT to Neo4j but none of Neo4j's replies after it, then closes
every connection and refuses new ones.
The client therefore cannot know whether the commit was applied (the driver's
``IncompleteCommit``), exactly as when the JVM is killed mid-commit, but at a chosen commit
instead of a racy moment, and without a server restart. No database behaviour is faked: Neo4j
executes everything the client sent. ``sent`` holds every byte the client sent (with a
``cut_at`` never reached, the proxy only records).
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
        self.sent = bytearray()
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
            except OSError:
                break
            if not data:
                break
            if not from_client and self.cut.is_set():
                break  # Neo4j's answer to the cut COMMIT never reaches the client
            if from_client:
                self.sent += data
            cut_now = from_client and self._reaches_cut(data)
            try:
                sink.sendall(data)
            except OSError:
                break
            if cut_now:
                self._close_all()
                break

    def _reaches_cut(self, data: bytes) -> bool:
        """Count the COMMITs in ``data``; True (and the cut flagged, before ``data`` is forwarded,
        so that no reply can overtake it on a busy machine) when the ``cut_at``-th is among them."""
        if COMMIT not in data:
            return False
        with self._lock:
            self.commits += data.count(COMMIT)
            if self.commits < self.cut_at or self.cut.is_set():
                return False
            self.cut.set()
            return True

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
