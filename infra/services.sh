#!/usr/bin/env bash
# Local RabbitMQ, PostgreSQL 15 and S3 (s3rver) for development and CI, without Docker or systemd.
#
#   infra/services.sh install                     apt packages (skipped when present; chromium + chromium-driver are for the
#                                                 results browser test) + s3rver from npm into .run/tools/
#                                                 + the Silero VAD model (npm pack) into .run/tools/silero-vad/
#   infra/services.sh start                       FRESH run: stops what runs, wipes .run/data, starts all three
#   infra/services.sh stop                        stops all three (graceful, then SIGKILL; never hangs)
#   infra/services.sh status                      one line per service
#   infra/services.sh start|stop|restart SERVICE  one service (rabbitmq | postgres | s3), KEEPING its data
#   infra/services.sh kill SERVICE                SIGKILL one service (crash simulation); data kept
#
# After start, `source .run/services.env` gives the connection settings (see infra/README.md).
# Ports can be moved with KIMIA_RABBITMQ_PORT, KIMIA_RABBITMQ_MANAGEMENT_PORT, KIMIA_POSTGRES_PORT, KIMIA_S3_PORT.
set -euo pipefail

SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
INFRA="$(dirname "$SCRIPT")"
ROOT="$(dirname "$INFRA")"
RUN="$ROOT/.run"
DATA="$RUN/data"
TOOLS="$RUN/tools"
ENV_FILE="$RUN/services.env"

RMQ_PORT="${KIMIA_RABBITMQ_PORT:-5673}"
RMQ_MGMT_PORT="${KIMIA_RABBITMQ_MANAGEMENT_PORT:-15673}"
PG_PORT="${KIMIA_POSTGRES_PORT:-55432}"
S3_PORT="${KIMIA_S3_PORT:-4569}"

RMQ_BIN=/usr/lib/rabbitmq/bin
PG_BIN=/usr/lib/postgresql/15/bin
S3RVER_VERSION=3.7.1
# Silero VAD v5 (MIT) as ONNX, taken from the npm package that ships it (shared/KimiAudio.Vad/README.md says why)
VAD_NPM_PACKAGE=@ricky0123/vad-web@0.0.31
VAD_MODEL_SHA256=2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f
APT_PACKAGES=(rabbitmq-server postgresql ffmpeg espeak-ng sox chromium chromium-driver)
READY_TIMEOUT_S="${KIMIA_READY_TIMEOUT_S:-180}"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# Prints the last lines of a log file to stderr (for failures).
tail_log() { [[ -f "$1" ]] && { printf -- '--- last lines of %s ---\n' "$1" >&2; tail -n "${2:-40}" "$1" >&2; printf -- '---\n' >&2; }; return 0; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A zombie (exited, not yet reaped because PID 1 does not reap) counts as dead.
pid_alive() {
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
  [[ "$state" != Z ]]
}

read_pid() { [[ -f "$1" ]] && head -n1 "$1" | tr -d '[:space:]' || true; }

# Waits until PID exits, up to $2 seconds; returns 1 if it is still alive.
wait_exit() {
  local pid="$1" secs="$2" i
  for ((i = 0; i < secs * 10; i++)); do pid_alive "$pid" || return 0; sleep 0.1; done
  ! pid_alive "$pid"
}

# TERM, wait, then KILL. The whole process group when the PID leads one (services are started with setsid).
terminate() {
  local pid="$1" grace="${2:-10}"
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_exit "$pid" "$grace" && return 0
  log "pid $pid did not exit after SIGTERM within ${grace}s; sending SIGKILL"
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  wait_exit "$pid" 5 || log "pid $pid is still present after SIGKILL (zombie not reaped by PID 1?)"
}

as_root() { [[ $EUID -eq 0 ]]; }

# ---------------------------------------------------------------------------------------------------------------- install

cmd_install() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    as_root || die "apt packages missing (${missing[*]}); run as root: infra/services.sh install"
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -q >/dev/null
    apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
  else
    log "apt packages already present: ${APT_PACKAGES[*]}"
  fi
  command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed for s3rver (apt-get install nodejs npm)"

  local dir="$TOOLS/s3rver"
  if [[ -f "$dir/node_modules/s3rver/package.json" ]] && cmp -s "$INFRA/s3rver/package-lock.json" "$dir/package-lock.json"; then
    log "s3rver $S3RVER_VERSION already installed in ${dir#"$ROOT"/}"
  else
    log "npm ci s3rver@$S3RVER_VERSION into ${dir#"$ROOT"/}"
    rm -rf "$dir"; mkdir -p "$dir"
    cp "$INFRA/s3rver/package.json" "$INFRA/s3rver/package-lock.json" "$dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci of s3rver failed"
  fi
  install_vad_model
  log "install done"
}

