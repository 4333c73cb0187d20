package org.reflectrm.reflect.eval.report;

import java.util.List;
import java.util.Locale;

/**
 * Small charts as inline SVG for the eval report: a scatter of labelled points, bars with
 * intervals, and overlaid histograms. Plain SVG, not a charting library: the libraries on Maven
 * Central that write SVG (XChart through VectorGraphics2D, JFreeSVG) draw through AWT, whose text
 * layout needs fonts and fontconfig on the machine; a report must render on a bare CI machine and
 * open from disk in any browser.
 */
public final class Svg {
    /** A labelled point of a scatter plot. */
    public record Point(String label, double x, double y) {
    }

    /** A bar with its 95% interval (NaN bounds: no interval). */
    public record Bar(String label, double value, double low, double high) {
    }

    /** One series of a histogram: its name, colour and counts per bin. */
    public record Series(String name, String colour, int[] counts) {
    }

    private static final int WIDTH = 420, HEIGHT = 300, LEFT = 52, RIGHT = 16, TOP = 30, BOTTOM = 46;
    private static final String[] PALETTE = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"};

    private Svg() {
    }

    /** Points on [0, 1] × [0, 1] (e.g. accuracy against positional consistency), one colour per point. */
    public static String scatter(String title, String xLabel, String yLabel, List<Point> points) {
        StringBuilder s = open(title);
        axes(s, xLabel, yLabel, 0, 1, 5);
        for (int i = 0; i < points.size(); i++) {
            Point p = points.get(i);
            double cx = x(p.x()), cy = y(p.y(), 1);
            String c = PALETTE[i % PALETTE.length];
            s.append(f("<circle cx='%.1f' cy='%.1f' r='5' fill='%s'><title>%s: (%.3f, %.3f)</title></circle>",
                    cx, cy, c, esc(p.label()), p.x(), p.y()));
            s.append(f("<text x='%.1f' y='%.1f' font-size='11' fill='%s'>%s</text>", cx + 7, cy - 6, c, esc(p.label())));
        }
        return s.append("</svg>").toString();
    }

    /** Bars of values in [0, 1] with interval whiskers, e.g. the first-slot rate per run or subset. */
    public static String bars(String title, String yLabel, List<Bar> bars, double reference) {
        StringBuilder s = open(title);
        axes(s, "", yLabel, 0, 1, 5);
        if (!Double.isNaN(reference)) {
            s.append(f("<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#888' stroke-dasharray='4 3'/>",
                    LEFT, WIDTH - RIGHT, y(reference, 1), y(reference, 1)));
        }
        double slot = (double) (WIDTH - LEFT - RIGHT) / Math.max(1, bars.size());
        for (int i = 0; i < bars.size(); i++) {
            Bar b = bars.get(i);
            double x0 = LEFT + i * slot + slot * 0.2, w = slot * 0.6;
            double top = y(b.value(), 1);
            s.append(f("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>%s: %.3f</title></rect>",
                    x0, top, w, HEIGHT - BOTTOM - top, PALETTE[i % PALETTE.length], esc(b.label()), b.value()));
            if (!Double.isNaN(b.low()) && !Double.isNaN(b.high())) {
                double mid = x0 + w / 2;
                s.append(f("<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#222'/>", mid, mid, y(b.low(), 1), y(b.high(), 1)));
            }
            s.append(f("<text x='%.1f' y='%d' font-size='10' text-anchor='middle'>%s</text>", x0 + w / 2, HEIGHT - BOTTOM + 14,
                    esc(shorten(b.label()))));
        }
        return s.append("</svg>").toString();
    }

