import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Embedded MongoDB-protocol server for offline runs and tests (run as a single source file:
 * {@code java -cp <classpath> Launcher.java <port> [h2-file]}).
 *
 * Port 0 picks a free port. With an h2-file the data survive restarts; without one they live in
 * memory. Prints {@code READY <port>} once listening. Exits when its standard input closes, so a
 * parent that dies (even by SIGKILL) never leaves a server behind.
 */
public class Launcher {
    /** The Node driver 7 refuses wire versions below 9; mongo-java-server's MONGO_5_0 reports 8. */
    static final MongoVersion REPORTED = new MongoVersion() {
        public List<Integer> getVersionArray() { return List.of(5, 0, 0); }
        public int getWireVersion() { return 13; }
    };

    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        String file = args.length > 1 ? args[1] : null;
        final H2Backend h2 = file == null ? null : new H2Backend(file);
        MongoBackend backend = (h2 != null ? h2 : new MemoryBackend()).version(REPORTED);
        MongoServer server = new MongoServer(backend);
        server.bind(new InetSocketAddress("127.0.0.1", port));

        var flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "h2-commit");
            t.setDaemon(true);
            return t;
        });
        if (h2 != null) {
            flusher.scheduleWithFixedDelay(h2::commit, 200, 200, TimeUnit.MILLISECONDS);
        }
        Runnable stop = () -> {
            flusher.shutdownNow();
            server.shutdownNow();
            if (h2 != null) {
                h2.commit();
                h2.close();
            }
        };
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "shutdown"));

        System.out.println("READY " + server.getLocalAddress().getPort());
        System.out.flush();

        // Parent gone (stdin EOF) -> exit; the shutdown hook flushes H2.
        while (System.in.read() != -1) { /* ignore input */ }
        System.exit(0);
    }
}
