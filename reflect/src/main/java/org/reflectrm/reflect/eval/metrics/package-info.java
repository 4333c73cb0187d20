/**
 * Scoring of {@code eval}'s judgment records into {@code summary.json}
 * ({@link org.reflectrm.reflect.eval.metrics.Metrics#summarize}).
 *
 * <h2>Common metrics ({@code overall} and {@code subsets.<name>})</h2>
 * A <em>comparison</em> is one {@code id}; a <em>judgment</em> is one of its records, one per
 * presentation order ("AB", "BA"; {@code --single-order} runs have one). A judgment is correct
 * when its verdict equals its label (the better slot as shown); an unparseable verdict (null) is
 * never correct and is not a tie. All rates are fractions in [0, 1], null where undefined.
 * <ul>
 *   <li>{@code n}: comparisons (not judgments); {@code n_judgments}; {@code n_both_orders}: comparisons
 *       judged in both orders.</li>
 *   <li>{@code accuracy_ab}, {@code accuracy_ba}: correct judgments of that order over judgments of that
 *       order. {@code accuracy}: correct judgments over all judgments, which is the mean of the two
 *       orders' accuracies when every comparison has both (LLMBar's {@code correct_average}).</li>
 *   <li>{@code positional_consistency}: over the comparisons judged in both orders, the fraction
 *       correct in both; unparseable in either counts as wrong (ReflectRM §5.3; LLMBar
 *       {@code correct_both}). Null when no comparison has both orders.</li>
 *   <li>{@code order_agreement}: over the comparisons judged in both orders, the fraction whose two
 *       verdicts are both parsed and name the same underlying response, right or wrong; unparseable
 *       in either order is not agreement. A judge that always answers slot A agrees on none.</li>
 *   <li>{@code first_slot_rate}: parsed verdicts that chose slot A, over parsed verdicts.</li>
 *   <li>{@code unparseable_rate}: unparseable verdicts over judgments.</li>
 *   <li>{@code ci95.<metric>}: [low, high], the seeded percentile bootstrap (2.5th, 97.5th) over
 *       comparisons resampled with replacement, {@code bootstrap_samples} times (default 1000)
 *       ({@link org.reflectrm.reflect.eval.metrics.Bootstrap}).</li>
 * </ul>
 *
 * <h2>Official scores</h2>
 * By benchmark, bootstrapped over their groups (pairs, prompts, BoN items):
 * {@code judgebench_score} and the {@code judgebench} block
 * ({@link org.reflectrm.reflect.eval.metrics.JudgeBenchScore}: JudgeBench's {@code counter > 0}
 * pair rule, also per category); {@code rmbench} {hard, normal, easy, average, domains}
 * ({@link org.reflectrm.reflect.eval.metrics.RmBenchScore}: the 3×3 style matrix per domain and the
 * domain average); {@code rmb_bon_accuracy} and the {@code rmb} block
 * ({@link org.reflectrm.reflect.eval.metrics.RmbScore}: pairwise accuracy and best-of-N accuracy per
 * section, a BoN item correct only if the best response beats every loser).
 * {@code src/test/python/make_metric_fixtures.py} recomputes them with the official scripts' logic.
 *
 * <h2>Judge details</h2>
 * {@code modes} (judgments per mode), {@code reflect} (reflect mode: count, rate and accuracy per
 * {@code decided_by}), {@code confidence} (histograms of rollout confidences by outcome)
 * ({@link org.reflectrm.reflect.eval.metrics.JudgeDetails}).
 */
package org.reflectrm.reflect.eval.metrics;
