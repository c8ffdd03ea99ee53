"""The one process lifecycle (ManagedProcess) with real processes: ready, stopped, killed
when it ignores SIGTERM, cleaned up when its start fails (the error carries its log), and
found again from its stored record."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from local_fixtures import write_experiment

from recctl.errors import RecctlError
from recctl.stack.managed import ManagedProcess, log_tail
from recctl.stack.probes import Probe, command_probe, free_port, http_probe, tcp_probe
from recctl.stack.redis_server import RedisServer
from recctl.stack.replica_process import ReplicaProcess


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def http_server(port: int) -> list[str]:
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]


def test_start_waits_until_ready_then_stop_ends_it(tmp_path: Path) -> None:
    port = free_port()
    server = ManagedProcess(http_server(port), name="web", log_file=tmp_path / "web.log",
                            probe=http_probe(f"http://127.0.0.1:{port}/"))
    with server:
        assert server.running
        assert tcp_probe("127.0.0.1", port).check()  # ready means it answers now
        record = server.record
        assert record["pid"] == server.pid and record["started"] > 0
    assert not server.running and server.returncode is not None


def test_a_stored_record_finds_the_process_again_and_stops_it(tmp_path: Path) -> None:
    port = free_port()
    server = ManagedProcess(http_server(port), name="web", log_file=tmp_path / "web.log",
                            probe=tcp_probe("127.0.0.1", port)).start()
    try:
        again = ManagedProcess.attach(server.record, name="web")
        assert again.running
        # A pid alone is not enough: another start time is another process.
        assert not ManagedProcess.attach({**server.record, "started": 1.0}, name="x").running
        assert again.stop() is None  # not our child: no exit code to give
        assert not again.running and not server.running
    finally:
        server.stop()
    assert not ManagedProcess.attach({}, name="nothing").running  # an empty record


def test_an_early_exit_fails_start_with_the_log(tmp_path: Path) -> None:
    crashing = ManagedProcess(
        python("import sys; print('cannot open the config file'); sys.exit(3)"),
        name="crasher", log_file=tmp_path / "crash.log", probe=tcp_probe("127.0.0.1", 9))
    with pytest.raises(RecctlError) as caught:
        crashing.start()
    assert "crasher" in caught.value.message and "exited with code 3" in caught.value.message
    assert "cannot open the config file" in (caught.value.hint or "")
    assert not crashing.running


def test_a_probe_that_never_passes_times_out_and_stops_the_process(tmp_path: Path) -> None:
    stuck = ManagedProcess(python("import time; print('loading...', flush=True); "
                                  "time.sleep(60)"),
                           name="stuck", log_file=tmp_path / "stuck.log",
                           probe=Probe("never", lambda: False), ready_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(RecctlError) as caught:
        stuck.start()
    assert time.monotonic() - started < 10
    assert "stuck (never) was not ready after 1 s" in caught.value.message
    assert "loading..." in (caught.value.hint or "")
    assert not stuck.running


def test_sigterm_first_then_sigkill_for_a_process_that_ignores_it(tmp_path: Path) -> None:
    stubborn = ManagedProcess(
        python("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
               "print('up', flush=True); time.sleep(60)"),
        name="stubborn", log_file=tmp_path / "stubborn.log",
        probe=command_probe(["grep", "-q", "up", str(tmp_path / "stubborn.log")]),
        stop_timeout=0.5)
    stubborn.start()
    assert stubborn.stop() == -9
    graceful = ManagedProcess(python("import time; time.sleep(60)"), name="graceful",
                              log_file=tmp_path / "graceful.log").start()
    assert graceful.stop() == -15


def test_a_missing_executable_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecctlError) as caught:
        ManagedProcess([str(tmp_path / "no-such-program")], name="ghost",
                       log_file=tmp_path / "ghost.log").start()
    assert "ghost" in caught.value.message and "no-such-program" in caught.value.message


def test_redis_on_a_taken_port_fails_with_its_own_log() -> None:
    with RedisServer() as first:
        second = RedisServer(port=first.port)
        with pytest.raises(RecctlError) as caught:
            second.start()
        assert "redis" in caught.value.message
        assert "in use" in (caught.value.hint or "").lower()  # redis.log, not only stdout
        assert not second.running and first.client().ping()


def test_a_replica_that_cannot_start_says_why(tmp_path: Path, redis_url: str) -> None:
    experiment = write_experiment(tmp_path, "broken", tmp_path / "no-artifacts")
    replica = ReplicaProcess(name="replica-1", experiment=experiment, redis_url=redis_url,
                             log_dir=tmp_path / "logs", service_log=tmp_path / "service.log",
                             ready_timeout=30)
    with pytest.raises(RecctlError) as caught:
        replica.start()
    assert "replica-1" in caught.value.message and "exited with code 1" in caught.value.message
    assert "no-artifacts" in (caught.value.hint or "")
    assert not replica.running


def test_log_tail_keeps_the_end(tmp_path: Path) -> None:
    log = tmp_path / "long.log"
    log.write_text("".join(f"line {i}\n" for i in range(1000)))
    tail = log_tail(log, lines=3)
    assert tail.split() == ["line", "997", "line", "998", "line", "999"]
    assert log_tail(tmp_path / "missing.log") == "(no log)"
