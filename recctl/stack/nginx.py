"""nginx as the load balancer: its config rendered from config/nginx/nginx.conf.template."""

from __future__ import annotations

import shutil
from pathlib import Path
from string import Template

from recctl.paths import config_file


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


def write_nginx_conf(path: Path, **kwargs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_nginx_conf(**kwargs))  # type: ignore[arg-type]
    return path
