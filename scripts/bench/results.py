#!/usr/bin/python3
"""results.py -- turn scripts/bench.sh's raw figures into bench/RESULTS.md.

usage: results.py RESULTS.TSV > RESULTS.md

Input lines: SECTION<TAB>VARIANT<TAB>ROUND<TAB>METRIC<TAB>VALUE, and
CMD<TAB>KEY<TAB>COMMAND.  Every figure is a median over the rounds with its
min-max; every ratio is the median of the per-round ratios (each taken
side by side in the same round), with their min-max.
"""
import statistics
import sys
from collections import defaultdict

data = defaultdict(dict)  # (section, variant, metric) -> {round: value}
cmds = {}
facts = {}


def num(v):
    try:
        return float(v)
    except ValueError:
        return None


def load(path):
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "CMD":
                cmds.setdefault(parts[1], parts[2])
                continue
            if len(parts) != 5:
                continue
            sec, var, rnd, metric, value = parts
            if sec == "machine":
                facts[metric] = value
                continue
            data[(sec, var, metric)][rnd] = value


def series(sec, var, metric):
    d = data.get((sec, var, metric), {})
    return {r: num(v) for r, v in d.items() if num(v) is not None}


def med(vals):
    vals = list(vals)
    return statistics.median(vals) if vals else None


def ratios(sec, a, b, metric):
    """Per-round a/b for the rounds where both ran."""
    x, y = series(sec, a, metric), series(sec, b, metric)
    return [x[r] / y[r] for r in sorted(x) if r in y and y[r]]


def diffs(sec, a, b, metric):
    x, y = series(sec, a, metric), series(sec, b, metric)
    return [x[r] - y[r] for r in sorted(x) if r in y]


def fmt(v, unit="", digits=None):
    if v is None:
        return "n/a"
    if digits is None:
        if v == int(v) or abs(v) >= 1000:
            digits = 0
        else:
            digits = 1 if abs(v) >= 10 else 2
    s = f"{v:,.{digits}f}"
    return s + unit


def span(vals, unit="", digits=None):
    vals = list(vals)
    if not vals:
        return "n/a"
    m = med(vals)
    if len(vals) == 1:
        return fmt(m, unit, digits)
    return f"{fmt(m, unit, digits)} ({fmt(min(vals), '', digits)}-{fmt(max(vals), '', digits)})"


def rspan(vals):
    return span(vals, "", 3)


def met(ok):
    if ok is None:
        return "n/a"
    return "**met**" if ok else "**not met**"


def cmd(key):
    c = cmds.get(key)
    return f"\n```\n{c}\n```\n" if c else ""


out = []
targets = []  # (target, figure, met)


def p(s=""):
    out.append(s)


def section_untracked():
    if not series("untracked", "plain", "pipe_ns"):
        return
    p("## 1. Untracked calls")
    p()
    p("ns per call (fastest of 9 batches of 200,000 one-byte round trips per run;")
    p("median of the alternating runs, min-max in brackets).  The added cost is")
    p("the median of the per-round differences; the ratio the median of the")
    p("per-round shim/plain ratios.")
    p()
    p("| call | plain ns | with shim ns | added ns | ratio | target | |")
    p("|---|---|---|---|---|---|---|")
    for kind, label in (("pipe_ns", "read+write, pipe"), ("socket_ns", "send+recv, socketpair")):
        r = ratios("untracked", "shim", "plain", kind)
        d = diffs("untracked", "shim", "plain", kind)
        ok = None
        if r:
            ok = med(d) < 5 and med(r) < 1.02
        p(f"| {label} | {span(series('untracked', 'plain', kind).values())} "
          f"| {span(series('untracked', 'shim', kind).values())} | {span(d)} "
          f"| {rspan(r)} | < 5 ns (ratio < 1.02) | {met(ok)} |")
        targets.append((f"Untracked {label}: < 5 ns added, ratio < 1.02",
                        f"{fmt(med(d), ' ns')} added, ratio {fmt(med(r), '', 3)}", ok))
    ip = series("untracked", "plain", "ir_per_call").get("1")
    isx = series("untracked", "shim", "ir_per_call").get("1")
    if ip is not None and isx is not None:
        p()
        p(f"User-space instructions per call (callgrind, repeatable on a noisy machine): "
          f"plain {fmt(ip, '', 1)}, with the shim {fmt(isx, '', 1)}: "
          f"**{fmt(isx - ip, '', 1)} instructions added** per untracked call "
          f"(the hook, the fd-table lookup, one branch).  The system call itself "
          f"(~250 ns for a pipe here) dominates either way.")
    p(cmd("untracked"))
    p(cmd("untracked_ir"))


