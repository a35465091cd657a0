#!/usr/bin/env bash
# Installs (when missing) and starts, on 127.0.0.1 only, every backend the
# integration tests need, then prints the SOCKUDO_TEST_* variables as
# `export` lines for the caller to eval. Services already answering on their
# port are reused. Progress goes to stderr.
#
# Ports: Redis 6379, Redis Cluster 7000-7002, Redis Sentinel master 6381 +
# sentinel 26379, PostgreSQL 5432, MariaDB 3306, dynalite 8000,
# local-aws-sqs 9324, NATS with JetStream 4222.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
STATE=${SOCKUDO_CI_STATE:-/tmp/sockudo-ci}
mkdir -p "$STATE"
# Ports are variables only so the install-and-start paths can be exercised
# beside running services; CI uses the standard ones.
PG_PORT=${SOCKUDO_CI_PG_PORT:-5432}
MYSQL_PORT=${SOCKUDO_CI_MYSQL_PORT:-3306}
NATS_PORT=${SOCKUDO_CI_NATS_PORT:-4222}
log() { echo "services: $*" >&2; }

wait_for() { # wait_for <what> <tries of 0.2 s> <command...>
  local what=$1 n=$2; shift 2
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "timed out waiting for $what"; return 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ $APT_UPDATED -eq 0 ]; then apt-get update -q >&2; APT_UPDATED=1; fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

redis_on() { # redis_on <port> [extra args...]
  local port=$1; shift
  port_open "$port" && return 0
  mkdir -p "$STATE/redis-$port"
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
    --dir "$STATE/redis-$port" --logfile "$STATE/redis-$port/redis.log" "$@" >&2
  wait_for "redis $port" 50 redis-cli -p "$port" ping
}

start_redis() {
  apt_install redis-server redis-tools
  redis_on 6379
  # Cluster: three masters.
  if ! redis-cli -p 7000 cluster info 2>/dev/null | grep -q cluster_state:ok; then
    for p in 7000 7001 7002; do
      rm -rf "$STATE/redis-$p"
      redis_on "$p" --cluster-enabled yes --cluster-config-file "$STATE/redis-$p/nodes.conf" --cluster-node-timeout 5000
    done
    redis-cli --cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002 --cluster-replicas 0 --cluster-yes >&2
    wait_for "cluster_state:ok" 100 sh -c 'redis-cli -p 7000 cluster info | grep -q cluster_state:ok'
  fi
  # Sentinel: a master on 6381 watched by one sentinel on 26379.
  redis_on 6381
  if ! port_open 26379; then
    mkdir -p "$STATE/sentinel"
    cat > "$STATE/sentinel/sentinel.conf" <<CONF
bind 127.0.0.1
port 26379
daemonize yes
dir $STATE/sentinel
logfile $STATE/sentinel/sentinel.log
sentinel monitor mymaster 127.0.0.1 6381 1
sentinel down-after-milliseconds mymaster 5000
CONF
    redis-server "$STATE/sentinel/sentinel.conf" --sentinel >&2
    wait_for sentinel 50 sh -c 'redis-cli -p 26379 sentinel get-master-addr-by-name mymaster | grep -q 6381'
  fi
}

start_postgres() {
  if ! port_open "$PG_PORT"; then
    apt_install postgresql postgresql-client
    local bin; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    install -d -o postgres -g postgres "$STATE/pg"
    [ -d "$STATE/pg/data" ] || runuser -u postgres -- "$bin/initdb" -D "$STATE/pg/data" -U postgres \
      --auth=trust -E UTF8 --no-sync >&2
    runuser -u postgres -- "$bin/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/pg.log" -w -o \
      "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $STATE/pg -c fsync=off" start >&2
  fi
  wait_for postgres 100 psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c 'select 1'
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1 ||
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c 'create database test' >&2
}

start_mariadb() {
  if ! port_open "$MYSQL_PORT"; then
    apt_install mariadb-server mariadb-client
    install -d -o mysql -g mysql "$STATE/mysql"
    [ -d "$STATE/mysql/data" ] || mariadb-install-db --user=mysql --datadir="$STATE/mysql/data" \
      --auth-root-authentication-method=normal --skip-test-db >"$STATE/mysql/install.log" 2>&1
    (mariadbd --no-defaults --user=mysql --datadir="$STATE/mysql/data" --bind-address=127.0.0.1 --port="$MYSQL_PORT" \
      --socket="$STATE/mysql/mysqld.sock" --log-error="$STATE/mysql/error.log" --skip-log-bin \
      --innodb-flush-log-at-trx-commit=0 >/dev/null 2>&1 &)
  fi
  wait_for mariadb 150 mariadb -h 127.0.0.1 -P "$MYSQL_PORT" -uroot -e 'select 1'
  mariadb -h 127.0.0.1 -P "$MYSQL_PORT" -uroot -e 'create database if not exists test' >&2
}

start_nats() {
  apt_install nats-server
  port_open "$NATS_PORT" && return 0
  mkdir -p "$STATE/nats-$NATS_PORT"
  # Background and detached, as the machine's own start command runs it.
  (exec nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$STATE/nats-$NATS_PORT/js" \
    -P "$STATE/nats-$NATS_PORT/nats.pid" -l "$STATE/nats-$NATS_PORT/nats.log" >/dev/null 2>&1 &)
  wait_for nats 100 port_open "$NATS_PORT"
}

start_node_services() {
  (cd "$HERE/node" && { npm ci --no-audit --no-fund --loglevel=error >&2 || npm install --no-audit --no-fund --loglevel=error >&2; })
  if ! port_open 8000; then
    (cd "$HERE/node" && exec node node_modules/dynalite/cli.js --host 127.0.0.1 --port 8000 \
      --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 >"$STATE/dynalite.log" 2>&1 &)
  fi
  if ! port_open 9324; then
    (cd "$HERE/node" && SQS_PORT=9324 exec node sqs-server.js >"$STATE/sqs.log" 2>&1 &)
  fi
  wait_for dynalite 100 port_open 8000
  wait_for local-aws-sqs 100 port_open 9324
}

start_redis
start_postgres
start_mariadb
start_nats
start_node_services
log "all services up"

cat <<VARS
export SOCKUDO_TEST_REDIS_URL=redis://127.0.0.1:6379
export SOCKUDO_TEST_REDIS_CLUSTER_ADDRS=127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002
export SOCKUDO_TEST_REDIS_SENTINEL_ADDRS=127.0.0.1:26379
export SOCKUDO_TEST_REDIS_SENTINEL_MASTER=mymaster
export SOCKUDO_TEST_REDIS_SERVER_BIN=$(command -v redis-server)
export SOCKUDO_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:$PG_PORT/test?sslmode=disable'
export SOCKUDO_TEST_MYSQL_DSN='root@tcp(127.0.0.1:$MYSQL_PORT)/test?parseTime=true'
export SOCKUDO_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:8000
export SOCKUDO_TEST_SQS_ENDPOINT=http://127.0.0.1:9324
export SOCKUDO_TEST_NATS_URL=nats://127.0.0.1:$NATS_PORT
VARS
