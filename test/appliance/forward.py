#!/usr/bin/env python3
"""forward.py LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT [DELAY_MS]: a TCP forwarder.
The boot harness and the multi-site bed use it so that VMs reach the OneGate emulator (which
binds loopback only) at their gateway's address, as ONEGATE_ENDPOINT names it; stopping it is
"OneGate down": connections are refused. With DELAY_MS, every chunk is held that long before
it is written on, in each direction and in order: the multi-site bed's delay fault (this
kernel has no netem). Bytes pass untouched (TLS ends at the target). Standard library only."""
import asyncio
import sys
import time


async def pipe(reader, writer, delay):
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
        await asyncio.gather(pipe(r1, w2, delay), pipe(r2, w1, delay))

    server = await asyncio.start_server(handle, listen, lport, reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit("usage: forward.py LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT [DELAY_MS]")
    a = sys.argv
    try:
        asyncio.run(main(a[1], int(a[2]), a[3], int(a[4]), int(a[5]) / 1000.0 if len(a) == 6 else 0.0))
    except KeyboardInterrupt:
        pass
