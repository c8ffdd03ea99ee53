"""The replica's limits from RECCTL_* variables: defaults, overrides, clear errors."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest
from botify_fixtures import HEADLINE_ARMS, write_experiment

from recctl.botify.settings import Limits, ServiceSettings
from recctl.errors import RecctlError


def test_defaults_and_overrides():
    limits = Limits.from_environ({})
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert limits.redis_pool == 64 and limits.max_inflight == 2048
    assert 64 <= limits.max_connections <= min(10_000, max(64, soft - 256))
    assert limits.keep_alive > 60  # nginx's upstream keep-alive closes first
    custom = Limits.from_environ({"RECCTL_REDIS_POOL": "3", "RECCTL_HEADER_TIMEOUT": "0.5",
                                  "RECCTL_MAX_CONNECTIONS": "70"})
    assert (custom.redis_pool, custom.header_timeout, custom.max_connections) == (3, 0.5, 70)
    settings = ServiceSettings.from_environ({"RECCTL_EXPERIMENT": "x.yml",
                                             "RECCTL_MAX_INFLIGHT": "9"})
    assert settings.limits.max_inflight == 9


@pytest.mark.parametrize(("variable", "value"), [
    ("RECCTL_REDIS_POOL", "many"), ("RECCTL_REDIS_POOL", "2.5"), ("RECCTL_MAX_INFLIGHT", "0"),
    ("RECCTL_BODY_TIMEOUT", "-1"), ("RECCTL_KEEP_ALIVE", "nan"),
    ("RECCTL_REDIS_POOL_WAIT", "inf")])
def test_bad_values_name_the_variable(variable, value):
    with pytest.raises(RecctlError) as caught:
        Limits.from_environ({variable: value})
    assert variable in caught.value.message and caught.value.hint


def test_a_replica_with_a_bad_limit_exits_with_one_line(tmp_path, redis_url):
    experiment = write_experiment(tmp_path, HEADLINE_ARMS)
    done = subprocess.run(
        [sys.executable, "-m", "recctl.botify", "--experiment", str(experiment),
         "--redis", redis_url], capture_output=True, text=True, timeout=30,
        env={**os.environ, "RECCTL_REDIS_POOL": "lots"})
    assert done.returncode == 1
    assert "RECCTL_REDIS_POOL" in done.stderr and "Traceback" not in done.stderr
