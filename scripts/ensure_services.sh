#!/usr/bin/env bash
# Start MariaDB and Redis if they are installed but not running; fail loudly if they stay down.
# (The S3-compatible server is started by the test suite itself, see tests/conftest.py.)
set -euo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 3306 && command -v mariadbd >/dev/null; then
  start-stop-daemon --start --oknodo --background --exec "$(command -v mariadbd)" || true
fi
if ! up 6379 && command -v redis-server >/dev/null; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
fi
for i in $(seq 1 30); do
  up 3306 && up 6379 && exit 0
  sleep 1
done
up 3306 || echo "MariaDB/MySQL is not listening on 127.0.0.1:3306" >&2
up 6379 || echo "Redis is not listening on 127.0.0.1:6379" >&2
exit 1
