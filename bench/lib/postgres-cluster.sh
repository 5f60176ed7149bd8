# postgres-cluster.sh - a throw-away PostgreSQL cluster for the benchmarks (sourced, not run).
#
#   source bench/lib/postgres-cluster.sh
#   pg_cluster_start DIR PORT CPUS    # initdb into DIR/data, listen on 127.0.0.1:PORT only, pinned to CPUS
#   echo "$PG_URI"                    # postgresql://gatehouse:…@127.0.0.1:PORT/gatehouse?sslmode=disable
#   pg_cluster_stop DIR
#
# Debian's server binaries (apt-get install postgresql; scripts/install-deps.sh does). The cluster
# keeps PostgreSQL's default durability (fsync and synchronous_commit on), as an admin's would;
# PG_OPTIONS adds server options (e.g. "-c synchronous_commit=off"). initdb refuses root, so as root
# the cluster runs as the `postgres` system user.

pg_cluster_bin() {
  local initdb
  initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)
  if [ -z "$initdb" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    initdb=$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)
  fi
  dirname "$initdb"
}

pg_cluster_as_owner() {  # command...: as the cluster's owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_cluster_start() {  # dir port cpus
  local dir=$1 port=$2 cpus=$3 bin password
  bin=$(pg_cluster_bin)
  password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  printf '%s\n' "$password" >"$dir/pwfile"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/pwfile"
  chmod 600 "$dir/pwfile"
  pg_cluster_as_owner "$bin/initdb" -D "$dir/data" -U gatehouse --pwfile="$dir/pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1
  rm -f "$dir/pwfile"
  pg_cluster_as_owner taskset -c "$cpus" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c max_connections=200 ${PG_OPTIONS:-}" >/dev/null
  PGPASSWORD=$password "$bin/createdb" -h 127.0.0.1 -p "$port" -U gatehouse --template=template0 --encoding=UTF8 \
    --locale=C gatehouse
  PG_URI="postgresql://gatehouse:$password@127.0.0.1:$port/gatehouse?sslmode=disable"
}

pg_cluster_stop() {  # dir
  local dir=$1
  [ -f "$dir/data/postmaster.pid" ] && pg_cluster_as_owner "$(pg_cluster_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
  return 0
}
