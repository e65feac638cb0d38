#!/usr/bin/env python3
"""Side-by-side benchmark of swift-zookeeper against its peers, in one run on one machine.

Starts what it needs on 127.0.0.1 (Apache ZooKeeper standalone from Debian's package, zkserver), measures,
stops everything, and prints a table of figures with the ratio to the peer. See BENCHMARKS.md.

Usage: benchmark/compare.py [--quick] [--markdown FILE] [--only shell,client,server,footprint,tls]
"""
import argparse
import datetime
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
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmark")
ZK_JAR = "/usr/share/java/zookeeper.jar"
ZK_CLI = "/usr/share/zookeeper/bin/zkCli.sh"
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
            f"secureClientPort={self.secure_port}\nsecureClientPortAddress=127.0.0.1\n"
            f"ssl.keyStore.location={certificates}/server.p12\nssl.keyStore.password=secret\n"
            f"ssl.trustStore.location={certificates}/trust.p12\nssl.trustStore.password=secret\nssl.clientAuth=need\n")
        super().__init__(workdir)

    def command(self):
        return ["java", "-Xmx1000m", "-cp", f"{ZK_JAR}:{NETTY_JARS}", "org.apache.zookeeper.server.ZooKeeperServerMain",
                "zoo.cfg"]


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


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


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


