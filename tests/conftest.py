"""Test-wide settings: CI runs hypothesis derandomized, so a red CI is reproducible; one
local Ray per test process, shared by the modules that use it."""

import os

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def ray_session():
    """A quiet local Ray with two CPUs, started once per test process (15-30 s)."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR", object_store_memory=100 * 1024**2)
    yield ray
    if started:
        ray.shutdown()
