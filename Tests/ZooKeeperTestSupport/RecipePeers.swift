import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Apache Curator (Debian's libcurator-*-java) driven by a small Java program that the tests compile with javac.
public enum CuratorPeer {
    static let jars = [
        "curator-client", "curator-framework", "curator-recipes", "zookeeper", "zookeeper-jute", "guava",
        "slf4j-api", "slf4j-nop", "netty-buffer", "netty-codec", "netty-common", "netty-handler", "netty-resolver",
        "netty-transport", "netty-transport-native-epoll", "netty-transport-native-unix-common",
    ].map { "/usr/share/java/\($0).jar" }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var compiled: String?

    /// The directory holding the compiled program (compiled once per test process).
    public static func classDirectory() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let compiled { return compiled }
        for jar in jars where !FileManager.default.fileExists(atPath: jar) {
            throw HarnessError(
                "\(jar) is missing; install Curator with: apt-get install libcurator-recipes-java "
                    + "libcurator-framework-java libcurator-client-java")
        }
        let directory = try TestEnvironment.temporaryDirectory("curator-peer")
        try source.write(toFile: directory + "/CuratorPeer.java", atomically: true, encoding: .utf8)
        let log = directory + "/javac.log"
        let javac = try ChildProcess(
            "/usr/bin/javac", ["-cp", jars.joined(separator: ":"), "-d", directory, directory + "/CuratorPeer.java"],
            output: .file(log), error: .standardOutput)
        guard javac.wait(timeout: 120), javac.exitCode == 0 else {
            throw HarnessError("javac failed: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
        compiled = directory
        return directory
    }

    /// Starts the program with `arguments`; its output (one line per fact) goes to `output`.
    public static func start(_ arguments: [String], output: String) throws -> ChildProcess {
        try start(arguments, output: .file(output), errors: output + ".err")
    }

    /// Starts the program with `arguments`; its output goes to `output` (a pipe, to follow it line by line), its
    /// errors to the file `errors`.
    public static func start(_ arguments: [String], output: ChildProcess.Stream, errors: String) throws -> ChildProcess
    {
        let classpath = ([try classDirectory()] + jars).joined(separator: ":")
        return try ChildProcess(
            ApacheZooKeeperInstallation.java, ["-cp", classpath, "CuratorPeer"] + arguments, output: output,
            error: .file(errors))
    }

    /// The program. Lines it prints: `HELD`, `ACQUIRED`, `BLOCKED`, `READY`, `OVERLAP`, `DONE <n>`, `LEADER <id>`, `NOTLEADER <id>`, `VALUE <n>`.
    static let source = #"""
        import java.nio.file.*;
        import java.util.*;
        import java.util.concurrent.*;
        import org.apache.curator.framework.CuratorFramework;
        import org.apache.curator.framework.CuratorFrameworkFactory;
        import org.apache.curator.retry.RetryNTimes;
        import org.apache.curator.framework.recipes.locks.InterProcessMutex;
        import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
        import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
        import org.apache.curator.framework.recipes.locks.Lease;
        import org.apache.curator.framework.recipes.leader.LeaderLatch;
        import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
        import org.apache.curator.framework.recipes.leader.LeaderSelector;
        import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
        import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
        import org.apache.curator.framework.recipes.shared.SharedCount;
        import org.apache.curator.framework.recipes.shared.VersionedValue;
        import org.apache.curator.framework.recipes.atomic.AtomicValue;
        import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;

        public class CuratorPeer {
            static synchronized void say(String line) { System.out.println(line); System.out.flush(); }

            static CuratorFramework client(String connect, int sessionMs) throws Exception {
                CuratorFramework c = CuratorFrameworkFactory.newClient(connect, sessionMs, 15000, new RetryNTimes(1000, 50));
                c.start();
                if (!c.blockUntilConnected(30, TimeUnit.SECONDS)) throw new RuntimeException("not connected");
                return c;
            }

            public static void main(String[] a) throws Exception {
                switch (a[0]) {
                    case "mutex": mutex(a[1], a[2], Integer.parseInt(a[3]), Integer.parseInt(a[4]), a[5], Long.parseLong(a[6])); break;
                    case "latch": latch(a[1], a[2], a[3], Integer.parseInt(a[4])); break;
                    case "counters": counters(a[1], a[2], Integer.parseInt(a[3])); break;
                    case "semaphore": semaphore(a[1], a[2], Integer.parseInt(a[3]), Integer.parseInt(a[4]), a[5]); break;
                    case "rwlock": rwlock(a[1], a[2], Integer.parseInt(a[3]), a[4]); break;
                    case "selector": selector(a[1], a[2], a[3], Integer.parseInt(a[4]), a[5]); break;
                    case "doublebarrier": doubleBarrier(a[1], a[2], Integer.parseInt(a[3]), a[4]); break;
                    case "hold": hold(a[1], a[2], a[3]); break;
                    case "tryacquire": tryAcquire(a[1], a[2]); break;
                    default: throw new IllegalArgumentException(a[0]);
                }
                System.exit(0);
            }

            // Participants (one session each) take the mutex rounds times; inside, a marker file created with
            // O_EXCL proves nobody else is inside.
            static void mutex(String connect, String path, int participants, int rounds, String marker, long seed) throws Exception {
                List<Thread> threads = new ArrayList<>();
                int[] done = new int[1];
                for (int p = 0; p < participants; p++) {
                    CuratorFramework c = client(connect, 10000);
                    Random random = new Random(seed + p);
                    Thread t = new Thread(() -> {
                        try {
                            InterProcessMutex mutex = new InterProcessMutex(c, path);
                            for (int r = 0; r < rounds; r++) {
                                mutex.acquire();
                                try {
                                    try { Files.createFile(Paths.get(marker)); }
                                    catch (FileAlreadyExistsException e) { say("OVERLAP"); }
                                    // Re-entrancy, as Curator counts it: a second acquire by the holder.
                                    if (r % 10 == 0) { mutex.acquire(); mutex.release(); }
                                    Thread.sleep(random.nextInt(4));
                                    Files.deleteIfExists(Paths.get(marker));
                                } finally {
                                    mutex.release();
                                }
                                synchronized (done) { done[0]++; }
                            }
                        } catch (Exception e) { say("ERROR " + e); }
                    });
                    threads.add(t);
                }
                say("READY");
                for (Thread t : threads) t.start();
                for (Thread t : threads) t.join();
                say("DONE " + done[0]);
            }

            // Holds the mutex until the file `release` exists.
            static void hold(String connect, String path, String release) throws Exception {
                CuratorFramework c = client(connect, 10000);
                InterProcessMutex mutex = new InterProcessMutex(c, path);
                mutex.acquire();
                say("HELD");
                while (!Files.exists(Paths.get(release))) Thread.sleep(20);
                mutex.release();
                say("RELEASED");
                c.close();
            }

            // Tries the mutex for a second: ACQUIRED or BLOCKED.
            static void tryAcquire(String connect, String path) throws Exception {
                CuratorFramework c = client(connect, 10000);
                InterProcessMutex mutex = new InterProcessMutex(c, path);
                if (mutex.acquire(1, TimeUnit.SECONDS)) { say("ACQUIRED"); mutex.release(); } else say("BLOCKED");
                c.close();
            }

            static void latch(String connect, String path, String id, int sessionMs) throws Exception {
                CuratorFramework c = client(connect, sessionMs);
                LeaderLatch latch = new LeaderLatch(c, path, id);
                latch.addListener(new LeaderLatchListener() {
                    public void isLeader() { say("LEADER " + id); }
                    public void notLeader() { say("NOTLEADER " + id); }
                });
                latch.start();
                while (latch.getOurPath() == null) Thread.sleep(10);
                say("READY " + latch.getOurPath());
                Thread.sleep(Long.MAX_VALUE);
            }

            // Two participants take a lease rounds times; inside, each puts a file in `inside` and counts the files.
            static void semaphore(String connect, String path, int maxLeases, int rounds, String inside) throws Exception {
                List<Thread> threads = new ArrayList<>();
                for (int p = 0; p < 2; p++) {
                    CuratorFramework c = client(connect, 10000);
                    int participant = p;
                    threads.add(new Thread(() -> {
                        try {
                            InterProcessSemaphoreV2 semaphore = new InterProcessSemaphoreV2(c, path, maxLeases);
                            Random random = new Random();
                            for (int r = 0; r < rounds; r++) {
                                Lease lease = semaphore.acquire();
                                Path mine = Paths.get(inside, "java-" + participant);
                                Files.createFile(mine);
                                try (java.util.stream.Stream<Path> files = Files.list(Paths.get(inside))) {
                                    if (files.count() > maxLeases) say("EXCESS");
                                }
                                Thread.sleep(random.nextInt(4));
                                Files.delete(mine);
                                semaphore.returnLease(lease);
                            }
                        } catch (Exception e) { say("ERROR " + e); }
                    }));
                }
                say("READY");
                for (Thread t : threads) t.start();
                for (Thread t : threads) t.join();
                say("DONE");
            }

            // A reader and a writer (one session each) take their side rounds times: a writer creates `dir/writer`
            // exclusively and finds no reader file; a reader creates its file and finds no writer file.
            static void rwlock(String connect, String path, int rounds, String dir) throws Exception {
                List<Thread> threads = new ArrayList<>();
                for (int p = 0; p < 2; p++) {
                    CuratorFramework c = client(connect, 10000);
                    boolean writer = p == 0;
                    threads.add(new Thread(() -> {
                        try {
                            InterProcessReadWriteLock rw = new InterProcessReadWriteLock(c, path);
                            InterProcessMutex side = writer ? rw.writeLock() : rw.readLock();
                            Random random = new Random();
                            for (int r = 0; r < rounds; r++) {
                                side.acquire();
                                Path mine = Paths.get(dir, writer ? "writer" : "reader-java");
                                try { Files.createFile(mine); } catch (FileAlreadyExistsException e) { say("CONFLICT"); }
                                try (java.util.stream.Stream<Path> files = Files.list(Paths.get(dir))) {
                                    long others = files.filter(f -> !f.equals(mine)).filter(f -> writer || f.getFileName().toString().equals("writer")).count();
                                    if (others > 0) say("CONFLICT");
                                }
                                Thread.sleep(random.nextInt(4));
                                Files.deleteIfExists(mine);
                                side.release();
                            }
                        } catch (Exception e) { say("ERROR " + e); }
                    }));
                }
                say("READY");
                for (Thread t : threads) t.start();
                for (Thread t : threads) t.join();
                say("DONE");
            }

            // A LeaderSelector (auto-requeued) that leads rounds times; while leading, the marker file proves it alone.
            static void selector(String connect, String path, String id, int rounds, String marker) throws Exception {
                CuratorFramework c = client(connect, 10000);
                CountDownLatch terms = new CountDownLatch(rounds);
                Random random = new Random();
                LeaderSelector selector = new LeaderSelector(c, path, new LeaderSelectorListenerAdapter() {
                    public void takeLeadership(CuratorFramework client) throws Exception {
                        try { Files.createFile(Paths.get(marker)); }
                        catch (FileAlreadyExistsException e) { say("OVERLAP"); }
                        Thread.sleep(random.nextInt(4));
                        Files.deleteIfExists(Paths.get(marker));
                        terms.countDown();
                    }
                });
                selector.setId(id);
                selector.autoRequeue();
                say("READY");
                selector.start();
                terms.await();
                selector.close();
                say("DONE");
            }

            static void doubleBarrier(String connect, String path, int members, String id) throws Exception {
                CuratorFramework c = client(connect, 10000);
                DistributedDoubleBarrier barrier = new DistributedDoubleBarrier(c, path, members);
                say("READY");
                if (barrier.enter(60, TimeUnit.SECONDS)) say("ENTERED " + id); else say("ERROR enter timed out");
                if (barrier.leave(60, TimeUnit.SECONDS)) say("LEFT " + id); else say("ERROR leave timed out");
                c.close();
            }

            // Increments Curator's SharedCount and DistributedAtomicLong rounds times each, then prints their values.
            static void counters(String connect, String path, int rounds) throws Exception {
                CuratorFramework c = client(connect, 10000);
                SharedCount shared = new SharedCount(c, path + "/shared", 0);
                shared.start();
                DistributedAtomicLong along = new DistributedAtomicLong(c, path + "/long", new RetryNTimes(100000, 0));
                say("READY");
                for (int r = 0; r < rounds; r++) {
                    while (true) {
                        VersionedValue<Integer> v = shared.getVersionedValue();
                        if (shared.trySetCount(v, v.getValue() + 1)) break;
                    }
                    AtomicValue<Long> result = along.increment();
                    if (!result.succeeded()) say("ERROR increment failed");
                }
                say("DONE " + rounds);
                shared.close();
                c.close();
            }
        }
        """#
}

/// kazoo's recipes, driven by a Python script.
public enum KazooPeer {
    public static func start(script: String, _ arguments: [String], output: String) throws -> ChildProcess {
        let check = try ChildProcess("/usr/bin/env", ["python3", "-c", "import kazoo"])
        guard check.wait(timeout: 30), check.exitCode == 0 else {
            throw HarnessError("kazoo is missing; install it with: pip install kazoo")
        }
        let directory = try TestEnvironment.temporaryDirectory("kazoo-peer")
        let file = directory + "/peer.py"
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        return try ChildProcess(
            "/usr/bin/env", ["python3", file] + arguments, output: .file(output), error: .file(output + ".err"))
    }
}
