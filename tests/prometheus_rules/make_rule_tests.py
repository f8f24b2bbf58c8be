#!/usr/bin/env python3
"""Writes the promtool unit tests of deploy/prometheus/kinema-rules.yaml and
the reference cases of the Pareto-front ranking (steps/rebalance/pareto.h).

Expected values come from an independent implementation of the seed
project's reference definitions (the 19 algorithms in
/work/shared/research/rebalance-algorithms.md, tiraboschi/descheduler-sim
algorithms.py), in plain Python over the per-node ratios, never from PromQL.
The input series are node-exporter counters and gauges built so that their
rates give the chosen ratios.

  make_rule_tests.py            rewrite rule_tests.yaml and pareto_cases.json
  make_rule_tests.py --check    exit 1 if either file differs from what it
                                would write (a ctest runs this)

Values are compared after round(v, 1e-6): promtool compares floats exactly,
and the two computations differ in the last bits. The script refuses inputs
whose scores sit within 1e-10 of a rounding boundary.
"""
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RULE_TESTS = os.path.join(HERE, "rule_tests.yaml")
PARETO_CASES = os.path.join(ROOT, "tests", "rebalance", "pareto_cases.json")

STEP_S = 15          # scrape interval of the input series
STEPS = 40           # 0 .. 10m
EVAL = "10m"
GIB = 1 << 30

# x = (u_c, p_c, u_m, p_m)
W = (0.15, 0.35, 0.15, 0.35)
VAR_W = (1.0, 2.0, 1.0, 2.0)


# ---- reference definitions -------------------------------------------------

def means(xs):
    n = len(xs)
    return [sum(x[i] for x in xs) / n for i in range(4)]


def devs(xs):
    # |d| below 1e-12 is rounding noise of the mean (Python's sum/n of equal
    # values need not give the value back; Prometheus's running mean does),
    # which maxnorm would blow up to 1.
    mu = means(xs)
    return [[0.0 if abs(x[i] - mu[i]) < 1e-12 else x[i] - mu[i] for i in range(4)] for x in xs]


def pos_devs(xs):
    return [[max(0.0, d) for d in row] for row in devs(xs)]


def maxnorm(scores):
    m = max(scores)
    return [s / m for s in scores] if m > 0 else scores


def norm(v):
    return math.sqrt(sum(a * a for a in v))


def critical_dimension_focus(xs):
    dp = pos_devs(xs)
    n = len(xs)
    dim_means = [sum(row[i] for row in dp) / n for i in range(4)]
    k = max(range(4), key=lambda i: dim_means[i])  # first index on ties
    return maxnorm([row[k] for row in dp]), k


def algorithms(xs):
    """name -> list of scores, for every algorithm PromQL computes."""
    dp = pos_devs(xs)
    d = devs(xs)
    out = {
        "weighted_average": [sum(x) / 4 for x in xs],
        "max_metric": [max(x) for x in xs],
        "euclidean_distance": [norm(x) / 2 for x in xs],
        "pressure_focused": [min(1.0, (2 * (x[1] + x[3]) / 2 + (x[0] + x[2]) / 2) / 3) for x in xs],
        "weighted_rms_positive_deviation": [math.sqrt(sum(W[i] * r[i] ** 2 for i in range(4))) for r in dp],
        "weighted_mean_square_positive_deviation": [sum(W[i] * r[i] ** 2 for i in range(4)) for r in dp],
        "linear_weighted_positive_deviation": [sum(W[i] * r[i] for i in range(4)) for r in dp],
        "centroid_distance": maxnorm([norm(r) for r in d]),
        "directional_centroid_distance": maxnorm([norm(r) for r in dp]),
        "variance_minimization": maxnorm([math.sqrt(sum(VAR_W[i] * r[i] ** 2 for i in range(4))) for r in d]),
        "directional_variance_minimization": maxnorm([sum(VAR_W[i] * r[i] for i in range(4)) for r in dp]),
        "critical_dimension_focus": critical_dimension_focus(xs)[0],
        "ideal_point_positive_distance": [min(1.0, norm(r)) for r in dp],
        "linear_amplified_ippd_k1": [min(1.0, 1 * norm(r)) for r in dp],
        "linear_amplified_ippd_k3": [min(1.0, 3 * norm(r)) for r in dp],
        "linear_amplified_ippd_k5": [min(1.0, 5 * norm(r)) for r in dp],
        "cpu_focused": [0.7 * x[0] + 0.3 * x[1] for x in xs],
        "memory_focused": [0.7 * x[2] + 0.3 * x[3] for x in xs],
    }
    return out