def section_redis():
    if not series("redis", "plain", "plain_GET_rps"):
        return
    p("## 2. Redis: redis-benchmark -c 15")
    p()
    p("Requests per second, median of the rounds (min-max).  The shim is")
    p("preloaded into redis-benchmark (the client); MONITOR is one `redis-cli")
    p("MONITOR` attached to the server, Redis's own way of seeing every command.")
    p()
    p("| test | plain rps | with shim rps | MONITOR rps | shim / plain | MONITOR / plain | target | |")
    p("|---|---|---|---|---|---|---|---|")
    for tag, label in (("plain", ""), ("P16", " -P 16")):
        for op in ("SET", "GET"):
            m = f"{tag}_{op}_rps"
            rs = ratios("redis", "shim", "plain", m)
            rm = ratios("redis", "monitor", "plain", m)
            ok = med(rs) >= 0.95 if rs else None
            p(f"| {op}{label} | {span(series('redis', 'plain', m).values())} "
              f"| {span(series('redis', 'shim', m).values())} "
              f"| {span(series('redis', 'monitor', m).values())} "
              f"| {rspan(rs)} | {rspan(rm)} | >= 0.95 | {met(ok)} |")
            targets.append((f"redis-benchmark {op}{label} with the shim >= 95% of plain",
                            f"{fmt(med(rs), '', 3)} (MONITOR {fmt(med(rm), '', 3)})", ok))
    for tag in ("plain", "P16"):
        ev = series("redis", f"shim-{tag}", "dump_events")
        dr = series("redis", f"shim-{tag}", "dump_drops")
        if ev:
            n = 200000 if tag == "plain" else 4000000
            p()
            p(f"Dumps of the shim runs ({'-P 16' if tag == 'P16' else '-P 1'}): "
              f"{span(ev.values())} events per run for {n:,} requests "
              f"(+ a few CONFIG GET), drops {span(dr.values())}.")
    p(cmd("redis_P1"))
    p(cmd("redis_P16"))


def section_mysql():
    if not series("mysql", "plain", "oltp_point_select_qps"):
        return
    p("## 3. MariaDB: sysbench, 15 threads")
    p()
    p("Queries per second, median of the rounds (min-max).  The shim is")
    p("preloaded into sysbench (the client).  Anchors: the server's general")
    p("log on, and the slow log with long_query_time=0 (both to a file).")
    p()
    p("| test | plain qps | with shim | general log | slow log (0 s) | shim / plain | general / plain | slow / plain | target | |")
    p("|---|---|---|---|---|---|---|---|---|---|")
    for t in ("oltp_point_select", "oltp_read_only"):
        m = f"{t}_qps"
        rs = ratios("mysql", "shim", "plain", m)
        rg = ratios("mysql", "genlog", "plain", m)
        rl = ratios("mysql", "slowlog", "plain", m)
        ok = None
        if rs:
            ok = med(rs) >= 0.97 and (not rg or med(rs) > med(rg)) and (not rl or med(rs) > med(rl))
        p(f"| {t} | {span(series('mysql', 'plain', m).values())} "
          f"| {span(series('mysql', 'shim', m).values())} "
          f"| {span(series('mysql', 'genlog', m).values())} "
          f"| {span(series('mysql', 'slowlog', m).values())} "
          f"| {rspan(rs)} | {rspan(rg)} | {rspan(rl)} | >= 0.97 and > both logs | {met(ok)} |")
        targets.append((f"sysbench {t}, shim on the client >= 97% of plain and better than either log",
                        f"{fmt(med(rs), '', 3)} (general log {fmt(med(rg), '', 3)}, slow log {fmt(med(rl), '', 3)})", ok))
        ev = series("mysql", f"shim-{t}", "dump_events")
        dr = series("mysql", f"shim-{t}", "dump_drops")
        if ev:
            p(f"|  | dumps: {span(ev.values())} events per run, drops {span(dr.values())} | | | | | | | | |")
    p(cmd("mysql"))
    p(cmd("mysql_anchor"))


