# Shared by scripts/demo and scripts/test: make the backing services and
# database access ready on a Debian machine, installing what is missing.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${SCRIPTS_STATE_DIR:-$ROOT/.psa}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/psa-target}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

apt_install() {
  say "installing $* (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_toolchain() {
  command -v cargo >/dev/null || die "Rust (cargo) is required: https://rustup.rs"
  command -v cc >/dev/null || apt_install build-essential
  command -v psql >/dev/null || apt_install postgresql-client
}

ensure_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then return; fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
  fi
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  say "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 60); do
    pg_isready -h 127.0.0.1 -p 5432 -q && return
    sleep 0.5
  done
  die "PostgreSQL did not come up on 127.0.0.1:5432"
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/psa.log
  for _ in $(seq 1 40); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return
    sleep 0.25
  done
  die "Redis did not come up on 127.0.0.1:6379"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when the broker answers the AMQP 0-9-1 protocol header within 5 s
# (an open port alone is not enough: a wedged node accepts TCP and then
# never speaks).
amqp_answers() {
  timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672 && printf "AMQP\0\0\011\001" >&3 && head -c 1 <&3 >/dev/null' 2>/dev/null
}

ensure_rabbitmq() {
  if port_open 5672; then
    amqp_answers && return
    say "RabbitMQ accepts connections but does not answer: restarting it"
    as_root timeout 60 rabbitmqctl stop >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do port_open 5672 || break; sleep 0.5; done
  fi
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  say "starting RabbitMQ"
  as_root rabbitmq-server -detached || true
  # It takes 10-15 s to accept connections.
  for _ in $(seq 1 120); do
    port_open 5672 && amqp_answers && return
    sleep 0.5
  done
  die "RabbitMQ did not come up on 127.0.0.1:5672"
}

# Where the admin connection and the module roles' passwords come from.
# With trust auth (as on the project's machines) none are needed; otherwise a
# superuser role psa_admin and module role passwords are made once and kept
# in .psa/db.env (mode 600, not committed).
ensure_db_access() {
  mkdir -p "$STATE_DIR"
  if [ ! -f "$STATE_DIR/db.env" ]; then
    if psql -w -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1 </dev/null; then
      cat > "$STATE_DIR/db.env" <<ENV
export PSA_DATABASE__ADMIN_URL="postgres://postgres@127.0.0.1:5432/psa"
export TEST_DATABASE_ADMIN_URL="postgres://postgres@127.0.0.1:5432/postgres"
ENV
    else
      say "PostgreSQL asks for passwords: creating role psa_admin and module role passwords"
      local admin_pw
      admin_pw="$(random_secret)"
      as_root runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -v pw="$admin_pw" <<'SQL'
select format('create role psa_admin login superuser password %L', :'pw')
 where not exists (select 1 from pg_roles where rolname = 'psa_admin') \gexec
select format('alter role psa_admin password %L', :'pw') \gexec
SQL
      (umask 077; cat > "$STATE_DIR/db.env" <<ENV
export PSA_DATABASE__ADMIN_URL="postgres://psa_admin:$admin_pw@127.0.0.1:5432/psa"
export TEST_DATABASE_ADMIN_URL="postgres://psa_admin:$admin_pw@127.0.0.1:5432/postgres"
DB_NEEDS_PASSWORDS=1
ENV
)
    fi
  fi
  # shellcheck disable=SC1091
  . "$STATE_DIR/db.env"
  # Every module role gets a password where the server asks for one (set by `psa migrate`).
  if [ "${DB_NEEDS_PASSWORDS:-}" = 1 ]; then
    for module in $(ls "$ROOT/migrations"); do
      var="PSA_DATABASE__ROLE_PASSWORDS__$(printf '%s' "$module" | tr '[:lower:]' '[:upper:]')"
      if ! grep -q "^export $var=" "$STATE_DIR/db.env"; then
        (umask 077; echo "export $var=\"$(random_secret)\"" >> "$STATE_DIR/db.env")
      fi
    done
    # shellcheck disable=SC1091
    . "$STATE_DIR/db.env"
  fi
}

random_secret() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9'; }

# The admin URL of database $1 on the server TEST_DATABASE_ADMIN_URL names.
database_url() { printf '%s/%s' "${TEST_DATABASE_ADMIN_URL%/*}" "$1"; }

fresh_database() {
  local PGOPTIONS="-c client_min_messages=warning"; export PGOPTIONS
  psql -q -d "$(database_url postgres)" -c "drop database if exists \"$1\" with (force)" -c "create database \"$1\""
}

drop_database() {
  local PGOPTIONS="-c client_min_messages=warning"; export PGOPTIONS
  psql -q -d "$(database_url postgres)" -c "drop database if exists \"$1\" with (force)" || true
}

# sqlx's macros do not tell cargo that they read the database: make cargo
# expand them again.
touch_query_crates() {
  grep -rl --include='*.rs' -e 'sqlx::query!' -e 'sqlx::query_as!' -e 'sqlx::query_scalar!' \
    "$ROOT/services" "$ROOT/libs" | xargs -r touch
}

# The queries against a freshly migrated schema (CI): a migration that breaks
# a query fails here; a query changed without .sqlx/ fails the offline build.
check_queries_online() {
  local db="psa_sqlx_check_$$"
  say "building psa offline (.sqlx/ must hold every query)"
  SQLX_OFFLINE=true cargo build -q -p psa --locked
  fresh_database "$db"
  PSA_DATABASE__ADMIN_URL="$(database_url "$db")" "$CARGO_TARGET_DIR/debug/psa" migrate >/dev/null
  touch_query_crates
  say "cargo clippy -D warnings, queries checked against the freshly migrated schema"
  local rc=0
  DATABASE_URL="$(database_url "$db")" SQLX_OFFLINE=false \
    cargo clippy --workspace --all-targets --locked -- -D warnings || rc=$?
  drop_database "$db"
  return "$rc"
}
