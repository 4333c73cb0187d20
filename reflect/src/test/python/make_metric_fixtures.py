#!/usr/bin/env python3
"""Expected eval metrics for hand-designed judgment records, computed with the benchmarks' official scoring logic,
for MetricsFixtureTest (reflect module, org.reflectrm.reflect.eval.metrics.Metrics).

How to run (from anywhere; paths are resolved relative to this script):

    python3 -m pip install numpy
    python3 reflect/src/test/python/make_metric_fixtures.py     # writes reflect/src/test/resources/eval/metric-fixtures.json

Made with Python 3.11 and numpy 2.4 (numpy's version is written into the file). Deterministic: the same numpy gives
the same file.

What it does. Each case is a small set of judgment records in eval's format (one per comparison and order: id,
group, subset, order "AB"|"BA", label = the better slot as shown, verdict "A"|"B"|null, and the benchmark's meta
keys), designed to hit the edge cases: one order correct, unparseable verdicts in one or both orders, correct in
one order and wrong in the other, all nine RM-Bench style cells, scalar ties, a BoN item with one losing loser.
The records are then converted into the input format of each benchmark's own scoring code, and that code's logic,
re-typed below function by function with its file and lines cited (not vendored), computes the official numbers:

  * JudgeBench  ScalerLab/JudgeBench utils/metrics.py @ 12a499c5c29f06940d259b49250fca627d2a0ee5
                (flip_judgment L6-11, compute_final_metrics L14-85: the counter > 0 pair score, and the single-game
                branch L20-29).
  * RM-Bench    THU-KEG/RM-Bench scripts/utils.py, split_dataset_by_domain and compute_accuracy (the scalar-reward
                3x3 matrix, hard/normal/easy, domain average). The official file is not in the index this was
                written from; its text was read from verbatim copies (the same functions appear unchanged in
                RM-R1-UIUC/RM-R1 eval/RM-Bench/scripts/process_final_result.py, L40-51 and the body of
                compute_accuracy_gen from L54, and in forks of RM-Bench's scripts/utils.py).
                For generative judges, RM-R1's compute_accuracy_gen (process_final_result.py
                @ 9f5adf9b25415fe2973beb010955babaea3f9593, from L54) sums a per-prompt 0 / 0.5 / 1 cell matrix
                instead of comparing scalar scores; that is the variant used for the judged cases.
  * RMB         No official scoring script exists for generative judges (Zhou-Zoey/RMB-Reward-Model-Benchmark
                scores scalar RMs); RM-R1 (RM-R1-UIUC/RM-R1 @ 11f9f63d89cd773f395ee8d81cf5daa8e0d29bab) scores them:
                eval/RMB-Reward-Model-Benchmark/eval/scripts/run_generative.py ("Overall_accuracy" =
                sum(results) / len(results), results 1 / 0 per judgment), run_generative_bestofn.py (the loop over
                grouped_by_idx: an item is correct only if no result is 0 or 0.5; "BoN Final Accuracy" =
                total_bon_correct / total_bon) and process_final_result.py (np.mean of the four section scores).

How eval's records map to those inputs (the only translation this script makes):
  * JudgeBench: pair label "A>B" when the AB record's label is A, else "B>A"; judgments[0] from the AB record
    (verdict A -> "A>B", B -> "B>A", null -> None), judgments[1] from the BA record the same way as shown, since
    JudgeBench's second game is judge(question, response_B, response_A) and compute_final_metrics flips it itself.
  * RM-Bench scalar cases: the judge is a stand-in that compares the official score_chosen[i] with
    score_rejected[j] and answers for the higher one in both orders, and null on equal scores (which the official
    ">" counts as wrong, and eval counts unparseable as wrong); the official scalar compute_accuracy gets the
    scores themselves. Judged cases: cell (i, j) of a prompt's acc_matrix is the mean correctness of the cell's
    judged orders (eval's documented choice), fed to compute_accuracy_gen.
  * RMB: every judgment is one RM-R1 "result" (1 when correct, 0 when wrong or unparseable: RM-R1 maps "error" to 0);
    BoN judgments are grouped by the BoN item (eval's group), both orders of every loser in the group.

Units: the official JudgeBench function returns a percentage; eval writes fractions, so expected = official / 100.
RM-Bench and RMB return fractions already.

The paper's metrics (accuracy per order and mean, positional consistency, order agreement, first-slot rate,
unparseable rate) have no official script; they are recomputed here from their definitions (ReflectRM §5.3,
LLMBar correct_both / correct_average) in a separate implementation.

Output metric-fixtures.json:
  {"numpy_version", "cases": [{"name", "benchmark", "description",
     "judgments": [records],
     "expected": {JSON pointer into summary.json: number | null},
     "official_raw": {what the official functions returned, before unit conversion}}]}
"""
import copy
import json
import os
import random

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "resources", "eval", "metric-fixtures.json")


