# A stand-in for the official postgres image, for machines that reach Debian's mirror but no image
# registry (scripts/containers.sh builds it on the local base image). It keeps the parts of the
# official image's contract that docker/compose.yaml uses: POSTGRES_USER / POSTGRES_PASSWORD /
# POSTGRES_DB on the first start, the scripts in /docker-entrypoint-initdb.d run once against the
# new cluster, data in /var/lib/postgresql/data, pg_isready on the PATH. PostgreSQL 15 (bookworm's).
ARG NODE_IMAGE
FROM ${NODE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-common \
 && sed -ri 's/#(create_main_cluster) .*$/\1 = false/' /etc/postgresql-common/createcluster.conf \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d \
 && chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql \
 && chmod 0700 /var/lib/postgresql/data
COPY docker/local/postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