def section_http():
    if not series("http", "plain", "rps"):
        return
    p("## 4. HTTP: wrk against bench_httpd (shim on the server)")
    p()
    p("bench_httpd is a one-thread epoll server (as uvicorn serves) answering")
    p("every GET with a 200 and a small JSON body: the server's own work per")
    p("request is tiny, so this is the harshest case for the shim.")
    p()
    p("| | plain rps | with shim rps | shim / plain |")
    p("|---|---|---|---|")
    r = ratios("http", "shim", "plain", "rps")
    p(f"| wrk -t2 -c15 | {span(series('http', 'plain', 'rps').values())} "
      f"| {span(series('http', 'shim', 'rps').values())} | {rspan(r)} |")
    ev = series("http", "shim", "dump_events")
    dr = series("http", "shim", "dump_drops")
    if ev:
        p()
        p(f"Dumps of the shim runs: {span(ev.values())} events per run, drops {span(dr.values())}.")
    p(cmd("http"))


def section_requests():
    for group, title, what in (
            ("requests", "4b. Request attribution: threaded backend, 15 clients",
             "A threaded http.server doing one Redis GET and one SQL query per"),
            ("requests_asgi", "4c. Request attribution: uvicorn h11 + asyncio.to_thread, 15 clients",
             "The same work in asyncio.to_thread under uvicorn (task contexts,"),
            ("requests_stacks", "4d. Call stacks on every event: threaded backend, 15 clients",
             "The 4b backend with PERFTAP_STACKS=off and =all (native and Python")):
        if not series(group, "plain", "rps"):
            continue
        p(f"## {title}")
        p()
        p(what)
        p({"requests": "request; the shim with PERFTAP_REQUESTS=off and =on, side by side.",
           "requests_asgi": "pool handoff: shim/task.c); PERFTAP_REQUESTS=off and =on, side by side.",
           "requests_stacks": "frames captured with every operation's event), side by side."}[group])
        p()
        if group == "requests_stacks":
            p("| figure | plain | shim, stacks off | shim, stacks all | all / off |")
        else:
            p("| figure | plain | shim, off | shim, on | on / off |")
        p("|---|---:|---:|---:|---:|")
        for m, label in (("rps", "requests/s"), ("cpu_us_per_req", "CPU us/request")):
            r = ratios(group, "on", "off", m)
            p(f"| {label} | {span(series(group, 'plain', m).values())} "
              f"| {span(series(group, 'off', m).values())} "
              f"| {span(series(group, 'on', m).values())} | {rspan(r)} |")
        p()
        p(cmd(group))
        p()