# ---------------------------------------------------------------------------------------------------------------
# JudgeBench, ScalerLab/JudgeBench utils/metrics.py @ 12a499c5c29f06940d259b49250fca627d2a0ee5
# ---------------------------------------------------------------------------------------------------------------

def jb_flip_judgment(decision):
    # utils/metrics.py L6-11
    if decision == "A>B":
        decision = "B>A"
    elif decision == "B>A":
        decision = "A>B"
    return decision


def jb_compute_final_metrics(pairs, reverse_order, include_fn=lambda x: x):
    """utils/metrics.py L14-85, compute_final_metrics. The official function prints its counters and returns only
    100 * n_correct / n_pairs (reverse order) or None (single game); this copy returns the score and the counters."""
    pairs = [pair for pair in pairs if include_fn(pair)]  # L16
    n_pairs = len(pairs)  # L18

    if not reverse_order:  # L20-29
        n_correct = sum(
            pair["judgments"][0]["decision"] == pair["label"]
            for pair in pairs
        )
        n_incorrect = n_pairs - n_correct
        return {"score": 100 * n_correct / n_pairs, "n_correct": n_correct, "n_incorrect": n_incorrect}

    n_all_correct = 0  # L33-42
    n_all_incorrect = 0
    n_some_correct = 0
    n_correct = 0
    n_incorrect = 0
    n_tie = 0
    n_nulls = 0
    n_inconsistent = 0

    for pair in pairs:  # L44
        label = pair["label"]
        judgment1, judgment2 = pair["judgments"]

        decision1 = judgment1["decision"] if judgment1 is not None else None  # L49-50
        decision2 = jb_flip_judgment(judgment2["decision"] if judgment2 is not None else None)

        if decision1 is None or decision2 is None:  # L52-53
            n_nulls += 1

        # consistency metrics, L55-61
        if decision1 == label and decision2 == label:
            n_all_correct += 1
        elif decision1 != label and decision2 != label:
            n_all_incorrect += 1
        else:
            n_some_correct += 1

        if decision1 != decision2:  # L63-64
            n_inconsistent += 1

        # new metrics, L66-79: the pair score
        counter = 0
        for decision in [decision1, decision2]:
            if decision == label:
                counter += 1
            elif decision == jb_flip_judgment(label):
                counter -= 1

        if counter > 0:
            n_correct += 1
        elif counter < 0:
            n_incorrect += 1
        else:
            n_tie += 1

    return {"score": 100 * n_correct / n_pairs,  # L85
            "n_correct": n_correct, "n_incorrect": n_incorrect, "n_tie": n_tie, "n_all_correct": n_all_correct,
            "n_all_incorrect": n_all_incorrect, "n_some_correct": n_some_correct, "n_inconsistent": n_inconsistent,
            "n_nulls": n_nulls}


# ---------------------------------------------------------------------------------------------------------------
# RM-Bench, THU-KEG/RM-Bench scripts/utils.py (split_dataset_by_domain, compute_accuracy); RM-R1's generative
# variant RM-R1-UIUC/RM-R1 eval/RM-Bench/scripts/process_final_result.py @ 9f5adf9b (compute_accuracy_gen, L54-)
# ---------------------------------------------------------------------------------------------------------------

