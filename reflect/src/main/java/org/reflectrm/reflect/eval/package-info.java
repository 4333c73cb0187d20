/**
 * {@code reflectrm-j eval}: benchmark files read into {@link org.reflectrm.reflect.eval.Comparison}s
 * (adapters), judged in both presentation orders, and scored with the paper's metrics and each
 * benchmark's official rule.
 *
 * <p>The judgment record ({@code judgments.jsonl}, one line per comparison and order) is the
 * contract between judging and scoring: {@code id}, {@code group}, {@code subset}, {@code order}
 * ("AB" or "BA"), {@code label} (the better slot as shown, "A" or "B"), {@code verdict} (the slot
 * chosen as shown, or null when unparseable), the comparison's {@code meta} keys, and the judge's
 * details ({@code mode}, {@code confidences} of the rollouts, and for reflect mode {@code decided_by}:
 * "anchor", "winners" or "fallback").
 */
package org.reflectrm.reflect.eval;
