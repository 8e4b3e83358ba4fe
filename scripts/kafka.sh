#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft: broker + controller in one JVM) on 127.0.0.1, for
# weir's tests, benchmarks and demos. The broker's jars come from Maven Central through
# scripts/kafka/pom.xml into a cache (first start: Maven downloads ~60 jars; later starts reuse them).
#
#   scripts/kafka.sh start    resolve jars if needed, format a KRaft log dir, start, wait until a
#                             metadata request answers, print KAFKA_BOOTSTRAP=127.0.0.1:PORT
#                             (idempotent: prints the running broker's address when it is up)
#   scripts/kafka.sh stop     stop it (SIGTERM, SIGKILL after a grace period) and remove its data
#   scripts/kafka.sh status   print KAFKA_BOOTSTRAP=... and exit 0 when running, exit 3 otherwise
#   scripts/kafka.sh consume TOPIC [OPTIONS...]
#                             read TOPIC from its beginning with Kafka's own Java consumer
#                             (ConsoleConsumer, --isolation-level read_committed), one record value
#                             per line on stdout, until killed or an option ends it (--max-messages N,
#                             --timeout-ms MS); OPTIONS go to ConsoleConsumer as they are. The broker
#                             is KAFKA_BOOTSTRAP when set, else the one of this state dir
#
# Environment:
#   KAFKA_VERSION          broker version (default 3.9.1)
#   KAFKA_PORT             client port (default: a free port)
#   KAFKA_CONTROLLER_PORT  KRaft controller port (default: a free port)
#   WEIR_KAFKA_CACHE       jar cache (default ~/.cache/weir/kafka)
#   WEIR_KAFKA_STATE_DIR   where the state file lives, so stop/status find the broker
#                          (default <project>/.weir/kafka); one broker per state dir
#   WEIR_KAFKA_DATA_DIR    use (and keep on stop) this log dir instead of a temporary one
#   WEIR_KAFKA_HEAP        JVM heap (default 512m)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
CACHE_DIR="${WEIR_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/weir/kafka}"
LIB_DIR="$CACHE_DIR/$KAFKA_VERSION/libs"
TOOLS_DIR="$CACHE_DIR/$KAFKA_VERSION/tools"
STATE_DIR="${WEIR_KAFKA_STATE_DIR:-$PROJECT_DIR/.weir/kafka}"
STATE_FILE="$STATE_DIR/broker.env"
HEAP="${WEIR_KAFKA_HEAP:-512m}"
CDS_ARCHIVE="$CACHE_DIR/$KAFKA_VERSION/broker.jsa"
START_TIMEOUT_S=90
STOP_TIMEOUT_S=20