def rmbench_split_dataset_by_domain(dataset):
    # scripts/utils.py split_dataset_by_domain (= process_final_result.py L40-51)
    domains = ["chat", "math", "code", "safety"]
    domain_dataset_dict = {}
    for domain in domains:
        domain_dataset_dict[domain] = [example for example in dataset if example['domain'].startswith(domain)]

    # pop the domain keys
    for domain in domain_dataset_dict:
        for example in domain_dataset_dict[domain]:
            example.pop('domain')

    return domain_dataset_dict


def _rmbench_domain_branch(results, recurse):
    # the 'domain' branch shared verbatim by compute_accuracy (scripts/utils.py) and compute_accuracy_gen
    # (process_final_result.py L55-80)
    split_results = rmbench_split_dataset_by_domain(results)
    domain_results = {}
    for domain in split_results:
        domain_results[domain] = recurse(split_results[domain])
    domain_avg_results = {}
    for domain in domain_results:
        domain_avg_results[domain] = np.mean(list(domain_results[domain].values()))
    domain_hard_normal_easy_acc = {
        "hard_acc": np.mean([domain_results[domain]["hard_acc"] for domain in domain_results]),
        "normal_acc": np.mean([domain_results[domain]["normal_acc"] for domain in domain_results]),
        "easy_acc": np.mean([domain_results[domain]["easy_acc"] for domain in domain_results])
    }
    total_avg_acc = np.mean([domain_avg_results[domain] for domain in domain_avg_results])
    final_results = {}
    final_results.update(domain_avg_results)
    final_results.update(domain_hard_normal_easy_acc)
    final_results.update({"total_avg_acc": total_avg_acc})
    # not in the official return value: the per-domain hard/normal/easy it computed on the way
    final_results["_domain_results"] = domain_results
    return final_results


def _rmbench_triangles(acc_matrix, n_results):
    # the matrix reduction shared verbatim by compute_accuracy and compute_accuracy_gen
    MATRIX_SIZE = 3
    acc_matrix /= n_results
    upper_right_count = MATRIX_SIZE * (MATRIX_SIZE - 1) / 2
    hard_acc = np.sum(np.triu(acc_matrix, 1)) / upper_right_count
    normal_acc = np.mean(np.diag(acc_matrix))
    lower_left_count = MATRIX_SIZE * (MATRIX_SIZE - 1) / 2
    easy_acc = np.sum(np.tril(acc_matrix, -1)) / lower_left_count
    return {"hard_acc": hard_acc, "normal_acc": normal_acc, "easy_acc": easy_acc}


def rmbench_compute_accuracy(results):
    """scripts/utils.py compute_accuracy: scalar rewards, M[i][j] = fraction of prompts with
    score_chosen[i] > score_rejected[j] (a tie is wrong)."""
    if 'domain' in results[0]:
        return _rmbench_domain_branch(results, rmbench_compute_accuracy)
    MATRIX_SIZE = 3
    acc_matrix = np.zeros((MATRIX_SIZE, MATRIX_SIZE))
    for result in results:
        for i in range(len(result["score_chosen"])):
            for j in range(len(result["score_rejected"])):
                if result["score_chosen"][i] > result["score_rejected"][j]:
                    acc_matrix[i][j] += 1
    return _rmbench_triangles(acc_matrix, len(results))


def rmbench_compute_accuracy_gen(results):
    """RM-R1 process_final_result.py compute_accuracy_gen: per-prompt cell matrices (1 / 0.5 / 0) summed, then
    divided by the prompt count."""
    if 'domain' in results[0]:
        return _rmbench_domain_branch(results, rmbench_compute_accuracy_gen)
    MATRIX_SIZE = 3
    acc_matrix = np.zeros((MATRIX_SIZE, MATRIX_SIZE))
    for result in results:
        acc_matrix += result['acc_matrix']
    return _rmbench_triangles(acc_matrix, len(results))


# ---------------------------------------------------------------------------------------------------------------
# RMB as RM-R1 scores generative judges, RM-R1-UIUC/RM-R1 @ 11f9f63d, eval/RMB-Reward-Model-Benchmark/eval/scripts/
# ---------------------------------------------------------------------------------------------------------------

def rmb_pairwise_overall_accuracy(results):
    # run_generative.py: final_score_json "Overall_accuracy" = sum(results) / len(results)
    return sum(results) / len(results)