def default_profile(xs):
    """The operator profile: pressures count only above 70 % utilisation."""
    gated = [(x[0], x[1] if x[0] > 0.7 else 0.0, x[2], x[3] if x[2] > 0.7 else 0.0) for x in xs]
    return [min(1.0, 3 * norm(r)) for r in pos_devs(gated)]


def pareto_front(xs):
    """NSGA-II ranking: front f of F scores f/(F−1) plus a crowding bonus."""
    n = len(xs)
    if n == 0:
        return []

    def dominates(a, b):
        return all(p <= q for p, q in zip(a, b)) and any(p < q for p, q in zip(a, b))

    dominated_by = [[] for _ in range(n)]
    count = [0] * n
    fronts = [[]]
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            if dominates(xs[i], xs[j]):
                dominated_by[i].append(j)
            elif dominates(xs[j], xs[i]):
                count[i] += 1
        if count[i] == 0:
            fronts[0].append(i)
    f = 0
    while f < len(fronts) and fronts[f]:
        nxt = []
        for i in fronts[f]:
            for j in dominated_by[i]:
                count[j] -= 1
                if count[j] == 0:
                    nxt.append(j)
        if nxt:
            fronts.append(nxt)
        f += 1

    scores = [0.0] * n
    total = len(fronts)
    for level, front in enumerate(fronts):
        m = len(front)
        if m <= 2:
            dist = [math.inf] * m
        else:
            dist = [0.0] * m
            for k in range(4):
                vals = [xs[i][k] for i in front]
                order = sorted(range(m), key=lambda t: vals[t])  # stable
                dist[order[0]] = math.inf
                dist[order[-1]] = math.inf
                rng = max(vals) - min(vals)
                if rng > 0:
                    for t in range(1, m - 1):
                        dist[order[t]] += (vals[order[t + 1]] - vals[order[t - 1]]) / rng
        front_score = level / (total - 1) if total > 1 else 0.0
        finite = [v for v in dist if v != math.inf]
        max_finite = max(finite) if finite else 1.0
        for t, i in enumerate(front):
            if dist[t] == math.inf:
                bonus = 0.0
            elif max_finite > 0:
                bonus = 0.1 * (1.0 - dist[t] / max_finite)
            else:
                bonus = 0.05
            scores[i] = max(0.0, min(1.0, front_score + bonus))
    return scores


# ---- scenarios ---------------------------------------------------------------
# node -> (u_c, p_c, u_m, p_m, cpus); p = None: the node exposes no PSI.
SCENARIOS = [
    ("imbalanced: a CPU-hot node, a memory-hot node, one without PSI", {
        "hot-cpu": (0.92, 0.45, 0.55, 0.02, 4),
        "hot-mem": (0.40, 0.03, 0.88, 0.30, 8),
        "medium": (0.61, 0.08, 0.60, 0.00, 4),
        "cold": (0.20, 0.01, 0.30, 0.00, 2),
        "no-psi": (0.35, None, 0.40, None, 4),
    }),
    ("balanced: identical nodes, every deviation is 0", {
        "a": (0.50, 0.05, 0.50, 0.01, 4),
        "b": (0.50, 0.05, 0.50, 0.01, 4),
        "c": (0.50, 0.05, 0.50, 0.01, 4),
    }),
    ("memory pressure is the critical dimension; pressure on quiet nodes is gated", {
        "thrashing": (0.50, 0.10, 0.95, 0.85, 4),
        "limited-pods": (0.45, 0.12, 0.52, 0.60, 4),
        "cpu-throttled": (0.30, 0.50, 0.40, 0.00, 4),
        "idle": (0.10, 0.00, 0.20, 0.00, 4),
    }),
    ("saturated: a node at 100 % CPU, amplified scores clamp at 1", {
        "saturated": (1.00, 0.95, 0.97, 0.70, 2),
        "busy": (0.75, 0.30, 0.72, 0.10, 2),
        "spare": (0.15, 0.00, 0.25, 0.00, 2),
    }),
    ("memory usage is the critical dimension", {
        "m1": (0.50, 0.05, 0.90, 0.02, 4),
        "m2": (0.52, 0.06, 0.30, 0.01, 4),
        "m3": (0.48, 0.04, 0.35, 0.01, 4),
    }),
]

