#!/usr/bin/env bash
# Starts or stops a throwaway redis-server for the tests: loopback only, a free port, AOF on with
# appendfsync always (the relay's documented safe setting), everything in DIR.
#   redis-server.sh start DIR   -> prints the port; DIR/redis.pid, DIR/redis.port, DIR/redis.log
#   redis-server.sh stop DIR    -> stops that server (SIGTERM, then SIGKILL) and leaves DIR
#   redis-server.sh restart DIR -> stops it and starts it again on the same port (AOF replayed)
set -euo pipefail
action=${1:?usage: redis-server.sh start|stop|restart DIR}
dir=${2:?usage: redis-server.sh start|stop|restart DIR}
command -v redis-server >/dev/null || { echo "redis-server is not installed (bash scripts/setup.sh)" >&2; exit 3; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
  mkdir -p "$dir"
  local port=${1:-$(free_port)}
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" \
    --logfile "$dir/redis.log" --appendonly yes --appendfsync always --save '' --protected-mode yes >/dev/null
  for _ in $(seq 1 200); do
    if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
      echo "$port" > "$dir/redis.port"
      echo "$port"
      return 0
    fi
    sleep 0.05
  done
  echo "redis-server did not answer on port $port; log:" >&2
  cat "$dir/redis.log" >&2 || true
  exit 1
}

stop() {
  [ -f "$dir/redis.pid" ] || return 0
  local pid
  pid=$(cat "$dir/redis.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/redis.pid"
}

case "$action" in
  start) start ;;
  stop) stop ;;
  restart) port=$(cat "$dir/redis.port"); stop; start "$port" ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