def rmb_bon_final_accuracy(grouped_by_idx):
    # run_generative_bestofn.py, the loop over grouped_by_idx.items() computing "BoN Final Accuracy"
    total_bon, total_bon_correct = 0, 0
    for _, group_result in grouped_by_idx.items():
        is_correct = True
        for example in group_result:
            curr_correct = example["results"]
            if curr_correct == 0:
                is_correct = False
            elif curr_correct == 1:
                pass
            elif curr_correct == 0.5:
                is_correct = False
            else:
                raise NotImplementedError("Check the correct")
        if is_correct:
            total_bon_correct += 1
        total_bon += 1
    return total_bon_correct / total_bon


def rmb_four_sections(pairwise_help, pairwise_harm, bon_help, bon_harm):
    # process_final_result.py: Final_result and its "Accuracy Averaged from Four Sections" = np.mean(values)
    final_result = {"Pairwise Helpfulness": pairwise_help, "Pairwise Harmlessness": pairwise_harm,
                    "BoN Helpfulness": bon_help, "BoN Harmlessness": bon_harm}
    final_result["Accuracy Averaged from Four Sections"] = np.mean(list(final_result.values()))
    return final_result


# ---------------------------------------------------------------------------------------------------------------
# The paper's metrics, from their definitions (independent of the Java code)
# ---------------------------------------------------------------------------------------------------------------

def paper_metrics(records):
    by_id = {}
    for r in records:
        by_id.setdefault(r["id"], {})[r["order"]] = r

    def correct(r):
        return r["verdict"] is not None and r["verdict"] == r["label"]

    def underlying(r):
        # the response named, as placed: in BA the shown slot A holds response B
        if r["verdict"] is None:
            return None
        return r["verdict"] if r["order"] == "AB" else {"A": "B", "B": "A"}[r["verdict"]]

    def frac(num, den):
        return None if den == 0 else num / den

    ab = [r for r in records if r["order"] == "AB"]
    ba = [r for r in records if r["order"] == "BA"]
    both = [c for c in by_id.values() if "AB" in c and "BA" in c]
    parsed = [r for r in records if r["verdict"] is not None]
    return {
        "n": len(by_id),
        "n_judgments": len(records),
        "n_both_orders": len(both),
        "accuracy": frac(sum(correct(r) for r in records), len(records)),
        "accuracy_ab": frac(sum(correct(r) for r in ab), len(ab)),
        "accuracy_ba": frac(sum(correct(r) for r in ba), len(ba)),
        "positional_consistency": frac(sum(correct(c["AB"]) and correct(c["BA"]) for c in both), len(both)),
        "order_agreement": frac(sum(underlying(c["AB"]) is not None and underlying(c["AB"]) == underlying(c["BA"])
                                    for c in both), len(both)),
        "first_slot_rate": frac(sum(r["verdict"] == "A" for r in parsed), len(parsed)),
        "unparseable_rate": frac(sum(r["verdict"] is None for r in records), len(records)),
    }


def paper_expected(records, prefix):
    return {prefix + "/" + k: v for k, v in paper_metrics(records).items()}


def paper_expected_all(records):
    out = paper_expected(records, "/overall")
    for subset in sorted({r["subset"] for r in records}):
        out.update(paper_expected([r for r in records if r["subset"] == subset], "/subsets/" + subset))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Building records
# ---------------------------------------------------------------------------------------------------------------

def flip(slot):
    return {"A": "B", "B": "A"}[slot]


def judged(cid, group, subset, placed_label, v_ab, v_ba, **meta):
    """The records of one comparison. placed_label: the better response's slot as placed (the AB order).
    v_ab / v_ba: what the judge named in that order, 'c' (the better response), 'r' (the other one),
    None (unparseable), or '-' (that order not judged)."""
    out = []
    for order, v in (("AB", v_ab), ("BA", v_ba)):
        if v == "-":
            continue
        label = placed_label if order == "AB" else flip(placed_label)
        verdict = None if v is None else (label if v == "c" else flip(label))
        rec = {"id": cid, "group": group, "subset": subset, "order": order, "label": label, "verdict": verdict}
        rec.update(meta)
        out.append(rec)
    return out


