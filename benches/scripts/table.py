#!/usr/bin/env python3
"""Joins criterion's estimates and the Node peers' figures into the markdown of BENCHMARKS.md.

Run by benches/compare.sh; by hand:
    table.py --criterion target/criterion --peers target/idflow-bench/peers.json [--since EPOCH]

Criterion figures are the median (`median.point_estimate`, in ns) of
<criterion>/<group>/<function>/<case>/new/estimates.json. Peer figures are bench.js's
median-of-batches ns/op. A ratio "peer/idflow" above 1 means idflow is that many times faster.
Estimates written before --since (an earlier run) are shown as "not run".
"""
import argparse
import datetime
import json
import pathlib
import platform
import subprocess


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def cpu_model():
    for line in sh("lscpu").splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


class Criterion:
    def __init__(self, root, since):
        self.root = pathlib.Path(root)
        self.since = since

    def get(self, group, function, case):
        path = self.root / group / function / case / "new" / "estimates.json"
        if not path.exists() or path.stat().st_mtime < self.since:
            return None
        return json.loads(path.read_text())["median"]["point_estimate"]


def ns(v):
    if v is None:
        return "not run"
    if v >= 100_000:
        return f"{v / 1000:,.0f} µs".replace(",", " ")
    if v >= 10_000:
        return f"{v / 1000:.1f} µs"
    if v >= 1000:
        return f"{v / 1000:.2f} µs"
    return f"{v:.0f} ns" if v >= 100 else f"{v:.1f} ns"


def ratio(num, den):
    if num is None or den is None or den == 0:
        return "–"
    r = num / den
    return f"{r:.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def cases(peers, group):
    prefix = group + "/"
    return [k[len(prefix):] for k in peers if k.startswith(prefix)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criterion", required=True)
    ap.add_argument("--peers", required=True)
    ap.add_argument("--since", type=float, default=0)
    ap.add_argument("--command", default="benches/compare.sh")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()

    crit = Criterion(a.criterion, a.since)
    node = json.loads(pathlib.Path(a.peers).read_text())
    peer = node["ns_per_op"]
    pkgs = node["packages"]
    pf = f"scim2-parse-filter {pkgs['scim2-parse-filter']}"
    sp = f"scim-patch {pkgs['scim-patch']}"

    out = []
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = sh("git", "rev-parse", "--short", "HEAD")
    if sh("git", "status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    out.append(f"- date: {date}; commit {commit}")
    out.append(f"- machine: {cpu_model()}, {sh('nproc')} cores, {platform.system()} {platform.release()}")
    out.append(f"- toolchain: {sh('rustc', '-V')}; Node {node['node']}; peers {pf}, {sp}")
    out.append(f"- command: `{a.command}`")
    if a.quick:
        out.append("- **smoke run (--quick): the figures are noise, do not quote them**")
    out.append("")

    out.append(f"Filter parse (`Filter::parse` vs `{pf}` `parse`)\n")
    rows = []
    for c in cases(peer, "filter_parse"):
        i = crit.get("filter_parse", "idflow", c)
        p = peer[f"filter_parse/{c}"]
        rows.append([c, ns(i), ns(p), ratio(p, i)])
    out.append(table(["case", "idflow", pf, "peer/idflow"], rows))
    out.append("")

    out.append(
        f"Filter evaluate (`CompiledFilter::matches`, and `Filter::matches` uncompiled, vs "
        f"`{pf}` `filter(ast)(resource)`; goal ≥ 20×)\n"
    )
    rows = []
    for c in cases(peer, "filter_eval"):
        comp = crit.get("filter_eval", "compiled", c)
        unc = crit.get("filter_eval", "uncompiled", c)
        p = peer[f"filter_eval/{c}"]
        rows.append([c, ns(comp), ns(unc), ns(p), ratio(p, comp), ratio(p, unc)])
    out.append(table(["case", "idflow compiled", "idflow uncompiled", pf,
                      "peer/compiled", "peer/uncompiled"], rows))
    out.append("")

    out.append(
        f"PATCH apply (`PatchOp::apply` on a fresh copy of the resource, the copy made outside "
        f"the timing, vs `{sp}` `scimPatch` likewise; goal ≥ 20×)\n"
    )
    rows = []
    for c in cases(peer, "patch_apply"):
        i = crit.get("patch_apply", "apply", c)
        pa = crit.get("patch_apply", "parse_and_apply", c)
        cl = crit.get("patch_apply", "clone_only", c)
        p = peer[f"patch_apply/{c}"]
        rows.append([c, ns(i), ns(pa), ns(cl), ns(p), ratio(p, i), ratio(p, pa)])
    out.append(table(["case", "idflow apply", "idflow parse + apply", "Resource clone alone",
                      sp, "peer/apply", "peer/(parse + apply)"], rows))
    out.append("")

    out.append(
        "User parse (`serde_json::from_str::<Resource>` vs `serde_json::from_str::<Value>` on "
        "the same text; goal: Resource/Value ≤ 1.5×). Node's `JSON.parse` for reference.\n"
    )
    rows = []
    for d in cases(peer, "json_parse"):
        r = crit.get("user_parse", "resource", d)
        v = crit.get("user_parse", "serde_json_value", d)
        rows.append([d, ns(r), ns(v), ratio(r, v), ns(peer[f"json_parse/{d}"])])
    out.append(table(["document", "Resource", "serde_json::Value", "Resource/Value",
                      "Node JSON.parse"], rows))
    out.append("")

    out.append("User serialise (`serde_json::to_string`). Node's `JSON.stringify` for reference.\n")
    rows = []
    for d in cases(peer, "json_stringify"):
        r = crit.get("user_serialise", "resource", d)
        v = crit.get("user_serialise", "serde_json_value", d)
        rows.append([d, ns(r), ns(v), ratio(r, v), ns(peer[f"json_stringify/{d}"])])
    out.append(table(["document", "Resource", "serde_json::Value", "Resource/Value",
                      "Node JSON.stringify"], rows))
    print("\n".join(out))


if __name__ == "__main__":
    main()
