"""pytest setup shared by the unit-binary runner and the e2e tests.

UG_BUILD (default build/release, relative to the repo root) names the build
whose bin/ and tests/ are used; UG_VALGRIND=1 runs hubd and the unit
binaries under valgrind. The e2e harness lives in tests/e2e/hubtest.py.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "e2e"))

import hubtest  # noqa: E402
import zmq  # noqa: E402


def _context_left_to_the_process_exit(self):
    """A context the garbage collector finds is never terminated: in a
    reference cycle the collector clears the socket's weak reference
    before the context's finaliser runs, so pyzmq's destroy() cannot see
    that socket to close it, and its zmq_ctx_term waits for it for good
    (two full runs hung there, in no test's own code). The process's
    exit frees what is left."""


zmq.Context.__del__ = _context_left_to_the_process_exit


@pytest.fixture
def make_hub(tmp_path, request):
    """Factory: make_hub(start=True, **Hub kwargs). Every hub is stopped
    with SIGTERM (exit 0 asserted) and privacy-swept at teardown."""
    hubs = []
    request.node.ug_hubs = hubs

    def make(start=True, name=None, **kw):
        h = hubtest.Hub(tmp_path / (name or f"hub{len(hubs)}"), **kw)
        hubs.append(h)
        if start:
            h.start()
        return h

    yield make
    failures = []
    for h in hubs:
        try:
            h.close()
        except AssertionError as e:
            failures.append(str(e))
    if failures:
        pytest.fail("teardown: " + "\n".join(failures), pytrace=False)


@pytest.fixture
def hub(make_hub):
    """A running hub with agency school-a (absence), caseworker cw-anna and
    desk member desk-dora."""
    return make_hub()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for h in getattr(item, "ug_hubs", []):
            log = h.log_text()
            report.sections.append(
                (f"hubd log ({h.logs_dir})", log[-6000:] or "(empty)"))
