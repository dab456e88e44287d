"""The tests' HTTP client: one request per fresh connection (http.client),
and a reader for a response on a raw socket (for requests http.client will
not send). Every failure to talk is an AssertionError naming the request."""

import collections
import http.client
import json
import socket
import time


class Resp(collections.namedtuple("Resp", "status headers body")):
    """(status, headers, body): body is parsed JSON, or the raw text when the
    response is not JSON. .text is always the raw text."""
    text = ""


def _make_resp(status, headers, raw):
    text = raw.decode("utf-8", "replace")
    body = text
    if raw:
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    r = Resp(status, headers, body)
    r.text = text
    return r


def http_request(port, method, path, body=None, headers=None, timeout=10.0, host="127.0.0.1"):
    """One request on a fresh connection. body: dict/list (sent as JSON),
    str or bytes (sent as is) or None."""
    hdrs = {}
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            data = body.encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        else:
            data = body
            hdrs["Content-Type"] = "application/json"
    if headers:
        for k, v in headers.items():
            for existing in list(hdrs):
                if existing.lower() == k.lower():
                    del hdrs[existing]
            if v is not None:
                hdrs[k] = v
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise AssertionError("%s %s on port %d failed: %s: %s"
                                 % (method, path, port, type(e).__name__, e)) from None
        return _make_resp(resp.status, resp.headers, raw)
    finally:
        conn.close()


def _recv_until(sock, body, enough, deadline):
    """body and what the socket sends after it, until enough(body), the peer
    closes or resets, or the monotonic deadline."""
    while not enough(body) and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        body += chunk
    return body


def read_raw_response(sock, timeout=10.0):
    """Reads one HTTP/1.1 response from a socket; returns a Resp. Tolerates the
    server closing the connection right after the response."""
    sock.settimeout(timeout)
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            raise AssertionError("no complete response header within %.1fs; got %r" % (timeout, buf[:300]))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        except socket.timeout:
            raise AssertionError("no response within %.1fs; got %r" % (timeout, buf[:300])) from None
        if not chunk:
            if b"\r\n\r\n" not in buf:
                raise AssertionError("connection closed before a complete response; got %r" % buf[:300])
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    msg = http.client.HTTPMessage()
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            msg[k.strip()] = v.strip()
    length = msg.get("Content-Length")
    body = rest
    if length is not None:
        want = int(length)
        body = _recv_until(sock, body, lambda b: len(b) >= want, deadline)[:want]
    elif (msg.get("Transfer-Encoding") or "").lower() == "chunked":
        body = _recv_until(sock, body, lambda b: b.endswith(b"0\r\n\r\n"), deadline)
        out, p = b"", body
        while p:
            size_line, _, p = p.partition(b"\r\n")
            try:
                n = int(size_line.split(b";")[0], 16)
            except ValueError:
                break
            if n == 0:
                break
            out += p[:n]
            p = p[n + 2:]
        body = out
    return _make_resp(status, msg, body)
