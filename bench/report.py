"""Turns bench/out/results.jsonl into the table (stdout) and bench/results.md.

    python3 report.py RESULTS_JSONL RESULTS_MD

Lines with the same id are merged: a field seen once is kept, a number seen several
times (repetitions) becomes its median. Every row names its peer, the two figures,
the ratio and the target; a missed target pulls its explanation from
explanations.md (section "## <row id>").
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))


def load(path: str) -> Dict[str, Dict[str, Any]]:
    groups: Dict[str, List[Dict[str, Any]]] = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                d = json.loads(line)
                groups.setdefault(d["id"], []).append(d)
    merged: Dict[str, Dict[str, Any]] = {}
    for id_, items in groups.items():
        out: Dict[str, Any] = {"_n": len(items)}
        keys = {k for d in items for k in d}
        for k in keys:
            vals = [d[k] for d in items if k in d]
            if len(vals) > 1 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
                out[k] = statistics.median(vals)
                out[k + "_all"] = vals
            else:
                out[k] = vals[-1]
        merged[id_] = out
    return merged


def ns(v: float) -> str:
    if v is None:
        return "?"
    if v < 1_000:
        return f"{v:.0f} ns"
    if v < 1_000_000:
        return f"{v / 1000:.1f} µs"
    return f"{v / 1e6:.2f} ms"


def per_s(v: float) -> str:
    return f"{v:,.0f}/s"


def x(v: float) -> str:
    return f"{v:.2f}x" if v < 10 else f"{v:.0f}x"


class Row:
    def __init__(self, section: str, what: str, ours: str, peer: str, peer_fig: str, ratio: str, target: str,
                 met: Optional[bool], id_: str) -> None:
        self.section, self.what, self.ours, self.peer, self.peer_fig = section, what, ours, peer, peer_fig
        self.ratio, self.target, self.met, self.id = ratio, target, met, id_


def build_rows(r: Dict[str, Dict[str, Any]]) -> List[Row]:
    rows: List[Row] = []

    def get(id_: str) -> Optional[Dict[str, Any]]:
        return r.get(id_)

    def add(section: str, id_: str, fn: Callable[[Dict[str, Any]], Tuple[str, str, str, str, str, str, Optional[bool]]]) -> None:
        d = get(id_)
        if d is None:
            return
        what, ours, peer, peer_fig, ratio, target, met = fn(d)
        rows.append(Row(section, what, ours, peer, peer_fig, ratio, target, met, id_))

    def le(v: float, t: float) -> bool:
        return v <= t

    # ------------------------------------------------------------ Rust
    add("Rust", "rust_cached_token", lambda d: (
        "`Client::cached_token()` hit", ns(d["ours_ns"]), "`RwLock<HashMap>` get + expiry check + `Arc` clone",
        ns(d["peer_ns"]), x(d["ratio"]) + " (ours÷peer)", "report", None))
    add("Rust", "rust_blocking_get_token", lambda d: (
        "`BlockingClient::get_token()` hit", ns(d["ours_ns"]), "`RwLock<HashMap>` get + expiry check + `Arc` clone",
        ns(d["peer_ns"]), x(d["ratio"]) + " (ours÷peer)", "report", None))
    for alg, name in (("rs256", "rsa2048"), ("es256", "ecdsap256")):
        add("Rust", f"rust_verify_{alg}", lambda d, alg=alg, name=name: (
            f"{alg.upper()} verify, key parsed once (`Verifier::from_jwks`, exp/iss/aud checked)",
            per_s(d["ours_per_s"]), f"`openssl speed -seconds 3 {name}` verify, same core", per_s(d["peer_per_s"]),
            x(d["ratio"]) + " (openssl÷ours)", "≤ 1.2x", le(d["ratio"], 1.2)))
    for mode, label in (("seq", "sequential"), ("c32", "32 concurrent")):
        add("Rust", f"rust_request_{mode}", lambda d, label=label: (
            f"authenticated GET /v1/models, {label} (`Client::request`)", f"{d['ours_us']:.1f} µs",
            "bare reqwest + static `Authorization`", f"{d['peer_us']:.1f} µs",
            f"{d['overhead_pct']:+.1f}% (IQR {d['iqr_pct'][0]:+.1f}..{d['iqr_pct'][1]:+.1f}; "
            f"diagnostics: bare call inside `runtime::run` {d.get('peer_in_task_hop_pct', float('nan')):+.1f}%, "
            f"bare call with a sensitive header {d.get('peer_sensitive_header_pct', float('nan')):+.1f}%)", "< 2% overhead",
            d["overhead_pct"] < 2.0))

    # ------------------------------------------------------------ Python
    add("Python", "py_cached_vs_dict", lambda d: (
        "`Client.get_token()` hit", ns(d["ours_ns"]), "dict lookup + expiry check", ns(d["peer_ns"]),
        x(d["ratio"]) + " (ours÷peer)", "≤ 2x", le(d["ratio"], 2.0)))
    for peer, label, target in (("msal", "msal `acquire_token_for_client` (cached)", 50),
                                ("azure", "azure-identity `ClientSecretCredential.get_token` (cached)", 50),
                                ("google", "google-auth `Credentials` `valid`/`token` (cached)", None)):
        add("Python", f"py_cached_vs_{peer}", lambda d, label=label, target=target: (
            "`Client.get_token()` hit", ns(d["ours_ns"]), label, ns(d["peer_ns"]), x(d["ratio"]) + " (peer÷ours)",
            f"≥ {target}x faster" if target else "report", (d["ratio"] >= target) if target else None))
    for alg in ("rs256", "es256"):
        add("Python", f"py_verify_{alg}_vs_pyca", lambda d, alg=alg: (
            f"{alg.upper()} `Client.verify()` (JWKS cached, exp/iss/aud)", ns(d["ours_ns"]),
            "raw pyca/cryptography `verify` (signature only, pre-decoded)", ns(d["peer_ns"]),
            x(d["ratio"]) + " (ours÷peer)", "≤ 1.3x", le(d["ratio"], 1.3)))
        for peer, label, target in (("pyjwt", "PyJWT `jwt.decode`", 2.0), ("joserfc", "joserfc `jwt.decode` + claims", None),
                                    ("authlib", "authlib.jose `decode` + `validate`", None)):
            add("Python", f"py_verify_{alg}_vs_{peer}", lambda d, alg=alg, label=label, target=target: (
                f"{alg.upper()} `Client.verify()`", ns(d["ours_ns"]), label, ns(d["peer_ns"]),
                x(d["ratio"]) + " (peer÷ours)", f"≥ {target:g}x faster" if target else "report",
                (d["ratio"] >= target) if target else None))
    add("Python", "py_requests_overhead_nonet", lambda d: (
        "requests + `SynapseAuth`, per call, no I/O (canned transport)", ns(d["ours_ns"]),
        "requests + static session header", ns(d["peer_ns"]), f"{d['overhead_us']:+.2f} µs/request",
        "< 1 µs", d["overhead_us"] < 1.0))
    add("Python", "py_requests_adapter_alone", lambda d: (
        "`SynapseAuth.__call__` + its response hook", ns(d["ours_ns"]), "setting the header", ns(d["peer_ns"]),
        f"{d['overhead_us']:+.2f} µs/request", "report", None))
    add("Python", "py_requests_overhead_loopback", lambda d: (
        "requests + `SynapseAuth`, HTTPS loopback", ns(d["ours_ns"]), "requests + static session header",
        ns(d["peer_ns"]), f"{d['overhead_us']:+.1f} µs (IQR {d['iqr_us'][0]:+.1f}..{d['iqr_us'][1]:+.1f})",
        "report (noise ≫ 1 µs)", None))

    # ------------------------------------------------------------ Node
    add("Node", "node_cached_vs_map", lambda d: (
        "`client.getToken()` hit (call, returns the settled Promise)", ns(d["ours_ns"]), "`Map.get` + `Date.now()`",
        ns(d["peer_ns"]), x(d["ratio"]) + " (ours÷peer)", "≤ 2x", le(d["ratio"], 2.0)))
    add("Node", "node_cached_awaited_vs_map", lambda d: (
        "`await client.getToken()` hit", ns(d["ours_ns"]), "`await` of `Map.get` + `Date.now()`", ns(d["peer_ns"]),
        x(d["ratio"]) + " (ours÷peer)", "report", None))
    add("Node", "node_current_token_vs_map", lambda d: (
        "`client.currentToken()` hit (sync)", ns(d["ours_ns"]), "`Map.get` + `Date.now()`", ns(d["peer_ns"]),
        x(d["ratio"]) + " (ours÷peer)", "report", None))
    for alg in ("rs256", "es256"):
        add("Node", f"node_verify_{alg}_vs_crypto", lambda d, alg=alg: (
            f"{alg.upper()} `await client.verify()` (JWKS cached, exp/iss/aud)", ns(d["ours_ns"]),
            "`crypto.verify` on a KeyObject (signature only)", ns(d["peer_ns"]), x(d["ratio"]) + " (ours÷peer)",
            "≤ 1.15x", le(d["ratio"], 1.15)))
        add("Node", f"node_verify_{alg}_concurrent64", lambda d, alg=alg: (
            f"{alg.upper()} `client.verify()`, 64 in flight (per verify)", ns(d["ours_ns"]),
            "`crypto.verify`, sequential", ns(d["peer_ns"]), x(d["ratio"]) + " (ours÷peer)", "report", None))
        for peer, label in (("fastjwt", "fast-jwt `createVerifier`"), ("jose", "jose `jwtVerify`")):
            add("Node", f"node_verify_{alg}_vs_{peer}", lambda d, alg=alg, label=label: (
                f"{alg.upper()} `await client.verify()`", ns(d["ours_ns"]), label, ns(d["peer_ns"]),
                x(d["ratio"]) + " (peer÷ours)", "report", None))
    add("Node", "node_fetch_overhead_nonet", lambda d: (
        "`authFetch` per call, no I/O (fetch stand-in builds the Request)", ns(d["ours_ns"]),
        "fetch stand-in + static header", ns(d["peer_ns"]), f"{d['overhead_us']:+.2f} µs/request", "< 1 µs",
        d["overhead_us"] < 1.0))
    add("Node", "node_fetch_overhead_loopback", lambda d: (
        "`authFetch`, HTTPS loopback", ns(d["ours_ns"]), "global `fetch` + static header", ns(d["peer_ns"]),
        f"{d['overhead_us']:+.1f} µs (IQR {d['iqr_us'][0]:+.1f}..{d['iqr_us'][1]:+.1f})", "report", None))

    # ------------------------------------------------------------ C
    add("C", "c_cached_get_token", lambda d: (
        "`synapse_client_get_token()` hit (copies the token out)", ns(d["ours_ns"]),
        "mutex + expiry check + `memcpy` of the token", ns(d["peer_ns"]), x(d["ratio"]) + " (ours÷peer)",
        "report", None))
    add("C", "c_memory_per_client", lambda d: (
        f"RSS per client over {d['clients']:,} clients", f"{d['idle_kb_per_client']:.1f} KiB idle",
        f"+ with a token and its TLS connection ({d['with_token']:,} clients)",
        f"+{d['token_kb_per_client']:.1f} KiB", "—", "report", None))
    add("C", "c_valgrind", lambda d: (
        f"{int(d['calls']):,} `get_token` calls under valgrind memcheck ({d['seconds']:.0f} s)",
        f"{d['definitely_lost']} B definitely, {d['indirectly_lost']} B indirectly lost; {d['errors']} errors",
        "—", "—", "—", "no leak, 0 errors",
        d["definitely_lost"] == 0 and d["indirectly_lost"] == 0 and d["errors"] == 0 and d["exit"] == 0
        and d["calls"] == d["planned"]))

    # ------------------------------------------------------------ stampedes
    def stampede_fig(d: Dict[str, Any]) -> str:
        failed = f", {int(d['failed'])} failed" if d.get("failed") else ""
        return (f"{int(d['token_requests'])} req{failed}; p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms")

    for lang, prefix, how in (("Rust", "rust", "tasks"), ("Python", "py_stampede_ours", "threads"),
                              ("Node", "node", "promises"), ("C", "c", "threads")):
        for phase in ("cold", "expiry"):
            id_ = f"{prefix}_{phase}" if prefix.startswith("py") else f"{prefix}_stampede_{phase}"
            add("Stampede", id_, lambda d, lang=lang, phase=phase, how=how: (
                f"{lang}: {int(d['callers']):,} {how}, {'cold start' if phase == 'cold' else 'at expiry'}, token endpoint +50 ms",
                stampede_fig(d), "—", "—", "—", "1 token request",
                int(d["token_requests"]) == 1 and not d.get("failed")))
    for peer, label in (("msal", "msal"), ("azure", "azure-identity"), ("google", "google-auth")):
        for phase in ("cold", "expiry"):
            ours = get(f"py_stampede_ours_{phase}")
            add("Stampede", f"py_stampede_{peer}_{phase}", lambda d, label=label, phase=phase, ours=ours: (
                f"Python peer: {label}, {int(d['callers'])} threads, {'cold start' if phase == 'cold' else 'at expiry'}",
                stampede_fig(ours) if ours else "?", label, stampede_fig(d),
                f"{int(d['token_requests'])} vs {int(ours['token_requests']) if ours else '?'} requests",
                "report (expected many)", None))

    # ------------------------------------------------------------ refresh window
    for lang, id_ in (("Rust", "rust_refresh_window"), ("Python", "py_refresh_window"), ("Node", "node_refresh_window"),
                      ("C", "c_refresh_window")):
        add("Refresh window", id_, lambda d, lang=lang: (
            f"{lang}: p99 `get_token` across a background refresh (4 s token, endpoint +50 ms)",
            f"p99 {ns(d['window_p99_ns'])} (max {ns(d['window_max_ns'])}); {int(d['cache_misses'])} waited; "
            f"{int(d.get('token_requests', -1))} req",
            "the same calls on a fresh token (cache hits)",
            f"p99 {ns(d['steady_p99_ns'])} (max {ns(d['steady_max_ns'])})",
            x(d["window_p99_ns"] / max(1, d["steady_p99_ns"])) + " (window÷steady p99)",
            "p99 = cache hit, nobody waits",
            int(d["cache_misses"]) == 0 and bool(d["token_replaced"]) and
            d["window_p99_ns"] <= max(1.5 * d["steady_p99_ns"], d["steady_p99_ns"] + 50)))
    return rows


def table(rows: List[Row]) -> str:
    head = "| # | section | what | ours | peer | peer's figure | ratio | target | met |\n|---|---|---|---|---|---|---|---|---|\n"
    out = []
    for i, row in enumerate(rows, 1):
        met = {True: "✅ yes", False: "❌ **no**", None: "—"}[row.met]
        cells = [str(i), row.section, row.what, row.ours, row.peer, row.peer_fig, row.ratio, row.target, met]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return head + "\n".join(out) + "\n"


def plain(rows: List[Row]) -> str:
    lines = []
    for i, row in enumerate(rows, 1):
        met = {True: "MET", False: "MISSED", None: "-"}[row.met]
        strip = lambda s: s.replace("`", "")  # noqa: E731
        lines.append(f"{i:>2}. [{row.section}] {strip(row.what)}\n      ours: {strip(row.ours)} | peer: {strip(row.peer)}: "
                     f"{strip(row.peer_fig)} | ratio {row.ratio} | target {row.target} | {met}")
    return "\n".join(lines)


def explanations() -> Dict[str, str]:
    path = os.path.join(HERE, "explanations.md")
    if not os.path.exists(path):
        return {}
    text = open(path).read()
    parts = re.split(r"^## +(\S+)[^\n]*\n", text, flags=re.M)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def sh(cmd: str) -> str:
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return "?"


def machine() -> List[str]:
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    return [
        f"- CPUs (`nproc`): {os.cpu_count() and sh('nproc')}; model: {cpu}; memory: {mem_kb / 1024 / 1024:.1f} GiB",
        f"- OS: {platform.platform()}",
        f"- toolchains: {sh('rustc --version')}; Python {sh(sys.executable + ' -V').split()[-1] if sh(sys.executable + ' -V') else '?'} "
        f"(bench venv: {sh(os.path.join(os.path.dirname(HERE), 'target', 'py-venv', 'bin', 'python') + ' -V')}); "
        f"Node {sh('node --version')}; {sh('openssl version')}; {sh('valgrind --version')}",
    ]


def main() -> None:
    results_path, md_path = sys.argv[1], sys.argv[2]
    r = load(results_path)
    rows = build_rows(r)
    print("\n" + plain(rows) + "\n")
    meta = {k[5:]: v["value"] for k, v in r.items() if k.startswith("meta_")}
    missed = [row for row in rows if row.met is False]
    met = [row for row in rows if row.met is True]
    notes = explanations()
    md: List[str] = []
    md.append("# Benchmark results\n")
    md.append("Generated by `bench/run.sh` (see [README.md](README.md) for what each row measures and how). "
              "Every ratio compares two figures measured back to back in the same run.\n")
    md.append("## Run\n")
    md.append(f"- date: {meta.get('date') or time.strftime('%Y-%m-%d %H:%M %Z')}")
    md.append(f"- command: `{meta.get('command', 'bash bench/run.sh')}`" + (" (quick: fewer rounds)" if meta.get("quick") else ""))
    md.append(f"- run time: {meta.get('total_seconds', '?')} s in all: builds {meta.get('build_seconds', '?')} s, "
              f"measurements {meta.get('measure_seconds', '?')} s")
    md.extend(machine())
    busy = "; ".join(p for p in str(meta.get("busy_start", "?")).split("; ") if p and not p.endswith(" ps"))
    md.append(f"- load average (1/5/15 min) at start: {meta.get('loadavg_start', '?')}; at the end: {meta.get('loadavg_end', '?')}; "
              f"busiest processes at start (by `ps`): {busy}")
    md.append("- pinning: reference servers on the last CPU, every benchmark process on CPU 0 (`taskset`)")
    pv = r.get("py_versions", {})
    nv = r.get("node_versions", {})
    if pv or nv:
        md.append("- peers: " + ", ".join(f"{k} {v}" for k, v in {**pv, **nv}.items() if not k.startswith("_") and k != "id"))
    md.append("- msal and azure-identity take their token endpoint from OpenID discovery, which the reference server "
              "does not serve: `bench/python/bench.py` starts a small HTTPS discovery stub on loopback whose "
              "document points `token_endpoint` at the reference server (so every token request they make is counted "
              "there). google-auth uses `google.oauth2.credentials.Credentials` with a refresh token from the reference "
              "server and its `token_uri`.\n")
    md.append(f"## Table\n\n{len(met)} targets met, {len(missed)} missed, {len(rows) - len(met) - len(missed)} rows reported without a target.\n")
    md.append(table(rows))
    md.append("## Missed targets: why (profiles)\n")
    if not missed:
        md.append("Every target was met in this run.\n")
    for row in missed:
        md.append(f"### {row.what} ({row.section}; `{row.id}`): {row.ratio}, target {row.target}\n")
        md.append(notes.get(row.id, notes.get(re.sub(r"_(rs256|es256)", "_ALG", row.id),
                  "No profile is recorded for this row yet: see README.md, 'Profiling'.")) + "\n")
        diag = {k: v for k, v in r.get(row.id, {}).items() if k.startswith("diag_") or (k.startswith("peer_") and k.endswith("_pct"))}
        diag = {k: v for k, v in diag.items() if not k.endswith("_all") and v is not None}
        if diag:
            md.append("Diagnostics measured in this run, beside the row: " + "; ".join(
                f"`{k}` = {ns(v) if k.endswith('_ns') else f'{v:+.1f}%'}" for k, v in sorted(diag.items())) + ".\n")
    extra = notes.get("general")
    if extra:
        md.append("## Notes\n\n" + extra + "\n")
    with open(md_path, "w") as f:
        f.write("\n".join(md))
    print(f"{len(met)} met, {len(missed)} missed; wrote {md_path}")


if __name__ == "__main__":
    main()
