package org.reflectrm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Opens a page in headless Chromium (Debian's {@code chromium}; {@code .ci/run} installs it and
 * sets REFLECTRM_REQUIRE_CHROMIUM, so CI fails rather than skips without it): the rendered DOM must
 * hold the elements the caller expects (an eval report's tables and charts, a judgment's token
 * marks), the console must report no error, and a screenshot is kept.
 */
final class BrowserCheck {
    private BrowserCheck() {
    }

    /**
     * Renders {@code page}; the rendered DOM must hold each of {@code elements} (tag names, e.g.
     * {@code "svg"}, {@code "table"}), and {@code screenshot} is written.
     */
    static void rendersWithoutErrors(Path page, Path screenshot, String... elements) throws IOException {
        if (elements.length == 0) {
            throw new IllegalArgumentException("name the elements the rendered page must hold");
        }
        Path chromium = Path.of("/usr/bin/chromium");
        if (!Files.isExecutable(chromium)) {
            Assumptions.assumeTrue(System.getenv("REFLECTRM_REQUIRE_CHROMIUM") == null,
                    "REFLECTRM_REQUIRE_CHROMIUM is set but /usr/bin/chromium is missing");
            Assumptions.abort("no /usr/bin/chromium: the browser check is skipped");
        }
        String url = page.toAbsolutePath().toUri().toString();
        Path profile = Files.createTempDirectory("reflectrm-chromium");
        Run dom = chromium(profile, "--dump-dom", url);
        assertEquals(0, dom.code, dom.err);
        for (String element : elements) {
            assertTrue(dom.out.contains("<" + element), "the rendered page has its " + element + " elements");
        }
        Run shot = chromium(profile, "--screenshot=" + screenshot.toAbsolutePath(), "--window-size=1280,1600", url);
        assertEquals(0, shot.code, shot.err);
        byte[] png = Files.readAllBytes(screenshot);
        assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "a PNG screenshot");
        for (String line : (dom.err + shot.err).split("\n")) {
            assertFalse(line.contains("Uncaught") || (line.contains("CONSOLE") && line.contains("ERROR")),
                    "console error while rendering: " + line);
        }
    }

    private record Run(int code, String out, String err) {
    }

    private static Run chromium(Path profile, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--enable-logging=stderr", "--user-data-dir=" + profile));
        cmd.addAll(List.of(args));
        // stderr to a file: reading two pipes one after the other can block on a full one.
        Path err = Files.createTempFile(profile, "stderr", ".log");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("chromium did not finish in 60 s");
            }
            return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