DIM = ("u_c", "p_c", "u_m", "p_m")


def fmt(v):
    r = repr(float(v))
    return r[:-2] if r.endswith(".0") else r


def rounded(v, where):
    scaled = v * 1e6
    frac = scaled - math.floor(scaled)
    if abs(frac - 0.5) < 1e-4:  # the two computations differ by ~1e-15
        raise SystemExit(f"{where}: {v!r} is too close to a rounding boundary; change the scenario")
    return math.floor(scaled + 0.5) / 1e6


def series_for(node, spec):
    """Input series and the ratios their rates give."""
    u_c, p_c, u_m, p_m, cpus = spec
    lines = []
    common = f'instance="{node}",job="node-exporter",namespace="monitoring",pod="node-exporter-{node}"'
    # Per-CPU idle rates differ (±δ) but average to 1 − u_c.
    idle = 1.0 - u_c
    delta = 0.02 if 0.05 <= idle <= 0.95 and cpus % 2 == 0 else 0.0
    idle_rates = []
    for cpu in range(cpus):
        rate = idle + (delta if cpu % 2 == 0 else -delta)
        inc = rate * STEP_S
        idle_rates.append(inc / STEP_S)
        lines.append((f'node_cpu_seconds_total{{cpu="{cpu}",{common},mode="idle"}}', f"{fmt(5000 + cpu)}+{fmt(inc)}x{STEPS}"))
        lines.append((f'node_cpu_seconds_total{{cpu="{cpu}",{common},mode="user"}}', f"{fmt(3000)}+{fmt((1 - rate) * STEP_S)}x{STEPS}"))
    total = (16 if cpus <= 4 else 32) * GIB
    avail = round(total * (1.0 - u_m))
    lines.append((f"node_memory_MemTotal_bytes{{{common}}}", f"{total}+0x{STEPS}"))
    lines.append((f"node_memory_MemAvailable_bytes{{{common}}}", f"{avail}+0x{STEPS}"))
    ratios = [1.0 - sum(idle_rates) / cpus, 0.0, 1.0 - avail / total, 0.0]
    if p_c is not None:
        inc = p_c * STEP_S
        lines.append((f"node_pressure_cpu_waiting_seconds_total{{{common}}}", f"{fmt(700)}+{fmt(inc)}x{STEPS}"))
        ratios[1] = inc / STEP_S
        inc = p_m * STEP_S
        lines.append((f"node_pressure_memory_waiting_seconds_total{{{common}}}", f"{fmt(900)}+{fmt(inc)}x{STEPS}"))
        ratios[3] = inc / STEP_S
    return lines, ratios


def expr_test(record, nodes, values, where):
    out = [f"      - expr: round({record}, 1e-6)", f"        eval_time: {EVAL}", "        exp_samples:"]
    for node, v in sorted(zip(nodes, values)):
        if not 0.0 <= v <= 1.0:
            raise SystemExit(f"{where}: {record} {node} = {v} outside [0, 1]")
        out.append(f"          - labels: '{{instance=\"{node}\"}}'")
        out.append(f"            value: {fmt(rounded(v, where + ' ' + record + ' ' + node))}")
    return out