def section_async_stacks():
    group = "async_stacks"
    if not series(group, "plain", "ops"):
        return
    p("## 4e. Call stacks, asyncio client: 4 tasks of redis.asyncio GETs")
    p()
    p("The reply is read by the event loop's callback, so with stacks on the shim")
    p("takes the Python frames of every send (one walk each), and keeps them for a")
    p("slow reply; PERFTAP_STACKS=off, =slow (the default) and =all, side by side.")
    p()
    p("| figure | plain | shim, off | shim, slow | shim, all | slow / off | all / off |")
    p("|---|---:|---:|---:|---:|---:|---:|")
    for m, label in (("ops", "GETs/s"), ("cpu_us_per_op", "CPU us/GET")):
        p(f"| {label} | {span(series(group, 'plain', m).values())} "
          f"| {span(series(group, 'off', m).values())} "
          f"| {span(series(group, 'slow', m).values())} "
          f"| {span(series(group, 'all', m).values())} "
          f"| {rspan(ratios(group, 'slow', 'off', m))} "
          f"| {rspan(ratios(group, 'all', 'off', m))} |")
    p()
    p(cmd(group))
    p()


def section_event():
    if not series("event", "redis", "ns_median"):
        return
    p("## 5. Per-event cost: decoder + normalizer + writer, one core")
    p()
    p("bench_event feeds realistic byte streams (Redis GET of a `fir:record:FIR-...`")
    p("key and its 180-byte reply; MySQL COM_QUERY of an AFIRGen point select and a")
    p("4-column 1-row result; HTTP GET /fir/FIR-... with 5 headers and a 200 JSON")
    p("response, server side) through the decoder, which fingerprints the text, and")
    p("a sink that writes each event into a real dump with the real writer, as the")
    p("shim's sink does.  ns: median of 5 runs of 1,000,000 events (min-max).")
    p("Instructions: callgrind, (Ir at 30,000 events - Ir at 10,000) / 20,000.")
    p()
    p("| protocol | ns / event | ns / event with 2 clock reads | instructions / event | target | |")
    p("|---|---|---|---|---|---|")
    for proto in ("redis", "mysql", "http"):
        ns = series("event", proto, "ns_median").get("1")
        lo = series("event", proto, "ns_min").get("1")
        hi = series("event", proto, "ns_max").get("1")
        nc = series("event", proto + "-clock", "ns_median").get("1")
        lc = series("event", proto + "-clock", "ns_min").get("1")
        hc = series("event", proto + "-clock", "ns_max").get("1")
        ir = series("event", proto, "ir_per_event").get("1")
        ok = ns < 300 if ns is not None else None
        p(f"| {proto} | {fmt(ns)} ({fmt(lo)}-{fmt(hi)}) | {fmt(nc)} ({fmt(lc)}-{fmt(hc)}) "
          f"| {fmt(ir)} | < 300 ns | {met(ok)} |")
        targets.append((f"Per-event cost {proto} < 300 ns including fingerprinting",
                        f"{fmt(ns, ' ns')} ({fmt(ir)} instructions)", ok))
    p()
    p("Where the instructions go (callgrind, self cost per event, heaviest six):")
    p()
    p("| protocol | function | Ir / event | share |")
    p("|---|---|---|---|")
    for proto in ("redis", "mysql", "http"):
        for (sec, var, metric), vals in data.items():
            if sec == "event_prof" and var == proto:
                ir, pct = vals["1"].split(" ", 1)
                p(f"| {proto} | `{metric}` | {ir} | {pct} |")
    p(cmd("event_ns"))
    p(cmd("event_ir"))
    section_event_api()
    section_event_stack()


def section_event_api():
    """The client-API paths (api_*.c) beside the socket path's figure."""
    rows = [("sqlite-api", "SQLite execution (bench_api, traced - plain)"),
            ("mysql-api", "libmysqlclient query + stored result"),
            ("redis-api", "hiredis command: obuf + reply into the decoder"),
            ("redis-api-untracked", "hiredis hook, context not tracked")]
    if not any(series("event", v, "ns_median") for v, _ in rows):
        return
    p()
    p("Client-API paths (the hooks' own work per event, real writer), beside")
    p("the socket path's figure above for the same protocol:")
    p()
    p("| path | what | ns / event | socket path ns / event |")
    p("|---|---|---|---|")
    for var, what in rows:
        ns = series("event", var, "ns_median").get("1")
        if ns is None:
            continue
        lo = series("event", var, "ns_min").get("1")
        hi = series("event", var, "ns_max").get("1")
        sock = (series("event", var.split("-")[0], "ns_median").get("1")
                if var.endswith("-api") else None)
        p(f"| {var} | {what} | {fmt(ns)} ({fmt(lo)}-{fmt(hi)}) | {fmt(sock)} |")
    p(cmd("event_api_ns"))
    p(cmd("event_api_mysql_ns"))
    p(cmd("event_api_redis_ns"))


