#!/usr/bin/env python3
"""Side-by-side benchmark of swift-zookeeper against its peers, in one run on one machine.

Starts what it needs on 127.0.0.1 (Apache ZooKeeper standalone from Debian's package, zkserver), measures,
stops everything, and prints a table of figures with the ratio to the peer. See BENCHMARKS.md.

Usage: benchmark/compare.py [--quick | --headline] [--markdown FILE] [--bin-path DIR]
                            [--only oneshot,shell,client,server,footprint,tls,herd,kerberos,bigtree]
                            [--bigtree-size N] [--bigtree-export-size N] [--bigtree-timeout S]
                            [--oneshot-baseline ZKCLI]
                            [--only scale --scale-znodes N,... --scale-sessions N,... --scale-watches N,...]

bigtree: one tree of --bigtree-size znodes (100,000 by default, in 3 levels) built once with `zkbench tree`, then
zkcli's walks timed beside zk-shell's and zkCli.sh's equivalents on the same Apache server, their outputs counted
against each other; then zkcli's export and import of --bigtree-export-size znodes (1,000,000) on zkserver, for
zkcli's peak RSS. --bigtree-timeout bounds each peer's run (a peer stopped there gives a lower bound).

scale (run only when --only names it; issue 17 point 4): how the costs grow with the data, a fresh zkserver and a
fresh Apache (with -Xmx6g, for 2,000,000 znodes) at each point: znodes (10k, 100k, 1M, 2M of 100 B: RSS per znode,
recovery after SIGKILL, snapshot time, sync-write p99 with snapshots following each other and without), sessions
(100, 1k, 10k, one ephemeral and one watch each: RSS per session, the server's CPU while they ping, a reconnect
storm), watches (10k, 100k, 1M: RSS per watch, all fired by one closeSession), and getChildren of 100,000
children and a 1 MB getData. --quick stops each at 100k (1k sessions). Plots in docs/scale-*.png (--scale-plots),
drawn with matplotlib (`make bench-deps`); without it the section says so and draws none.

--headline (`make bench-quick`, about a minute once built): the one-shot against cli_mt, the client against
Apache's Java client, zkserver against Apache, with small counts and one round, for a look before and after a
change to a hot path.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmark")
ZK_JAR = "/usr/share/java/zookeeper.jar"
ZK_CLI = "/usr/share/zookeeper/bin/zkCli.sh"
CLI_MT = "/usr/lib/zookeeper/bin/cli_mt"  # Apache's C client shell (Debian: zookeeper-bin)
JUTE_JAR = "/usr/share/java/zookeeper-jute.jar"
# What Debian's classpath lacks for Apache's Netty connection factory and Netty client socket (TLS).
NETTY_JARS = "/usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar"

processes = []


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def four_letter_word(port, word="srvr", timeout=2.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(word.encode())
            s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data.decode(errors="replace")
    except OSError:
        return None


def node_count(port):
    text = four_letter_word(port) or ""
    match = re.search(r"Node count: (\d+)", text)
    return int(match.group(1)) if match else None


def wait_serving(port, minimum_nodes=0, timeout=180.0):
    """Seconds until `srvr` answers with at least `minimum_nodes` nodes (polled every 5 ms)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        count = node_count(port)
        if count is not None and count >= minimum_nodes:
            return time.perf_counter() - start
        time.sleep(0.005)
    raise RuntimeError(f"server on {port} not serving {minimum_nodes} nodes within {timeout} s")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def spawn(command, cwd, log_name):
    out = open(os.path.join(cwd, log_name), "ab")
    process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    processes.append(process)
    return process


def stop(process, sig=signal.SIGTERM):
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Server:
    """A standalone server on a free loopback port, with its zoo.cfg and data in `workdir`/`subdirectory`."""

    name = ""
    subdirectory = ""
    extra_configuration = ""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, self.subdirectory)
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        self.port = free_port()
        with open(os.path.join(self.dir, "zoo.cfg"), "w") as f:
            f.write(
                f"tickTime=2000\ndataDir={self.dir}/data\nclientPort={self.port}\nclientPortAddress=127.0.0.1\n"
                "maxClientCnxns=0\n4lw.commands.whitelist=*\nforceSync=yes\n" + self.extra_configuration)
        self.process = None

    def command(self):
        raise NotImplementedError

    def start(self):
        self.process = spawn(self.command(), self.dir, "server.log")
        return self.process


class Apache(Server):
    """Apache ZooKeeper standalone, forceSync on, configured as in perf-reliability.md §A9."""

    name = "Apache ZooKeeper 3.8"
    subdirectory = "apache"
    extra_configuration = "admin.enableServer=false\n"

    def command(self):
        return ["java", "-Xmx1000m", "-cp", ZK_JAR, "org.apache.zookeeper.server.ZooKeeperServerMain", "zoo.cfg"]


class ApacheTLS(Apache):
    """Apache ZooKeeper standalone with a TLS port beside its plaintext one (Netty connection factory, client
    certificates required), so that the same server is measured both ways."""

    name = "Apache ZooKeeper 3.8 (TLS)"
    subdirectory = "apache-tls"

    def __init__(self, workdir, certificates):
        self.secure_port = free_port()
        self.extra_configuration = (
            "admin.enableServer=false\nserverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n"
            + tls_configuration(self.secure_port, certificates))
        super().__init__(workdir)

    def command(self):
        return ["java", "-Xmx1000m", "-cp", f"{ZK_JAR}:{NETTY_JARS}", "org.apache.zookeeper.server.ZooKeeperServerMain",
                "zoo.cfg"]


def tls_configuration(secure_port, certificates):
    """The zoo.cfg lines of a TLS port on 127.0.0.1 with `make_certificates`' stores, client certificates required."""
    return (f"secureClientPort={secure_port}\nsecureClientPortAddress=127.0.0.1\n"
            f"ssl.keyStore.location={certificates}/server.p12\nssl.keyStore.password=secret\n"
            f"ssl.trustStore.location={certificates}/trust.p12\nssl.trustStore.password=secret\nssl.clientAuth=need\n")


