package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.reflectrm.kernels.cuda.CudaDevice;
import org.reflectrm.kernels.opencl.OpenClDevice;
import org.reflectrm.model.ModelRuntime;

/**
 * {@code --device}: a GPU run gives what the CPU gives (on PoCL in CI), an absent or unknown
 * device is bad usage (exit code 2, one message), SFT trains there as on the CPU, and commands
 * without a GPU path refuse one.
 */
class DeviceOptionTest {
    private static final String MODEL = Path.of("../model/src/test/resources/fixtures/tiny-f32-untied").toString();
    private static final String SFT_DATA = Path.of("../model/src/test/resources/sft/data.jsonl").toString();

    @Test
    void openClGeneratesWhatTheCpuGenerates() {
        assumeOpenCl();
        List<String> args = List.of("generate", "--model", MODEL, "--tokens", "1,2,3,4,5", "--max-new", "8", "--greedy",
                "--json");
        CliTest.Run cpu = CliTest.ok(args.toArray(String[]::new));
        CliTest.Run gpu = CliTest.ok(concat(args, "--device", "opencl"));
        assertEquals(cpu.json().get("tokens"), gpu.json().get("tokens"));
        double[] a = doubles(cpu), b = doubles(gpu);
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], 1e-3, "logprob " + i);
        }
    }

    /** Only the CPU kernels read a BF16 KV cache: a GPU with one is bad usage, said by name. */
    @Test
    void aBf16KvCacheOnAGpuIsRefused() {
        assumeOpenCl();
        CliTest.bad(List.of("generate", "--model", MODEL, "--tokens", "1,2", "--max-new", "2", "--kv-cache", "bf16",
                "--device", "opencl"), "--kv-cache bf16: only the CPU kernels read a BF16 KV cache");
    }

    @Test
    void openClLogitsMatchTheCpu() {
        assumeOpenCl();
        String[] args = {"logits", "--model", MODEL, "--tokens", "3,1,4,1,5", "--json"};
        var cpu = CliTest.ok(args).json().get("logits");
        var gpu = CliTest.ok(concat(List.of(args), "--device", "opencl")).json().get("logits");
        assertEquals(cpu.size(), gpu.size());
        for (int p = 0; p < cpu.size(); p++) {
            for (int v = 0; v < cpu.get(p).size(); v++) {
                assertEquals(cpu.get(p).get(v).asDouble(), gpu.get(p).get(v).asDouble(), 1e-3, "position " + p + " logit " + v);
            }
        }
    }

    /** bench on a device reports the most device memory held per batch size: more sequences, more KV cache. */
    @Test
    void benchReportsPeakDeviceMemoryPerBatch() {
        assumeOpenCl();
        JsonNode o = CliTest.ok("bench", "--model", MODEL, "--device", "opencl", "--prompt-len", "8", "--decode-tokens", "4",
                "--batch", "1,8", "--repeats", "1", "--json").json();
        JsonNode peaks = o.get("device_peak_bytes");
        long weights = o.get("device_load_bytes_up").asLong();
        assertTrue(peaks.get("1").asLong() > weights, o.toString());
        assertTrue(peaks.get("8").asLong() > peaks.get("1").asLong(), o.toString());
    }

    /** The whole judging pipeline on the device: greedy and reflect give the CPU's analyses and verdicts. */
    @Test
    void openClJudgesAsTheCpuDoes(@org.junit.jupiter.api.io.TempDir Path dir) {
        assumeOpenCl();
        String tiny = dir.resolve("tiny").toString();
        CliTest.ok("init", "--preset", "tiny", "--seed", "2", "--out", tiny);
        for (String mode : List.of("greedy", "reflect")) {
            List<String> args = List.of("judge", "--model", tiny, "--prompt", "2+2?", "--a", "4", "--b", "5", "--mode", mode,
                    "--rollouts", "3", "--max-new-tokens", "8", "--seed", "3", "--json");
            var cpu = CliTest.ok(args.toArray(String[]::new)).json();
            var gpu = CliTest.ok(concat(args, "--device", "opencl")).json();
            assertEquals(cpu.get("rollouts").size(), gpu.get("rollouts").size(), mode);
            for (int i = 0; i < cpu.get("rollouts").size(); i++) {
                assertEquals(cpu.get("rollouts").get(i).get("analysis"), gpu.get("rollouts").get(i).get("analysis"),
                        mode + " rollout " + i);
                assertEquals(cpu.get("rollouts").get(i).get("confidence").asDouble(),
                        gpu.get("rollouts").get(i).get("confidence").asDouble(), 1e-3, mode + " confidence " + i);
            }
            assertEquals(cpu.get("verdict"), gpu.get("verdict"), mode);
            assertEquals(cpu.get("reflections"), gpu.get("reflections"), mode);
        }
    }

    @Test
    void anAbsentCudaDeviceIsBadUsage() {
        Assumptions.assumeTrue(CudaDevice.list().isEmpty(), "this machine has a CUDA device");
        CliTest.bad(List.of("generate", "--model", MODEL, "--tokens", "1,2", "--device", "cuda"),
                "--device cuda", "NVIDIA");
    }

    @Test
    void anUnknownDeviceIsBadUsage() {
        CliTest.bad(List.of("generate", "--model", MODEL, "--tokens", "1,2", "--device", "tpu"),
                "unknown device 'tpu'", "cpu, opencl, cuda, auto");
        CliTest.bad(List.of("grad", "--model", MODEL, "--tokens", "1,2,3", "--device", "tpu"), "unknown device 'tpu'");
    }

    @Test
    void gradOnTheGpuMatchesTheCpu() throws Exception {
        assumeOpenCl();
        List<String> args = List.of("grad", "--model", MODEL, "--tokens", "1,5,9,2,7,3", "--json");
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        JsonNode cpu = json.readTree(CliTest.ok(concat(args, "--device", "cpu")).out());
        JsonNode gpu = json.readTree(CliTest.ok(concat(args, "--device", "opencl")).out());
        double loss = cpu.get("loss").asDouble();
        assertEquals(loss, gpu.get("loss").asDouble(), 1e-5 * loss, "loss");
        assertEquals(cpu.get("grads").size(), gpu.get("grads").size(), "parameters");
        cpu.get("grads").fields().forEachRemaining(e -> {
            double want = e.getValue().get("norm").asDouble();
            assertEquals(want, gpu.get("grads").get(e.getKey()).get("norm").asDouble(), 1e-4 * want + 1e-12, e.getKey());
        });
    }

    @Test
    void autoRunsOnTheCpuWithoutAGpu() {
        CliTest.Run auto = CliTest.ok("grad", "--model", MODEL, "--tokens", "1,2,3", "--device", "auto");
        assertTrue(auto.out().contains("loss"), auto.out());
    }

    /** merge-lora on the device writes the weights the CPU's merge writes (itself checked against peft's merge). */
    @Test
    void mergeLoraOnOpenClWritesTheCpusWeights(@org.junit.jupiter.api.io.TempDir Path dir) {
        assumeOpenCl();
        String adapter = Path.of("../model/src/test/resources/fixtures/grad/lora-tiny").toString();
        Path cpu = dir.resolve("cpu"), gpu = dir.resolve("gpu");
        CliTest.ok("merge-lora", "--model", MODEL, "--adapter", adapter, "--out", cpu.toString(), "--dtype", "F32");
        CliTest.ok("merge-lora", "--model", MODEL, "--adapter", adapter, "--out", gpu.toString(), "--dtype", "F32",
                "--device", "opencl");
        try (var a = org.reflectrm.model.qwen3.Qwen3Model.load(cpu); var b = org.reflectrm.model.qwen3.Qwen3Model.load(gpu);
             var base = org.reflectrm.model.qwen3.Qwen3Model.load(Path.of(MODEL))) {
            int changed = 0;
            for (var e : a.weights().named().entrySet()) {
                float[] want = e.getValue().toFloatArray(), got = b.weights().named().get(e.getKey()).toFloatArray();
                float[] before = base.weights().named().get(e.getKey()).toFloatArray();
                changed += java.util.Arrays.equals(want, before) ? 0 : 1;
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], got[i], 1e-6 * (1 + Math.abs(want[i])), e.getKey() + " element " + i);
                }
            }
            assertTrue(changed > 0, "the adapter changed some weights");
        }
    }

    /**
     * The SFT loop on the device: the same losses, gradient norms and learning rates per step as
     * the CPU's, and each step's bus traffic reported.
     */
    @Test
    void trainSftOnOpenClLogsTheCpusMetrics(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        assumeOpenCl();
        String tiny = dir.resolve("tiny").toString();
        CliTest.ok("init", "--preset", "tiny", "--seed", "5", "--out", tiny);
        List<List<String>> runs = new java.util.ArrayList<>();
        for (String device : List.of("cpu", "opencl")) {
            Path out = dir.resolve("sft-" + device);
            CliTest.Run run = CliTest.ok("train", "sft", "--model", tiny, "--data", SFT_DATA, "--out", out.toString(),
                    "--steps", "3", "--batch", "2", "--lr", "1e-3", "--device", device, "--verbose");
            runs.add(java.nio.file.Files.readAllLines(out.resolve("metrics.jsonl")));
            if (device.equals("opencl")) {
                // --verbose reports each step's bus traffic, which metrics.jsonl records too: token
                // ids, targets and losses, never weights (DeviceTrainingContract bounds it tightly).
                long weights = java.nio.file.Files.size(Path.of(tiny, "model.safetensors"));
                for (int step = 1; step <= 3; step++) {
                    JsonNode line = new com.fasterxml.jackson.databind.ObjectMapper().readTree(runs.getLast().get(step - 1));
                    long up = line.get("bytes_up").asLong(), down = line.get("bytes_down").asLong();
                    assertTrue(up > 0 && down > 0 && up + down < weights / 10, "step " + step + ": " + up + " up, "
                            + down + " down, " + weights + " bytes of weights");
                    assertTrue(run.err().contains("step " + step + ": " + up + " bytes up, " + down + " bytes down"),
                            run.err());
                }
            }
        }
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        assertEquals(runs.get(0).size(), runs.get(1).size(), "metrics lines");
        for (int i = 0; i < runs.get(0).size(); i++) {
            JsonNode cpu = json.readTree(runs.get(0).get(i)), gpu = json.readTree(runs.get(1).get(i));
            for (String field : List.of("loss", "grad_norm", "lr")) {
                double want = cpu.get(field).asDouble();
                assertEquals(want, gpu.get(field).asDouble(), 1e-4 * Math.abs(want), field + " of step " + (i + 1));
            }
        }
    }

    @Test
    void eightBitWeightsAreRefusedOnTheGpuByName(@org.junit.jupiter.api.io.TempDir Path dir) {
        assumeOpenCl();
        String q8 = dir.resolve("q8").toString();
        CliTest.ok("quantize", "--model", MODEL, "--out", q8);
        CliTest.bad(List.of("grad", "--model", q8, "--tokens", "1,2,3", "--device", "opencl"),
                "dtype Q8 cannot be computed with on the opencl device");
    }

    @Test
    void benchTrainRunsOnOpenCl() {
        assumeOpenCl();
        JsonNode r = CliTest.ok("bench-train", "--model", MODEL, "--batch", "1", "--seq-len", "8", "--steps", "1",
                "--warmup", "0", "--lora-rank", "2", "--device", "opencl", "--json").json();
        assertEquals("opencl", r.get("device").asText());
        assertTrue(r.get("last_loss").asDouble() > 0, r.toString());
        // At least the frozen base (the tiny fixture's F32 weights) and the adapter were on the device at once.
        long weights = 0;
        try (var files = java.nio.file.Files.list(Path.of(MODEL))) {
            for (Path f : files.filter(f -> f.toString().endsWith(".safetensors")).toList()) {
                weights += java.nio.file.Files.size(f);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertTrue(r.get("device_peak_bytes").asLong() > weights * 9 / 10, r + " against " + weights + " bytes of weights");
    }

    @Test
    void devicesListsTheCpuLast() {
        String[] lines = CliTest.ok("devices").out().strip().split("\n");
        assertTrue(lines[lines.length - 1].startsWith("cpu"), String.join("\n", lines));
        assertEquals(OpenClDevice.list().size() + CudaDevice.list().size() + 1, lines.length);
    }

    @Test
    void weightsThatDoNotFitTheDeviceAreRefusedBeforeTheUpload() {
        long gib = 1L << 30;
        assertEquals(null, ModelRuntime.misfit(8 * gib, 80 * gib));
        assertEquals(null, ModelRuntime.misfit(72 * gib, 80 * gib));
        String why = ModelRuntime.misfit(73 * gib, 80 * gib);
        assertTrue(why != null && why.contains("73.0 GiB") && why.contains("80.0 GiB"), why);
    }

    /** Skips without an OpenCL device, unless CI requires one (then the test runs and fails). */
    private static void assumeOpenCl() {
        Assumptions.assumeTrue(!OpenClDevice.list().isEmpty() || "1".equals(System.getenv("REFLECTRM_REQUIRE_OPENCL")),
                "no OpenCL device");
    }

    private static String[] concat(List<String> args, String... more) {
        List<String> all = new java.util.ArrayList<>(args);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    private static double[] doubles(CliTest.Run r) {
        var lp = r.json().get("logprobs");
        double[] out = new double[lp.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = lp.get(i).asDouble();
        }
        return out;
    }
}
