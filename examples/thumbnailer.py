"""A thumbnail service that starts one thread per image in the request.

A request with 5 000 images starts 5 000 threads at once.
"""
from concurrent.futures import ThreadPoolExecutor


def make_thumbnails(paths):
    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        return list(pool.map(resize, paths))


def resize(path):
    return path
