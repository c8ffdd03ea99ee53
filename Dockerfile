# The botify service image (one image, N replicas). Built by `recctl up` when the
# experiment says `stack.runtime: docker`, or by hand / by config/compose.yml:
#   docker build --build-arg BASE_IMAGE=python:3.11-slim -t recctl-botify .
# BASE_IMAGE is any image with Python 3.10+ and pip (python:3.11-slim, or a local
# Debian image where no registry is reachable).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /opt/recctl

# Dependencies in a layer of their own: rebuilt only when pyproject.toml or the wheels
# change, not on every edit of the code. Wheels in the WHEELS folder of the build context
# make the build work without a package index (`recctl up` puts them there); with the
# default, an empty folder, pip uses PyPI.
ARG WHEELS=config/docker/wheels
COPY pyproject.toml README.md ./
COPY ${WHEELS}/ /tmp/wheels/
RUN python3 -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print('\n'.join(deps + ['hatchling']))" > /tmp/requirements.txt \
    && if ls /tmp/wheels/*.whl >/dev/null 2>&1; then \
           python3 -m pip install -q --no-index --find-links /tmp/wheels -r /tmp/requirements.txt; \
       else \
           python3 -m pip install -q -r /tmp/requirements.txt; \
       fi \
    && rm -rf /tmp/wheels

COPY recctl/ recctl/
COPY config/ config/
RUN python3 -m pip install -q --no-deps --no-build-isolation . \
    && mkdir -p /var/log/recctl /opt/recctl-run

# Unprivileged at run time; the log folder is its own.
RUN useradd --system --no-create-home --home-dir /nonexistent botify 2>/dev/null \
        || adduser -S -H botify \
    && chown botify /var/log/recctl
USER botify
EXPOSE 8000
CMD ["recctl", "serve", "--help"]
