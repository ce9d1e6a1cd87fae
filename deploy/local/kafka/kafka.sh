#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft, one node that is broker and controller) without Docker.
#
#   bash deploy/local/kafka/kafka.sh start|stop|status|restart|clean
#   (npm run kafka:start / npm run kafka:stop)
#
# start   fetch the jars with Maven (once), format the KRaft storage (once), start the broker in the
#         background and wait until it answers. A no-op when it already runs.
# stop    SIGTERM, wait, then SIGKILL. A no-op when it does not run.
# status  say whether it runs (exit 0) or not (exit 3).
# clean   stop, then delete the data dir (topics, offsets, logs).
#
# Environment (all optional):
#   KAFKA_PORT=9092              client listener on 127.0.0.1
#   KAFKA_CONTROLLER_PORT=9093   KRaft controller listener on 127.0.0.1
#   KAFKA_DATA_DIR=deploy/local/kafka/data   storage, pid file, logs, generated config
#   KAFKA_HEAP_OPTS="-Xms256m -Xmx512m"
#   KAFKA_START_TIMEOUT=90       seconds to wait for the broker to answer
#   KAFKA_STOP_TIMEOUT=30        seconds to wait after SIGTERM before SIGKILL
#   KAFKA_CLUSTER_ID             cluster id used when formatting (random otherwise)
#   JAVA_HOME / JAVA             which java to run
# See docs/kafka.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../../.." && pwd)"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
DATA_DIR="${KAFKA_DATA_DIR:-$HERE/data}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
LIBS_DIR="$HERE/target/libs"
if [[ -n "${JAVA:-}" ]]; then
  :
elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA=java
fi

DATA_DIR="$(realpath -m "$DATA_DIR")"
STORAGE_DIR="$DATA_DIR/kraft-logs"
LOG_DIR="$DATA_DIR/logs"
PID_FILE="$DATA_DIR/kafka.pid"
OUT_FILE="$DATA_DIR/kafka.out"
CONFIG_FILE="$DATA_DIR/server.properties"
LOG4J_FILE="$DATA_DIR/log4j.properties"
TOOLS_LOG4J_FILE="$DATA_DIR/log4j-tools.properties"
SERVER_LOG_OFFSET=0

say() { printf '[kafka] %s\n' "$*"; }
die() {
  printf '[kafka] ERROR: %s\n' "$*" >&2
  exit 1
}

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml" | head -n1; }

# The pid from the pid file, if that process is alive and is our broker (not a recycled pid).
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  echo "$pid"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# What this start wrote: the JVM's own output, then the broker log from where it stood at launch.
show_log_tail() {
  if [[ -s "$OUT_FILE" ]]; then
    printf '\n----- last 40 lines of %s -----\n' "$OUT_FILE" >&2
    tail -n 40 "$OUT_FILE" >&2
  fi
  if [[ -s "$LOG_DIR/server.log" ]]; then
    printf '\n----- last 40 lines of %s (this start) -----\n' "$LOG_DIR/server.log" >&2
    tail -c +$((SERVER_LOG_OFFSET + 1)) "$LOG_DIR/server.log" | tail -n 40 >&2
  fi
}

