"""nginx as the load balancer: its config rendered from config/nginx/nginx.conf.template,
and nginx as a managed process (the local runtime, the tests)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from string import Template
from typing import Any

from recctl.errors import RecctlError
from recctl.paths import config_file
from recctl.stack.managed import ManagedProcess
from recctl.stack.probes import http_probe, http_url, tcp_probe


def find_nginx() -> str | None:
    """nginx from PATH (or /usr/sbin, where Debian puts it), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def render_nginx_conf(
    *,
    listen: str,
    upstreams: list[str],
    pid_file: str,
    error_log: str,
    temp_dir: str,
    resolver: str | None = None,
) -> str:
    """The balancer's config: `listen` is "127.0.0.1:8080" or "80"; upstreams "host:port"."""
    template = Template(config_file("nginx/nginx.conf.template").read_text())
    servers = "\n".join(f"        server {u} max_fails=1 fail_timeout=2s;" for u in upstreams)
    return template.substitute(
        listen=listen,
        upstream_servers=servers,
        pid_file=pid_file,
        error_log=error_log,
        temp_dir=temp_dir,
        resolver=f"resolver {resolver} valid=10s;" if resolver else "",
    )


def write_nginx_conf(path: Path, **kwargs: Any) -> Path:
    """Write `render_nginx_conf(**kwargs)` to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_nginx_conf(**kwargs))
    return path


def want_nginx(balancer: str) -> bool:
    """Whether `stack.balancer` (auto | nginx | client) means starting nginx here."""
    if balancer == "client":
        return False
    found = find_nginx() is not None
    if balancer == "nginx" and not found:
        raise RecctlError("stack.balancer is 'nginx' but no nginx is installed here",
                          "install nginx (`apt-get install nginx-light`) or set "
                          "stack.balancer: auto to let the simulator balance")
    return found


class NginxProcess(ManagedProcess):
    """nginx balancing `upstreams` ("host:port"), its files in `folder`: ready once the
    endpoint answers `ready_path` through it (a replica behind it is ready)."""

    def __init__(self, folder: Path, *, host: str, port: int, upstreams: list[str],
                 ready_path: str | None = "/ready", ready_timeout: float = 15.0) -> None:
        self.folder = Path(folder)
        self.host, self.port, self.upstreams = host, port, upstreams
        probe = tcp_probe(host, port)
        if ready_path is not None:
            probe = probe & http_probe(self.endpoint + ready_path)
        super().__init__(
            [find_nginx() or "nginx", "-c", str(self.conf), "-p", str(self.folder),
             "-e", str(self.error_log)],
            name="nginx", log_file=self.folder / "stdout.log", logs=[self.error_log],
            probe=probe, ready_timeout=ready_timeout)

    @property
    def conf(self) -> Path:
        return self.folder / "nginx.conf"

    @property
    def error_log(self) -> Path:
        return self.folder / "error.log"

    @property
    def endpoint(self) -> str:
        return http_url(self.host, self.port)

    def prepare(self) -> None:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.folder / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        write_nginx_conf(self.conf, listen=f"{self.host}:{self.port}", upstreams=self.upstreams,
                         pid_file=str(self.folder / "nginx.pid"), error_log=str(self.error_log),
                         temp_dir=str(self.folder / "tmp"))
        super().prepare()

    @property
    def record(self) -> dict[str, object]:
        return {**super().record, "conf": str(self.conf), "port": self.port, "argv": self.argv}

    def reload(self) -> None:
        """`nginx -s reload`: new workers with the config, old ones drain."""
        subprocess.run([*self.argv, "-s", "reload"], check=True, capture_output=True,
                       timeout=10)