def make_certificates(directory):
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate (the README's commands), as
    PKCS12 stores for both sides; returns the client configuration file, as zkCli.sh users write it."""
    os.makedirs(directory, exist_ok=True)
    script = """
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -keyout ca.key -out ca.pem \
  -subj "/CN=Benchmark CA"
for who in server client; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout $who.key -out $who.csr \
    -subj "/CN=$who"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > $who.ext
  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile $who.ext -out $who.pem
  openssl pkcs12 -export -in $who.pem -inkey $who.key -certfile ca.pem -out $who.p12 -passout pass:secret
done
keytool -importcert -noprompt -alias ca -file ca.pem -keystore trust.p12 -storetype PKCS12 -storepass secret
"""
    subprocess.run(["sh", "-e", "-c", script], cwd=directory, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    properties = os.path.join(directory, "client.properties")
    with open(properties, "w") as f:
        f.write("zookeeper.client.secure=true\n"
                "zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty\n"
                f"zookeeper.ssl.keyStore.location={directory}/client.p12\nzookeeper.ssl.keyStore.password=secret\n"
                f"zookeeper.ssl.trustStore.location={directory}/trust.p12\nzookeeper.ssl.trustStore.password=secret\n")
    return properties


class ZKServer(Server):
    name = "zkserver"
    subdirectory = "zkserver"
    # As for Apache: no AdminServer on 8080 (two runs at once would collide).
    extra_configuration = "admin.enableServer=false\n"

    def __init__(self, workdir, binary):
        self.binary = binary
        super().__init__(workdir)

    def command(self):
        return [self.binary, "zoo.cfg"]


class ZKServerTLS(ZKServer):
    """zkserver with a TLS port beside its plaintext one, configured as `ApacheTLS`."""

    name = "zkserver (TLS)"
    subdirectory = "zkserver-tls"

    def __init__(self, workdir, binary, certificates):
        self.secure_port = free_port()
        self.extra_configuration = "admin.enableServer=false\n" + tls_configuration(self.secure_port, certificates)
        super().__init__(workdir, binary)


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def run_with_cpu(command):
    """`run`, and the CPU seconds (user + system) the command used, all its threads included."""
    before = os.times()
    completed = run(command)
    after = os.times()
    return completed, (after.children_user - before.children_user) + (after.children_system - before.children_system)


TIME = "/usr/bin/time"


def timed_child(command, env=None):
    """Wall seconds and peak RSS (KiB) of one command.

    Peak RSS comes from GNU time, not from wait4 here: a child forked from this Python process carries Python's
    resident pages until it execs, and Linux counts them in the child's peak, which would flatter big programs.
    """
    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        completed = subprocess.run([TIME, "-o", report.name, "-f", "%x %M", *command], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=env)
        wall = time.perf_counter() - start
        status, peak = report.read().split()[-2:]
    if completed.returncode != 0 or status != "0":
        raise RuntimeError(f"{command} exited with {status}")
    return wall, int(peak)


def parse_rates(output):
    """phase -> ops/s from `zkbench`, ZkLoad and kazoo_load outputs."""
    rates = {}
    for line in output.splitlines():
        match = re.match(r"(sync-)?(\w+):? (?:\d+ ops in [\d.]+ s = )?(\d+) ops/s", line)
        if match:
            rates[(match.group(1) or "") + match.group(2)] = float(match.group(3))
    return rates


def parse_latency(output):
    """phase -> (p50, p99) in ms from zkbench's synchronous phases."""
    result = {}
    for line in output.splitlines():
        match = re.match(r"(sync-\w+): .* p50 ([\d.]+) ms, p99 ([\d.]+) ms", line)
        if match:
            result[match.group(1)] = (float(match.group(2)), float(match.group(3)))
    return result


class Table:
    def __init__(self):
        self.rows = []

    def add(self, section, measure, ours, peer, unit, better, peer_name):
        if better == "higher":
            ratio = ours / peer if peer else float("inf")
        else:
            ratio = peer / ours if ours else float("inf")
        self.rows.append((section, measure, ours, peer, unit, ratio, peer_name))
        log(f"  {measure}: ours {ours:.4g} {unit}, {peer_name} {peer:.4g} {unit}, advantage x{ratio:.2f}")

    @staticmethod
    def number(value):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"

    def markdown(self):
        lines = [
            "| area | measure | ours | peer | peer value | advantage |",
            "|---|---|---|---|---|---|",
        ]
        for section, measure, ours, peer, unit, ratio, peer_name in self.rows:
            lines.append(
                f"| {section} | {measure} | {self.number(ours)} {unit} | {peer_name} | {self.number(peer)} {unit} "
                f"| x{ratio:.2f} |")
        return "\n".join(lines)


def release_flags():
    """The Makefile's RELEASE_FLAGS, the flags `make install` builds with."""
    out = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT,
                          "--eval=print-release-flags: ; @echo $(RELEASE_FLAGS)", "print-release-flags"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def build_products(bin_path=None):
    if bin_path:
        return os.path.abspath(bin_path)
    # As `make install` builds them: release, with the Swift runtime linked statically (smaller and faster to
    # start than loading the shared runtime libraries).
    log("building release products (zkcli, zkserver, zkbench)...")
    flags = [*release_flags(), "--scratch-path", os.path.join(ROOT, ".build-bench")]
    subprocess.run(["make", "-s", "-C", ROOT, "static-libstdc++"], check=True)
    subprocess.run(["swift", "build", *flags], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return run(["swift", "build", *flags, "--show-bin-path"], cwd=ROOT).stdout.strip()


def compile_java(workdir):
    classes = os.path.join(workdir, "java")
    os.makedirs(classes, exist_ok=True)
    subprocess.run(
        ["javac", "-d", classes, "-cp", f"{ZK_JAR}:{JUTE_JAR}", os.path.join(BENCH, "ZkLoad.java")], check=True)
    return classes


def compile_runstat(workdir):
    """benchmark/runstat.c: CPU time and peak RSS of each run, as the kernel counts them for that child alone."""
    binary = os.path.join(workdir, "runstat")
    subprocess.run(["cc", "-O2", "-o", binary, os.path.join(BENCH, "runstat.c")], check=True)
    return binary


def runstat(binary, command, runs, env=None):
    """[(wall s, CPU s, peak RSS KiB, page faults)] of `runs` runs of `command`, each checked to succeed."""
    out = run([binary, str(runs), *command], env=env, check=True).stdout
    samples = []
    for line in out.splitlines():
        wall, cpu, peak, status, faults = (int(field) for field in line.split())
        if status != 0:
            raise RuntimeError(f"{command} exited with {status}")
        samples.append((wall / 1e6, cpu / 1e6, peak, faults))
    return samples


def oneshot_section(table, bins, apache, workdir, runs, baseline=None):
    log("one-shot get: zkcli vs Apache's C client (cli_mt), CPU time, wall time, peak RSS and page faults")
    server = f"127.0.0.1:{apache.port}"
    zkcli = os.path.join(bins, "zkcli")
    run([zkcli, "-server", server, "create", "/bench-oneshot", "hello"])
    binary = compile_runstat(workdir)
    tools = {
        "zkcli": [zkcli, "-server", server, "get", "/bench-oneshot"],
        "cli_mt": [CLI_MT, "-h", server, "-c", "get /bench-oneshot"],
        "zkcli --version": [zkcli, "--version"],
        "true": ["/bin/true"],
    }
    if baseline:
        # An earlier zkcli (--oneshot-baseline), measured in the same interleaving: before and after a change.
        tools["baseline"] = [os.path.abspath(baseline), "-server", server, "get", "/bench-oneshot"]
        tools["baseline --version"] = [os.path.abspath(baseline), "--version"]
    for command in tools.values():
        runstat(binary, command, 2)  # page cache warm for all
    # The server's JVM warm too: this section runs first, on a fresh Apache whose session set-up, request and close
    # paths are not yet compiled. In a quiet run of 2026-11-30 zkcli's `get` took 17.3 ms here against 12.7 ms in
    # the shell section, which runs later on the same server; cli_mt's own 10 ms sleep hides a slow server.
    for _ in range(10):
        runstat(binary, tools["zkcli"], 5)
        runstat(binary, tools["cli_mt"], 5)
    samples = {name: [] for name in tools}
    load_before = os.getloadavg()
    # Interleaved in batches of 5, so that a change in the machine's load falls on every tool alike.
    for _ in range(max(1, runs // 5)):
        for name, command in tools.items():
            samples[name] += runstat(binary, command, 5)
    load_after = os.getloadavg()
    log(f"  load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; {len(samples['zkcli'])} runs each")

    def median(name, index):
        return statistics.median(sample[index] for sample in samples[name])

    if baseline:
        for name, index, scale, unit, label in (
                ("", 1, 1000, "ms", "CPU, user+sys"), ("", 0, 1000, "ms", "wall"), ("", 2, 1 / 1024, "MB", "peak RSS"),
                ("", 3, 1, "", "page faults"), (" --version", 1, 1000, "ms", "CPU, user+sys"),
                (" --version", 2, 1 / 1024, "MB", "peak RSS")):
            command = "`--version`" if name else "`get`"
            table.add("oneshot", f"{command} {label} (median), this build vs the baseline",
                      median("zkcli" + name, index) * scale, median("baseline" + name, index) * scale, unit, "lower",
                      "baseline zkcli")

    table.add("oneshot", "`get` CPU, user+sys (median)", median("zkcli", 1) * 1000, median("cli_mt", 1) * 1000, "ms",
              "lower", "cli_mt (C client)")
    table.add("oneshot", "`get` wall (median)", median("zkcli", 0) * 1000, median("cli_mt", 0) * 1000, "ms", "lower",
              "cli_mt (C client)")
    table.add("oneshot", "`get` peak RSS (median)", median("zkcli", 2) / 1024, median("cli_mt", 2) / 1024, "MB",
              "lower", "cli_mt (C client)")
    table.add("oneshot", "`get` page faults (median)", median("zkcli", 3), median("cli_mt", 3), "", "lower",
              "cli_mt (C client)")
    table.add("oneshot", "`--version` CPU, user+sys (median)", median("zkcli --version", 1) * 1000,
              median("true", 1) * 1000, "ms", "lower", "/bin/true")
    run([zkcli, "-server", server, "delete", "/bench-oneshot"])


def shell_section(table, bins, apache, runs):
    log("one-shot shell commands against Apache ZooKeeper")
    server = f"127.0.0.1:{apache.port}"
    zkcli = os.path.join(bins, "zkcli")
    env = dict(os.environ, ZOO_LOG_DIR=tempfile.mkdtemp(prefix="zkcli-log-"))
    run([zkcli, "-server", server, "create", "/bench-shell", "hello"])
    counter = [0]

    def unique():
        counter[0] += 1
        return f"/bench-shell/n{os.getpid()}-{counter[0]}"

    # Each tool's argument list for a command; `create` makes a new node on every call.
    commands = {
        "ls /": lambda: ["ls", "/"],
        "get": lambda: ["get", "/bench-shell"],
        "create": lambda: ["create", unique(), "x"],
    }
    tools = {
        "zkcli": (lambda words: [zkcli, "-server", server, *words], None),
        "zkCli.sh": (lambda words: [ZK_CLI, "-server", server, *words], env),
        # zk-shell takes the command as one argument, then the server.
        "zk-shell": (lambda words: [zk_shell_command(), "--run-once", " ".join(words), server], None),
    }
    for label, words in commands.items():
        figures = {}
        for name, (command, tool_env) in tools.items():
            # One untimed run first, so that every tool is measured with its files in the page cache.
            timed_child(command(words()), tool_env)
            walls, peaks = [], []
            for _ in range(runs):
                wall, peak = timed_child(command(words()), tool_env)
                walls.append(wall)
                peaks.append(peak)
            figures[name] = (statistics.median(walls), statistics.median(peaks))
        ours = figures["zkcli"]
        for peer in ("zkCli.sh", "zk-shell"):
            table.add("shell", f"`{label}` wall (median)", ours[0] * 1000, figures[peer][0] * 1000, "ms", "lower",
                      peer)
            table.add("shell", f"`{label}` peak RSS", ours[1] / 1024, figures[peer][1] / 1024, "MB", "lower", peer)
    run([zkcli, "-server", server, "deleteall", "/bench-shell"])


def tls_section(table, bins, workdir, runs, count, sessions, window, rounds):
    log("TLS: one-shot zkcli vs zkCli (Java, Netty socket), and pipelined throughput TLS vs plaintext")
    properties = make_certificates(os.path.join(workdir, "certs"))
    apache = ApacheTLS(workdir, os.path.join(workdir, "certs"))
    apache.start()
    wait_serving(apache.port, 1)
    secure = f"127.0.0.1:{apache.secure_port}"
    zkcli = os.path.join(bins, "zkcli")
    # zkCli.sh cannot speak TLS with Debian's classpath; this is its java command line with the two Netty jars.
    java_cli = ["java", "-cp", f"/etc/zookeeper/conf:{ZK_JAR}:{NETTY_JARS}", "org.apache.zookeeper.ZooKeeperMain"]
    tools = {
        "zkcli": [zkcli, "-client-configuration", properties, "-server", secure, "ls", "/"],
        "zkCli": [*java_cli, "-client-configuration", properties, "-server", secure, "ls", "/"],
    }
    # A fresh JVM answers its first handshakes slowly until its JIT warms up: warm the server first, then
    # alternate the two tools so that neither is measured against a colder server.
    for _ in range(10):
        for command in tools.values():
            timed_child(command)
    samples = {name: ([], []) for name in tools}
    for _ in range(runs):
        for name, command in tools.items():
            wall, peak = timed_child(command)
            samples[name][0].append(wall)
            samples[name][1].append(peak)
    figures = {name: (statistics.median(walls), statistics.median(peaks)) for name, (walls, peaks) in samples.items()}
    table.add("tls", "`ls /` over TLS wall (median)", figures["zkcli"][0] * 1000, figures["zkCli"][0] * 1000, "ms",
              "lower", "zkCli.sh (Java, Netty)")
    table.add("tls", "`ls /` over TLS peak RSS", figures["zkcli"][1] / 1024, figures["zkCli"][1] / 1024, "MB",
              "lower", "zkCli.sh (Java, Netty)")

    warm_up(bins, apache.port)
    tls_throughput(table, bins, "Apache", apache, properties, count, sessions, window, rounds)
    stop(apache.process)
    # The goal of issue 12 is ours against ours: our client and zkserver, TLS against plaintext.
    zkserver = ZKServerTLS(workdir, os.path.join(bins, "zkserver"), os.path.join(workdir, "certs"))
    zkserver.start()
    wait_serving(zkserver.port, 1)
    tls_throughput(table, bins, "zkserver", zkserver, properties, count, sessions, window, rounds)
    stop(zkserver.process)


def process_cpu_seconds(pid):
    """User + system CPU seconds of a running process, all its threads (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tls_throughput(table, bins, server_name, server, properties, count, sessions, window, rounds):
    """Pipelined ops/s of `zkbench` on the TLS port and on the plaintext port of one server, alternating which goes
    first in each round; medians. Also the CPU per operation of the load process and of the server (all four
    phases together), which a loaded machine hardly moves, unlike ops/s."""
    phases = ["create", "set", "get", "delete"]
    bench = [os.path.join(bins, "zkbench"), "--phases", *phases, "--count", str(count), "--sessions", str(sessions),
             "--window", str(window)]
    over_tls = [*bench, "--server", f"127.0.0.1:{server.secure_port}", "--client-configuration", properties]
    plaintext = [*bench, "--server", f"127.0.0.1:{server.port}"]
    samples = {"tls": [], "plaintext": []}
    for index in range(rounds):
        order = [("tls", over_tls), ("plaintext", plaintext)]
        for name, command in (order if index % 2 == 0 else reversed(order)):
            server_before = process_cpu_seconds(server.process.pid)
            completed, client_cpu = run_with_cpu(command)
            server_cpu = process_cpu_seconds(server.process.pid) - server_before
            rates = parse_rates(completed.stdout)
            operations = count * len(phases)
            rates["client-cpu"] = client_cpu / operations * 1e6
            rates["server-cpu"] = server_cpu / operations * 1e6
            samples[name].append(rates)
    rates_tls, rates_plaintext = median_rates(samples["tls"]), median_rates(samples["plaintext"])
    for phase in phases:
        if phase in rates_tls and phase in rates_plaintext:
            table.add("tls", f"{phase} ops/s over TLS (our client, {server_name})", rates_tls[phase],
                      rates_plaintext[phase], "ops/s", "higher", "same, plaintext")
    table.add("tls", f"client CPU per op over TLS (zkbench, {server_name})", rates_tls["client-cpu"],
              rates_plaintext["client-cpu"], "µs", "lower", "same, plaintext")
    table.add("tls", f"server CPU per op over TLS ({server_name})", rates_tls["server-cpu"],
              rates_plaintext["server-cpu"], "µs", "lower", "same, plaintext")


class KDC:
    """An MIT KDC of its own (Debian's krb5-kdc) on a free loopback port, with a random realm, in `directory`."""

    def __init__(self, directory):
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self.realm = "ZKBENCH" + str(os.getpid()) + ".TEST"
        self.port = free_port()
        self.krb5_config = os.path.join(directory, "krb5.conf")
        profile = os.path.join(directory, "kdc.conf")
        with open(self.krb5_config, "w") as f:
            f.write(f"[libdefaults]\n default_realm = {self.realm}\n dns_lookup_kdc = false\n rdns = false\n"
                    f" udp_preference_limit = 1\n[realms]\n {self.realm} = {{\n  kdc = 127.0.0.1:{self.port}\n }}\n"
                    f"[domain_realm]\n localhost = {self.realm}\n")
        with open(profile, "w") as f:
            f.write(f"[kdcdefaults]\n kdc_ports = {self.port}\n kdc_tcp_ports = {self.port}\n[realms]\n"
                    f" {self.realm} = {{\n  database_name = {directory}/principal\n"
                    f"  key_stash_file = {directory}/stash\n  acl_file = {directory}/kadm5.acl\n"
                    f"  kdc_listen = 127.0.0.1:{self.port}\n  kdc_tcp_listen = 127.0.0.1:{self.port}\n }}\n")
        open(os.path.join(directory, "kadm5.acl"), "w").close()
        self.env = dict(os.environ, KRB5_CONFIG=self.krb5_config, KRB5_KDC_PROFILE=profile)
        subprocess.run(["/usr/sbin/kdb5_util", "create", "-s", "-r", self.realm, "-P", "bench-master"], env=self.env,
                       check=True, capture_output=True)
        out = open(os.path.join(directory, "kdc.log"), "ab")
        processes.append(subprocess.Popen(["/usr/sbin/krb5kdc", "-n", "-r", self.realm], cwd=directory, env=self.env,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.perf_counter() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.perf_counter() > deadline:
                    raise RuntimeError("krb5kdc did not start")
                time.sleep(0.05)

    def add_principal(self, name):
        """`name@REALM` with a random key, written to a keytab of its own; returns (principal, keytab)."""
        principal = f"{name}@{self.realm}"
        keytab = os.path.join(self.directory, name.replace("/", "_") + ".keytab")
        for query in (f"addprinc -randkey {principal}", f"ktadd -k {keytab} {principal}"):
            subprocess.run(["/usr/sbin/kadmin.local", "-r", self.realm, "-q", query], env=self.env, check=True,
                           capture_output=True)
        return principal, keytab


def jaas_file(path, section, principal, keytab):
    with open(path, "w") as f:
        f.write(f"{section} {{\n  com.sun.security.auth.module.Krb5LoginModule required\n  useKeyTab=true\n"
                f"  keyTab=\"{keytab}\"\n  storeKey=true\n  useTicketCache=false\n  principal=\"{principal}\";\n}};\n")
    return path


class ApacheKerberos(Apache):
    """Apache ZooKeeper standalone logging in as zookeeper/localhost from its keytab (the JAAS Server section)."""

    name = "Apache ZooKeeper 3.8 (Kerberos)"
    subdirectory = "apache-kerberos"
    extra_configuration = "admin.enableServer=false\nauthProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n"

    def __init__(self, workdir, jaas, krb5_config):
        self.flags = [f"-Djava.security.auth.login.config={jaas}", f"-Djava.security.krb5.conf={krb5_config}"]
        super().__init__(workdir)

    def command(self):
        return ["java", "-Xmx1000m", *self.flags, "-cp", ZK_JAR, "org.apache.zookeeper.server.ZooKeeperServerMain",
                "zoo.cfg"]


def kerberos_section(table, bins, workdir, runs):
    log("one-shot `get` of a sasl-ACL znode with a Kerberos login: zkcli vs zkCli.sh, the same JAAS file")
    kdc = KDC(os.path.join(workdir, "kdc"))
    server_principal, server_keytab = kdc.add_principal("zookeeper/localhost")
    alice, alice_keytab = kdc.add_principal("alice")
    server_jaas = jaas_file(os.path.join(kdc.directory, "server-jaas.conf"), "Server", server_principal,
                            server_keytab)
    client_jaas = jaas_file(os.path.join(kdc.directory, "client-jaas.conf"), "Client", alice, alice_keytab)
    apache = ApacheKerberos(workdir, server_jaas, kdc.krb5_config)
    apache.start()
    wait_serving(apache.port, 1)
    # The host part of the server principal: localhost.
    server = f"localhost:{apache.port}"
    zkcli = os.path.join(bins, "zkcli")
    # As zkCli.sh users configure a login; zkcli reads the same variable. KRB5_CONFIG for the GSS-API library.
    env = dict(os.environ, KRB5_CONFIG=kdc.krb5_config, ZOO_LOG_DIR=os.path.join(workdir, "zkcli-log"),
               CLIENT_JVMFLAGS=f"-Djava.security.auth.login.config={client_jaas} "
                               f"-Djava.security.krb5.conf={kdc.krb5_config}")
    created = run([zkcli, "-server", server, "create", "/bench-kerberos", "hello", f"sasl:{alice}:cdrwa"], env=env)
    if created.returncode != 0:
        raise RuntimeError(f"zkcli could not log in: {created.stderr}")
    anonymous = run([zkcli, "-server", server, "get", "/bench-kerberos"])
    if anonymous.returncode == 0:
        raise RuntimeError("the znode is readable without the Kerberos login")
    binary = compile_runstat(workdir)
    tools = {
        "zkcli": [zkcli, "-server", server, "get", "/bench-kerberos"],
        "zkCli.sh": [ZK_CLI, "-server", server, "get", "/bench-kerberos"],
    }

    for name, command in tools.items():
        # Both must have logged in: the data is readable only by alice.
        if "hello" not in run(command, env=env).stdout.splitlines():
            raise RuntimeError(f"{name} did not read the znode with its Kerberos login")
    # The server's JIT warm and the files in the page cache for both, then batches of 5 interleaved.
    for _ in range(3):
        for command in tools.values():
            runstat(binary, command, 1, env)
    samples = {name: [] for name in tools}
    load_before = os.getloadavg()
    for _ in range(max(1, runs // 5)):
        for name, command in tools.items():
            samples[name] += runstat(binary, command, 5, env)
    load_after = os.getloadavg()
    log(f"  load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; {len(samples['zkcli'])} runs each")

    def median(name, index):
        return statistics.median(sample[index] for sample in samples[name])

    peer = "zkCli.sh (Java), Kerberos"
    table.add("kerberos", "`get` sasl-ACL znode wall (median)", median("zkcli", 0) * 1000,
              median("zkCli.sh", 0) * 1000, "ms", "lower", peer)
    table.add("kerberos", "`get` sasl-ACL znode CPU, user+sys (median)", median("zkcli", 1) * 1000,
              median("zkCli.sh", 1) * 1000, "ms", "lower", peer)
    table.add("kerberos", "`get` sasl-ACL znode peak RSS (median)", median("zkcli", 2) / 1024,
              median("zkCli.sh", 2) / 1024, "MB", "lower", peer)
    stop(apache.process)


def median_rates(samples):
    """Median ops/s per phase over several runs."""
    phases = set().union(*samples)
    return {phase: statistics.median(sample[phase] for sample in samples if phase in sample) for phase in phases}


def warm_up(bins, port):
    """A short load first, so that the JVM's JIT does not penalise whichever client runs first."""
    run([os.path.join(bins, "zkbench"), "--server", f"127.0.0.1:{port}", "--phases", "create", "set", "get",
         "delete", "--count", "20000", "--root", "/warmup"])


def client_section(table, bins, servers, classes, count, sessions, window, rounds, with_kazoo=True):
    """The clients' pipelined throughput and CPU per operation against each of `servers` (Apache's, and zkserver,
    where the server is less of a bottleneck and the clients' own costs show)."""
    for target in servers:
        log(f"client throughput against {target.name} (pipelined), and the load process's CPU per operation")
        server = f"127.0.0.1:{target.port}"
        against = "" if isinstance(target, Apache) else f", against {target.name}"
        phases = ["create", "set", "get", "delete"]
        warm_up(bins, target.port)
        commands = {
            "ours": [os.path.join(bins, "zkbench"), "--server", server, "--phases", *phases, "--count", str(count),
                     "--sessions", str(sessions), "--window", str(window)],
            "java": ["java", "-cp", f"{ZK_JAR}:{JUTE_JAR}:{classes}", "ZkLoad", server, str(count), "100",
                     str(sessions), str(window), *phases],
        }
        operations = {"ours": count * len(phases), "java": count * len(phases)}
        if with_kazoo:
            commands["kazoo"] = [sys.executable, os.path.join(BENCH, "kazoo_load.py"), server, str(count // 4), "100",
                                 str(window * 2), *phases]
            operations["kazoo"] = count // 4 * len(phases)
        rates = {name: [] for name in commands}
        cpu_per_op = {name: [] for name in commands}
        for _ in range(rounds):
            for name, command in commands.items():
                completed, cpu = run_with_cpu(command)
                rates[name].append(parse_rates(completed.stdout))
                # The whole process, start-up and connections included (for the JVM, its JIT and GC threads too).
                cpu_per_op[name].append(cpu / operations[name])
        ours = median_rates(rates["ours"])
        peers = [("java", "Java client")] + ([("kazoo", "kazoo")] if with_kazoo else [])
        for phase in phases:
            for key, peer_name in peers:
                peer = median_rates(rates[key])
                if phase in ours and phase in peer:
                    table.add("client", f"{phase} ops/s{against}", ours[phase], peer[phase], "ops/s", "higher",
                              peer_name)
        for key, peer_name in peers:
            table.add("client", f"CPU per op (load process user+sys / ops){against}",
                      statistics.median(cpu_per_op["ours"]) * 1e6, statistics.median(cpu_per_op[key]) * 1e6, "µs",
                      "lower", peer_name)


def fsync_floor(directory, samples=500):
    """p50 (ms) of writing one 140-byte record (a small write's transaction log entry) at the end of what is
    written so far in a file of `directory`, and waiting for it to reach the disk with fdatasync, as a server's
    group commit of one write does. The file is preallocated with zeros first, as both servers preallocate their
    logs, so that fdatasync need not also commit a new file size (appending to a growing file is slower: 0.24 vs
    0.11 ms on this machine, and zkserver's sync writes beat that)."""
    path = os.path.join(directory, "floor.log")
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    record = b"x" * 140
    times = []
    try:
        os.write(descriptor, bytes(len(record) * samples))
        os.fsync(descriptor)
        for index in range(samples):
            start = time.perf_counter()
            os.pwrite(descriptor, record, index * len(record))
            os.fdatasync(descriptor)
            times.append(time.perf_counter() - start)
    finally:
        os.close(descriptor)
        os.unlink(path)
    return statistics.median(times) * 1000


def round_trip_floor(samples=2000):
    """p50 (ms) of a loopback TCP round trip: a 40-byte request and a 100-byte reply (a get's sizes), TCP_NODELAY,
    blocking sockets in this process and a thread of it. No server work, no event loop: the network's share of a
    synchronous request, measured with less overhead than any client adds (a strict floor)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def echo():
        connection, _ = listener.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with connection:
            while True:
                request = connection.recv(4096)
                if not request:
                    return
                connection.sendall(b"r" * 100)

    server = threading.Thread(target=echo, daemon=True)
    server.start()
    client = socket.create_connection(listener.getsockname())
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    with client:
        for _ in range(samples):
            start = time.perf_counter()
            client.sendall(b"q" * 40)
            received = 0
            while received < 100:
                received += len(client.recv(4096))
            times.append(time.perf_counter() - start)
    server.join(timeout=5)
    listener.close()
    return statistics.median(times) * 1000


def on_cpu(command, cpu):
    """`command` run on `cpu` only (taskset), or as it is when `cpu` is None."""
    return command if cpu is None else ["taskset", "-c", str(cpu)] + command


def client_round_trip_floor(bins, samples, sync_directory=None, responder_cpu=None, client_cpu=None):
    """p50 (ms) of a synchronous getData through zkbench's own client (its event loop, channel, frame codec, session
    machine and the continuation that resumes the caller) against a responder thread of zkbench that answers each
    frame at once from blocking sockets (`zkbench round-trip`): the round trip as the load generator that measures
    the servers sees it, which the issue's goals are set against. The Python round trip stays beside it as the
    strict floor.

    With `sync_directory`, a synchronous write's floor: the responder writes a 140-byte record and calls fdatasync
    there before each reply (`--sync-directory`), the disk flushed once per request at the pace a synchronous
    client sets, as a server's group commit of one write does. A flush after such a gap is slower on this machine's
    virtual disk than one right after another (see BENCHMARKS.md), so the sum of a back-to-back fdatasync and a
    round trip is below what any server can reach."""
    command = [os.path.join(bins, "zkbench"), "round-trip", "--count", str(samples)]
    if sync_directory:
        command += ["--sync-directory", sync_directory]
    if responder_cpu is not None:
        command += ["--responder-cpu", str(responder_cpu)]
    command = on_cpu(command, client_cpu)
    phase = "write-floor" if sync_directory else "round-trip"
    out = run(command).stdout
    match = re.search(phase + r": .* p50 ([\d.]+) ms", out)
    if not match:
        raise RuntimeError(f"{' '.join(command[1:])} printed no p50: {out!r}")
    return float(match.group(1))


SYNC_PHASES = ["sync-create", "sync-set", "sync-get", "sync-delete"]


def sync_phases_output(bins, server, sync_count, client_cpu=None):
    """What zkbench prints for the synchronous phases against `server` (on `client_cpu` only, when given)."""
    command = [os.path.join(bins, "zkbench"), "--server", f"127.0.0.1:{server.port}", "--phases", *SYNC_PHASES,
               "--sync-count", str(sync_count)]
    return run(on_cpu(command, client_cpu)).stdout


def placed_sync_latency(bins, server, neighbour, sync_count):
    """Each server's synchronous p50s and their floors with every thread placed: the server on one CPU, the load
    generator on another, and the floors' responder on the server's CPU. On this 2-vCPU VM where the scheduler puts
    the threads of a synchronous exchange moves the floor itself by 2x (0.22-0.50 ms for the same write floor,
    BENCHMARKS.md): the disk's interrupt lands on one CPU, and a wake-up across CPUs costs tens of microseconds. The
    in-process responder of the unplaced floor and a server process are placed differently by the scheduler, so only
    a placed run compares like with like. Returns {server_cpu: {phase: (p50, floor)}}; empty with fewer than 2 CPUs
    or without taskset."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or not shutil.which("taskset"):
        return {}
    results = {}
    neighbour.process.send_signal(signal.SIGSTOP)
    try:
        for server_cpu, client_cpu in [(cpus[0], cpus[1]), (cpus[1], cpus[0])]:
            run(["taskset", "-a", "-p", "-c", str(server_cpu), str(server.process.pid)], check=True)
            try:
                os.sync()
                write_floor = client_round_trip_floor(bins, sync_count, sync_directory=server.dir,
                                                      responder_cpu=server_cpu, client_cpu=client_cpu)
                read_floor = client_round_trip_floor(bins, sync_count, responder_cpu=server_cpu,
                                                     client_cpu=client_cpu)
                out = sync_phases_output(bins, server, sync_count, client_cpu=client_cpu)
            finally:
                run(["taskset", "-a", "-p", "-c", ",".join(map(str, cpus)), str(server.process.pid)])
            results[server_cpu] = {phase: (p50, read_floor if phase == "sync-get" else write_floor)
                                   for phase, (p50, _) in parse_latency(out).items()}
    finally:
        neighbour.process.send_signal(signal.SIGCONT)
    return results


def server_section(table, bins, apache, zkserver, count, sync_count, sessions, window, rounds):
    log("server throughput and latency (same load generator, fsync on)")
    zkbench = os.path.join(bins, "zkbench")
    pipelined_phases = ["create", "set", "get", "delete"]
    warm_up(bins, apache.port)
    warm_up(bins, zkserver.port)
    rates = {apache.name: [], zkserver.name: []}
    latencies = {apache.name: [], zkserver.name: []}
    disks, write_floors = [], []
    for index in range(rounds):
        order = (apache, zkserver) if index % 2 == 0 else (zkserver, apache)
        for server in order:
            # Synchronous latency is the server's own: the other server is frozen meanwhile (SIGSTOP), and the
            # disk's writeback of the runs before is done, so that neither's background work (log preallocation,
            # snapshots, the JVM) lands inside the other's fdatasyncs.
            neighbour = apache if server is zkserver else zkserver
            neighbour.process.send_signal(signal.SIGSTOP)
            try:
                os.sync()
                disks.append(fsync_floor(server.dir, samples=200))
                write_floors.append(client_round_trip_floor(bins, sync_count, sync_directory=server.dir))
                out = sync_phases_output(bins, server, sync_count)
            finally:
                neighbour.process.send_signal(signal.SIGCONT)
            latencies[server.name].append(parse_latency(out))
            out = run([zkbench, "--server", f"127.0.0.1:{server.port}", "--phases", *pipelined_phases, "--count",
                       str(count), "--sessions", str(sessions), "--window", str(window)]).stdout
            rates[server.name].append(parse_rates(out))

    def median_latency(samples):
        return {phase: (statistics.median(s[phase][0] for s in samples if phase in s),
                        statistics.median(s[phase][1] for s in samples if phase in s))
                for phase in set().union(*samples)}

    ours_rates, peer_rates = median_rates(rates[zkserver.name]), median_rates(rates[apache.name])
    ours_latency, peer_latency = median_latency(latencies[zkserver.name]), median_latency(latencies[apache.name])
    for phase in ["create", "set", "get", "delete"]:
        if phase in ours_rates and phase in peer_rates:
            table.add("server", f"pipelined {phase}", ours_rates[phase], peer_rates[phase], "ops/s", "higher",
                      apache.name)
    for phase in SYNC_PHASES:
        if phase in ours_latency and phase in peer_latency:
            table.add("server", f"{phase} p50", ours_latency[phase][0], peer_latency[phase][0], "ms", "lower",
                      apache.name)
            table.add("server", f"{phase} p99", ours_latency[phase][1], peer_latency[phase][1], "ms", "lower",
                      apache.name)
    # The floor, in the same run. A read waits for one round trip, measured through zkbench's own client (the load
    # generator above) and, as the strict floor, between two blocking Python sockets. A write also waits for one
    # fdatasync: its floor is zkbench's client against a responder that writes a record and fdatasyncs it before
    # each reply (the disk flushed once per request, as the servers' group commit of one write flushes it), measured
    # just before each synchronous run in the same directory. "advantage" is floor / p50: at least 1/1.3 for writes
    # and 1/1.5 for reads against the first floor are issue 17's goals. Beside it, the sum of its parts: the median
    # back-to-back fdatasync plus the round trip, which no request-response server reaches here, because this
    # machine's virtual disk flushes faster when flushes follow one another without a gap.
    disk, network = statistics.median(disks), round_trip_floor()
    client_network = client_round_trip_floor(bins, sync_count)
    write_floor = statistics.median(write_floors)
    log(f"  latency floor: 140-byte write + fdatasync p50 {disk:.3f} ms back to back, loopback round trip p50 "
        f"{client_network:.3f} ms through zkbench's client ({network:.3f} ms between Python sockets), a write with "
        f"its fdatasync through zkbench's client {write_floor:.3f} ms")
    for server, latency in [(zkserver, ours_latency), (apache, peer_latency)]:
        for phase in SYNC_PHASES:
            if phase not in latency:
                continue
            p50 = latency[phase][0]
            if phase == "sync-get":
                table.add("server", f"{server.name} {phase} p50 vs its floor", p50, client_network, "ms", "lower",
                          "floor: round trip (zkbench's client)")
                table.add("server", f"{server.name} {phase} p50 vs the strict floor", p50, network, "ms", "lower",
                          "strict floor: round trip (Python sockets)")
                continue
            table.add("server", f"{server.name} {phase} p50 vs its floor", p50, write_floor, "ms", "lower",
                      "floor: round trip with a 140-byte write + fdatasync (zkbench's client)")
            table.add("server", f"{server.name} {phase} p50 vs the sum of its parts", p50, disk + client_network,
                      "ms", "lower", "back-to-back fdatasync + round trip (zkbench's client)")
            table.add("server", f"{server.name} {phase} p50 vs the strict floor", p50, disk + network, "ms",
                      "lower", "strict floor: back-to-back fdatasync + round trip (Python sockets)")
    # The same exchanges with every thread placed (server and responder on one CPU, the load generator on the other),
    # both ways round: the like-for-like comparison on a machine whose scheduler moves the floor itself.
    for server, neighbour in [(zkserver, apache), (apache, zkserver)]:
        placed = placed_sync_latency(bins, server, neighbour, sync_count)
        for server_cpu, phases in placed.items():
            for phase in SYNC_PHASES:
                if phase not in phases:
                    continue
                p50, floor = phases[phase]
                kind = "round trip" if phase == "sync-get" else "round trip with a 140-byte write + fdatasync"
                table.add("server", f"{server.name} {phase} p50 vs its floor, server on CPU {server_cpu}", p50,
                          floor, "ms", "lower", f"floor: {kind}, responder on CPU {server_cpu}, client on the other")


def median_startup(make_server, workdir, starts):
    """Median seconds from exec to serving, each start with a new, empty data directory."""
    samples = []
    for index in range(starts):
        server = make_server(os.path.join(workdir, f"start-{index}"))
        process = server.start()
        samples.append(wait_serving(server.port, 1))
        stop(process)
    return statistics.median(samples)


def footprint_section(table, bins, workdir, znodes, starts):
    log(f"server footprint (start-up, idle RSS, RSS per znode at {znodes} znodes, recovery after SIGKILL)")
    zkbench = os.path.join(bins, "zkbench")
    makers = {
        Apache.name: lambda directory: Apache(directory),
        ZKServer.name: lambda directory: ZKServer(directory, os.path.join(bins, "zkserver")),
    }
    figures = {}
    for name, make_server in makers.items():
        startup = median_startup(make_server, os.path.join(workdir, "fp-" + name.split()[0]), starts)
        server = make_server(os.path.join(workdir, "fp"))
        process = server.start()
        wait_serving(server.port, 1)
        time.sleep(1.0)  # let the JVM's start-up allocation settle before reading idle RSS
        idle = rss_kib(process.pid)
        empty_nodes = node_count(server.port)
        subprocess.run([zkbench, "--server", f"127.0.0.1:{server.port}", "--phases", "create", "--count", str(znodes),
                        "--keep", "--root", "/fp"], check=True, stdout=subprocess.DEVNULL)
        loaded = rss_kib(process.pid)
        total = node_count(server.port)
        stop(process, signal.SIGKILL)
        restarted = server.start()
        recovery = wait_serving(server.port, total)
        stop(restarted)
        figures[name] = dict(startup=startup, idle=idle, per_znode=(loaded - idle) * 1024 / znodes,
                             recovery=recovery, nodes=total - empty_nodes)
    ours, peer = figures[ZKServer.name], figures[Apache.name]
    table.add("footprint", f"start-up to serving (median of {starts})", ours["startup"] * 1000,
              peer["startup"] * 1000, "ms", "lower", Apache.name)
    table.add("footprint", "idle RSS", ours["idle"] / 1024, peer["idle"] / 1024, "MB", "lower", Apache.name)
    table.add("footprint", f"RSS per znode ({znodes} x 100 B)", ours["per_znode"], peer["per_znode"], "B", "lower",
              Apache.name)
    table.add("footprint", f"recovery after SIGKILL ({znodes} znodes)", ours["recovery"] * 1000,
              peer["recovery"] * 1000, "ms", "lower", Apache.name)


def herd_run(zkbench, server, sessions, processes, watches, rounds, extra_arguments=()):
    """`zkbench herd` against `server` (started, restarted and stopped by zkbench); its JSON lines by phase."""
    command = [zkbench, "herd", "--server", f"127.0.0.1:{server.port}", "--sessions", str(sessions),
               "--processes", str(processes), "--watches", str(watches), "--rounds", str(rounds), "--stop", "kill",
               *extra_arguments,
               "--server-directory", server.dir, "--server-log", os.path.join(server.dir, "server.log"), "--",
               *server.command()]
    # Followed line by line, so that each round shows as it ends; stderr (worker errors) goes to ours.
    lines = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        for text in process.stdout:
            if not text.startswith("{"):
                continue
            line = json.loads(text)
            lines.append(line)
            if line["phase"] == "round":
                log(f"    round {line['round']}: {line['resumed']}/{line['sessions']} resumed, start "
                    f"{line['start_seconds']:.2f} s, storm {line['storm_seconds']:.2f} s, "
                    f"RSS {line['rss_kib'] / 1024:.0f} MB, {line['fds']} fds")
            elif line["phase"] != "summary":
                log(f"    {text.strip()}")
        returncode = process.wait(timeout=60)
    summary = next((line for line in lines if line["phase"] == "summary"), None)
    if summary is None:
        raise RuntimeError(f"herd against {server.name} ended without a summary (exit {returncode})")
    if not summary["ok"]:
        log(f"  {server.name}: NOT every session resumed with its ephemeral and watches (see the rounds above)")
    return summary


def herd_section(table, bins, workdir, sessions, processes, watches, rounds):
    log(f"herd: {sessions} sessions over {processes} processes, {watches} watches each, {rounds} SIGKILL restarts")
    zkbench = os.path.join(bins, "zkbench")
    summaries = {}
    for server in (ZKServer(os.path.join(workdir, "herd"), os.path.join(bins, "zkserver")),
                   Apache(os.path.join(workdir, "herd"))):
        log(f"  {server.name}")
        summaries[server.name] = herd_run(zkbench, server, sessions, processes, watches, rounds)
    ours, peer = summaries[ZKServer.name], summaries[Apache.name]
    table.add("herd", f"RSS per session ({sessions} sessions, 1 ephemeral each)", ours["rss_bytes_per_session"],
              peer["rss_bytes_per_session"], "B", "lower", Apache.name)
    table.add("herd", f"RSS per watch ({sessions * watches} watches)", ours["rss_bytes_per_watch"],
              peer["rss_bytes_per_watch"], "B", "lower", Apache.name)
    table.add("herd", f"reconnect storm, serving to all resumed (median of {rounds})", ours["storm_seconds_median"],
              peer["storm_seconds_median"], "s", "lower", Apache.name)
    for name, summary in summaries.items():
        log(f"  {name}: after {rounds} rounds RSS {summary['rss_kib_first'] / 1024:.0f} -> "
            f"{summary['rss_kib_last'] / 1024:.0f} MB (within 5 %: {summary['rss_within_5_percent']}), fds "
            f"{summary['fds_first']} -> {summary['fds_last']} (within 5 %: {summary['fds_within_5_percent']})")
        table.add("herd", f"{name}: RSS after round {rounds} / round 1", summary["rss_kib_last"] / 1024,
                  summary["rss_kib_first"] / 1024, "MB", "lower", "its round 1")
        table.add("herd", f"{name}: open fds after round {rounds} / round 1", summary["fds_last"],
                  summary["fds_first"], "fds", "lower", "its round 1")


# The scale section (issue 17 point 4): how each cost grows with the znodes, sessions and watches a server holds.
# Apache runs with a larger heap here than in the other sections: 2,000,000 znodes do not fit in -Xmx1000m.
SCALE_APACHE_HEAP = "-Xmx6g"
# snapCount while nothing should snapshot, and while snapshots should follow each other (Apache snapshots after
# snapCount/2 + a random part of snapCount/2 transactions, zkserver after exactly snapCount; either skips a
# snapshot that would start while one is still being written).
SCALE_QUIET_SNAP_COUNT = 100_000_000
SCALE_BUSY_SNAP_COUNT = 1000


class ScaleApache(Apache):
    """Apache standalone with the scale section's heap and a snapCount (`set_snap_count` rewrites it)."""

    def __init__(self, workdir, snap_count=SCALE_QUIET_SNAP_COUNT):
        self.extra_configuration = f"admin.enableServer=false\nsnapCount={snap_count}\n"
        super().__init__(workdir)

    def command(self):
        return ["java", SCALE_APACHE_HEAP, "-cp", ZK_JAR, "org.apache.zookeeper.server.ZooKeeperServerMain",
                "zoo.cfg"]


class ScaleZKServer(ZKServer):
    def __init__(self, workdir, binary, snap_count=SCALE_QUIET_SNAP_COUNT):
        self.extra_configuration = f"admin.enableServer=false\nsnapCount={snap_count}\n"
        super().__init__(workdir, binary)


def set_snap_count(server, snap_count):
    """Rewrites the snapCount of `server`'s zoo.cfg (read at its next start)."""
    path = os.path.join(server.dir, "zoo.cfg")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(re.sub(r"(?m)^snapCount=\d+$", f"snapCount={snap_count}", text))


def mntr(port):
    """The numeric lines of `mntr` as a dict."""
    values = {}
    for line in (four_letter_word(port, "mntr") or "").splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            try:
                values[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return values


def scale_sizes(text, option):
    try:
        sizes = sorted({int(float(word)) for word in text.split(",") if word.strip()})
    except ValueError:
        sys.exit(f"{option} takes sizes separated by commas (e.g. 10000,100000), not {text!r}")
    if any(size <= 0 for size in sizes):
        sys.exit(f"{option} takes positive sizes, not {text!r}")
    return sizes


def scale_sync_writes(zkbench, port, root, sync_count):
    """p99 (ms) of `sync_count` synchronous sets on one session, over nodes created first (their creates are
    synchronous writes too, so the run is 2 x sync_count transactions)."""
    out = run([zkbench, "--server", f"127.0.0.1:{port}", "--root", root, "--phases", "sync-create", "sync-set",
               "--sync-count", str(sync_count), "--keep"], check=True).stdout
    return parse_latency(out)["sync-set"][1]


def scale_znodes_point(zkbench, server, size, sync_count):
    """One server at `size` znodes of 100 B: RSS per znode, recovery after SIGKILL (from the log alone, and from a
    snapshot and the log after it), snapshot time and the p99 of sync writes with snapshots following each other
    and with none."""
    process = server.start()
    wait_serving(server.port, 1)
    time.sleep(1.0)  # the JVM's start-up allocation settles before the empty RSS is read
    empty = rss_kib(process.pid)
    before = node_count(server.port)
    fanout = [max(1, size // 1000), min(size, 1000)]
    out = run([zkbench, "tree", "--server", f"127.0.0.1:{server.port}", "--root", "/scale", "--value-size", "100",
               "--fanout", *map(str, fanout)], check=True).stdout
    built = json.loads(out.strip().splitlines()[-1])
    # As before the empty reading: the build's sessions end as zkbench exits, and the server is still closing
    # their connections (freeing their buffers) when it has exited; read RSS once that is over.
    time.sleep(1.0)
    loaded = rss_kib(process.pid)
    total = node_count(server.port)
    figures = dict(znodes=total - before, build_seconds=built["seconds"],
                   rss_per_znode=(loaded - empty) * 1024 / (total - before))

    # Recovery from the log alone (no snapshot was due while the tree was built), into a server that then
    # snapshots every SCALE_BUSY_SNAP_COUNT transactions while one session writes.
    stop(process, signal.SIGKILL)
    set_snap_count(server, SCALE_BUSY_SNAP_COUNT)
    process = server.start()
    figures["recovery_log"] = wait_serving(server.port, total)
    counters = mntr(server.port)
    figures["p99_snapshots"] = scale_sync_writes(zkbench, server.port, "/scale-w1", sync_count)
    after = mntr(server.port)
    snapshots = after.get("zk_cnt_snapshottime", 0) - counters.get("zk_cnt_snapshottime", 0)
    figures["snapshots"] = snapshots
    figures["snapshot_ms"] = ((after.get("zk_sum_snapshottime", 0) - counters.get("zk_sum_snapshottime", 0))
                              / snapshots if snapshots else float("nan"))

    # Recovery from the newest snapshot and the log after it; then the same writes with no snapshot due.
    total = node_count(server.port)
    stop(process, signal.SIGKILL)
    set_snap_count(server, SCALE_QUIET_SNAP_COUNT)
    process = server.start()
    figures["recovery"] = wait_serving(server.port, total)
    figures["p99_quiet"] = scale_sync_writes(zkbench, server.port, "/scale-w2", sync_count)
    stop(process)
    log(f"    {server.name}, {figures['znodes']} znodes: built in {built['seconds']:.1f} s, "
        f"{figures['rss_per_znode']:.0f} B RSS a znode, recovery {figures['recovery'] * 1000:.0f} ms "
        f"(log only {figures['recovery_log'] * 1000:.0f} ms), {snapshots:.0f} snapshots of "
        f"{figures['snapshot_ms']:.0f} ms, sync set p99 {figures['p99_snapshots']:.2f} ms with snapshots, "
        f"{figures['p99_quiet']:.2f} ms without")
    return figures


def scale_sessions_point(zkbench, server, sessions, idle_seconds):
    """`zkbench herd` with `sessions` sessions, one ephemeral and one watch each: RSS per session, the server's
    CPU while they only ping, and one reconnect storm after a SIGKILL."""
    processes = 1 if sessions <= 500 else 2 if sessions <= 5000 else 4
    # Sessions retry every 100 ms at most (the client's default pause is up to 1 s): the storm then measures how
    # fast the server takes them back, not how long the clients wait before they try.
    summary = herd_run(zkbench, server, sessions, processes, 1, 1,
                       extra_arguments=["--idle-seconds", str(idle_seconds), "--reconnect-delay", "100"])
    figures = dict(rss_per_session=summary["rss_bytes_per_session"], idle_cpu=summary["idle_cpu_percent"],
                   storm=summary["storm_seconds_median"], ok=summary["ok"])
    log(f"    {server.name}, {sessions} sessions: {figures['rss_per_session']:.0f} B RSS a session, idle CPU "
        f"{figures['idle_cpu']:.2f} % of a core, storm {figures['storm']:.2f} s")
    return figures


def scale_watches_point(zkbench, server, watches):
    """`zkbench fire`: up to 100,000 ephemerals of one session, watched by enough sessions to hold `watches`
    exists watches; RSS per watch, and the time from the owner's close (one transaction) to the last event."""
    nodes = min(watches, 100_000)
    process = server.start()
    wait_serving(server.port, 1)
    out = run([zkbench, "fire", "--server", f"127.0.0.1:{server.port}", "--nodes", str(nodes), "--watchers",
               str(max(1, watches // nodes)), "--server-pid", str(process.pid)], check=True).stdout
    stop(process)
    result = json.loads(out.strip().splitlines()[-1])
    figures = dict(watches=result["watches"], rss_per_watch=result["rss_bytes_per_watch"],
                   fire=result["fire_seconds"], set=result["set_seconds"])
    log(f"    {server.name}, {result['watches']} watches on {nodes} ephemerals: {figures['rss_per_watch']:.0f} B "
        f"RSS a watch, set in {figures['set']:.1f} s, all fired {figures['fire']:.2f} s after the close")
    return figures


def scale_reads_point(zkbench, server, runs):
    """p50 and p99 (ms) of getChildren of a znode with 100,000 children, and of getData of 1,000,000 bytes (under
    the 1 MB jute.maxbuffer both sides default to)."""
    process = server.start()
    wait_serving(server.port, 1)
    port = f"127.0.0.1:{server.port}"
    children = parse_latency(run([zkbench, "--server", port, "--root", "/scale-children", "--phases", "create",
                                  "sync-children", "--count", "100000", "--sync-count", str(runs), "--keep"],
                                 check=True).stdout)["sync-children"]
    data = parse_latency(run([zkbench, "--server", port, "--root", "/scale-data", "--phases", "sync-create",
                              "sync-get", "--value-size", "1000000", "--sync-count", str(runs), "--keep"],
                             check=True).stdout)["sync-get"]
    stop(process)
    log(f"    {server.name}: getChildren of 100,000 p50 {children[0]:.2f} ms p99 {children[1]:.2f} ms, 1 MB getData "
        f"p50 {data[0]:.2f} ms p99 {data[1]:.2f} ms")
    return dict(children=children, data=data)


def scale_plot(directory, name, title, ylabel, curves, xlabel):
    """One PNG: each curve {label: [(x, y)]} on log x, ours and Apache's on the same axes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    figure, axes = pyplot.subplots(figsize=(6.4, 4.0), dpi=100)
    styles = {"zkserver": dict(color="tab:blue", marker="o"), "Apache": dict(color="tab:red", marker="s")}
    for label, points in curves.items():
        points = [(x, y) for x, y in points if y == y]  # NaN: not measured
        if not points:
            continue
        style = dict(styles["zkserver" if label.startswith("zkserver") else "Apache"])
        if label.endswith(("without", "(log only)")):
            style["linestyle"] = "--"
            style["marker"] = "^"
        axes.plot([x for x, _ in points], [y for _, y in points], label=label, **style)
    axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    # Curves an order of magnitude or more apart (a JVM heap beside native memory) on a log y axis, so that
    # the lower one's growth shows too.
    values = [y for points in curves.values() for _, y in points if y == y and y > 0]
    if values and max(values) / min(values) > 10:
        axes.set_yscale("log")
    else:
        axes.set_ylim(bottom=0)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path = os.path.join(directory, f"scale-{name}.png")
    figure.savefig(path)
    pyplot.close(figure)
    log(f"  plot: {os.path.relpath(path, ROOT)}")


def load_scale_results(path):
    """The points a previous run saved in `path` ({family: {server: {size: figures}}}), or none."""
    results = {"znodes": {}, "sessions": {}, "watches": {}}
    if path and os.path.exists(path):
        with open(path) as f:
            saved = json.load(f)
        for family, servers in saved.items():
            for name, points in servers.items():
                results.setdefault(family, {})[name] = {int(size): figures for size, figures in points.items()}
    return results


def scale_section(table, bins, workdir, znode_sizes, session_sizes, watch_sizes, sync_count, idle_seconds,
                  plot_directory, results_path):
    log(f"scale: znodes {znode_sizes}, sessions {session_sizes}, watches {watch_sizes}; Apache with "
        f"{SCALE_APACHE_HEAP}; load average {os.getloadavg()[0]:.1f}")
    zkbench = os.path.join(bins, "zkbench")
    zkserver_binary = os.path.join(bins, "zkserver")
    names = (ZKServer.name, Apache.name)
    # Each point is saved as soon as it is measured: a long run stopped half-way keeps what it measured, and
    # runs at different sizes add up to one set of curves.
    results = load_scale_results(results_path)

    def save():
        if results_path:
            with open(results_path, "w") as f:
                json.dump(results, f, indent=1, sort_keys=True)

    counter = iter(range(1_000_000))

    def servers():
        """A fresh zkserver and Apache, each in a directory of its own."""
        index = next(counter)
        return (ScaleZKServer(os.path.join(workdir, f"scale-{index}"), zkserver_binary),
                ScaleApache(os.path.join(workdir, f"scale-{index}")))

    for size in znode_sizes:
        log(f"  {size} znodes")
        for server in servers():
            results["znodes"].setdefault(server.name, {})[size] = scale_znodes_point(zkbench, server, size, sync_count)
            save()
    for sessions in session_sizes:
        log(f"  {sessions} sessions")
        for server in servers():
            results["sessions"].setdefault(server.name, {})[sessions] = scale_sessions_point(
                zkbench, server, sessions, idle_seconds)
            save()
    for watches in watch_sizes:
        log(f"  {watches} watches")
        for server in servers():
            results["watches"].setdefault(server.name, {})[watches] = scale_watches_point(zkbench, server, watches)
            save()
    # No sizes at all: only the plots, from --scale-results.
    measuring = bool(znode_sizes or session_sizes or watch_sizes)
    if measuring:
        log("  big reads")
        reads = {server.name: scale_reads_point(zkbench, server, 30) for server in servers()}

    ours, peer = (results["znodes"].get(name, {}) for name in names)
    for size in znode_sizes:
        label = f"{size} znodes"
        table.add("scale", f"RSS per znode ({label} x 100 B)", ours[size]["rss_per_znode"],
                  peer[size]["rss_per_znode"], "B", "lower", Apache.name)
        table.add("scale", f"recovery after SIGKILL, snapshot + log ({label})", ours[size]["recovery"] * 1000,
                  peer[size]["recovery"] * 1000, "ms", "lower", Apache.name)
        table.add("scale", f"recovery after SIGKILL, log only ({label})", ours[size]["recovery_log"] * 1000,
                  peer[size]["recovery_log"] * 1000, "ms", "lower", Apache.name)
        table.add("scale", f"snapshot time, mean ({label}; {ours[size]['snapshots']:.0f} and "
                  f"{peer[size]['snapshots']:.0f} snapshots)", ours[size]["snapshot_ms"], peer[size]["snapshot_ms"],
                  "ms", "lower", Apache.name)
        table.add("scale", f"sync set p99 with snapshots following each other ({label})",
                  ours[size]["p99_snapshots"], peer[size]["p99_snapshots"], "ms", "lower", Apache.name)
        table.add("scale", f"sync set p99 with no snapshot ({label})", ours[size]["p99_quiet"],
                  peer[size]["p99_quiet"], "ms", "lower", Apache.name)
    ours, peer = (results["sessions"].get(name, {}) for name in names)
    for sessions in session_sizes:
        label = f"{sessions} sessions, 1 ephemeral + 1 watch each"
        table.add("scale", f"RSS per session ({label})", ours[sessions]["rss_per_session"],
                  peer[sessions]["rss_per_session"], "B", "lower", Apache.name)
        table.add("scale", f"server CPU while idle, % of a core, {idle_seconds} s ({label})",
                  ours[sessions]["idle_cpu"], peer[sessions]["idle_cpu"], "%", "lower", Apache.name)
        table.add("scale", f"reconnect storm after SIGKILL ({label})", ours[sessions]["storm"],
                  peer[sessions]["storm"], "s", "lower", Apache.name)
    ours, peer = (results["watches"].get(name, {}) for name in names)
    for watches in watch_sizes:
        table.add("scale", f"RSS per watch ({watches} exists watches)", ours[watches]["rss_per_watch"],
                  peer[watches]["rss_per_watch"], "B", "lower", Apache.name)
        table.add("scale", f"all {watches} watches fired by one closeSession", ours[watches]["fire"] * 1000,
                  peer[watches]["fire"] * 1000, "ms", "lower", Apache.name)
    for key, label in (("children", "getChildren of 100,000 children"), ("data", "getData of 1,000,000 B")):
        for index, quantile in ((0, "p50"), (1, "p99")):
            if measuring:
                table.add("scale", f"{label} {quantile}", reads[ZKServer.name][key][index],
                          reads[Apache.name][key][index], "ms", "lower", Apache.name)
    log(f"scale: load average at the end {os.getloadavg()[0]:.1f}")

    if not plot_directory:
        return
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log(f"scale: matplotlib is missing for {sys.executable} (Debian's python3-matplotlib, `make bench-deps`, is "
            "for /usr/bin/python3): no plots")
        return
    os.makedirs(plot_directory, exist_ok=True)

    def curves(family, key, scale=1.0, labels=None):
        return {f"{name.split()[0] if name == ZKServer.name else 'Apache 3.8'}{labels or ''}":
                sorted((size, point[key] * scale) for size, point in results[family].get(name, {}).items())
                for name in names}

    def both(family, first, second, first_label, second_label, scale=1.0):
        joined = curves(family, first, scale, f" {first_label}")
        joined.update(curves(family, second, scale, f" {second_label}"))
        return joined

    if any(results["znodes"].values()):
        scale_plot(plot_directory, "rss-per-znode", "RSS per znode (100 B of data)", "bytes",
                   curves("znodes", "rss_per_znode"), "znodes")
        scale_plot(plot_directory, "recovery", "Recovery after SIGKILL: exec to serving", "ms",
                   both("znodes", "recovery", "recovery_log", "(snapshot + log)", "(log only)", 1000), "znodes")
        scale_plot(plot_directory, "snapshot", "Time to write one snapshot (mean)", "ms",
                   curves("znodes", "snapshot_ms"), "znodes")
        scale_plot(plot_directory, "write-p99", "Sync set p99 with snapshots following each other, and without",
                   "ms", both("znodes", "p99_snapshots", "p99_quiet", "with snapshots", "without"), "znodes")
    if any(results["sessions"].values()):
        scale_plot(plot_directory, "rss-per-session", "RSS per session (1 ephemeral + 1 watch)", "bytes",
                   curves("sessions", "rss_per_session"), "sessions")
        scale_plot(plot_directory, "idle-cpu", f"Server CPU, idle sessions pinging ({idle_seconds} s)",
                   "% of one core", curves("sessions", "idle_cpu"), "sessions")
        scale_plot(plot_directory, "storm", "Reconnect storm after SIGKILL: serving to all resumed", "s",
                   curves("sessions", "storm"), "sessions")
    if any(results["watches"].values()):
        scale_plot(plot_directory, "rss-per-watch", "RSS per exists watch", "bytes",
                   curves("watches", "rss_per_watch"), "watches")
        scale_plot(plot_directory, "fire", "All watches fired by one closeSession", "ms",
                   curves("watches", "fire", 1000), "watches")


def zk_shell_command():
    """zk-shell's script: on the PATH, or where `pip install --user` puts it."""
    found = shutil.which("zk-shell")
    if found:
        return found
    import site
    candidate = os.path.join(site.getuserbase(), "bin", "zk-shell")
    return candidate if os.access(candidate, os.X_OK) else None


def measured_child(command, output, env=None, timeout=None):
    """(wall s, CPU s user+sys, peak RSS KiB, exit status) of one command, its stdout written to the file `output`
    and its stderr to `output`.err; exit status None when it was stopped at `timeout` seconds (the whole process
    group: zkCli.sh's JVM and zk-shell's Python are children of GNU time)."""
    with tempfile.NamedTemporaryFile("r") as report, open(output, "wb") as out, open(output + ".err", "wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen([TIME, "-o", report.name, "-f", "%x %U %S %M", *command], stdout=out,
                                   stderr=err, env=env, start_new_session=True)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return time.perf_counter() - start, None, None, None
        wall = time.perf_counter() - start
        status, user, system, peak = report.read().split()[-4:]
    return wall, float(user) + float(system), int(peak), int(status)


def bigtree_fanout(size):
    """Children per level for a tree of about `size` znodes in 3 levels: 100 x 100 leaves under each top znode
    from 10,000 up (100,000: 10 x 100 x 100), a cube below."""
    if size >= 10000:
        return [max(1, round(size / 10000)), 100, 100]
    side = max(1, round(size ** (1 / 3)))
    return [side, side, side]


def build_tree(bins, port, root, fanout):
    """The tree, built by zkbench (pipelined creates), never by a shell being measured; the znodes in it."""
    out = run([os.path.join(bins, "zkbench"), "tree", "--server", f"127.0.0.1:{port}", "--root", root,
               "--fanout", *map(str, fanout)], check=True).stdout
    built = json.loads(out.strip().splitlines()[-1])
    log(f"  built {root}: {built['znodes']} znodes ({' x '.join(map(str, fanout))}) in {built['seconds']:.1f} s")
    return built["znodes"]


def zk_shell_bytes(size):
    """`du` as zk-shell prints a size (its util.pretty_bytes)."""
    value = float(size)
    for unit in ["", "KB", "MB", "GB"]:
        if value < 1024.0:
            return "%d" % value if unit == "" else "%3.1f%s" % (value, unit)
        value /= 1024.0
    return "%3.1f%s" % (value, "TB")


def bigtree_section(table, bins, apache, workdir, size, export_size, timeout, zk_shell):
    if size == 0:
        if export_size:
            bigtree_export(table, bins, workdir, export_size)
        return
    fanout = bigtree_fanout(size)
    log(f"big tree: about {size} znodes on {apache.name}: zkcli vs zkCli.sh and zk-shell, one run each, interleaved")
    server = f"127.0.0.1:{apache.port}"
    zkcli = os.path.join(bins, "zkcli")
    env = dict(os.environ, ZOO_LOG_DIR=tempfile.mkdtemp(prefix="zkcli-log-"))
    directory = os.path.join(workdir, "bigtree")
    os.makedirs(directory, exist_ok=True)
    root, value_size = "/bigtree", 20
    znodes = build_tree(bins, apache.port, root, fanout)
    tools = {
        "zkcli": lambda words: [zkcli, "-server", server, *words],
        "zkCli.sh": lambda words: [ZK_CLI, "-server", server, *words],
        # zk-shell takes the command as one argument, then the server.
        "zk-shell": lambda words: [zk_shell, "--run-once", " ".join(words), server],
    }
    # An earlier zkcli to time beside this one, each command run by both against the same server one after the
    # other (ZKCLI_BIGTREE_BEFORE=path/to/zkcli): a before/after of a change on a loaded machine.
    before = os.environ.get("ZKCLI_BIGTREE_BEFORE")
    if before:
        tools["zkcli before"] = lambda words: [before, "-server", server, *words]

    def zkcli_run(*words, check=True):
        completed = run(tools["zkcli"](words))
        if check and completed.returncode != 0:
            raise RuntimeError(f"zkcli {' '.join(words)}: {completed.stderr.strip()}")
        return completed.stdout

    def subtree_size(path):
        """Znodes in the subtree of `path` (itself included), 0 when it does not exist."""
        completed = run(tools["zkcli"](["getAllChildrenNumber", path]))
        return int(completed.stdout.strip()) + 1 if completed.returncode == 0 else 0

    def lines(output, predicate):
        with open(output, encoding="utf-8", errors="replace") as f:
            return sum(1 for line in f if predicate(line.rstrip("\n")))

    def under_root(line):
        return line == root or line.startswith(root + "/")

    zkshell_json = os.path.join(directory, "zk-shell.json")
    zkcli_export = os.path.join(directory, "zkcli.jsonl")
    json_url = "json://" + zkshell_json.replace("/", "!") + "/"

    def exported(tool, output):
        if tool.startswith("zkcli"):
            return lines(zkcli_export, bool) - 1  # the header
        with open(zkshell_json) as f:
            return len(json.load(f))

    def zk_shell_json_from_export():
        """zk-shell's JSON backup (a flat object: path below the root -> base64 content and ACLs), written from zkcli's
        export when zk-shell's own did not finish, so that zk-shell's import has the same tree to read."""
        bits = {"r": 1, "w": 2, "c": 4, "d": 8, "a": 16}
        tree = {}
        with open(zkcli_export) as f:
            next(f)  # the header
            for line in f:
                znode = json.loads(line)
                below = znode["path"][len(root):] or "/"
                tree[below] = {"content": znode["data"], "acls": [
                    {"perms": sum(bits[p] for p in acl["perms"]), "id": {"scheme": acl["scheme"], "id": acl["id"]}}
                    for acl in znode["acl"]]}
        with open(zkshell_json, "w") as f:
            json.dump(tree, f, indent=4)

    def copied(path):
        def count(tool, output):
            found = subtree_size(path)
            zkcli_run("deleteall", path, check=False)
            return found
        return count

    # What each tool runs (None: it has no such command), what it must run with (the status it exits with), and
    # how its result is counted, the same way for every tool.
    commands = [
        ("ls -R", {"zkcli": ["ls", "-R", root], "zkCli.sh": ["ls", "-R", root]},
         lambda tool, output: lines(output, under_root)),
        ("tree", {"zkcli": ["tree", root], "zk-shell": ["tree", root]},
         lambda tool, output: lines(output, lambda line: "── " in line)),
        ("find (leaves by name)", {"zkcli": ["find", root, "-name", "leaf-*"], "zk-shell": ["find", root, "leaf-"]},
         lambda tool, output: lines(output, lambda line: line.startswith(root + "/"))),
        ("du (total bytes)", {"zkcli": ["du", "-d", "0", root], "zk-shell": ["du", root]},
         lambda tool, output: (zk_shell_bytes(int(open(output).read().split()[0])) if tool.startswith("zkcli")
                               else open(output).read().strip())),
        ("export (to a file)", {"zkcli": ["export", "-r", root, zkcli_export],
                                "zk-shell": ["cp", root, json_url, "true", "true", "true"]}, exported),
        ("import (from that file)", {"zkcli": ["import", zkcli_export, "/bigtree-import"],
                                     "zk-shell": ["cp", json_url, "/bigtree-import", "true", "true", "true"]},
         copied("/bigtree-import")),
        ("cp -r", {"zkcli": ["cp", "-r", root, "/bigtree-copy"],
                   "zk-shell": ["cp", root, "/bigtree-copy", "true", "true", "true"]}, copied("/bigtree-copy")),
        ("diff -r (4 differences)", {"zkcli": ["diff", "-r", root, "/bigtree-diff"],
                                     "zk-shell": ["diff", root, "/bigtree-diff"]},
         lambda tool, output: lines(output, lambda line: re.match(r"(--|\+\+|-\+|[-+~]) ", line) is not None)),
    ]
    # Untimed first runs, so that every tool is measured with its files in the page cache.
    for tool in tools.values():
        run(tool(["ls", "/"]))
    for label, per_tool, count in commands:
        if label.startswith("diff"):
            # The copy to compare with: a copy of the tree made by zkbench's twin (same shape, same data), with
            # two values changed, one leaf gone and one added.
            build_tree(bins, apache.port, "/bigtree-diff", fanout)
            leaf = "/" + "/".join(f"d{level + 1}-0" for level in range(len(fanout) - 1))
            zkcli_run("set", f"/bigtree-diff{leaf}/leaf-0", "changed")
            zkcli_run("set", f"/bigtree-diff{leaf}/leaf-1", "changed")
            zkcli_run("delete", f"/bigtree-diff{leaf}/leaf-2")
            zkcli_run("create", f"/bigtree-diff{leaf}/added", "new")
        if label.startswith("import") and zk_shell is not None and not os.path.exists(zkshell_json):
            log("  zk-shell's export did not finish: its import reads zkcli's export, written as zk-shell's JSON")
            zk_shell_json_from_export()
        figures = {}
        if before:
            per_tool = {"zkcli": per_tool["zkcli"], "zkcli before": per_tool["zkcli"], **per_tool}
        for tool, words in per_tool.items():
            if tool == "zk-shell" and zk_shell is None:
                continue
            output = os.path.join(directory, f"{tool}.out")
            command = tools[tool](words)
            # Only the peers are stopped at the timeout: zkcli's figures are the ones compared. Apache's count of
            # packets received, before and after: the requests the tool sent (nothing else talks to this server).
            received = mntr(apache.port).get("zk_packets_received")
            wall, cpu, peak, status = measured_child(command, output, env if tool == "zkCli.sh" else None,
                                                     None if tool == "zkcli" else timeout)
            received_after = mntr(apache.port).get("zk_packets_received")
            requests = (received_after - received) / znodes if received is not None and received_after else None
            if status is None:
                log(f"  {label}: {tool} stopped after {timeout} s")
                figures[tool] = (wall, None, None, None, None)
                continue
            if status not in (0, 1) or (status == 1 and not label.startswith("diff")):
                raise RuntimeError(f"{' '.join(command)} exited with {status}: {open(output + '.err').read()[-500:]}")
            result = count(tool, output)
            per_znode = "" if requests is None else f", {requests:.3f} requests per znode"
            log(f"  {label}: {tool} {wall:.2f} s wall, {cpu:.2f} s CPU, {peak / 1024:.1f} MB peak{per_znode}; "
                f"counted {result}")
            figures[tool] = (wall, cpu, peak, result, requests)
        if label.startswith("diff"):
            zkcli_run("deleteall", "/bigtree-diff")
        # What a peer stopped at the timeout left behind.
        for destination in ("/bigtree-import", "/bigtree-copy"):
            zkcli_run("deleteall", destination, check=False)
        ours = figures["zkcli"]
        for peer, (wall, cpu, peak, result, requests) in figures.items():
            if peer == "zkcli":
                continue
            if result is None:
                table.add("bigtree", f"`{label}` wall ({peer} stopped at {timeout} s: a lower bound)", ours[0], wall,
                          "s", "lower", peer)
                continue
            if result != ours[3]:
                raise RuntimeError(f"{label}: zkcli counted {ours[3]}, {peer} {result}: not the same work")
            table.add("bigtree", f"`{label}` wall, {znodes} znodes", ours[0], wall, "s", "lower", peer)
            table.add("bigtree", f"`{label}` CPU, user+sys", ours[1], cpu, "s", "lower", peer)
            table.add("bigtree", f"`{label}` peak RSS", ours[2] / 1024, peak / 1024, "MB", "lower", peer)
            if requests and ours[4]:
                table.add("bigtree", f"`{label}` requests per znode (Apache's packets received)", ours[4], requests,
                          "", "lower", peer)
    zkcli_run("deleteall", root)
    if export_size:
        bigtree_export(table, bins, workdir, export_size)


def bigtree_export(table, bins, workdir, size):
    """zkcli's export and import of `size` znodes on a zkserver of their own, for zkcli's peak RSS (the goal: under
    64 MB at 1,000,000 znodes, which only streaming both ways meets)."""
    fanout = bigtree_fanout(size)
    log(f"big tree: zkcli export and import of about {size} znodes on zkserver, peak RSS")
    server = ZKServer(os.path.join(workdir, "bigtree-export"), os.path.join(bins, "zkserver"))
    server.start()
    wait_serving(server.port, 1)
    zkcli = [os.path.join(bins, "zkcli"), "-server", f"127.0.0.1:{server.port}"]
    try:
        znodes = build_tree(bins, server.port, "/big", fanout)
        file = os.path.join(server.dir, "big.jsonl")
        output = os.path.join(server.dir, "zkcli.out")
        figures = {}
        for label, words in (("export", ["export", "-r", "/big", file]), ("import", ["import", file, "/copy"])):
            wall, cpu, peak, status = measured_child([*zkcli, *words], output)
            if status != 0:
                raise RuntimeError(f"zkcli {' '.join(words)} exited with {status}: {open(output + '.err').read()}")
            figures[label] = (wall, cpu, peak)
            log(f"  {label}: {wall:.1f} s wall, {cpu:.1f} s CPU, {peak / 1024:.1f} MB peak ({znodes} znodes)")
        with open(file) as f:
            lines = sum(1 for line in f if line.strip()) - 1
        copied = int(run([*zkcli, "getAllChildrenNumber", "/copy"], check=True).stdout.strip()) + 1
        if not lines == copied == znodes:
            raise RuntimeError(f"{znodes} znodes, {lines} exported, {copied} imported")
        for label, (wall, cpu, peak) in figures.items():
            table.add("bigtree", f"`{label}` of {znodes} znodes (zkserver): zkcli peak RSS", peak / 1024, 64, "MB",
                      "lower", "goal (issue 14)")
    finally:
        stop(server.process)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a fast look")
    parser.add_argument("--headline", action="store_true",
                        help="only the headline ratios (one-shot, client, server), small counts, one round")
    parser.add_argument("--markdown", help="also write the table as markdown to this file")
    parser.add_argument("--only", default="oneshot,shell,client,server,footprint,tls,herd,kerberos,bigtree",
                        help="sections to run, separated by commas (scale is run only when named)")
    parser.add_argument("--bin-path", help="use the release products in this directory instead of building them")
    parser.add_argument("--oneshot-baseline", metavar="ZKCLI",
                        help="oneshot: also run this zkcli (an earlier build) in the same interleaving, for before/after")
    parser.add_argument("--bigtree-size", type=int,
                        help="znodes of the big tree the walks are timed on (100000; 10000 with --quick; 0: none)")
    parser.add_argument("--bigtree-export-size", type=int,
                        help="znodes zkcli exports and imports for its peak RSS (1000000; 100000 with --quick; 0: none)")
    parser.add_argument("--bigtree-timeout", type=float, default=120,
                        help="seconds after which a peer's big-tree command is stopped (a lower bound is reported)")
    parser.add_argument("--scale-znodes", default="10000,100000,1000000,2000000",
                        help="scale: znode counts (10000,100000 with --quick)")
    parser.add_argument("--scale-sessions", default="100,1000,10000",
                        help="scale: session counts (100,1000 with --quick)")
    parser.add_argument("--scale-watches", default="10000,100000,1000000",
                        help="scale: watch counts (10000,100000 with --quick)")
    parser.add_argument("--scale-sync-count", type=int, default=3000,
                        help="scale: synchronous sets per p99 (after as many creates)")
    parser.add_argument("--scale-idle-seconds", type=int, default=30,
                        help="scale: seconds over which the server's CPU is read while the sessions are idle")
    parser.add_argument("--scale-plots", default=os.path.join(ROOT, "docs"),
                        help="scale: directory of the PNG plots (empty: none)")
    parser.add_argument("--scale-results",
                        help="scale: JSON file the points are added to as they are measured; the plots show all of its "
                             "points (so runs at different sizes add up)")
    args = parser.parse_args()
    quick = args.quick or args.headline
    sections = ["oneshot", "client", "server"] if args.headline else args.only.split(",")
    runs = 5 if quick else 10
    oneshot_runs = 15 if quick else 30
    count = 20000 if quick else 100000
    sync_count = 1000 if quick else 3000
    znodes = 50000 if quick else 200000
    sessions, window = 4, 500
    rounds = 1 if quick else 3
    # The herd: 10,000 sessions and a million watches through 20 restarts (1,000 and 10,000 through 3 quick).
    herd_sessions, herd_processes, herd_watches = (1000, 2, 10) if quick else (10000, 4, 100)
    herd_rounds = 3 if quick else 20
    bigtree_size = args.bigtree_size if args.bigtree_size is not None else (10000 if quick else 100000)
    bigtree_export_size = args.bigtree_export_size if args.bigtree_export_size is not None else (
        100000 if quick else 1000000)

    quick_scale = {"--scale-znodes": "10000,100000", "--scale-sessions": "100,1000", "--scale-watches": "10000,100000"}
    scale_znodes, scale_session_counts, scale_watches = (
        scale_sizes(quick_scale[option] if quick and value == parser.get_default(option[2:].replace("-", "_"))
                    else value, option)
        for option, value in (("--scale-znodes", args.scale_znodes), ("--scale-sessions", args.scale_sessions),
                              ("--scale-watches", args.scale_watches)))

    missing = []
    if not (os.path.exists(ZK_JAR) and os.path.exists(ZK_CLI)):
        missing.append("sudo apt-get install -y zookeeper zookeeper-bin")
    if not os.path.exists(TIME):
        missing.append("sudo apt-get install -y time")
    if "client" in sections and not shutil.which("javac"):
        missing.append("sudo apt-get install -y default-jdk-headless")
    if "oneshot" in sections and not (os.path.exists(CLI_MT) and shutil.which("cc")):
        missing.append("sudo apt-get install -y zookeeper-bin gcc")
    if "client" in sections and not args.headline and run([sys.executable, "-c", "import kazoo"]).returncode != 0:
        missing.append("python3 -m pip install kazoo")
    zk_shell = zk_shell_command()
    if "shell" in sections and not zk_shell:
        missing.append("python3 -m pip install zk-shell")
    if "kerberos" in sections and not (os.path.exists("/usr/sbin/krb5kdc") and shutil.which("cc")):
        missing.append("sudo apt-get install -y krb5-kdc krb5-admin-server krb5-user gcc")
    if "bigtree" in sections and not zk_shell:
        log("bigtree: zk-shell is not installed (python3 -m pip install zk-shell): zkcli is compared with zkCli.sh only")
    if missing:
        sys.exit("compare.py needs:\n  " + "\n  ".join(missing))
    bins = build_products(args.bin_path)
    workdir = tempfile.mkdtemp(prefix="zk-compare-")
    table = Table()
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        # The sections on plain servers share one Apache and one zkserver.
        plain = any(section in sections for section in ("oneshot", "shell", "client", "server", "bigtree"))
        if plain:
            apache = Apache(workdir)
            apache.start()
            wait_serving(apache.port, 1)
            zkserver = ZKServer(workdir, os.path.join(bins, "zkserver"))
            zkserver.start()
            wait_serving(zkserver.port, 1)
        if "oneshot" in sections:
            oneshot_section(table, bins, apache, workdir, oneshot_runs, args.oneshot_baseline)
        if "shell" in sections:
            shell_section(table, bins, apache, runs)
        if "client" in sections:
            client_section(table, bins, [apache, zkserver], compile_java(workdir), count, sessions, window, rounds,
                           with_kazoo=not args.headline)
        if "server" in sections:
            server_section(table, bins, apache, zkserver, count, sync_count, sessions, window, rounds)
        if "bigtree" in sections:
            bigtree_section(table, bins, apache, workdir, bigtree_size, bigtree_export_size, args.bigtree_timeout,
                            zk_shell)
        if plain:
            stop(apache.process)
        if "tls" in sections:
            tls_section(table, bins, workdir, runs, count, sessions, window, rounds)
        if plain:
            stop(zkserver.process)
        if "kerberos" in sections:
            kerberos_section(table, bins, workdir, oneshot_runs)
        if "footprint" in sections:
            footprint_section(table, bins, workdir, znodes, starts=3 if args.quick else 5)
        if "herd" in sections:
            herd_section(table, bins, workdir, herd_sessions, herd_processes, herd_watches, herd_rounds)
        if "scale" in sections:
            scale_section(table, bins, workdir, scale_znodes, scale_session_counts, scale_watches,
                          args.scale_sync_count, args.scale_idle_seconds, args.scale_plots, args.scale_results)
    finally:
        for process in processes:
            stop(process, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    header = (f"Run {started:%Y-%m-%d %H:%M} UTC on {platform.node()}: {os.cpu_count()} x {cpu}, "
              f"{platform.platform()}; counts: {count} pipelined ops ({sessions} sessions x {window} in flight), "
              f"{sync_count} synchronous ops, {runs} runs per shell command, {znodes} znodes for footprint"
              + (f", big tree of {bigtree_size} znodes (export of {bigtree_export_size})" if "bigtree" in sections
                 else "") + f"; load average at the end {os.getloadavg()[0]:.1f}.")
    report = header + "\n\n" + table.markdown() + "\n"
    print(report)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