log() { echo "kafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# ------------------------------------------------------------------ state file

read_state() {
  PID="" KAFKA_BOOTSTRAP="" DATA_DIR="" KEEP_DATA="" BROKER_LOG=""
  [[ -f "$STATE_FILE" ]] || return 1
  # shellcheck disable=SC1090
  source "$STATE_FILE"
  [[ -n "$PID" ]]
}

alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ------------------------------------------------------------------ jars

resolve_jars() {
  [[ -f "$LIB_DIR/.complete" ]] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the Kafka broker the first time"
  command -v java >/dev/null || die "Java 17+ is needed to run the Kafka broker"
  log "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central into $LIB_DIR (first run only)"
  mkdir -p "$CACHE_DIR/$KAFKA_VERSION"
  local tmp
  tmp="$(mktemp -d "$CACHE_DIR/$KAFKA_VERSION/libs.tmp.XXXXXX")"
  if ! mvn -q -B -Dstyle.color=never -f "$SCRIPT_DIR/kafka/pom.xml" dependency:copy-dependencies \
      -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$tmp" >&2; then
    rm -rf "$tmp"
    die "could not resolve the Kafka broker with Maven (is Maven Central reachable?)"
  fi
  touch "$tmp/.complete"
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
}

# ------------------------------------------------------------------ helpers

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# Answers when the broker serves a metadata request (kafkajs from the project's node_modules).
ping_broker() {
  (cd "$PROJECT_DIR" && node "$SCRIPT_DIR/kafka/ping.mjs" "$1") >/dev/null 2>&1
}

# Sets JAVA_CMD (an array) for a JVM whose files live in $1 ($2 = nocds: leave the archive alone). The class path lists the jars in a
# fixed order so the class-data-sharing archive (written when the first broker exits, reused by
# every later JVM) matches it; with the archive a broker starts about twice as fast.
java_cmd() {
  local data="$1" cp="" jar
  for jar in "$LIB_DIR"/*.jar; do cp="${cp:+$cp:}$jar"; done
  local cds="-XX:SharedArchiveFile=$CDS_ARCHIVE"
  [[ -f "$CDS_ARCHIVE" ]] || cds="-XX:ArchiveClassesAtExit=$CDS_ARCHIVE"
  [[ "${2:-}" == nocds ]] && cds="-Xshare:auto"
  JAVA_CMD=(java -Xmx"$HEAP" -Xms"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:-UsePerfData
    "$cds" -Xlog:cds=off -Xlog:cds+dynamic=off -Djava.awt.headless=true
    -Dlog4j.configuration="file:$data/log4j.properties" -Dkafka.logs.dir="$data" -cp "$cp")
}

# A formatted KRaft log dir, made once per version and copied for every new broker (formatting is
# a JVM run of its own). Node id, cluster id and metadata version are all it holds; the ports
# live in server.properties.
formatted_template() {
  local template="$CACHE_DIR/$KAFKA_VERSION/formatted"
  [[ -f "$template/log/meta.properties" ]] && return 0
  local tmp cluster_id
  tmp="$(mktemp -d "$CACHE_DIR/$KAFKA_VERSION/formatted.tmp.XXXXXX")"
  write_config "$tmp" 1 2
  sed -i "s|^log.dirs=.*|log.dirs=$tmp/log|" "$tmp/server.properties"
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  java_cmd "$tmp" nocds
  if ! "${JAVA_CMD[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$tmp/server.properties" >"$tmp/format.log" 2>&1; then
    log "formatting the KRaft log dir failed: $(tail -5 "$tmp/format.log")"
    rm -rf "$tmp"
    exit 1
  fi
  rm -rf "$template"
  mkdir -p "$template"
  mv "$tmp/log" "$template/log"
  rm -rf "$tmp"
}

write_config() {
  local data="$1" port="$2" cport="$3"
  cat >"$data/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data/log
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
transaction.max.timeout.ms=3600000
transaction.abort.timed.out.transaction.cleanup.interval.ms=2000
transaction.remove.expired.transaction.cleanup.interval.ms=60000
group.initial.rebalance.delay.ms=0
log.retention.check.interval.ms=60000
EOF
  cat >"$data/log4j.properties" <<EOF
log4j.rootLogger=WARN, file
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$data/broker.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=1
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

# ------------------------------------------------------------------ commands

cmd_status() {
  if read_state && alive "$PID"; then
    echo "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP"
    return 0
  fi
  log "not running"
  return 3
}

cmd_start() {
  if read_state && alive "$PID"; then
    if ping_broker "$KAFKA_BOOTSTRAP"; then
      echo "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP"
      return 0
    fi
    log "broker $PID does not answer; restarting it"
    cmd_stop
  fi
  resolve_jars
  mkdir -p "$STATE_DIR"
  local data keep
  if [[ -n "${WEIR_KAFKA_DATA_DIR:-}" ]]; then
    data="$WEIR_KAFKA_DATA_DIR" keep=1
    mkdir -p "$data"
  else
    data="$(mktemp -d "${TMPDIR:-/tmp}/weir-kafka-XXXXXX")" keep=""
  fi
  local port="${KAFKA_PORT:-$(free_port)}" cport="${KAFKA_CONTROLLER_PORT:-}"
  # A kept data dir must keep its controller port: the quorum's voters are part of its state.
  if [[ -z "$cport" && -f "$data/controller.port" ]]; then cport="$(cat "$data/controller.port")"; fi
  if [[ -z "$cport" ]]; then
    cport="$(free_port)"
    while [[ "$cport" == "$port" ]]; do cport="$(free_port)"; done
  fi
  port_open "$port" && die "port $port is already in use"
  echo "$cport" >"$data/controller.port"
  write_config "$data" "$port" "$cport"
  if [[ ! -f "$data/log/meta.properties" ]]; then
    formatted_template
    rm -rf "$data/log"
    cp -r "$CACHE_DIR/$KAFKA_VERSION/formatted/log" "$data/log"
  fi
  java_cmd "$data"
  local started=$SECONDS
  nohup "${JAVA_CMD[@]}" kafka.Kafka "$data/server.properties" >"$data/stdout.log" 2>&1 </dev/null 9>&- &
  local pid=$!
  {
    echo "PID=$pid"
    echo "KAFKA_BOOTSTRAP=127.0.0.1:$port"
    echo "DATA_DIR=$data"
    echo "KEEP_DATA=$keep"
    echo "BROKER_LOG=$data/broker.log"
  } >"$STATE_FILE.tmp"
  mv "$STATE_FILE.tmp" "$STATE_FILE"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until port_open "$port" && ping_broker "127.0.0.1:$port"; do
    if ! alive "$pid"; then
      log "the broker exited during startup; last lines of its log:"
      tail -20 "$data/stdout.log" "$data/broker.log" >&2 2>/dev/null || true
      rm -f "$STATE_FILE"
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "the broker did not answer within ${START_TIMEOUT_S}s (log: $data/broker.log)"
      cmd_stop
      exit 1
    fi
    sleep 0.2
  done
  log "broker $pid answers on 127.0.0.1:$port after $((SECONDS - started))s (log: $data/broker.log)"
  echo "KAFKA_BOOTSTRAP=127.0.0.1:$port"
}

cmd_stop() {
  if ! read_state; then
    log "not running"
    return 0
  fi
  if alive "$PID"; then
    kill -TERM "$PID" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT_S))
    while alive "$PID" && ((SECONDS < deadline)); do sleep 0.1; done
    if alive "$PID"; then
      log "broker $PID did not stop within ${STOP_TIMEOUT_S}s; killing it"
      kill -KILL "$PID" 2>/dev/null || true
      while alive "$PID"; do sleep 0.1; done
    fi
  fi
  if [[ -z "$KEEP_DATA" && -n "$DATA_DIR" && "$DATA_DIR" == */weir-kafka-* ]]; then rm -rf "$DATA_DIR"; fi
  rm -f "$STATE_FILE"
  log "stopped"
}

