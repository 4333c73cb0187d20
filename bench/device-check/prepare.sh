#!/usr/bin/env bash
# Builds the device-check bundle on a build machine (JDK 25 + Maven): a jlink'd Java runtime, the
# application jar, the test classes and the JUnit console launcher, packed into bundle.tar.gz
# (kept under 60 MB) so a GPU machine without Java can run run.sh. Usage, from the repo root:
#   bash bench/device-check/prepare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
JUNIT=1.14.1      # the JUnit Platform that matches the project's Jupiter 5.14.1

out=bench/device-check/bundle
rm -rf "$out" bench/device-check/bundle.tar.gz
mkdir -p "$out"

# -DskipTests still compiles the test classes, which the bundle runs.
mvn -q -B -ntp -DskipTests package
mvn -q -B -ntp dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:$JUNIT \
    -DoutputDirectory="$out" -Dmdep.stripVersion=true

# The modules the jar needs (jdeps: java.sql for Jackson's date types; java.management and
# jdk.management for the CPU backend's panel budget, a share of the machine's memory; java.desktop
# only for Jackson's optional java.beans support, which it does without). Without java.management
# every command that opens a model failed in the bundle (NoClassDefFoundError).
# .ci/run runs the jar on a runtime with exactly these modules, so a new one shows up there.
jlink --add-modules "$(cat bench/device-check/modules.txt)" \
    --strip-debug --no-header-files --no-man-pages --compress zip-9 --output "$out/jre"
cp cli/target/reflectrm-j.jar "$out/"
cp -r kernels/target/test-classes "$out/kernels-tests"
cp -r model/target/test-classes "$out/model-tests"
cp bench/peer_transformers.py bench/peer_train_gpu.py "$out/"

tar czf bench/device-check/bundle.tar.gz -C "$out" .
rm -rf "$out"
size=$(stat -c %s bench/device-check/bundle.tar.gz)
echo "prepare.sh: bench/device-check/bundle.tar.gz is $((size / 1024 / 1024)) MiB"
if [ "$size" -gt $((60 * 1024 * 1024)) ]; then
    echo "prepare.sh: the bundle is over 60 MB" >&2
    exit 1
fi
