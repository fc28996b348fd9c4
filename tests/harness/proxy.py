"""A TCP proxy between the processes under test and a server, that a test can take down and
bring back: the server (and what it keeps in memory) stays up, only the way to it goes.

``refuse()`` cuts every open connection and stops listening, so new connections are refused at
once (what an unreachable host with nothing listening looks like to a client), while the port
stays the proxy's; ``accept()`` listens again on it. The proxy runs in threads of the test
process and counts the bytes it forwards each way, so a test can tell when a client is in
the middle of a transfer.
"""

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from harness.ports import free_port

CHUNK_BYTES = 256 * 1024
ACCEPT_POLL_S = 0.2


@dataclass
class TcpProxy:
    target: tuple[str, int]
    port: int = field(default_factory=free_port)
    to_server: int = field(default=0, init=False)
    """Bytes forwarded from clients to the server since the proxy started."""
    to_clients: int = field(default=0, init=False)
    """Bytes forwarded from the server to clients since the proxy started."""
    _listener: socket.socket | None = field(default=None, init=False, repr=False)
    _held: socket.socket | None = field(default=None, init=False, repr=False)
    _open: set[socket.socket] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def listening(self) -> bool:
        return self._listener is not None

    def accept(self) -> None:
        """Listen (again) on the proxy's port. Idempotent."""
        if self._listener is not None:
            return
        listener, self._held = self._held or self._bound(), None
        listener.listen(64)
        listener.settimeout(ACCEPT_POLL_S)
        self._listener = listener
        threading.Thread(target=self._serve, args=(listener,), daemon=True).start()

    def refuse(self) -> None:
        """Stop listening and cut every open connection. Idempotent."""
        listener, self._listener = self._listener, None
        self.cut()
        if listener is not None:
            # Shut down first: a close alone leaves the socket listening until the thread
            # blocked in its accept() wakes up, and the port taken.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
            # Hold the port, bound but not listening (a connection to it is refused): it was
            # free when the proxy took it, so it may be in the range the kernel gives outgoing
            # connections as their own port, and one could take it while the proxy is down.
            self._held = self._bound()

    def _bound(self) -> socket.socket:
        sock = socket.socket()
        # The port's connections cut by refuse() linger in TIME_WAIT; they must not keep the
        # proxy from binding it again.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        return sock

    def cut(self) -> None:
        """Close every open connection, both ends; keep listening for new ones."""
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """Unreachable for the block, reachable again after it, whatever happens inside."""
        self.refuse()
        try:
            yield
        finally:
            self.accept()

    def close(self) -> None:
        self.refuse()
        held, self._held = self._held, None
        if held is not None:
            held.close()

    def _serve(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by refuse()
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._open.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        """Copy ``source`` to ``sink`` until either end closes; then close both."""
        try:
            while chunk := source.recv(CHUNK_BYTES):
                sink.sendall(chunk)
                with self._lock:
                    if upstream:
                        self.to_server += len(chunk)
                    else:
                        self.to_clients += len(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