def section_event_stack():
    if not series("event_stack", "stack_python_30_ns", "ns"):
        return
    p()
    p("Call stacks (PERFTAP_STACKS): capture per event inside /usr/bin/python3,")
    p("best of 5 runs of 20,000; `emit` is the whole event with an interned")
    p("stack (a hot call site), beside the same event without a stack.")
    p()
    p("| frames | Python walk | native (libunwind) | both | emit with stack | target |")
    p("|---|---|---|---|---|---|")
    plain = series("event_stack", "stack_event_plain_ns", "ns").get("1")
    for n in (10, 30):
        g = {k: series("event_stack", f"stack_{k}_{n}_ns", "ns").get("1")
             for k in ("python", "native", "both", "emit")}
        p(f"| {n} | {fmt(g['python'])} ns | {fmt(g['native'])} ns | "
          f"{fmt(g['both'])} ns | {fmt(g['emit'])} ns (plain {fmt(plain)}) "
          f"| Python <= 1000 ns at 30, native <= 2000 ns |")
        if n == 30:
            targets.append(("Stack capture, 30 Python frames <= 1 us",
                            fmt(g["python"], " ns"),
                            g["python"] <= 1000 if g["python"] else None))
            targets.append(("Stack capture, native <= 2 us",
                            fmt(g["native"], " ns"),
                            g["native"] <= 2000 if g["native"] else None))
    floor = series("event_stack", "stack_selfread_ns", "ns").get("1")
    if floor:
        p()
        p("The floor under a Python walk: one fault-safe self-read of 8 bytes")
        p(f"(process_vm_readv) costs {fmt(floor)} ns on this run; a walk whose guess")
        p("holds makes one, copying the thread state, the current frame pointer,")
        p("the data stack's newest frames and the pages of coroutine frames.")
    p(cmd("event_stack_ns"))


def section_report():
    if not series("report", "perftap", "events_per_s"):
        return
    p("## 6. Report speed")
    p()
    eps = series("report", "perftap", "events_per_s").values()
    rss = series("report", "perftap", "rss_kib").values()
    secs = series("report", "perftap", "seconds").values()
    deps = series("report", "digest", "events_per_s").get("1")
    dq = series("report", "digest", "queries").get("1")
    ds = series("report", "digest", "seconds").get("1")
    drss = series("report", "digest", "rss_kib").get("1")
    size = series("report", "dump", "bytes").get("1")
    ratio = med(eps) / deps if deps else None
    p("`perftap report` (text) on a synthetic dump written by gen_dump with the")
    p("real writer: an AFIRGen-like mix of HTTP, Redis, MySQL and model calls")
    p(f"({fmt(size / 1e6 if size else None, ' MB')}).  Anchor: pt-query-digest on a")
    p("MariaDB slow log of the dump's own MySQL queries, literals put back.")
    p()
    p("| | events | seconds | events / s | peak RSS | target | |")
    p("|---|---|---|---|---|---|---|")
    ok1 = med(eps) >= 5e6
    n = int(series("report", "dump", "events").get("1") or 0)
    p(f"| perftap report | {n:,} | {span(secs)} | {span(eps)} | {span([v / 1024 for v in rss], ' MiB')} "
      f"| >= 5,000,000 / s | {met(ok1)} |")
    ok2 = ratio >= 100 if ratio is not None else None
    p(f"| pt-query-digest | {fmt(dq)} | {fmt(ds)} | {fmt(deps)} | {fmt(drss / 1024 if drss else None, ' MiB')} "
      f"| | |")
    p(f"| ratio | | | **{fmt(ratio, 'x', 0)}** | | >= 100x | {met(ok2)} |")
    bpe = series("report", "memory", "bytes_per_event").get("1")
    cpu_eps = series("report", "memory", "events_per_cpu_s").get("1")
    ok3 = bpe <= 16 if bpe is not None else None
    p()
    p(f"Memory apart from the mapped dump (`--stats-memory`): **{fmt(bpe, ' bytes')}** per event")
    p(f"including per-operation state, at {fmt(cpu_eps)} events per CPU second "
      f"(target: within 16 bytes per event plus per-operation state: {met(ok3)}).")
    targets.append(("Report memory <= 16 bytes per event", f"{fmt(bpe, ' bytes')}", ok3))
    targets.append(("Report >= 5 million events per second", f"{fmt(med(eps))} / s", ok1))
    targets.append(("Report >= 100x pt-query-digest's rate", f"{fmt(ratio, 'x', 0)}", ok2))
    p(cmd("report_gen"))
    p(cmd("report"))
    p(cmd("report_mem"))
    p(cmd("digest"))


