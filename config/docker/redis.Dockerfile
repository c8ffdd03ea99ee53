# Redis for the Docker runtime where no registry is reachable (set stack.images.redis to
# the tag). Elsewhere the public image (redis:7-alpine) does the same job.
#   docker build -f config/docker/redis.Dockerfile --build-arg BASE_IMAGE=debian:bookworm-slim \
#       -t localhost/recctl-redis:bookworm config/docker
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
EXPOSE 6379
# A default only: the Docker runtime starts Redis on its own config file (a per-run
# password, an append-only file).
CMD ["redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