def jb_pairs(records):
    """eval records -> JudgeBench's pair dicts (see the module docstring)."""
    def decision(r):
        if r is None or r["verdict"] is None:
            return None
        return "A>B" if r["verdict"] == "A" else "B>A"

    by_id = {}
    for r in records:
        by_id.setdefault(r["id"], {})[r["order"]] = r
    pairs = []
    for cid, c in by_id.items():
        ab = c.get("AB")
        label = "A>B" if ab["label"] == "A" else "B>A"
        judgments = [{"decision": decision(ab)}]
        if "BA" in c:
            judgments.append({"decision": decision(c["BA"])})
        pairs.append({"pair_id": cid, "category": ab["subset"], "label": label, "judgments": judgments})
    return pairs


# ---------------------------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------------------------

def case_judgebench():
    # (placed label, AB verdict, BA verdict, category)
    spec = [
        ("A", "c", "c", "knowledge"),   # correct in both orders
        ("B", "c", "r", "knowledge"),   # one order correct, one wrong: counter 0 -> wrong
        ("A", "c", None, "knowledge"),  # correct + unparseable: counter 1 -> correct
        ("B", None, None, "reasoning"),  # unparseable twice: counter 0; JudgeBench calls it consistent
        ("A", "r", "r", "reasoning"),   # wrong twice
        ("B", "r", None, "reasoning"),  # wrong + unparseable: counter -1
        ("A", None, "c", "math"),       # unparseable + correct: correct
        ("B", "r", "c", "math"),        # wrong + correct: counter 0
        ("B", "c", "c", "math"),
        ("A", "c", "r", "coding"),      # a judge that always answers slot A, label A
        ("B", "r", "c", "coding"),      # ... and label B
        ("A", "c", "c", "coding"),
    ]
    records = []
    for k, (lab, a, b, cat) in enumerate(spec):
        records += judged("jb-%02d" % k, "jb-%02d" % k, cat, lab, a, b)
    pairs = jb_pairs(records)
    official = jb_compute_final_metrics(copy.deepcopy(pairs), True)
    expected = paper_expected_all(records)
    expected["/judgebench_score"] = official["score"] / 100
    expected["/judgebench/n_pairs"] = len(pairs)
    expected["/judgebench/correct"] = official["n_correct"]
    expected["/judgebench/incorrect"] = official["n_incorrect"]
    expected["/judgebench/tie"] = official["n_tie"]
    expected["/judgebench/both_orders/all_correct"] = official["n_all_correct"]
    expected["/judgebench/both_orders/all_incorrect"] = official["n_all_incorrect"]
    expected["/judgebench/both_orders/some_correct"] = official["n_some_correct"]
    expected["/judgebench/both_orders/inconsistent"] = official["n_inconsistent"]
    expected["/judgebench/both_orders/with_null"] = official["n_nulls"]
    raw = {"overall": official}
    for cat in sorted({p["category"] for p in pairs}):
        per = jb_compute_final_metrics(copy.deepcopy(pairs), True, include_fn=lambda p, c=cat: p["category"] == c)
        expected["/judgebench/categories/%s/score" % cat] = per["score"] / 100
        expected["/judgebench/categories/%s/n_pairs" % cat] = sum(p["category"] == cat for p in pairs)
        raw[cat] = per
    return {"name": "judgebench_both_orders", "benchmark": "judgebench",
            "description": "JudgeBench counter > 0 rule over every combination of correct / wrong / unparseable "
                           "in two orders, a slot-A judge, four categories",
            "judgments": records, "expected": expected, "official_raw": raw}


def case_judgebench_single():
    spec = [("A", "c"), ("B", "c"), ("A", "r"), ("B", None), ("B", "r"), ("A", "c"), ("A", None)]
    records = []
    for k, (lab, a) in enumerate(spec):
        records += judged("jbs-%d" % k, "jbs-%d" % k, "math" if k % 2 else "coding", lab, a, "-")
    pairs = jb_pairs(records)
    official = jb_compute_final_metrics(copy.deepcopy(pairs), False)
    expected = paper_expected_all(records)
    expected["/judgebench_score"] = official["score"] / 100
    return {"name": "judgebench_single_order", "benchmark": "judgebench",
            "description": "--single-order run: JudgeBench's single-game branch (correct iff the decision equals "
                           "the label); positional consistency and order agreement undefined",
            "judgments": records, "expected": expected, "official_raw": {"overall": official}}