    /** Overlaid histograms over bins [edges[k], edges[k+1]), e.g. rollout confidence of correct and wrong verdicts. */
    public static String histogram(String title, String xLabel, double[] edges, List<Series> series) {
        int max = 1;
        for (Series sr : series) {
            for (int c : sr.counts()) {
                max = Math.max(max, c);
            }
        }
        StringBuilder s = open(title);
        double lo = edges[0], hi = edges[edges.length - 1];
        s.append(f("<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#333'/>", LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, HEIGHT - BOTTOM));
        s.append(f("<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#333'/>", LEFT, TOP, LEFT, HEIGHT - BOTTOM));
        for (int k = 0; k < edges.length; k += Math.max(1, (edges.length - 1) / 5)) {
            double xk = LEFT + (edges[k] - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT);
            s.append(f("<text x='%.1f' y='%d' font-size='10' text-anchor='middle'>%.3g</text>", xk, HEIGHT - BOTTOM + 14, edges[k]));
        }
        s.append(f("<text x='%d' y='%d' font-size='11' text-anchor='middle'>%s</text>", (LEFT + WIDTH - RIGHT) / 2, HEIGHT - 8, esc(xLabel)));
        s.append(f("<text x='%d' y='%d' font-size='10' text-anchor='end'>%d</text>", LEFT - 4, TOP + 4, max));
        for (Series sr : series) {
            for (int k = 0; k + 1 < edges.length; k++) {
                double x0 = LEFT + (edges[k] - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT);
                double x1 = LEFT + (edges[k + 1] - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT);
                double h = (double) sr.counts()[k] / max * (HEIGHT - TOP - BOTTOM);
                s.append(f("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s' fill-opacity='0.45'><title>%s: %d</title></rect>",
                        x0, HEIGHT - BOTTOM - h, Math.max(0.5, x1 - x0 - 1), h, sr.colour(), esc(sr.name()), sr.counts()[k]));
            }
        }
        int ly = TOP + 2;
        for (Series sr : series) {
            s.append(f("<rect x='%d' y='%d' width='10' height='10' fill='%s' fill-opacity='0.6'/>", WIDTH - RIGHT - 90, ly, sr.colour()));
            s.append(f("<text x='%d' y='%d' font-size='11'>%s</text>", WIDTH - RIGHT - 76, ly + 9, esc(sr.name())));
            ly += 14;
        }
        return s.append("</svg>").toString();
    }

    private static StringBuilder open(String title) {
        StringBuilder s = new StringBuilder();
        s.append(f("<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' viewBox='0 0 %d %d' role='img' "
                + "font-family='sans-serif'><title>%s</title>", WIDTH, HEIGHT, WIDTH, HEIGHT, esc(title)));
        s.append(f("<text x='%d' y='18' font-size='13' font-weight='bold'>%s</text>", LEFT, esc(title)));
        return s;
    }

    private static void axes(StringBuilder s, String xLabel, String yLabel, double lo, double hi, int ticks) {
        s.append(f("<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#333'/>", LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, HEIGHT - BOTTOM));
        s.append(f("<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#333'/>", LEFT, TOP, LEFT, HEIGHT - BOTTOM));
        for (int t = 0; t <= ticks; t++) {
            double v = lo + (hi - lo) * t / ticks;
            s.append(f("<text x='%d' y='%.1f' font-size='10' text-anchor='end'>%.1f</text>", LEFT - 4, y(v, hi) + 3, v));
            if (!xLabel.isEmpty()) {
                s.append(f("<text x='%.1f' y='%d' font-size='10' text-anchor='middle'>%.1f</text>", x(v), HEIGHT - BOTTOM + 14, v));
            }
        }
        if (!xLabel.isEmpty()) {
            s.append(f("<text x='%d' y='%d' font-size='11' text-anchor='middle'>%s</text>", (LEFT + WIDTH - RIGHT) / 2, HEIGHT - 8, esc(xLabel)));
        }
        s.append(f("<text x='12' y='%d' font-size='11' text-anchor='middle' transform='rotate(-90 12 %d)'>%s</text>",
                (TOP + HEIGHT - BOTTOM) / 2, (TOP + HEIGHT - BOTTOM) / 2, esc(yLabel)));
    }

    private static double x(double v) {
        return LEFT + clamp(v) * (WIDTH - LEFT - RIGHT);
    }

    private static double y(double v, double hi) {
        return HEIGHT - BOTTOM - clamp(v / hi) * (HEIGHT - TOP - BOTTOM);
    }

    private static double clamp(double v) {
        return Double.isNaN(v) ? 0 : Math.max(0, Math.min(1, v));
    }

    private static String shorten(String s) {
        return s.length() <= 12 ? s : s.substring(0, 11) + "…";
    }

    /** Text for SVG and HTML: the five XML specials escaped. */
    public static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;").replace("\"", "&quot;");
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
