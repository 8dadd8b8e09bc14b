"""The start-up benchmark's Bot API emulator, in a process of its own (see benchmarks/startup.py).

N bots in one supergroup (--chat-id); a second port answers /ready with how many of them have a long poll
waiting and when the last one started. Prints one JSON line (base_url, ready_url, tokens) once
both ports listen, then serves until SIGTERM or SIGINT.

    python -m benchmarks.startup_emulator --bots 50 --chat-id -1001000000001 [--cert CERT --key KEY]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import ssl
import time


async def serve(bots: int, chat_id: int, cert: str | None, key: str | None) -> None:
    from aiohttp import web

    from piyasa_bot.sandbox import Emulator

    emulator = Emulator()
    names = [f"b{i:04d}" for i in range(bots)]
    tokens = {name: emulator.add_bot(name, f"{name}_bench_bot", privacy=False).token for name in names}
    emulator.add_chat(chat_id, "Bench", "supergroup", names)
    context = None
    if cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    polling_at: dict[str, float] = {}

    async def first_poll(name: str) -> None:
        await emulator.wait_polling(name, timeout=3600)
        polling_at[name] = time.time()

    watchers = [asyncio.create_task(first_poll(name)) for name in names]

    async def ready(_: web.Request) -> web.Response:
        return web.json_response(
            {
                "polling": len(polling_at),
                "last_at": max(polling_at.values(), default=None),
                "stats": emulator.stats()["requests"],
            }
        )

    app = web.Application()
    app.router.add_get("/ready", ready)
    control = web.AppRunner(app, access_log=None)
    await control.setup()
    site = web.TCPSite(control, "127.0.0.1", 0)
    await site.start()
    base_url = await emulator.start("127.0.0.1", 0, ssl_context=context)
    ready_url = f"http://127.0.0.1:{control.addresses[0][1]}/ready"
    print(json.dumps({"base_url": base_url, "ready_url": ready_url, "tokens": tokens}), flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    for watcher in watchers:
        watcher.cancel()
    await emulator.stop()
    await control.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, required=True)
    parser.add_argument("--chat-id", type=int, required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.bots, args.chat_id, args.cert, args.key))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
