"""A Server-Sent Events reader over a raw socket, for the order status stream
(GET /api/v1/orders/{id}/events): the response head, then one event or
comment at a time, each read with a time bound, and the end of the stream."""

import http.client
import json
import socket
import time


class SseStream:
    """Sends GET path and reads the response head. status and headers are
    set; for a non-200 answer body holds the parsed JSON (or text). Then
    next_event() hands out events and comments in order; close() when done."""

    def __init__(self, port, path, timeout=10.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.eof = False
        self.comments = []   # comment lines (": ping") seen so far
        req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n"
               "Cache-Control: no-cache\r\n\r\n" % (path, host, port))
        self.sock.sendall(req.encode())
        head = self._read_until(b"\r\n\r\n", time.monotonic() + timeout)
        if head is None:
            raise AssertionError("GET %s: no response head within %.0fs; got %r"
                                 % (path, timeout, self.buf[:300]))
        lines = head.decode("iso-8859-1").split("\r\n")
        self.status_line = lines[0]
        self.status = int(lines[0].split(" ", 2)[1])
        self.headers = http.client.HTTPMessage()
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                self.headers[k.strip()] = v.strip()
        self.body = None
        if self.status != 200:
            n = int(self.headers.get("Content-Length", "0"))
            deadline = time.monotonic() + timeout
            while len(self.buf) < n and self._fill(deadline):
                pass
            raw = self.buf[:n]
            try:
                self.body = json.loads(raw)
            except ValueError:
                self.body = raw.decode("utf-8", "replace")

    def _fill(self, deadline):
        """Reads more into buf; False at EOF or when the deadline passed."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _read_until(self, sep, deadline):
        while sep not in self.buf:
            if not self._fill(deadline):
                return None
        part, _, self.buf = self.buf.partition(sep)
        return part

    def next_event(self, timeout=10.0):
        """The next event as {"event": name, "data": text, "json": parsed
        data or None}; comments on the way go to self.comments. None when
        the stream ended; AssertionError when nothing came in time."""
        deadline = time.monotonic() + timeout
        while True:
            block = self._read_until(b"\n\n", deadline)
            if block is None:
                if self.eof and not self.buf.strip():
                    return None
                raise AssertionError("no event within %.1fs (have %r)" % (timeout, self.buf[:300]))
            event = {"event": "message", "data": None}
            data = []
            for line in block.decode("utf-8").split("\n"):
                if line.startswith(":"):
                    self.comments.append(line)
                elif ":" in line:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "data":
                        data.append(value)
                    else:
                        event[field] = value
            if not data:
                continue  # only comments (a ping), or a retry line
            event["data"] = "\n".join(data)
            try:
                event["json"] = json.loads(event["data"])
            except ValueError:
                event["json"] = None
            return event

    def wait_end(self, timeout=5.0):
        """True when the server closed the stream within timeout with nothing
        but comments after the last event read."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        if not self.eof:
            return False
        rest = [ln for ln in self.buf.decode("utf-8", "replace").split("\n")
                if ln and not ln.startswith(":")]
        return not rest

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
