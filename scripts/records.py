#!/usr/bin/env python3
"""Canonical form of a command's JSONL output, for comparing a resumed run with an uninterrupted one.

    records.py FILE            records: every line must parse; (id, order) must not repeat;
                               timing fields are dropped; records are printed sorted.
    records.py --metrics FILE  training metrics: one line per step, timing fields dropped, in step order;
                               a step logged twice is an error.

Exit status 2, with the file and line named, on a torn or invalid line or a repeated record.
"""
import json
import sys

# Wall-clock measurements differ between any two runs; everything else must not.
TIMING_KEYS = {"seconds", "timings", "stage_seconds", "gen_s", "train_s", "step_s", "elapsed_s"}


def untimed(value):
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items()
                if k not in TIMING_KEYS and not k.endswith("per_s")}
    if isinstance(value, list):
        return [untimed(v) for v in value]
    return value


def lines(path):
    with open(path, encoding="utf-8") as f:
        data = f.read()
    if data and not data.endswith("\n"):
        print(f"{path}: the last line is not terminated (a torn write)", file=sys.stderr)
        sys.exit(2)
    for number, line in enumerate(data.splitlines(), 1):
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as e:
            print(f"{path}:{number}: not a JSON record ({e.msg})", file=sys.stderr)
            sys.exit(2)


def main(argv):
    metrics = argv[:1] == ["--metrics"]
    path = argv[-1]
    seen = {}
    out = []
    for number, record in lines(path):
        key = record.get("step") if metrics else (record.get("id"), record.get("order"))
        if key in seen:
            print(f"{path}:{number}: {key} repeats line {seen[key]}", file=sys.stderr)
            sys.exit(2)
        seen[key] = number
        out.append((key if metrics else json.dumps(key), json.dumps(untimed(record), sort_keys=True)))
    for _, text in sorted(out):
        print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
