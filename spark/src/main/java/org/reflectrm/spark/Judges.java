package org.reflectrm.spark;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.reflectrm.api.ReflectRM;

/**
 * The models open in this JVM, one per (folder, device, threads, templates): an executor loads its
 * model on its first task and keeps it for every later task and stage, instead of reading the
 * weights again per partition. Never closed: it lives as long as the executor. Tasks running at
 * once in one executor share the instance, whose judging calls take turns (it computes with all its
 * threads), so one task slot per executor loses nothing (see docs/spark.md). On a cluster that
 * schedules GPUs, a task computes on the GPU Spark assigned it ({@link #deviceFor}).
 */
final class Judges {
    private static final ConcurrentHashMap<Key, ReflectRM> OPEN = new ConcurrentHashMap<>();

    private record Key(String model, String device, int threads, String templateVersion, String templateDir,
                       String kvCache) {
    }

    private Judges() {
    }

    static ReflectRM of(JudgeSpec spec) {
        Key key = new Key(Path.of(spec.model()).toAbsolutePath().normalize().toString(),
                deviceFor(spec.device(), taskGpus()), spec.threadCount(),
                spec.templateVersion(), spec.templateDir(), spec.kvCache());
        // computeIfAbsent holds the map's bin lock while loading, so two tasks never load the same model twice.
        return OPEN.computeIfAbsent(key, k -> ReflectRM.builder(Path.of(k.model())).device(k.device()).threads(k.threads())
                .kvCache(org.reflectrm.kernels.DType.valueOf(k.kvCache()))
                .templateVersion(k.templateVersion()).templateDir(k.templateDir() == null ? null : Path.of(k.templateDir()))
                .notices(new PrintWriter(System.err, true)).open());
    }

    /**
     * The device a task computes on: {@code cuda} or {@code auto} becomes {@code cuda:N} for the
     * first GPU address N that Spark's resource scheduling gave the task
     * ({@code spark.task.resource.gpu.amount}), so executors sharing a node use different GPUs;
     * anything else, or a task without GPUs, keeps {@code device}.
     */
    static String deviceFor(String device, String[] gpuAddresses) {
        String d = device.toLowerCase(Locale.ROOT);
        if (gpuAddresses == null || gpuAddresses.length == 0 || !(d.equals("cuda") || d.equals("auto"))
                || !gpuAddresses[0].matches("[0-9]{1,4}")) {
            return device;
        }
        return "cuda:" + gpuAddresses[0];
    }

    /** The GPU addresses Spark assigned the running task, or null outside a task or without any. */
    private static String[] taskGpus() {
        TaskContext task = TaskContext.get();
        ResourceInformation gpus = task == null ? null : task.resourcesJMap().get("gpu");
        return gpus == null ? null : gpus.addresses();
    }
}
