#!/usr/bin/env bash
# Runs the Spark judging job (org.reflectrm.spark.JudgeJob) in local mode, with no cluster and no
# Spark install: the job jar and the Spark jars Maven resolved for the build. Builds them when
# missing or older than the sources (needs the Maven repository once; offline after that).
#
#   spark/run-local.sh --model DIR --input FILE|DIR --output DIR [--partitions N] [--input-format F]
#                      [--output-format F] [--force] [judge options]
#
# Every option goes to the job as given. Spark runs as local[N] with N = --partitions (local[*]
# without it). See docs/spark.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
jar="$here/target/reflectrm-j-spark.jar"
classpath_file="$here/target/spark-classpath.txt"

java_bin=""
for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25*; do
    if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] \
        && "$candidate/bin/java" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'; then
        java_bin="$candidate/bin/java"
        break
    fi
done
if [ -z "$java_bin" ]; then
    echo "run-local.sh: needs JDK 25 or newer (Spark 4.2 runs on it; 4.0 and 4.1 do not); set JAVA_HOME to one" >&2
    exit 1
fi

stale() {
    [ ! -f "$jar" ] || [ ! -f "$classpath_file" ] || [ -n "$(find "$root" -path "$root/.git" -prune -o \
        \( -name pom.xml -o -path '*/src/main/*' \) -newer "$jar" -type f -print -quit 2>/dev/null)" ]
}
if stale; then
    mvn_cmd="mvn"
    command -v mvn >/dev/null || mvn_cmd="$root/mvnw"
    echo "run-local.sh: building the job jar (first run, or the sources changed)..." >&2
    # -pl spark -am: only the modules the job needs; package, not install, so ~/.m2 is left alone.
    if ! (set -o pipefail; cd "$root" && JAVA_HOME="$(dirname "$(dirname "$java_bin")")" \
            MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" \
            "$mvn_cmd" -q -B -ntp -DskipTests -pl spark -am package 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' 1>&2); then
        echo "run-local.sh: the build failed (see above)" >&2
        exit 1
    fi
fi

# local[N]: as many task slots as partitions asked for; the partitions share the one model the
# JVM loads (its judging calls take turns, each on all --threads), so more slots add no speed.
master="local[*]"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --partitions) [ $((i + 1)) -lt ${#args[@]} ] && master="local[${args[$((i + 1))]}]" ;;
        --partitions=*) master="local[${args[$i]#--partitions=}]" ;;
    esac
done

# As ./reflectrm-j: the JVM's signal handlers first (some OpenCL drivers replace them).
jsig="$(dirname "$(dirname "$java_bin")")/lib/libjsig.so"
if [ -f "$jsig" ]; then
    export LD_PRELOAD="$jsig${LD_PRELOAD:+:$LD_PRELOAD}"
fi
# Spark binds to this machine's address; on a host whose name resolves to loopback it warns and
# guesses an interface. Local mode needs only loopback.
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
# Spark 4.2 still uses sun.misc.Unsafe's memory access, which JDK 25 warns about unless allowed.
exec "$java_bin" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m \
    --sun-misc-unsafe-memory-access=allow ${JAVA_OPTS:-} \
    -Dspark.master="$master" -Dspark.ui.enabled=false -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -cp "$jar:$(cat "$classpath_file")" org.reflectrm.spark.JudgeJob "$@" \
    2> >(grep -v --line-buffered '^WARNING: Using incubator modules: jdk.incubator.vector$' >&2)