fetch_jars() {
  local version
  version="$(kafka_version)"
  [[ -n "$version" ]] || die "cannot read <kafka.version> from $HERE/pom.xml"
  if [[ -f "$LIBS_DIR/.fetched" && "$(cat "$LIBS_DIR/.fetched")" == "$version" && -f "$LIBS_DIR/kafka_2.13-$version.jar" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "Maven (mvn) is needed once to fetch the Kafka $version jars"
  say "fetching Apache Kafka $version jars from Maven Central into $LIBS_DIR"
  rm -rf "$LIBS_DIR"
  # Maven 3.8 prints bare colour codes even with -q -B: strip them and the empty lines they leave.
  (cd "$HERE" && mvn -q -B -f pom.xml dependency:copy-dependencies 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d') ||
    die "mvn dependency:copy-dependencies failed"
  [[ -f "$LIBS_DIR/kafka_2.13-$version.jar" ]] || die "kafka_2.13-$version.jar missing after the Maven fetch"
  echo "$version" >"$LIBS_DIR/.fetched"
}

write_config() {
  mkdir -p "$STORAGE_DIR" "$LOG_DIR"
  {
    cat "$HERE/server.properties"
    echo
    echo "# ---- written by kafka.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ); these override the lines above ----"
    echo "listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
    echo "advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT"
    echo "controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT"
    echo "log.dirs=$STORAGE_DIR"
  } >"$CONFIG_FILE"
  cat >"$LOG4J_FILE" <<EOF
# Written by kafka.sh: the broker logs into $LOG_DIR, not to the console.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$LOG_DIR/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=3
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel\$=WARN
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.org.apache.zookeeper=WARN
EOF
  cat >"$TOOLS_LOG4J_FILE" <<EOF
# Written by kafka.sh: the storage tool and the probe only log warnings, to stderr.
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

format_storage() {
  if [[ -f "$STORAGE_DIR/meta.properties" ]]; then
    return 0
  fi
  local cluster_id="${KAFKA_CLUSTER_ID:-}"
  if [[ -z "$cluster_id" ]]; then
    # A Kafka Uuid: 16 random bytes, URL-safe base64 without padding, like `kafka-storage random-uuid`,
    # which also never hands out one that starts with '-' (it would read as an option).
    while [[ -z "$cluster_id" || "$cluster_id" == -* ]]; do
      cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    done
  fi
  say "formatting KRaft storage in $STORAGE_DIR (cluster id $cluster_id)"
  "$JAVA" -Xmx256m -Dlog4j.configuration="file:$TOOLS_LOG4J_FILE" -cp "$LIBS_DIR/*" \
    kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$CONFIG_FILE" >"$DATA_DIR/format.out" 2>&1 ||
    {
      cat "$DATA_DIR/format.out" >&2
      die "formatting the KRaft storage failed"
    }
}

# One probe: does the broker answer a Metadata request? kafkajs from the repo when Node has it,
# Kafka's own BrokerApiVersionsCommand otherwise.
broker_answers() {
  if command -v node >/dev/null && [[ -d "$REPO_ROOT/node_modules/kafkajs" ]]; then
    (cd "$REPO_ROOT" && KAFKA_PROBE="127.0.0.1:$KAFKA_PORT" timeout 15 node -e '
      const { Kafka, logLevel } = require("kafkajs");
      const admin = new Kafka({ brokers: [process.env.KAFKA_PROBE], logLevel: logLevel.NOTHING,
        connectionTimeout: 1000, requestTimeout: 3000, retry: { retries: 0 } }).admin();
      admin.connect().then(() => admin.listTopics()).then(
        () => admin.disconnect().then(() => process.exit(0)),
        () => process.exit(1));
    ') >/dev/null 2>&1
  else
    timeout 30 "$JAVA" -Xmx128m -Dlog4j.configuration="file:$TOOLS_LOG4J_FILE" -cp "$LIBS_DIR/*" \
      kafka.admin.BrokerApiVersionsCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" >/dev/null 2>&1
  fi
}

cmd_start() {
  local pid
  # Two starts at once (two terminals, parallel test scripts) must not launch two brokers.
  mkdir -p "$DATA_DIR"
  exec 9>"$DATA_DIR/.start.lock"
  flock -w $((START_TIMEOUT + 300)) 9 || die "another kafka.sh start holds $DATA_DIR/.start.lock"
  if pid="$(running_pid)"; then
    say "already running (pid $pid) on 127.0.0.1:$KAFKA_PORT"
    echo "export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  rm -f "$PID_FILE"
  command -v "$JAVA" >/dev/null || die "java not found (set JAVA_HOME or JAVA)"
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_in_use "$p"; then
      die "127.0.0.1:$p is already taken by another process (not the broker of $DATA_DIR); stop it or set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
    fi
  done

  local t0=$SECONDS
  fetch_jars
  write_config
  format_storage

  say "starting Apache Kafka $(kafka_version) (KRaft broker+controller) on 127.0.0.1:$KAFKA_PORT, controller 127.0.0.1:$KAFKA_CONTROLLER_PORT"
  SERVER_LOG_OFFSET="$(stat -c %s "$LOG_DIR/server.log" 2>/dev/null || echo 0)"
  # setsid: the broker has its own session, so a Ctrl-C in the shell that started it does not reach it.
  # shellcheck disable=SC2086
  setsid "$JAVA" $HEAP_OPTS \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$LOG4J_FILE" -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$CONFIG_FILE" \
    </dev/null >"$OUT_FILE" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT))
  until broker_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      show_log_tail
      die "the broker exited during start-up (logs: $LOG_DIR/server.log, $OUT_FILE)"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail
      say "stopping the broker that did not answer in time"
      cmd_stop >/dev/null 2>&1 || true
      die "the broker did not answer on 127.0.0.1:$KAFKA_PORT within ${START_TIMEOUT}s (raise KAFKA_START_TIMEOUT?)"
    fi
    sleep 1
  done
  say "ready in $((SECONDS - t0))s (pid $pid; logs in $LOG_DIR; data in $DATA_DIR)"
  echo "export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  say "stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      say "still running after ${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.5
  done
  rm -f "$PID_FILE"
  say "stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    say "running (pid $pid) on 127.0.0.1:$KAFKA_PORT; data in $DATA_DIR"
    return 0
  fi
  say "not running"
  return 3
}

cmd_clean() {
  cmd_stop
  say "removing $DATA_DIR"
  rm -rf "$DATA_DIR"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart)
    cmd_stop
    cmd_start
    ;;
  status) cmd_status ;;
  clean) cmd_clean ;;
  *)
    echo "usage: $0 start|stop|status|restart|clean" >&2
    exit 2
    ;;
esac