def section_drops():
    names = sorted({v for (s, v, m) in data if s == "drops"},
                   key=lambda n: (n.startswith("max"), n))
    if not names:
        return
    p("## 7. Drops")
    p()
    p("bench_rate: threads emit AFIRGen-like events through the real writer at a")
    p("paced rate (or as fast as they can: `max`) into a dump of the default size")
    p("(256 MiB, 1 MiB chunks); the dump is then read back with the report's reader.")
    p()
    p("| run | target rate | achieved rate | emitted | read back | drops (full / wrapped / other) | window kept |")
    p("|---|---|---|---|---|---|---|")
    cap = None
    zero_at = []
    for n in names:
        g = lambda m: series("drops", n, m).get("1")
        cap = g("capacity") or cap
        tgt = g("rate_target")
        p(f"| {n} | {fmt(tgt) if tgt else 'max'} | {fmt(g('rate_achieved'))} | {fmt(g('emitted'))} "
          f"| {fmt(g('read'))} | {fmt(g('drops'))} ({fmt(g('drop_full'))} / {fmt(g('drop_wrapped'))} / "
          f"{fmt((g('drop_no_chunk') or 0) + (g('drop_other') or 0))}) | {fmt(g('window_s'), ' s')} |")
        if tgt and g("drops") == 0:
            zero_at.append(tgt)
    mx = series("drops", "max-wrap-3s", "rate_achieved").get("1")
    ok = 200000 in zero_at or 200000.0 in zero_at
    targets.append(("Zero drops at 200,000 events per second",
                    f"0 drops at 200k/s for 10 s (wrap and stop); writer alone sustains {fmt(mx)}/s on one thread",
                    ok))
    p()
    if cap:
        p(f"A default dump holds {fmt(cap)} events of this mix.  The writer never drops")
        p("for speed: it has no queue and no background thread, the thread that makes")
        p(f"the call writes its own event (one thread alone reaches {fmt(mx)} events/s).")
        p("Drops come only from the size limit: in stop mode the file keeps the oldest")
        p(f"{fmt(cap)} events and counts every later one as `full`; in wrap mode (the")
        p("default) it keeps the newest and counts the overwritten ones as `wrapped`,")
        p("and the report says which window it covers.  So the highest rate with zero")
        p(f"drops is capacity / duration: {fmt(cap / 10)} events/s over 10 s, "
          f"200,000/s for {fmt(cap / 200000, ' s', 1)}; beyond, the window shrinks")
        p("(wrap) or the tail is lost (stop), never the process's speed.  Raise")
        p("PERFTAP_MAX_SIZE for longer windows.")
    for src, label in (("redis", "redis-benchmark -P 16 with the shim"),
                       ("mysql", "sysbench with the shim")):
        vs = [(v, m) for (s, v, m) in data if s == src and v.startswith("shim-") and m == "dump_drops"]
        tot = sum(sum(series(src, v, m).values()) for v, m in vs)
        if vs:
            p()
            p(f"Real traffic: every dump of the {label} runs (section {2 if src == 'redis' else 3}) "
              f"had {fmt(tot)} drops in total.")
    p(cmd("drops"))


