#!/usr/bin/env python3
"""Open N logged-in, idle client connections to a pooler and report the
pooler's resident memory (VmRSS) before and with them.

    idle_clients.py --port 6432 --pid 1234 --user lg_plain --password pw \
        --dbname lgtest --count 10000

Each client sends a startup packet, answers a cleartext or md5 password
request and waits for ReadyForQuery; then all stay idle while the RSS is
read. Prints one line: `connected=N failed=N rss_before_kb=N rss_after_kb=N`.
"""

import argparse
import asyncio
import hashlib
import resource
import struct
import sys
import time


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def startup(user, dbname):
    body = struct.pack("!I", 196608)
    for key, value in (("user", user), ("database", dbname)):
        body += key.encode() + b"\0" + value.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


async def read_message(reader):
    header = await reader.readexactly(5)
    (length,) = struct.unpack("!I", header[1:])
    return chr(header[0]), await reader.readexactly(length - 4)


async def login(args):
    """A logged-in connection (reader, writer), or an exception."""
    reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
    writer.write(startup(args.user, args.dbname))
    while True:
        mtype, payload = await read_message(reader)
        if mtype == "E":
            writer.close()
            raise RuntimeError(payload.decode(errors="replace"))
        if mtype == "R":
            (code,) = struct.unpack("!I", payload[:4])
            if code == 3:
                reply = args.password.encode()
            elif code == 5:
                inner = hashlib.md5((args.password + args.user).encode()).hexdigest()
                reply = b"md5" + hashlib.md5(inner.encode() + payload[4:8]).hexdigest().encode()
            elif code == 0:
                continue
            else:
                raise RuntimeError("unsupported authentication request %d" % code)
            writer.write(b"p" + struct.pack("!I", len(reply) + 5) + reply + b"\0")
        elif mtype == "Z":
            return reader, writer


async def main(args):
    before = vm_rss_kb(args.pid)
    conns, failures = [], []
    slots = asyncio.Semaphore(args.parallel)

    async def one():
        async with slots:
            try:
                conns.append(await asyncio.wait_for(login(args), 60))
            except Exception as e:  # counted and reported, never fatal
                failures.append(e)

    await asyncio.gather(*(one() for _ in range(args.count)))
    time.sleep(args.settle)
    after = vm_rss_kb(args.pid)
    for _, writer in conns:
        writer.write(b"X\0\0\0\4")
        writer.close()
    print("connected=%d failed=%d rss_before_kb=%d rss_after_kb=%d"
          % (len(conns), len(failures), before, after))
    if failures:
        print("first failure: %r" % (failures[0],), file=sys.stderr)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True, help="the pooler's pid, for VmRSS")
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--dbname", required=True)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--parallel", type=int, default=200, help="logins in flight at once")
    p.add_argument("--settle", type=float, default=1.0, help="seconds before reading VmRSS")
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.count + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main(args))
