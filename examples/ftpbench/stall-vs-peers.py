#!/usr/bin/env python3
"""Latency under load (ftpbench's `stall` scenario): ftpdlib next to each peer, paired.

What it measures: while 8 sessions load a server (LIST of 10,000 entries, STOR of 8 MiB, or
nothing), how long one logged-in session waits for the reply to a NOOP sent every 10 ms (see
examples/ftpbench/stall.rs). Every peer is started by the shared referee's own code
(../shared/bench/ftpbench.py: the same configs, users and fixture root), one at a time, and
measured by ftpbench against ftpdlib in the same run, round by round (ftpdlib is the server,
the peer the baseline). The login load runs on ftpdlib only: a bcrypt (cost 10) account of a
users file as the server, a SHA-512-crypt ($6$, 5000 rounds) account of the same daemon as
the baseline.

Run as root (vsftpd, proftpd and pure-ftpd switch users and chroot), from the project root:

    cargo build --release --example ftpbench --bin ftpdlib
    sh ../shared/bench/fetch_peers.sh        # once: vsftpd, proftpd, pure-ftpd into /tmp
    # once, if `ldd` says their libraries are missing (they are not installed, only unpacked):
    (cd /tmp && apt-get download libwrap0 libhiredis0.14 libmemcached11 libmemcachedutil2 \
        libhashkit2 libpcre2-posix3 && for d in ./*.deb; do dpkg-deb -x $d /tmp/ftpbench-peers; done)
    pip install pyftpdlib
    python3 examples/ftpbench/stall-vs-peers.py [--seconds 5] [--repeat 2] [--out DIR]

It ends with a summary table: per load kind and pair, the median over the rounds of each
server and the paired ratio (median of the per-round ratios), and the worst max of any round;
then, per load kind and server, in how many rounds issue 15's goal held (LIST and STOR: p99
<= 2 ms and max <= 10 ms; logins: p99 <= 5 ms), by the server's part (rx) and as the probe saw it.
`--summarize DIR` prints that table again from an earlier run's output directory.

Bounds: each ftpbench run has a timeout; servers are stopped by PID in `finally` (SIGTERM and
SIGHUP included). Traffic is loopback only. Control ports from 30100, passive ports
30200-32699 (below the ephemeral range), so a referee run on its defaults does not collide.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(os.path.dirname(HERE))
HARNESS = os.environ.get("FTPBENCH_HARNESS",
                         os.path.join(os.path.dirname(PROJECT), "shared", "bench"))
sys.path.insert(0, HARNESS)
import ftpbench as referee  # noqa: E402  (../shared/bench/ftpbench.py)

# FTPDLIB_BIN: another build of ftpdlib to measure (an older commit, for a before/after).
FTPDLIB = os.environ.get("FTPDLIB_BIN") or os.path.join(PROJECT, "target", "release", "ftpdlib")
BENCH = os.path.join(PROJECT, "target", "release", "examples", "ftpbench")
PORT_BASE, PASV_BASE, PASV_SPAN = 30100, 30200, 500
# Libraries unpacked next to the peers (see above), for the peers' processes only.
PEER_LIBS = os.path.join(os.environ.get("FTPBENCH_PEERS", "/tmp/ftpbench-peers"),
                         "usr", "lib", "x86_64-linux-gnu")


def hashes():
    """(bcrypt cost 10, SHA-512-crypt) hashes of the password 'pw', by the system's crypt."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import crypt
    bc = crypt.crypt("pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10))
    sx = crypt.crypt("pw", crypt.mksalt(crypt.METHOD_SHA512))
    if not (bc or "").startswith("$2b$10$") or not (sx or "").startswith("$6$"):
        raise SystemExit("crypt() made no bcrypt/$6$ hash: %r %r" % (bc, sx))
    return bc, sx


def start_ftpdlib(ctx, pasv):
    """ftpdlib on the referee's root: user u/p (-w), plus users bc (bcrypt) and sx ($6$)."""
    bc, sx = hashes()
    users = os.path.join(ctx.wd, "users")
    with open(users, "w") as f:
        f.write("bc:%s:elr:%s\nsx:%s:elr:%s\n" % (bc, ctx.root, sx, ctx.root))
    log = os.path.join(ctx.wd, "ftpdlib.log")
    argv = [FTPDLIB, "-i", "127.0.0.1", "-p", "0", "-d", ctx.root, "-u", "u", "-P", "p", "-w",
            "--allow-root", "--max-cons", "0", "--log-level", "warn", "--users-file", users,
            "-r", "%d-%d" % pasv]
    with open(log, "wb") as lf:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf,
                                stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(200):  # 10 s
        with open(log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        if "listening on 127.0.0.1:" in text:
            port = int(text.split("listening on 127.0.0.1:")[1].split()[0])
            return proc, port, argv
        if proc.poll() is not None:
            raise SystemExit("ftpdlib exited: %s" % text)
        time.sleep(0.05)
    proc.terminate()
    raise SystemExit("ftpdlib printed no listening line within 10 s")


def bench(args, out, tag, extra, bound_s):
    """Runs ftpbench; writes its table to OUT/TAG.md and its JSON to OUT/TAG.json."""
    argv = [BENCH, "--repeat", str(args.repeat), "--stall-seconds", str(args.seconds),
            "--json", os.path.join(out, tag + ".json"),
            "--stall-probe-nice", str(args.probe_nice),
            "--stall-load-nice", str(args.load_nice)] + extra
    print("$ " + " ".join(argv), flush=True)
    try:
        cp = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=bound_s)
    except subprocess.TimeoutExpired:
        print("ftpbench %s: timed out after %d s" % (tag, bound_s), flush=True)
        return
    with open(os.path.join(out, tag + ".md"), "w") as f:
        f.write(cp.stdout)
    with open(os.path.join(out, tag + ".log"), "w") as f:
        f.write(cp.stderr)
    print(cp.stdout, flush=True)
    if cp.returncode != 0:
        print("ftpbench %s: exit %d\n%s" % (tag, cp.returncode, cp.stderr[-2000:]), flush=True)


def vs_peer(args, ctx, out, ours, i):
    """One peer, started by the referee's code, against ftpdlib: kinds none, list, stor."""
    name = args.peers[i]
    pasv = (PASV_BASE + (i + 1) * PASV_SPAN, PASV_BASE + (i + 2) * PASV_SPAN - 1)
    srv = referee.SERVERS[name](ctx, referee.free_port(PORT_BASE + i, set()), pasv)
    env = os.environ.copy()
    if os.path.isdir(PEER_LIBS):
        os.environ["LD_LIBRARY_PATH"] = ":".join(
            p for p in (PEER_LIBS, env.get("LD_LIBRARY_PATH")) if p)
    try:
        srv.start()
    except referee.Skip as e:
        print("SKIPPED %s: %s" % (name, e), flush=True)
        return
    finally:
        os.environ.clear()
        os.environ.update(env)
    try:
        print("# %s: %s | %s" % (name, srv.version, " ".join(srv.argv)), flush=True)
        kinds = [k for k in args.kinds.split(",") if k != "login"]
        bench(args, out, "stall-" + name, [
            "--port", str(ours[1]), "--user", "u", "--password", "p",
            "--server-pid", str(ours[0].pid), "--label", "ftpdlib",
            "--baseline-port", str(srv.port), "--baseline-user", srv.user,
            "--baseline-password", srv.password, "--baseline-pid", str(srv.proc.pid),
            "--baseline-label", name, "--scenario", "stall", "--stall-load", ",".join(kinds),
            "--cwd", "upload", "--list-dir", "/list10k", "--list-entries", "10000"],
            bound_s=len(kinds) * 2 * args.repeat * (args.seconds + 30) + 60)
    finally:
        srv.close()


def login_run(args, out, ours):
    """The login load on ftpdlib: bcrypt cost 10 against $6$, same daemon."""
    bench(args, out, "stall-login", [
        "--port", str(ours[1]), "--user", "u", "--password", "p",
        "--server-pid", str(ours[0].pid), "--label", "ftpdlib-bcrypt10",
        "--baseline-port", str(ours[1]), "--baseline-pid", str(ours[0].pid),
        "--baseline-label", "ftpdlib-sha512", "--scenario", "stall", "--stall-load", "login",
        "--stall-login-user", "bc", "--stall-login-password", "pw",
        "--baseline-stall-login-user", "sx", "--baseline-stall-login-password", "pw",
        "--cwd", "upload"], bound_s=2 * args.repeat * (args.seconds + 30) + 60)


KIND_ORDER = ["none", "list", "stor", "login"]
COLUMNS = (("p50_ms", 2), ("p99_ms", 1), ("max_ms", 1), ("rx_p99_ms", 2), ("rx_max_ms", 1),
           ("ops_s", 1))


def scenarios(out):
    """(scenario name, its results) from every ftpbench JSON of a run's output directory."""
    for fn in sorted(os.listdir(out)):
        if fn.startswith("stall-") and fn.endswith(".json"):
            with open(os.path.join(out, fn)) as f:
                yield from json.load(f)["scenarios"].items()


def summarize(out):
    """One markdown table over every ftpbench JSON in OUT: per load kind and pair, the median
    over the rounds of each server (first / second) and the paired ratio; then the worst max
    of any round, as the probe saw it and by the kernel's receive stamp (rx: the server's part,
    before the probe's thread waits for a CPU), and the probes sent (fewer than 100 make the
    p99 the max)."""
    rows = []
    for sc, v in scenarios(out):
        (na, a), (nb, b) = [(n, x["summary"]) for n, x in v["servers"].items()]
        ratio = v["ratio_first_over_second"]
        cells = []
        for key, prec in COLUMNS:
            if key in a and key in b:
                cells.append("%.*f / %.*f (%.2fx)" % (prec, a[key]["median"], prec,
                                                      b[key]["median"], ratio.get(key, 0)))
            else:
                cells.append("-")
        for key in ("max_ms", "rx_max_ms"):
            if key in a and key in b:
                cells.append("%.1f / %.1f" % (a[key]["max"], b[key]["max"]))
            else:
                cells.append("-")
        if "probes" in a and "probes" in b:
            cells.append("%.0f / %.0f" % (a["probes"]["median"], b["probes"]["median"]))
        kind = sc[len("stall-"):]
        rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
        rows.append((rank, "%s / %s" % (na, nb), kind, cells))
    print("| load | servers (first / second) | probe p50 ms | probe p99 ms | probe max ms "
          "| rx p99 ms | rx max ms | load ops/s | worst max ms | worst rx max ms | probes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for _, pair, kind, cells in sorted(rows, key=lambda r: r[0]):
        print("| %s | %s | %s |" % (kind, pair, " | ".join(cells)))
    print()
    goal_lines(out)


# Issue 15's goal for the probe's NOOP under each load: (p99 ms, max ms); None: not set.
GOAL = {"list": (2.0, 10.0), "stor": (2.0, 10.0), "login": (5.0, None)}


def goal_lines(out):
    """Per load kind and server, in how many rounds the goal held, by the server's part (rx)
    and as the probe saw it: `stor ftpdlib: rx 12/12, probe 5/12` (rounds within the goal)."""
    tally = {}
    for sc, v in scenarios(out):
        kind = sc[len("stall-"):]
        if kind not in GOAL:
            continue
        p99, mx = GOAL[kind]
        for name, x in v["servers"].items():
            for run in x["runs"]:
                if not run:
                    continue
                t = tally.setdefault((kind, name), [0, 0, 0])
                t[0] += 1
                for i, pre in ((1, "rx_"), (2, "")):
                    ok = run.get(pre + "p99_ms", float("inf")) <= p99
                    if mx is not None:
                        ok = ok and run.get(pre + "max_ms", float("inf")) <= mx
                    t[i] += ok
    for (kind, name), (n, rx, seen) in sorted(tally.items(), key=lambda kv: (
            KIND_ORDER.index(kv[0][0]), kv[0][1])):
        p99, mx = GOAL[kind]
        rule = "p99 <= %g ms" % p99 + (", max <= %g ms" % mx if mx is not None else "")
        print("goal %s (%s) %s: rx %d/%d rounds, probe %d/%d" % (kind, rule, name, rx, n,
                                                                  seen, n))


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peers", default="pyftpdlib,vsftpd,proftpd,pure-ftpd")
    ap.add_argument("--kinds", default="none,list,stor,login")
    ap.add_argument("--seconds", type=float, default=5.0, help="one round, s")
    ap.add_argument("--repeat", type=int, default=2, help="rounds per kind and server")
    ap.add_argument("--probe-nice", type=int, default=0,
                    help="nice value of the probe's thread (e.g. -10, as root): a remote "
                    "client does not wait for a CPU behind the load generator")
    ap.add_argument("--load-nice", type=int, default=0,
                    help="nice value of the load threads (e.g. 10): the load then takes only "
                    "the CPU the servers leave, as clients on other machines would")
    ap.add_argument("--out", default=None, help="tables, JSON and logs (default: a /tmp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the servers' work dir")
    ap.add_argument("--summarize", metavar="DIR", default=None,
                    help="only print the summary table of an earlier run's --out DIR")
    a = ap.parse_args()
    a.peers = [p.strip() for p in a.peers.split(",") if p.strip()]
    for p in a.peers:
        if p not in referee.SERVERS or p == "ours":
            ap.error("unknown peer %r" % p)
    return a


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)  # runs the finally blocks: they stop the servers


def main():
    args = parse()
    if args.summarize:
        summarize(args.summarize)
        return
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _exit_on_signal)
    for b in (FTPDLIB, BENCH):
        if not os.access(b, os.X_OK):
            raise SystemExit("%s missing: cargo build --release --example ftpbench --bin ftpdlib"
                             % b)
    out = args.out or tempfile.mkdtemp(prefix="stall-", dir="/tmp")
    os.makedirs(out, exist_ok=True)
    ctx = referee.Ctx()
    ctx.wd = tempfile.mkdtemp(prefix="ftpbench-stall-", dir="/tmp")
    os.chmod(ctx.wd, 0o755)
    ctx.args = referee.parse_args(["--no-cgroup", "--big-mib", "1", "--workdir", ctx.wd])
    ctx.root = os.path.join(ctx.wd, "root")
    referee.make_fixtures(ctx)  # list10k/ (10,000 files), upload/ (0777), small files
    ours = start_ftpdlib(ctx, (PASV_BASE, PASV_BASE + PASV_SPAN - 1))
    try:
        print("# stall-vs-peers %s UTC | load %s | ftpdlib: %s"
              % (time.strftime("%Y-%m-%d %H:%M", time.gmtime()), referee._read("/proc/loadavg"),
                 " ".join(ours[2])), flush=True)
        for i in range(len(args.peers)):
            vs_peer(args, ctx, out, ours, i)
        if "login" in args.kinds.split(","):
            login_run(args, out, ours)
    finally:
        ours[0].terminate()
        try:
            ours[0].wait(timeout=5)
        except subprocess.TimeoutExpired:
            ours[0].kill()
            ours[0].wait(timeout=5)
        if not args.keep:
            subprocess.run(["rm", "-rf", "--one-file-system", ctx.wd], timeout=120)
    print("# results in %s; load at end %s\n" % (out, referee._read("/proc/loadavg")))
    summarize(out)


if __name__ == "__main__":
    main()
