"""A network shaper for the bench: a TCP proxy on loopback that makes the
path behave like a WAN link (this machine has no tc/netem).

- Latency: every chunk of data is delivered half a round trip after it
  arrived, in each direction, in order; a new connection's first bytes wait
  one more round trip (the TCP handshake a real connect costs). So an HTTP
  request/response costs one RTT, a TLS 1.3 handshake one more.
- Bandwidth: server-to-client bytes share one token bucket (the link's
  capacity), paced chunk by chunk.

TCP-level, so it carries HTTP/1.1 and HTTP/2 over TLS alike; it counts
connections so a bench can report how many a tool opened.

    python3 bench/shaper.py --listen 8081 --to 127.0.0.1:8080 --rtt-ms 40 --mbit 200
"""

import argparse
import asyncio
import os
import time


class Link:
    def __init__(self, rtt_s, bytes_per_s):
        self.delay = rtt_s / 2
        self.rate = bytes_per_s
        self.next_free = 0.0  # when the downstream link is free again
        self.connections = 0
        self.down_bytes = 0

    def pace(self, arrived, n):
        """When a downstream chunk of n bytes that arrived at `arrived` is delivered."""
        start = max(arrived + self.delay, self.next_free)
        self.next_free = start + n / self.rate
        self.down_bytes += n
        return self.next_free


async def pump(reader, writer, link, downstream, hold_until):
    queue = asyncio.Queue()

    async def deliver():
        while True:
            item = await queue.get()
            if item is None:
                break
            at, data = item
            wait = at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except OSError:
            pass

    task = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(64 * 1024)
            if not data:
                break
            now = time.monotonic()
            if downstream:
                at = link.pace(now, len(data))
            else:
                at = max(now + link.delay, hold_until)
            queue.put_nowait((at, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait(None)
    try:
        await task
    except (ConnectionError, OSError):
        pass


async def handle(client_r, client_w, link, host, port):
    link.connections += 1
    try:
        server_r, server_w = await asyncio.open_connection(host, port)
    except OSError:
        client_w.close()
        return
    # The handshake: a real client sends its first bytes one round trip
    # after connect(), and they reach the server half a round trip later.
    hold = time.monotonic() + 3 * link.delay
    await asyncio.gather(
        pump(client_r, server_w, link, False, hold),
        pump(server_r, client_w, link, True, hold),
    )
    for w in (client_w, server_w):
        try:
            w.close()
        except OSError:
            pass


async def serve(listen, host, port, rtt_ms, mbit, ready=None, hosts=1):
    link = Link(rtt_ms / 1000, mbit * 1e6 / 8)
    # 127.0.0.1 .. 127.0.0.N: N "hosts" behind one link (all loopback).
    addrs = [f"127.0.0.{i}" for i in range(1, hosts + 1)]
    server = await asyncio.start_server(lambda r, w: handle(r, w, link, host, port), addrs, listen)
    if ready:
        ready(link)
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--to", required=True, help="HOST:PORT of the server")
    ap.add_argument("--rtt-ms", type=float, default=40)
    ap.add_argument("--mbit", type=float, default=200)
    ap.add_argument("--stats", help="file to write 'connections down_bytes' to on SIGTERM")
    ap.add_argument("--hosts", type=int, default=1, help="listen on 127.0.0.1 .. 127.0.0.N (distinct hosts)")
    a = ap.parse_args()
    host, port = a.to.rsplit(":", 1)
    state = {}

    def ready(link):
        state["link"] = link
        print("ready", flush=True)

    import signal

    loop = asyncio.new_event_loop()

    def stop():
        if a.stats and "link" in state:
            with open(a.stats, "w") as f:
                f.write(f"{state['link'].connections} {state['link'].down_bytes}\n")
        os._exit(0)

    loop.add_signal_handler(signal.SIGTERM, stop)
    try:
        loop.run_until_complete(serve(a.listen, host, int(port), a.rtt_ms, a.mbit, ready, a.hosts))
    except asyncio.CancelledError:
        pass


if __name__ == "__main__":
    main()
