"""LL102 / LL104: what the fixtures cannot show (LL104 off by default in every front end,
the messages naming what each item opens and why a fan-out is LL104's)."""
import json

from helpers import run_cli
from leaklint.api import lint_source
from leaklint.config import Settings
from leaklint.flake8_plugin import Plugin

CALLBACKS = (
    "import asyncio\n\nclass Hub:\n    async def update_all(self):\n"
    "        await asyncio.gather(*(e.async_update() for e in self.entities))\n"
)
REQUESTS = (
    "import asyncio\n\nasync def get(session, url):\n    async with session.get(url) as r:\n"
    "        return await r.text()\n\nasync def crawl(session, urls):\n"
    "    return await asyncio.gather(*(get(session, u) for u in urls))\n"
)


def codes(source, **settings):
    return [d.code for d in lint_source(source.encode(), "example.py", Settings(**settings)).diagnostics]


def test_ll104_silent_by_default_and_reported_when_selected():
    assert codes(CALLBACKS) == []
    assert codes(CALLBACKS, select=None, extend_select=("LL104",)) == ["LL104"]
    assert codes(CALLBACKS, select=("LL104",)) == ["LL104"]


def test_ll104_silent_by_default_in_the_cli(tmp_path):
    (tmp_path / "a.py").write_text(CALLBACKS)
    proc = run_cli("check", "--format", "json", "a.py", cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout) == []
    proc = run_cli("check", "--format", "json", "--extend-select", "LL104", "a.py", cwd=tmp_path)
    assert [d["code"] for d in json.loads(proc.stdout)] == ["LL104"]
    assert run_cli("rule", "LL104").returncode == 0


def test_ll104_is_in_flake8_default_ignore():
    class Options:
        def __init__(self):
            self.ignored = []

        def add_option(self, *args, **kwargs):
            pass

        def extend_default_ignore(self, codes):
            self.ignored.extend(codes)

    manager = Options()
    Plugin.add_options(manager)
    assert "LL104" in manager.ignored and "LL102" not in manager.ignored


def test_one_fan_out_is_one_finding_under_both_rules():
    assert codes(REQUESTS, select=("LL102", "LL104")) == ["LL102"]
    assert codes(CALLBACKS, select=("LL102", "LL104")) == ["LL104"]


def test_the_message_names_what_each_item_opens_and_where_the_size_comes_from():
    (diagnostic,) = lint_source(REQUESTS.encode(), "example.py", Settings(select=("LL102",))).diagnostics
    assert "one HTTP request (`session.get` in `get`) per item of `urls`" in diagnostic.message
    assert "a parameter of `crawl`" in diagnostic.message


def test_an_ll104_message_says_why_it_is_not_ll102():
    (diagnostic,) = lint_source(CALLBACKS.encode(), "example.py", Settings(select=("LL104",))).diagnostics
    assert "cannot be told" in diagnostic.message