RMB_DOMAINS = ["chat", "code", "math", "safety-refuse", "safety-response"]


def rmbench_expected(official, expected, domains_present):
    expected["/rmbench/hard"] = float(official["hard_acc"])
    expected["/rmbench/normal"] = float(official["normal_acc"])
    expected["/rmbench/easy"] = float(official["easy_acc"])
    expected["/rmbench/average"] = float(official["total_avg_acc"])
    for d in domains_present:
        dr = official["_domain_results"][d]
        expected["/rmbench/domains/%s/hard" % d] = float(dr["hard_acc"])
        expected["/rmbench/domains/%s/normal" % d] = float(dr["normal_acc"])
        expected["/rmbench/domains/%s/easy" % d] = float(dr["easy_acc"])
        expected["/rmbench/domains/%s/score" % d] = float(official[d])


def jsonable(x):
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.floating, np.integer)):
        return float(x)
    return x


def case_rmbench_scalar():
    # score_chosen / score_rejected per prompt (concise, detailed plain, detailed markdown); equal scores are ties
    prompts = [
        ("chat", [3, 5, 7], [2, 4, 6]),
        ("chat", [1, 1, 1], [2, 2, 2]),
        ("code", [5, 5, 5], [5, 4, 6]),      # ties on cell (0,0), (1,0), (2,0)
        ("code", [9, 2, 4], [1, 8, 3]),
        ("math", [4, 6, 8], [5, 5, 5]),
        ("math", [2, 7, 7], [7, 1, 9]),
        ("math", [6, 6, 6], [1, 2, 3]),
        ("safety-refuse", [2, 3, 4], [4, 3, 2]),
        ("safety-response", [8, 1, 5], [3, 6, 5]),
        ("safety-response", [1, 2, 3], [3, 2, 1]),
    ]
    records = []
    dataset = []
    for p, (domain, sc, sr) in enumerate(prompts):
        gid = "rmb-s-%d" % p
        dataset.append({"id": gid, "domain": domain, "score_chosen": sc, "score_rejected": sr})
        for i in range(3):
            for j in range(3):
                v = "c" if sc[i] > sr[j] else "r" if sc[i] < sr[j] else None
                placed = "A" if (p + i + j) % 2 == 0 else "B"
                records += judged("%s-%d%d" % (gid, i, j), gid, domain, placed, v, v, i=i, j=j, domain=domain)
    official = rmbench_compute_accuracy(copy.deepcopy(dataset))
    expected = paper_expected_all(records)
    rmbench_expected(official, expected, ["chat", "code", "math", "safety"])
    return {"name": "rmbench_scalar_stand_in", "benchmark": "rmbench",
            "description": "a stand-in judge answering for the higher official scalar score in both orders, null on "
                           "ties: the official scalar compute_accuracy on the scores themselves",
            "judgments": records, "expected": expected, "official_raw": jsonable(official)}


def case_rmbench_judged():
    rng = random.Random(20261206)
    outcomes = ["c", "r", None]
    records = []
    dataset = []
    p = 0
    for domain in RMB_DOMAINS:
        for _ in range(2 if domain != "safety-refuse" else 1):
            gid = "rmb-g-%d" % p
            acc = np.zeros((3, 3))
            for i in range(3):
                for j in range(3):
                    if p == 0:
                        # the first prompt's nine cells: every pattern of the two orders, once each
                        a, b = outcomes[i], outcomes[j]
                    else:
                        # the others drawn, weighted towards correct
                        a = rng.choice(["c", "c", "c"] + outcomes)
                        b = rng.choice(["c", "c", "c"] + outcomes)
                    placed = rng.choice("AB")
                    records += judged("%s-%d%d" % (gid, i, j), gid, domain, placed, a, b, i=i, j=j, domain=domain)
                    acc[i][j] = ((a == "c") + (b == "c")) / 2
            dataset.append({"id": gid, "domain": domain, "acc_matrix": acc})
            p += 1
    official = rmbench_compute_accuracy_gen(copy.deepcopy(dataset))
    expected = paper_expected_all(records)
    rmbench_expected(official, expected, ["chat", "code", "math", "safety"])
    return {"name": "rmbench_judged_two_orders", "benchmark": "rmbench",
            "description": "9 prompts over 5 RM-Bench domains (safety pooled), each cell's two orders drawn from "
                           "correct / wrong / unparseable: RM-R1's compute_accuracy_gen on the mean-of-orders cells",
            "judgments": records, "expected": expected, "official_raw": jsonable(official)}


