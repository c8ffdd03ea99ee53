# nginx for the Docker runtime where no registry is reachable (set stack.images.nginx to
# the tag). Elsewhere the public image (nginx:1.27-alpine) does the same job. The runtime
# copies its rendered config in and runs `nginx -c` on it.
#   docker build -f config/docker/nginx.Dockerfile --build-arg BASE_IMAGE=debian:bookworm-slim \
#       -t localhost/recctl-nginx:bookworm config/docker
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
    && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 8080
CMD ["nginx", "-g", "daemon off;"]