# .run/tools/silero-vad/silero_vad_v5.onnx, the model KimiAudio.Vad finds there (or through KIMIA_VAD_MODEL)
install_vad_model() {
  local dir="$TOOLS/silero-vad" model="$TOOLS/silero-vad/silero_vad_v5.onnx" tmp
  if [[ -f "$model" ]] && sha256sum "$model" | grep -q "^$VAD_MODEL_SHA256 "; then
    log "Silero VAD model already installed in ${model#"$ROOT"/}"; return 0
  fi
  log "npm pack $VAD_NPM_PACKAGE for the Silero VAD model"
  mkdir -p "$dir"; tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack "$VAD_NPM_PACKAGE" --loglevel=error >/dev/null && tar xzf ./*.tgz package/dist/silero_vad_v5.onnx) \
    || { rm -rf "$tmp"; die "npm pack $VAD_NPM_PACKAGE failed"; }
  sha256sum "$tmp/package/dist/silero_vad_v5.onnx" | grep -q "^$VAD_MODEL_SHA256 " \
    || { rm -rf "$tmp"; die "silero_vad_v5.onnx from $VAD_NPM_PACKAGE does not have the expected SHA-256"; }
  mv "$tmp/package/dist/silero_vad_v5.onnx" "$model"; rm -rf "$tmp"
}

require_installed() {
  [[ -x "$RMQ_BIN/rabbitmq-server" && -x "$PG_BIN/initdb" && -f "$TOOLS/s3rver/node_modules/s3rver/package.json" ]] \
    || die "services are not installed; run: infra/services.sh install"
}

# --------------------------------------------------------------------------------------------------------------- rabbitmq
# The Debian wrapper /usr/sbin/rabbitmq-server su's to the rabbitmq user and uses /var/lib/rabbitmq; we run the real script
# in /usr/lib/rabbitmq/bin directly with every path pointed into .run/data/rabbitmq. The node name carries the port so two
# checkouts on one machine can run side by side (they share epmd, the Erlang port mapper on 4369).

RMQ_DIR="$DATA/rabbitmq"
RMQ_NODE="kimia${RMQ_PORT}@localhost"

rmq_env() {
  export HOME="$RMQ_DIR/home" # .erlang.cookie lives here; the CLI must see the same one
  export RABBITMQ_NODENAME="$RMQ_NODE"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$RMQ_PORT"
  export RABBITMQ_DIST_PORT=$((RMQ_PORT + 20000))
  export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$RMQ_DIR/log"
  export RABBITMQ_LOGS="$RMQ_DIR/log/rabbit.log"
  export RABBITMQ_PID_FILE="$RMQ_DIR/rabbit.pid"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
  export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
  export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf" # empty: ignore /etc/rabbitmq/rabbitmq-env.conf
  export PATH="$RMQ_BIN:$PATH"
}

rmq_pid() { read_pid "$RMQ_DIR/rabbit.pid"; }

rmq_running() { pid_alive "$(rmq_pid)"; }

rmq_start() {
  if rmq_running; then log "rabbitmq already running (pid $(rmq_pid))"; return 0; fi
  port_open "$RMQ_PORT" && die "port $RMQ_PORT is in use by another process; set KIMIA_RABBITMQ_PORT"
  port_open "$RMQ_MGMT_PORT" && die "port $RMQ_MGMT_PORT is in use by another process; set KIMIA_RABBITMQ_MANAGEMENT_PORT"
  mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
  {
    cat "$INFRA/rabbitmq.conf"
    printf '\n# added by infra/services.sh\nlisteners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$RMQ_PORT"
    printf 'management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = %s\n' "$RMQ_MGMT_PORT"
  } >"$RMQ_DIR/rabbitmq.conf"
  echo '[rabbitmq_management].' >"$RMQ_DIR/enabled_plugins"
  : >"$RMQ_DIR/rabbitmq-env.conf"
  [[ -f "$RMQ_DIR/advanced.config" ]] || echo '[].' >"$RMQ_DIR/advanced.config"
  rm -f "$RMQ_DIR/rabbit.pid"
  local out="$RMQ_DIR/log/stdout.log"
  (
    rmq_env
    cd "$RMQ_DIR"
    setsid "$RMQ_BIN/rabbitmq-server" >>"$out" 2>&1 </dev/null &
    echo $! >"$RMQ_DIR/launcher.pid"
  )
  local launcher deadline=$((SECONDS + READY_TIMEOUT_S))
  launcher="$(read_pid "$RMQ_DIR/launcher.pid")"
  # 1) the node answers, 2) the rabbit app has booted, 3) AMQP and management listeners accept connections.
  until (rmq_env && timeout 10 rabbitmq-diagnostics -q ping >/dev/null 2>&1); do
    if ! pid_alive "$launcher" && ! rmq_running; then
      tail_log "$out"; tail_log "$RMQ_DIR/log/rabbit.log"; die "rabbitmq exited during start"
    fi
    ((SECONDS < deadline)) || { tail_log "$out"; tail_log "$RMQ_DIR/log/rabbit.log"; rmq_stop; die "rabbitmq did not answer ping within ${READY_TIMEOUT_S}s"; }
    sleep 0.3
  done
  (rmq_env && timeout "$READY_TIMEOUT_S" rabbitmqctl -q await_startup --timeout "$READY_TIMEOUT_S" >/dev/null 2>&1) \
    || { tail_log "$RMQ_DIR/log/rabbit.log"; rmq_stop; die "rabbitmq did not finish booting"; }
  until port_open "$RMQ_PORT" && curl -fsS -o /dev/null -u guest:guest "http://127.0.0.1:$RMQ_MGMT_PORT/api/overview" 2>/dev/null; do
    ((SECONDS < deadline)) || { tail_log "$RMQ_DIR/log/rabbit.log"; rmq_stop; die "rabbitmq AMQP/management listeners not ready within ${READY_TIMEOUT_S}s"; }
    sleep 0.3
  done
  log "rabbitmq ready (pid $(rmq_pid)): amqp 127.0.0.1:$RMQ_PORT, management 127.0.0.1:$RMQ_MGMT_PORT"
}

# Graceful shutdown (flushes queues to disk), bounded; then SIGTERM/SIGKILL of the beam process.
rmq_stop() {
  local pid launcher
  pid="$(rmq_pid)"; launcher="$(read_pid "$RMQ_DIR/launcher.pid")"
  if pid_alive "$pid"; then
    (rmq_env && timeout 45 rabbitmqctl -q shutdown --timeout 40 >/dev/null 2>&1) || log "rabbitmqctl shutdown failed or timed out"
    terminate "$pid" 10
  fi
  pid_alive "$launcher" && terminate "$launcher" 5
  rm -f "$RMQ_DIR/rabbit.pid" "$RMQ_DIR/launcher.pid"
  reap_epmd
  [[ -n "$pid" ]] && log "rabbitmq stopped" || true
}

rmq_kill() {
  local pid; pid="$(rmq_pid)"
  pid_alive "$pid" && { kill -KILL "$pid"; wait_exit "$pid" 5 || true; log "rabbitmq killed (pid $pid)"; }
  local launcher; launcher="$(read_pid "$RMQ_DIR/launcher.pid")"
  pid_alive "$launcher" && kill -KILL "$launcher" 2>/dev/null || true
  rm -f "$RMQ_DIR/rabbit.pid" "$RMQ_DIR/launcher.pid"
}

# epmd is started on demand by Erlang and outlives the node. Stop it only when no node at all is registered with it (other
# checkouts or tools on this machine may be using it).
reap_epmd() {
  command -v epmd >/dev/null || return 0
  local names
  names="$(timeout 5 epmd -names 2>/dev/null || true)"
  [[ -z "$names" ]] && return 0 # not running
  if ! grep -q '^name ' <<<"$names"; then
    timeout 5 epmd -kill >/dev/null 2>&1 || true
  fi
}

# --------------------------------------------------------------------------------------------------------------- postgres
# Throwaway cluster owned by the postgres user (initdb refuses root), TCP only (no unix socket: avoids socket path length
# limits and directory permissions). When the postgres user cannot reach .run/ (e.g. a checkout under /root) the cluster
# goes to a private folder under /tmp whose path is recorded in .run/data/postgres.path.

PG_PATH_FILE="$DATA/postgres.path"

pg_dir() {
  if [[ -f "$PG_PATH_FILE" ]]; then cat "$PG_PATH_FILE"; else echo "$DATA/postgres"; fi
}

pg_run() { # runs a command as the cluster owner
  if as_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_pid() { local d; d="$(pg_dir)"; [[ -f "$d/data/postmaster.pid" ]] && read_pid "$d/data/postmaster.pid" || true; }

pg_running() { pid_alive "$(pg_pid)"; }

pg_prepare_dir() {
  local d="$DATA/postgres"
  mkdir -p "$d"
  if as_root; then
    chown postgres:postgres "$d"
    if ! runuser -u postgres -- test -w "$d"; then
      d="$(mktemp -d "${TMPDIR:-/tmp}/kimia-pg.XXXXXX")"
      chown postgres:postgres "$d"
      log "postgres user cannot reach $DATA; cluster goes to $d"
    fi
  fi
  echo "$d" >"$PG_PATH_FILE"
}

pg_start() {
  if pg_running; then log "postgres already running (pid $(pg_pid))"; return 0; fi
  port_open "$PG_PORT" && die "port $PG_PORT is in use by another process; set KIMIA_POSTGRES_PORT"
  [[ -f "$PG_PATH_FILE" ]] || pg_prepare_dir
  local d; d="$(pg_dir)"
  if [[ ! -f "$d/data/PG_VERSION" ]]; then
    pg_run "$PG_BIN/initdb" -D "$d/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$d/initdb.log" 2>&1 \
      || { tail_log "$d/initdb.log"; die "initdb failed"; }
  fi
  local opts="-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off"
  opts+=" -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
  pg_run "$PG_BIN/pg_ctl" -D "$d/data" -l "$d/postgres.log" -o "$opts" -w -t "$READY_TIMEOUT_S" start >/dev/null 2>&1 \
    || { tail_log "$d/postgres.log"; die "postgres did not start"; }
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; do
    ((SECONDS < deadline)) || { tail_log "$d/postgres.log"; die "postgres not accepting connections within ${READY_TIMEOUT_S}s"; }
    sleep 0.2
  done
  log "postgres ready (pid $(pg_pid)): 127.0.0.1:$PG_PORT"
}

pg_stop() {
  local d pid; d="$(pg_dir)"; pid="$(pg_pid)"
  pid_alive "$pid" || return 0
  pg_run timeout 30 "$PG_BIN/pg_ctl" -D "$d/data" -m fast -w -t 25 stop >/dev/null 2>&1 || log "pg_ctl stop failed or timed out"
  terminate "$pid" 10
  log "postgres stopped"
}

pg_kill() {
  local pid; pid="$(pg_pid)"
  pid_alive "$pid" && { kill -KILL "$pid"; wait_exit "$pid" 5 || true; log "postgres killed (pid $pid)"; }
  # backends notice the postmaster's death and exit by themselves
}

# --------------------------------------------------------------------------------------------------------------------- s3
# s3rver 3.7.1 on Node 20 needs --openssl-legacy-provider (its DES continuation tokens). Path-style buckets only.

S3_DIR="$DATA/s3"

s3_pid() { read_pid "$S3_DIR/s3rver.pid"; }

s3_running() { pid_alive "$(s3_pid)"; }

s3_start() {
  if s3_running; then log "s3rver already running (pid $(s3_pid))"; return 0; fi
  port_open "$S3_PORT" && die "port $S3_PORT is in use by another process; set KIMIA_S3_PORT"
  mkdir -p "$S3_DIR/buckets"
  (
    setsid node --openssl-legacy-provider "$TOOLS/s3rver/node_modules/s3rver/bin/s3rver.js" \
      -d "$S3_DIR/buckets" -a 127.0.0.1 -p "$S3_PORT" --no-vhost-buckets --silent >>"$S3_DIR/s3rver.log" 2>&1 </dev/null &
    echo $! >"$S3_DIR/s3rver.pid"
  )
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/"; do
    s3_running || { tail_log "$S3_DIR/s3rver.log"; die "s3rver exited during start"; }
    ((SECONDS < deadline)) || { tail_log "$S3_DIR/s3rver.log"; s3_stop; die "s3rver not ready within ${READY_TIMEOUT_S}s"; }
    sleep 0.1
  done
  log "s3rver ready (pid $(s3_pid)): http://127.0.0.1:$S3_PORT"
}

s3_stop() {
  local pid; pid="$(s3_pid)"
  pid_alive "$pid" && { terminate "$pid" 5; log "s3rver stopped"; }
  rm -f "$S3_DIR/s3rver.pid"
}

s3_kill() {
  local pid; pid="$(s3_pid)"
  pid_alive "$pid" && { kill -KILL "$pid"; wait_exit "$pid" 5 || true; log "s3rver killed (pid $pid)"; }
  rm -f "$S3_DIR/s3rver.pid"
}

# ------------------------------------------------------------------------------------------------------------------ all

write_env() {
  mkdir -p "$RUN"
  cat >"$ENV_FILE" <<EOF
# written by infra/services.sh start; source it
export RABBITMQ_URI=amqp://guest:guest@127.0.0.1:$RMQ_PORT/
export RABBITMQ_MANAGEMENT_URI=http://127.0.0.1:$RMQ_MGMT_PORT/
export RABBITMQ_USER=guest
export RABBITMQ_PASSWORD=guest
export POSTGRES_CONNECTION='Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres'
export S3_SERVICE_URL=http://127.0.0.1:$S3_PORT
export S3_ACCESS_KEY=S3RVER
export S3_SECRET_KEY=S3RVER
export S3_EMULATOR=true
export KIMIA_SERVICES_SCRIPT=$SCRIPT
export KIMIA_VAD_MODEL=$TOOLS/silero-vad/silero_vad_v5.onnx
EOF
}

stop_all() {
  s3_stop
  pg_stop
  rmq_stop
}

cmd_start_all() {
  require_installed
  stop_all
  # fresh run: new data dirs (a private /tmp cluster dir from an earlier run is removed too)
  local old_pg; old_pg="$(pg_dir)"
  [[ "$old_pg" == "${TMPDIR:-/tmp}"/kimia-pg.* ]] && rm -rf "$old_pg"
  rm -rf "$DATA"
  mkdir -p "$DATA"
  trap 'rc=$?; if ((rc)); then log "start failed; stopping what was started"; stop_all; fi' EXIT
  rmq_start
  pg_start
  s3_start
  trap - EXIT
  write_env
  log "all services ready; source ${ENV_FILE#"$ROOT"/}"
}

status_line() {
  local name="$1" pid="$2" where="$3"
  if pid_alive "$pid"; then printf '%-9s running  pid %-8s %s\n' "$name" "$pid" "$where"; else printf '%-9s stopped\n' "$name"; fi
}

cmd_status() {
  status_line rabbitmq "$(rmq_pid)" "amqp 127.0.0.1:$RMQ_PORT  management http://127.0.0.1:$RMQ_MGMT_PORT/"
  status_line postgres "$(pg_pid)" "127.0.0.1:$PG_PORT  data $(pg_dir)/data"
  status_line s3 "$(s3_pid)" "http://127.0.0.1:$S3_PORT  data $S3_DIR/buckets"
  rmq_running && pg_running && s3_running
}

one_service() {
  local action="$1" svc="$2" fn
  case "$svc" in
    rabbitmq | rmq) fn=rmq ;;
    postgres | pg | postgresql) fn=pg ;;
    s3 | s3rver) fn=s3 ;;
    *) die "unknown service '$svc' (rabbitmq | postgres | s3)" ;;
  esac
  case "$action" in
    start) require_installed; mkdir -p "$DATA"; "${fn}_start"; [[ -f "$ENV_FILE" ]] || write_env ;;
    stop) "${fn}_stop" ;;
    restart) require_installed; "${fn}_stop"; "${fn}_start" ;;
    kill) "${fn}_kill" ;;
  esac
}

case "${1:-}" in
  install) cmd_install ;;
  start) if [[ -n "${2:-}" ]]; then one_service start "$2"; else cmd_start_all; fi ;;
  stop) if [[ -n "${2:-}" ]]; then one_service stop "$2"; else stop_all; fi ;;
  restart) [[ -n "${2:-}" ]] || die "usage: $0 restart rabbitmq|postgres|s3"; one_service restart "$2" ;;
  kill) [[ -n "${2:-}" ]] || die "usage: $0 kill rabbitmq|postgres|s3"; one_service kill "$2" ;;
  status) cmd_status ;;
  env) [[ -f "$ENV_FILE" ]] || die "no $ENV_FILE; run: infra/services.sh start"; cat "$ENV_FILE" ;;
  *) sed -n '2,13p' "$SCRIPT" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