def section_samples():
    if not series("samples", "off", "GET_rps"):
        return
    p("## 8. Resource samples")
    p()
    p("redis-benchmark -c 15 -P 16 with the shim, resource samples off")
    p("(PERFTAP_SAMPLE_INTERVAL=0) and on (1 s, the default): the event path")
    p("pays one load and compare, a sample once a second.")
    p()
    p("| test | samples off rps | samples on rps | on / off | target | |")
    p("|---|---|---|---|---|---|")
    for op in ("SET", "GET"):
        m = f"{op}_rps"
        rs = ratios("samples", "on", "off", m)
        ok = med(rs) >= 0.98 if rs else None
        p(f"| {op} -P 16 | {span(series('samples', 'off', m).values())} "
          f"| {span(series('samples', 'on', m).values())} | {rspan(rs)} "
          f"| >= 0.98 (noise) | {met(ok)} |")
        targets.append((f"per-event cost with samples on: redis {op} -P 16 within noise",
                        f"{fmt(med(rs), '', 3)} of samples off", ok))
    p(cmd("samples_event"))
    cpu = series("samples", "sampler", "cpu_pct").get("1")
    n = series("samples", "sampler", "procs_on_machine").get("1")
    if cpu is not None:
        ok = cpu < 0.1
        p(f"The `perftap record` sampler at 1 s, a tree of 5 processes on a machine of "
          f"{fmt(n)} processes: {fmt(cpu, '%', 3)} of one core.")
        targets.append(("sampler's own CPU < 0.1% of one core at 1 s",
                        fmt(cpu, "%", 3), ok))
        p(cmd("samples_sampler"))


def main():
    load(sys.argv[1])
    body_start = len(out)
    section_untracked()
    section_redis()
    section_mysql()
    section_http()
    section_requests()
    section_async_stacks()
    section_event()
    section_report()
    section_drops()
    section_samples()
    body = out[body_start:]
    del out[body_start:]
    p("# perftap benchmark results")
    p()
    p("Written by `make bench` (scripts/bench.sh, then scripts/bench/results.py);")
    p("do not edit by hand.  Every ratio is taken side by side in one run: plain and")
    p("with-shim runs alternate, their order flips from round to round, and the")
    p("ratio shown is the median of the per-round ratios with their min-max.")
    p("Benchmarks are never timed assertions in tests.")
    p()
    p("Machine: " + ", ".join(f"{k} {facts[k]}" for k in
                              ("nproc", "cpu", "kernel", "os") if k in facts) + ".")
    p(f"Run: {facts.get('date', '?')}, {facts.get('bench_seconds', '?')} s; load average "
      f"{facts.get('load_start', '?')} at the start, {facts.get('load_end', '?')} at the end "
      "(the machine is shared: absolute figures drift, ratios hold).")
    p("Tools: " + ", ".join(f"{k.replace('_', '-')} {facts[k]}" for k in
                            ("redis", "mariadb", "sysbench", "wrk", "pt_query_digest", "valgrind")
                            if k in facts) + ".")
    p()
    p("## Targets")
    p()
    p("| target | figure | |")
    p("|---|---|---|")
    for t, fig, ok in targets:
        p(f"| {t} | {fig} | {met(ok)} |")
    p()
    out.extend(body)
    sys.stdout.write("\n".join(out) + "\n")


main()
