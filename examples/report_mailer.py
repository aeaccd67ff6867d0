"""A nightly job that mails reports: each run leaks a file, a session and a pool.

`load_template` closes its file only when reading succeeds; `fetch_all` makes an HTTP
session per call and never closes it (the server keeps the connections until they
time out); `Mailer` opens a worker pool that nothing ever shuts down; and every
scheduled send stays in `Mailer.pending` forever.
"""
import asyncio
from concurrent.futures import ThreadPoolExecutor

import aiohttp


def load_template(path):
    template = open(path, encoding="utf-8")
    text = template.read()
    template.close()
    return text


async def fetch_all(urls):
    session = aiohttp.ClientSession()
    pages = []
    for url in urls:
        async with session.get(url) as response:
            pages.append(await response.text())
    return pages


class Mailer:
    def __init__(self):
        self.pool = ThreadPoolExecutor(max_workers=4)
        self.pending = set()

    def send_later(self, message, delay):
        loop = asyncio.get_running_loop()
        self.pending.add(loop.call_later(delay, self.pool.submit, print, message))