# Concurrent callers (test workers) of one state dir take turns; the second start finds the first's broker.
with_lock() {
  mkdir -p "$STATE_DIR"
  if command -v flock >/dev/null; then
    exec 9>"$STATE_DIR/lock"
    flock 9
  fi
  "$@"
}

# ------------------------------------------------------------------ consume

# kafka-tools (ConsoleConsumer lives there since Kafka 3.7) without its dependencies: the broker's
# jars hold all it needs.
resolve_tools_jar() {
  [[ -f "$TOOLS_DIR/.complete" ]] && return 0
  resolve_jars
  log "resolving org.apache.kafka:kafka-tools:$KAFKA_VERSION from Maven Central into $TOOLS_DIR (first use only)"
  local tmp
  tmp="$(mktemp -d "$CACHE_DIR/$KAFKA_VERSION/tools.tmp.XXXXXX")"
  if ! mvn -q -B -Dstyle.color=never -f "$SCRIPT_DIR/kafka/tools-pom.xml" dependency:copy-dependencies \
      -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DexcludeTransitive=true -DoutputDirectory="$tmp" >&2; then
    rm -rf "$tmp"
    die "could not resolve the Kafka tools with Maven (is Maven Central reachable?)"
  fi
  touch "$tmp/.complete"
  rm -rf "$TOOLS_DIR"
  mv "$tmp" "$TOOLS_DIR"
}

# The reference reader for tests: what a Java read_committed consumer sees in a topic, so a test
# need not trust weir's (or kafkajs') reading of it.
cmd_consume() {
  local topic="${1:-}"
  [[ -n "$topic" ]] || die "usage: $0 consume TOPIC [ConsoleConsumer options...]"
  shift
  local bootstrap="${KAFKA_BOOTSTRAP:-}"
  if [[ -z "$bootstrap" ]]; then
    { read_state && alive "$PID"; } || die "no broker is running for $STATE_DIR (start one, or set KAFKA_BOOTSTRAP)"
    bootstrap="$KAFKA_BOOTSTRAP"
  fi
  # A subshell, so the lock (fd 9) is released before the consumer runs.
  (with_lock resolve_tools_jar)
  local cp="" jar
  for jar in "$TOOLS_DIR"/*.jar "$LIB_DIR"/*.jar; do cp="${cp:+$cp:}$jar"; done
  exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$SCRIPT_DIR/kafka/tools-log4j.properties" -cp "$cp" \
    org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$bootstrap" --topic "$topic" \
    --from-beginning --isolation-level read_committed "$@"
}

case "${1:-}" in
  start) with_lock cmd_start ;;
  stop) with_lock cmd_stop ;;
  status) cmd_status ;;
  consume)
    shift
    cmd_consume "$@"
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    echo "       $0 consume TOPIC [ConsoleConsumer options...]" >&2
    exit 2
    ;;
esac