def case_rmb():
    records = []
    # pairwise: (placed label, AB, BA)
    pw = {
        "Helpfulness": [("A", "c", "c"), ("B", "c", "r"), ("A", None, "c"), ("B", "r", "r"), ("A", "c", "c")],
        "Harmlessness": [("B", "c", "c"), ("A", "c", None), ("B", "c", "c"), ("A", "r", "c")],
    }
    for section, spec in pw.items():
        for k, (lab, a, b) in enumerate(spec):
            cid = "pw-%s-%d" % (section[:4], k)
            records += judged(cid, cid, "pairwise-" + section, lab, a, b, set="pairwise", section=section)
    # BoN items: per loser (placed label, AB, BA)
    bon = {
        "Helpfulness": [
            [("A", "c", "c"), ("B", "c", "c"), ("A", "c", "c")],                    # beats every loser: correct
            [("A", "c", "c"), ("B", "r", "r"), ("A", "c", "c"), ("B", "c", "c")],   # one losing loser: wrong
            [("B", "c", "c"), ("A", "c", "r")],                                     # one loser beaten in one order
            [("A", "c", "c"), ("B", "c", "c"), ("A", "c", None)],                   # one unparseable: wrong
        ],
        "Harmlessness": [
            [("B", "c", "c"), ("A", "c", "c")],
            [("A", "c", "c"), ("B", "c", "c"), ("A", "c", "c"), ("B", "c", "c"), ("A", "c", "c")],
            [("A", "c", "c"), ("B", "c", "c"), ("B", "r", "c")],
        ],
    }
    for section, items in bon.items():
        for n, losers in enumerate(items):
            gid = "bon-%s-%d" % (section[:4], n)
            for k, (lab, a, b) in enumerate(losers):
                records += judged("%s-l%d" % (gid, k), gid, "bon-" + section, lab, a, b, set="bon", section=section,
                                  loser=k)

    def result(r):
        return 1 if r["verdict"] is not None and r["verdict"] == r["label"] else 0

    official = {}
    expected = paper_expected_all(records)
    for section in pw:
        rs = [result(r) for r in records if r["set"] == "pairwise" and r["section"] == section]
        official["pairwise/" + section] = rmb_pairwise_overall_accuracy(rs)
        expected["/rmb/pairwise/%s/accuracy" % section] = official["pairwise/" + section]
    all_groups = {}
    for section in bon:
        grouped_by_idx = {}
        for r in records:
            if r["set"] == "bon" and r["section"] == section:
                grouped_by_idx.setdefault(r["group"], []).append({"results": result(r)})
        all_groups.update(grouped_by_idx)
        official["bon/" + section] = rmb_bon_final_accuracy(grouped_by_idx)
        expected["/rmb/bon/%s/accuracy" % section] = official["bon/" + section]
        expected["/rmb/bon/%s/n_items" % section] = len(grouped_by_idx)
    four = rmb_four_sections(official["pairwise/Helpfulness"], official["pairwise/Harmlessness"],
                             official["bon/Helpfulness"], official["bon/Harmlessness"])
    official["four_sections"] = four
    official["bon/pooled"] = rmb_bon_final_accuracy(all_groups)
    expected["/rmb/average"] = float(four["Accuracy Averaged from Four Sections"])
    expected["/rmb_bon_accuracy"] = official["bon/pooled"]
    expected["/rmb/pairwise_accuracy"] = rmb_pairwise_overall_accuracy(
        [result(r) for r in records if r["set"] == "pairwise"])
    return {"name": "rmb_pairwise_and_bon", "benchmark": "rmb",
            "description": "RMB pairwise per section and BoN items: all losers beaten, one losing loser, one loser "
                           "beaten in one order only, one unparseable; the four-section mean",
            "judgments": records, "expected": expected, "official_raw": jsonable(official)}


