// Pipelined load with Apache's Java client, for side-by-side comparison with zkbench.
// Usage: java -cp <zookeeper jars>:. ZkLoad server count valueSize sessions window phase...
// Phases: create set get delete (each over /zkload/n<i>). Prints "phase ops/s errors" per phase.
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

public class ZkLoad {
    public static void main(String[] args) throws Exception {
        String server = args[0];
        int count = Integer.parseInt(args[1]);
        byte[] value = new byte[Integer.parseInt(args[2])];
        int sessionCount = Integer.parseInt(args[3]);
        int window = Integer.parseInt(args[4]);
        ZooKeeper[] sessions = new ZooKeeper[sessionCount];
        for (int s = 0; s < sessionCount; s++) {
            CountDownLatch up = new CountDownLatch(1);
            sessions[s] = new ZooKeeper(server, 30000, event -> {
                if (event.getState() == Watcher.Event.KeeperState.SyncConnected) up.countDown();
            });
            up.await();
        }
        String root = "/zkload";
        try {
            sessions[0].create(root, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        } catch (KeeperException.NodeExistsException alreadyThere) {
        }
        for (int p = 5; p < args.length; p++) {
            String phase = args[p];
            // One permit pool per session keeps at most `window` calls in flight on each.
            Semaphore[] inFlight = new Semaphore[sessionCount];
            for (int s = 0; s < sessionCount; s++) inFlight[s] = new Semaphore(window);
            CountDownLatch finished = new CountDownLatch(count);
            AtomicLong errors = new AtomicLong();
            long start = System.nanoTime();
            for (int i = 0; i < count; i++) {
                int s = i % sessionCount;
                inFlight[s].acquire();
                Semaphore permits = inFlight[s];
                String path = root + "/n" + i;
                ZooKeeper zk = sessions[s];
                switch (phase) {
                    case "create":
                        zk.create(path, value, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT,
                            (rc, p1, ctx, name) -> done(rc, errors, permits, finished), null);
                        break;
                    case "set":
                        zk.setData(path, value, -1, (rc, p1, ctx, stat) -> done(rc, errors, permits, finished), null);
                        break;
                    case "get":
                        zk.getData(path, false, (rc, p1, ctx, data, stat) -> done(rc, errors, permits, finished), null);
                        break;
                    case "delete":
                        zk.delete(path, -1, (rc, p1, ctx) -> done(rc, errors, permits, finished), null);
                        break;
                    default:
                        throw new IllegalArgumentException("unknown phase " + phase);
                }
            }
            finished.await();
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("%s %.0f ops/s errors=%d%n", phase, count / seconds, errors.get());
        }
        try {
            sessions[0].delete(root, -1);
        } catch (KeeperException ignored) {
        }
        for (ZooKeeper zk : sessions) zk.close();
    }

    private static void done(int rc, AtomicLong errors, Semaphore permits, CountDownLatch finished) {
        if (rc != 0) errors.incrementAndGet();
        permits.release();
        finished.countDown();
    }
}