def build_products():
    # As `make install` builds them: release, with the Swift runtime linked statically (smaller and faster to
    # start than loading the shared runtime libraries).
    log("building release products (zkcli, zkserver, zkbench)...")
    flags = ["-c", "release", "--static-swift-stdlib", "--scratch-path", os.path.join(ROOT, ".build-bench")]
    subprocess.run(["swift", "build", *flags], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return run(["swift", "build", *flags, "--show-bin-path"], cwd=ROOT).stdout.strip()


def compile_java(workdir):
    classes = os.path.join(workdir, "java")
    os.makedirs(classes, exist_ok=True)
    subprocess.run(
        ["javac", "-d", classes, "-cp", f"{ZK_JAR}:{JUTE_JAR}", os.path.join(BENCH, "ZkLoad.java")], check=True)
    return classes


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
        "zk-shell": (lambda words: ["zk-shell", "--run-once", " ".join(words), server], None),
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

    phases = ["create", "set", "get", "delete"]
    warm_up(bins, apache.port)
    bench = [os.path.join(bins, "zkbench"), "--phases", *phases, "--count", str(count), "--sessions", str(sessions),
             "--window", str(window)]
    over_tls, plaintext = [], []
    for _ in range(rounds):
        over_tls.append(parse_rates(run([*bench, "--server", secure, "--client-configuration", properties]).stdout))
        plaintext.append(parse_rates(run([*bench, "--server", f"127.0.0.1:{apache.port}"]).stdout))
    over_tls, plaintext = median_rates(over_tls), median_rates(plaintext)
    for phase in phases:
        if phase in over_tls and phase in plaintext:
            table.add("tls", f"{phase} ops/s over TLS (our client)", over_tls[phase], plaintext[phase], "ops/s",
                      "higher", "same, plaintext")
    stop(apache.process)


def median_rates(samples):
    """Median ops/s per phase over several runs."""
    phases = set().union(*samples)
    return {phase: statistics.median(sample[phase] for sample in samples if phase in sample) for phase in phases}


def warm_up(bins, port):
    """A short load first, so that the JVM's JIT does not penalise whichever client runs first."""
    run([os.path.join(bins, "zkbench"), "--server", f"127.0.0.1:{port}", "--phases", "create", "set", "get",
         "delete", "--count", "20000", "--root", "/warmup"])


def client_section(table, bins, apache, classes, count, sessions, window, rounds):
    log("client throughput against Apache ZooKeeper (pipelined)")
    server = f"127.0.0.1:{apache.port}"
    phases = ["create", "set", "get", "delete"]
    warm_up(bins, apache.port)
    ours, java, kazoo = [], [], []
    for _ in range(rounds):
        # Alternate who goes first, and take medians.
        ours.append(parse_rates(run([os.path.join(bins, "zkbench"), "--server", server, "--phases", *phases,
                                     "--count", str(count), "--sessions", str(sessions), "--window",
                                     str(window)]).stdout))
        java.append(parse_rates(run(["java", "-cp", f"{ZK_JAR}:{JUTE_JAR}:{classes}", "ZkLoad", server, str(count),
                                     "100", str(sessions), str(window), *phases]).stdout))
        kazoo.append(parse_rates(run([sys.executable, os.path.join(BENCH, "kazoo_load.py"), server,
                                      str(count // 4), "100", str(window * 2), *phases]).stdout))
    ours, java, kazoo = median_rates(ours), median_rates(java), median_rates(kazoo)
    for phase in phases:
        if phase in ours and phase in java:
            table.add("client", f"{phase} ops/s", ours[phase], java[phase], "ops/s", "higher", "Java client")
        if phase in ours and phase in kazoo:
            table.add("client", f"{phase} ops/s", ours[phase], kazoo[phase], "ops/s", "higher", "kazoo")


def server_section(table, bins, apache, zkserver, count, sync_count, sessions, window, rounds):
    log("server throughput and latency (same load generator, fsync on)")
    zkbench = os.path.join(bins, "zkbench")
    phases = ["sync-create", "sync-set", "sync-get", "sync-delete", "create", "set", "get", "delete"]
    warm_up(bins, apache.port)
    warm_up(bins, zkserver.port)
    rates = {apache.name: [], zkserver.name: []}
    latencies = {apache.name: [], zkserver.name: []}
    for index in range(rounds):
        order = (apache, zkserver) if index % 2 == 0 else (zkserver, apache)
        for server in order:
            out = run([zkbench, "--server", f"127.0.0.1:{server.port}", "--phases", *phases, "--count", str(count),
                       "--sync-count", str(sync_count), "--sessions", str(sessions), "--window",
                       str(window)]).stdout
            rates[server.name].append(parse_rates(out))
            latencies[server.name].append(parse_latency(out))

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
    for phase in ["sync-create", "sync-set", "sync-get", "sync-delete"]:
        if phase in ours_latency and phase in peer_latency:
            table.add("server", f"{phase} p50", ours_latency[phase][0], peer_latency[phase][0], "ms", "lower",
                      apache.name)
            table.add("server", f"{phase} p99", ours_latency[phase][1], peer_latency[phase][1], "ms", "lower",
                      apache.name)


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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a fast look")
    parser.add_argument("--markdown", help="also write the table as markdown to this file")
    parser.add_argument("--only", default="shell,client,server,footprint,tls")
    args = parser.parse_args()
    sections = args.only.split(",")
    runs = 5 if args.quick else 10
    count = 20000 if args.quick else 100000
    sync_count = 1000 if args.quick else 3000
    znodes = 50000 if args.quick else 200000
    sessions, window = 4, 500
    rounds = 1 if args.quick else 3

    missing = []
    if not (os.path.exists(ZK_JAR) and os.path.exists(ZK_CLI)):
        missing.append("sudo apt-get install -y zookeeper zookeeper-bin")
    if not os.path.exists(TIME):
        missing.append("sudo apt-get install -y time")
    if "client" in sections and not shutil.which("javac"):
        missing.append("sudo apt-get install -y default-jdk-headless")
    if "client" in sections and run([sys.executable, "-c", "import kazoo"]).returncode != 0:
        missing.append("python3 -m pip install kazoo")
    if "shell" in sections and not shutil.which("zk-shell"):
        missing.append("python3 -m pip install zk-shell")
    if missing:
        sys.exit("compare.py needs:\n  " + "\n  ".join(missing))
    bins = build_products()
    workdir = tempfile.mkdtemp(prefix="zk-compare-")
    table = Table()
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        apache = Apache(workdir)
        apache.start()
        wait_serving(apache.port, 1)
        zkserver = ZKServer(workdir, os.path.join(bins, "zkserver"))
        zkserver.start()
        wait_serving(zkserver.port, 1)
        if "shell" in sections:
            shell_section(table, bins, apache, runs)
        if "client" in sections:
            client_section(table, bins, apache, compile_java(workdir), count, sessions, window, rounds)
        if "server" in sections:
            server_section(table, bins, apache, zkserver, count, sync_count, sessions, window, rounds)
        stop(apache.process)
        if "tls" in sections:
            tls_section(table, bins, workdir, runs, count, sessions, window, rounds)
        stop(zkserver.process)
        if "footprint" in sections:
            footprint_section(table, bins, workdir, znodes, starts=3 if args.quick else 5)
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
              f"{sync_count} synchronous ops, {runs} runs per shell command, {znodes} znodes for footprint.")
    report = header + "\n\n" + table.markdown() + "\n"
    print(report)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
