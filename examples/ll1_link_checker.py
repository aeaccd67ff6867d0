"""A link checker that opens one connection per link, all at once.

Fine on a blog with forty pages. Pointed at a sitemap with 80 000 URLs it starts 80 000
requests in the same instant: the file-descriptor limit is hit, the remote side starts
refusing, and memory holds every pending response.
"""
import asyncio

import aiohttp


async def check(session, url):
    async with session.head(url, allow_redirects=True) as response:
        return url, response.status


async def check_all(urls):
    connector = aiohttp.TCPConnector(limit=0)  # "the pool was too small"
    async with aiohttp.ClientSession(connector=connector) as session:
        return await asyncio.gather(*(check(session, u) for u in urls))


async def check_sitemaps(sitemaps):
    async with asyncio.TaskGroup() as tg:
        for sitemap in sitemaps:
            tg.create_task(check_all(sitemap.urls))
