"""A minimal PostgreSQL wire-protocol client for the tests that must send
what no driver sends: malformed startup packets, unknown message types,
cancel requests with chosen keys, connections dropped mid-transaction."""

import base64
import hashlib
import hmac
import os
import socket
import struct
import time

PROTOCOL_3 = 196608  # 3.0
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102


class Closed(Exception):
    """The peer closed the connection."""


def error_fields(payload):
    """Fields of an ErrorResponse/NoticeResponse body as a dict keyed by the
    one-letter field code ('C' SQLSTATE, 'M' message, 'S' severity)."""
    fields = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return fields


def startup_packet(user, database, protocol=PROTOCOL_3, **params):
    body = struct.pack("!I", protocol)
    items = {"user": user, "database": database}
    items.update(params)
    for key, value in items.items():
        body += key.encode() + b"\0" + str(value).encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


class Wire:
    """One connection. Messages are (type, payload) with type a 1-byte str."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.backend_key = None
        self.parameters = {}  # ParameterStatus messages seen by login()

    def close(self):
        self.sock.close()

    def abort(self):
        """Close with RST and no Terminate message, like a crashed client."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, mtype, payload=b""):
        self.sock.sendall(mtype.encode() + struct.pack("!I", len(payload) + 4) + payload)

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed()
            self.buf += chunk

    def recv_bytes(self, n):
        self._fill(n)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def recv(self):
        """Next message; raises Closed at EOF, socket.timeout on time-out."""
        self._fill(5)
        mtype = chr(self.buf[0])
        (length,) = struct.unpack("!I", self.buf[1:5])
        self._fill(1 + length)
        payload = self.buf[5 : 1 + length]
        self.buf = self.buf[1 + length :]
        return mtype, payload

    def recv_until_closed(self, limit=100):
        """Every message until EOF (or `limit` messages)."""
        msgs = []
        try:
            while len(msgs) < limit:
                msgs.append(self.recv())
        except (Closed, ConnectionResetError):
            pass
        return msgs

    def is_closed(self, timeout=5.0):
        """True if the peer closes within `timeout` (data before EOF is dropped)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def login(self, user, database, password=None, **params):
        """Startup and authentication (trust, cleartext or md5) up to the
        first ReadyForQuery. Returns the startup ErrorResponse fields if the
        login fails, else None."""
        self.send_raw(startup_packet(user, database, **params))
        while True:
            mtype, payload = self.recv()
            if mtype == "E":
                return error_fields(payload)
            if mtype == "R":
                (code,) = struct.unpack("!I", payload[:4])
                if code == 3:
                    self.send("p", password.encode() + b"\0")
                elif code == 5:
                    salt = payload[4:8]
                    inner = hashlib.md5((password + user).encode()).hexdigest()
                    outer = hashlib.md5(inner.encode() + salt).hexdigest()
                    self.send("p", b"md5" + outer.encode() + b"\0")
                elif code == 10:
                    err = self._scram(password, payload[4:])
                    if err:
                        return err
                elif code not in (0, 12):  # 12: SASLFinal, checked in _scram
                    raise AssertionError("unsupported auth request %d" % code)
            elif mtype == "K":
                self.backend_key = struct.unpack("!II", payload)
            elif mtype == "S":
                name, value = payload[:-1].split(b"\0", 1)
                self.parameters[name.decode()] = value.decode()
            elif mtype == "Z":
                return None

    def _scram(self, password, mechanisms):
        """SCRAM-SHA-256 without channel binding (RFC 5802/7677). Returns
        the ErrorResponse fields if the server-first message is an error."""
        assert b"SCRAM-SHA-256\0" in mechanisms, mechanisms
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = "n=,r=" + nonce
        msg = b"SCRAM-SHA-256\0" + struct.pack("!i", len(first_bare) + 3) + b"n,," + first_bare.encode()
        self.send("p", msg)
        mtype, payload = self.recv()
        if mtype == "E":
            return error_fields(payload)
        assert mtype == "R" and struct.unpack("!I", payload[:4])[0] == 11, (mtype, payload)
        server_first = payload[4:].decode()
        attrs = dict(item.split("=", 1) for item in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        final_bare = "c=biws,r=" + attrs["r"]
        auth_message = ",".join((first_bare, server_first, final_bare)).encode()
        signature = hmac.new(stored_key, auth_message, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.send("p", (final_bare + ",p=" + base64.b64encode(proof).decode()).encode())
        return None

    def auth_request(self, user, database):
        """Send a startup packet and return the code of the first
        AuthenticationRequest (0 ok, 3 cleartext, 5 md5, 10 SASL), or the
        ErrorResponse fields if the pooler refuses at once."""
        self.send_raw(startup_packet(user, database))
        mtype, payload = self.recv()
        if mtype == "E":
            return error_fields(payload)
        assert mtype == "R", "expected an AuthenticationRequest, got %r" % mtype
        return struct.unpack("!I", payload[:4])[0]

    def query(self, sql):
        """Send a simple Query; return the messages up to ReadyForQuery."""
        self.send("Q", sql.encode() + b"\0")
        return self.until_ready()

    def until_ready(self):
        msgs = []
        while True:
            msg = self.recv()
            msgs.append(msg)
            if msg[0] == "Z":
                return msgs


def rows(msgs):
    """The text values of the DataRow messages in `msgs`."""
    out = []
    for mtype, payload in msgs:
        if mtype != "D":
            continue
        (ncols,) = struct.unpack("!H", payload[:2])
        pos, row = 2, []
        for _ in range(ncols):
            (n,) = struct.unpack("!i", payload[pos : pos + 4])
            pos += 4
            if n < 0:
                row.append(None)
            else:
                row.append(payload[pos : pos + n].decode())
                pos += n
        out.append(tuple(row))
    return out


def errors(msgs):
    return [error_fields(p) for t, p in msgs if t == "E"]


def send_cancel(host, port, pid, key):
    """Send a CancelRequest and wait until the pooler closes the socket."""
    sock = socket.create_connection((host, port), timeout=5)
    try:
        sock.sendall(struct.pack("!IIII", 16, CANCEL_REQUEST, pid, key))
        deadline = time.time() + 5
        while time.time() < deadline:
            if not sock.recv(1024):
                break
    except (socket.timeout, ConnectionResetError):
        pass
    finally:
        sock.close()
