#!/usr/bin/env python3
"""forward.py LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT: a TCP forwarder, so that the
VMs of the boot harness reach the OneGate emulator (which binds loopback only) at the
address of their network's gateway, as ONEGATE_ENDPOINT names it. Stopping it is "OneGate
down": connections are refused. Standard library only."""
import asyncio
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # noqa: BLE001 - closing a broken transport
            pass


async def main(listen, lport, target, tport):
    async def handle(r1, w1):
        try:
            r2, w2 = await asyncio.open_connection(target, tport)
        except OSError:
            w1.close()
            return
        await asyncio.gather(pipe(r1, w2), pipe(r2, w1))

    server = await asyncio.start_server(handle, listen, lport, reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit("usage: forward.py LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT")
    try:
        asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
    except KeyboardInterrupt:
        pass
