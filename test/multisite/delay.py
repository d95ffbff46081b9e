#!/usr/bin/env python3
"""delay.py LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT DELAY_MS: a TCP relay that holds
every chunk it reads for DELAY_MS milliseconds before writing it on, in each direction, in
order. The test bed's delay fault: this kernel has no netem, so a zone's connections to the
SuperLink are DNATed here. Bytes are passed through untouched (TLS ends at the SuperLink).
Standard library only."""
import asyncio
import sys
import time


async def pump(reader, writer, delay):
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    sender = asyncio.ensure_future(send())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((time.monotonic() + delay, data or None))
            if not data:
                break
        await sender
    except (ConnectionError, asyncio.CancelledError):
        sender.cancel()
    finally:
        try:
            writer.close()
        except Exception:  # noqa: BLE001 - closing a broken transport
            pass


async def main(listen, lport, target, tport, delay):
    async def handle(r1, w1):
        try:
            r2, w2 = await asyncio.open_connection(target, tport)
        except OSError:
            w1.close()
            return
        await asyncio.gather(pump(r1, w2, delay), pump(r2, w1, delay))

    server = await asyncio.start_server(handle, listen, lport)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit("usage: delay.py LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT DELAY_MS")
    a = sys.argv
    asyncio.run(main(a[1], int(a[2]), a[3], int(a[4]), int(a[5]) / 1000.0))