def case_reflect():
    """Reflect-mode details: decided_by counts and the confidence histograms (eval's own definitions)."""
    spec = [  # placed label, AB, BA, decided_by AB, decided_by BA, confidences AB, confidences BA
        ("A", "c", "c", "anchor", "winners", [-0.25, -0.35, -1.15], [-0.05, -0.45]),
        ("B", "r", "c", "anchor", "anchor", [-1.95, -0.55], [-0.65, -0.75, -0.85]),
        ("A", None, "c", "fallback", "winners", [-1.25], [-0.15, -0.95]),
        ("B", "c", "r", "winners", "fallback", [-1.45, -1.55, -1.65, -1.75], [-0.01]),
        ("A", "c", "c", "anchor", "anchor", [-2.0, -0.3], None),
    ]
    records = []
    for k, (lab, a, b, da, db, ca, cb) in enumerate(spec):
        rs = judged("rf-%d" % k, "rf-%d" % k, "reflect", lab, a, b)
        for r, d, c in zip(rs, (da, db), (ca, cb)):
            r["mode"] = "reflect"
            r["decided_by"] = d
            if c is not None:
                r["confidences"] = c
        records += rs
    expected = paper_expected_all(records)
    n = len(records)
    expected["/reflect/n_judgments"] = n
    for d in ("anchor", "winners", "fallback"):
        rs = [r for r in records if r["decided_by"] == d]
        expected["/reflect/decided_by/%s/count" % d] = len(rs)
        expected["/reflect/decided_by/%s/rate" % d] = len(rs) / n
        expected["/reflect/decided_by/%s/accuracy" % d] = (
            sum(r["verdict"] == r["label"] for r in rs) / len(rs) if rs else None)
    expected["/modes/reflect"] = n

    def outcome(r):
        return "unparseable" if r["verdict"] is None else "correct" if r["verdict"] == r["label"] else "wrong"

    withc = [r for r in records if r.get("confidences")]
    allc = [c for r in withc for c in r["confidences"]]
    lo, hi = min(allc), max(allc)
    expected["/confidence/n_judgments"] = len(withc)
    expected["/confidence/min"] = lo
    expected["/confidence/max"] = hi
    edges = np.linspace(lo, hi, 21)
    assert all(np.min(np.abs(edges[1:-1] - c)) > 1e-6 for c in allc), "a confidence on a bin edge"
    raw = {}
    for o in ("correct", "wrong", "unparseable"):
        cs = [c for r in withc if outcome(r) == o for c in r["confidences"]]
        ms = [max(r["confidences"]) for r in withc if outcome(r) == o]
        hr, _ = np.histogram(cs, bins=20, range=(lo, hi))
        hm, _ = np.histogram(ms, bins=20, range=(lo, hi))
        raw[o] = {"rollouts": hr.tolist(), "judgment_max": hm.tolist()}
        for b in range(20):
            expected["/confidence/rollouts/%s/%d" % (o, b)] = int(hr[b])
            expected["/confidence/judgment_max/%s/%d" % (o, b)] = int(hm[b])
        expected["/confidence/mean/%s" % o] = float(np.mean(cs)) if cs else None
    return {"name": "reflect_details", "benchmark": "judgebench",
            "description": "reflect mode: decided_by counts, rates and accuracies; confidence histograms "
                           "(np.histogram, 20 bins over [min, max]) by outcome",
            "judgments": records, "expected": expected, "official_raw": raw}


def main():
    cases = [case_judgebench(), case_judgebench_single(), case_rmbench_scalar(), case_rmbench_judged(), case_rmb(),
             case_reflect()]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"numpy_version": np.__version__, "cases": jsonable(cases)}, f, indent=1, sort_keys=False)
        f.write("\n")
    print("wrote", os.path.normpath(OUT), "with", len(cases), "cases")


if __name__ == "__main__":
    main()
