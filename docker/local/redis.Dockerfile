# A stand-in for the official redis image, for machines that reach Debian's mirror but no image
# registry (scripts/containers.sh builds it on the local base image): redis-server and redis-cli
# on the PATH, data in /data, not root, and (as the official image's entrypoint does)
# protected mode off when started without a config file. Redis 7.0 (bookworm's).
ARG NODE_IMAGE
FROM ${NODE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data
COPY docker/local/redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
USER redis
VOLUME /data
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["redis-server"]
