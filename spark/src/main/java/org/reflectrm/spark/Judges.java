package org.reflectrm.spark;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import org.reflectrm.api.ReflectRM;

/**
 * The models open in this JVM, one per (folder, device, threads, templates): an executor loads its
 * model on its first task and keeps it for every later task and stage, instead of reading the
 * weights again per partition. Never closed: it lives as long as the executor. Tasks running at
 * once in one executor share the instance, whose judging calls take turns (it computes with all its
 * threads), so one task slot per executor loses nothing (see docs/spark.md).
 */
final class Judges {
    private static final ConcurrentHashMap<Key, ReflectRM> OPEN = new ConcurrentHashMap<>();

    private record Key(String model, String device, int threads, String templateVersion, String templateDir) {
    }

    private Judges() {
    }

    static ReflectRM of(JudgeSpec spec) {
        Key key = new Key(Path.of(spec.model()).toAbsolutePath().normalize().toString(), spec.device(), spec.threadCount(),
                spec.templateVersion(), spec.templateDir());
        // computeIfAbsent holds the map's bin lock while loading, so two tasks never load the same model twice.
        return OPEN.computeIfAbsent(key, k -> ReflectRM.builder(Path.of(k.model())).device(k.device()).threads(k.threads())
                .templateVersion(k.templateVersion()).templateDir(k.templateDir() == null ? null : Path.of(k.templateDir()))
                .notices(new PrintWriter(System.err, true)).open());
    }
}
