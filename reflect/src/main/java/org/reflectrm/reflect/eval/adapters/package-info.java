/**
 * Benchmark files into {@link org.reflectrm.reflect.eval.Comparison}s: {@link
 * org.reflectrm.reflect.eval.adapters.BenchmarkFiles#read} reads JudgeBench, RM-Bench, RMB,
 * RewardBench, RewardBench 2, PPE human preference, HelpSteer3-Preference and the project's own
 * pairs ({@link org.reflectrm.reflect.eval.adapters.Benchmark}), named or detected from the first
 * record's fields. Where each file comes from and how its fields map: {@code docs/benchmarks.md}.
 */
package org.reflectrm.reflect.eval.adapters;