def rule_tests():
    out = [
        "# GENERATED by tests/prometheus_rules/make_rule_tests.py: do not edit; rerun it.",
        "# promtool unit tests of deploy/prometheus/kinema-rules.yaml: node-exporter",
        "# input series for a few clusters, and the expected per-node ratios, every",
        "# score the rules record (18 algorithms, the default query) from the seed's",
        "# reference definitions computed in Python.",
        "rule_files:",
        "  - ../../deploy/prometheus/kinema-rules.yaml",
        "evaluation_interval: 1m",
        "tests:",
    ]
    for title, nodes in SCENARIOS:
        names = sorted(nodes)
        series, xs = [], []
        for n in names:
            s, x = series_for(n, nodes[n])
            series += s
            xs.append(x)
        _, k = critical_dimension_focus(xs)
        out += [f"  # {title} (critical dimension: {DIM[k]})", f"  - name: \"{title}\"", f"    interval: {STEP_S}s",
                "    input_series:"]
        for name, values in series:
            out += [f"      - series: '{name}'", f"        values: '{values}'"]
        out.append("    promql_expr_test:")
        for i, rec in enumerate(("descheduler:node:cpu_usage:ratio", "descheduler:node:cpu_pressure:psi",
                                 "descheduler:node:memory_usage:ratio", "descheduler:node:memory_pressure:psi")):
            out += expr_test(rec, names, [x[i] for x in xs], title)
        for algo, scores in algorithms(xs).items():
            out += expr_test(f"descheduler:node:{algo}:score", names, scores, title)
        out += expr_test("descheduler:node:linear_amplified_ideal_point_positive_distance:k3:avg1m", names,
                         default_profile(xs), title)
        # The seed's Pareto front is not a recorded series (Kinema computes it).
        out += [f"      - expr: descheduler:node:pareto_front:score", f"        eval_time: {EVAL}",
                "        exp_samples: []"]
    return "\n".join(out) + "\n"


def pareto_cases():
    cases = []
    for title, nodes in SCENARIOS:
        names = sorted(nodes)
        xs = [[0.0 if v is None else v for v in nodes[n][:4]] for n in names]
        cases.append({"title": title, "nodes": names, "ratios": xs, "scores": pareto_front(xs)})
    # Fronts with ties and interior points (crowding bonuses), and one front only.
    extra = {
        "nine nodes, three fronts with interior points": [
            [0.1, 0.1, 0.9, 0.9], [0.3, 0.2, 0.5, 0.6], [0.5, 0.5, 0.3, 0.3], [0.9, 0.8, 0.1, 0.1],
            [0.4, 0.3, 0.6, 0.7], [0.6, 0.6, 0.4, 0.4], [0.95, 0.9, 0.2, 0.2], [0.7, 0.7, 0.7, 0.8],
            [0.2, 0.25, 0.95, 0.95]],
        "one front: nobody dominates": [[0.1, 0.9, 0.5, 0.5], [0.9, 0.1, 0.5, 0.5], [0.5, 0.5, 0.1, 0.9],
                                        [0.5, 0.5, 0.9, 0.1]],
        "a chain: each node dominates the next": [[0.1] * 4, [0.2] * 4, [0.3] * 4, [0.4] * 4, [0.5] * 4],
        "duplicates and equal values": [[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.2, 0.6, 0.5, 0.5],
                                        [0.6, 0.2, 0.5, 0.5], [0.4, 0.4, 0.5, 0.5], [0.9, 0.9, 0.9, 0.9]],
        "a single node": [[0.3, 0.2, 0.1, 0.0]],
    }
    for title, xs in extra.items():
        names = [f"n{i}" for i in range(len(xs))]
        cases.append({"title": title, "nodes": names, "ratios": xs, "scores": pareto_front(xs)})
    header = ("GENERATED by tests/prometheus_rules/make_rule_tests.py: the seed's Pareto-front (NSGA-II) "
              "ranking in reference Python, for steps/rebalance/pareto_test.cc. Ratios are "
              "(cpu_usage, cpu_pressure, memory_usage, memory_pressure) per node, in input order.")
    return json.dumps({"comment": header, "cases": cases}, indent=1) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path, text in ((RULE_TESTS, rule_tests()), (PARETO_CASES, pareto_cases())):
        if check:
            try:
                with open(path) as f:
                    current = f.read()
            except OSError:
                current = None
            if current != text:
                stale.append(path)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
    if stale:
        print("out of date (rerun tests/prometheus_rules/make_rule_tests.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
