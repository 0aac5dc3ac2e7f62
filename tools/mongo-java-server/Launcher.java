import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.MVStoreException;

import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Embedded MongoDB-protocol server for offline runs and tests:
 * {@code java -cp <classpath> Launcher <port> [h2-file [--periodic-commit]]}.
 *
 * Port 0 picks a free port. With an h2-file the data survive restarts; without one they live in
 * memory. Prints {@code READY <port>} once listening; a start that fails prints one line,
 * {@code LOCKED <file>} (another process holds the data file) or {@code ERROR <sentence>}, and
 * exits non-zero. Exits when its standard input closes, so a parent that dies (even by SIGKILL)
 * never leaves a server behind.
 *
 * Durability: every command that changed data is committed to the H2 file before its answer is
 * sent, so an acknowledged write survives kill -9 of this process (the bytes are in the file;
 * like H2's own commit, no fsync, so a power cut can still lose the latest ones). Writes run one
 * at a time, commits run between them (one commit for all the writes waiting), and H2 never
 * commits on its own, so the file only ever holds whole commands. {@code --periodic-commit} restores the former behaviour (a commit every 200 ms)
 * and exists only so bench/ can measure what durability costs.
 */
public class Launcher {
    /** The Node driver 7 refuses wire versions below 9; mongo-java-server's MONGO_5_0 reports 8. */
    static final MongoVersion REPORTED = new MongoVersion() {
        public List<Integer> getVersionArray() { return List.of(5, 0, 0); }
        public int getWireVersion() { return 13; }
    };

    static final int WORKER_THREADS = 16;

    /** Commands that change data (lower case); any other command that did is committed too. */
    static final Set<String> WRITES = Set.of(
        "insert", "update", "delete", "findandmodify", "create", "createindexes", "drop",
        "dropdatabase", "dropindexes", "renamecollection", "collmod", "bulkwrite");

    /**
     * H2 backend whose answers to writes leave the server only once the write is in the file.
     * Writes and commits take turns under one lock, so a commit never sees half a write; a
     * commit covers every write applied before it, so concurrent writers share commits.
     */
    static final class DurableH2Backend extends H2Backend {
        private final MVStore store;
        /** Fair: a writer that applied and now wants its commit queues behind writers waiting to apply, so one commit covers them all. */
        private final ReentrantLock turns = new ReentrantLock(true);
        /** Writes applied so far, and how many of them are in the file (changed under `turns`). */
        private final AtomicLong applied = new AtomicLong();
        private volatile long durable;

        DurableH2Backend(MVStore store) {
            super(store);
            this.store = store;
        }

        @Override
        public Document handleCommand(Channel channel, String database, String command, Document query) {
            if (!WRITES.contains(command.toLowerCase(Locale.ROOT))) {
                try {
                    return super.handleCommand(channel, database, command, query);
                } finally {
                    // A read that created something (a database's catalogue, an aggregation's $out).
                    if (store.hasUnsavedChanges()) commitAppliedWrites(Long.MAX_VALUE);
                }
            }
            long ticket;
            turns.lock();
            try {
                return super.handleCommand(channel, database, command, query);
            } finally {
                // Also after a failed write: what it did change (an ordered insert's first
                // documents) is reported to the client as done.
                ticket = applied.incrementAndGet();
                turns.unlock();
                commitAppliedWrites(ticket);
            }
        }

        /** Returns once write number `ticket` is in the file, committing it (and all before it) if no one has. */
        private void commitAppliedWrites(long ticket) {
            if (durable >= ticket) return;
            turns.lock();
            try {
                if (durable < ticket && store.hasUnsavedChanges()) {
                    long upTo = applied.get();
                    store.commit();
                    durable = upTo;
                }
            } finally {
                turns.unlock();
            }
        }

        /** H2's background compaction is off with its auto-commit; this does it between writes. */
        void compactIfSparse() {
            turns.lock();
            try {
                if (store.getFillRate() < 50 && store.compact(50, 8 << 20)) store.commit();
            } finally {
                turns.unlock();
            }
        }
    }

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable e) {
            // Netty's threads would keep a JVM whose main thread died alive, listening nowhere.
            fail("ERROR " + e.getClass().getSimpleName() + ": " + oneLine(String.valueOf(e.getMessage())), 1);
        }
    }

    static void run(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        String file = args.length > 1 ? args[1] : null;
        boolean periodic = args.length > 2 && args[2].equals("--periodic-commit");

        H2Backend h2 = null;
        if (file != null) {
            try {
                h2 = periodic ? new H2Backend(file) : new DurableH2Backend(openStore(file));
            } catch (MVStoreException e) {
                if (e.getErrorCode() == DataUtils.ERROR_FILE_LOCKED) fail("LOCKED " + file, 3);
                fail("ERROR the data file " + file + " cannot be opened: " + oneLine(e.getMessage()), 1);
            }
        }
        MongoBackend backend = (h2 != null ? h2 : new MemoryBackend()).version(REPORTED);
        MongoServer server = new MongoServer(backend);
        try {
            // A worker thread waits for its write's commit; enough of them let concurrent
            // writers share commits (Netty's default is two per core).
            server.bind(new InetSocketAddress("127.0.0.1", port), 1, WORKER_THREADS);
        } catch (Exception e) {
            // Netty rethrows the checked BindException undeclared.
            if (h2 != null) h2.close();
            if (causedBy(e, BindException.class)) fail("ERROR port " + port + " on 127.0.0.1 is in use", 1);
            fail("ERROR cannot listen on 127.0.0.1:" + port + ": " + oneLine(String.valueOf(e.getMessage())), 1);
        }

        ScheduledExecutorService background = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "h2-maintenance");
            t.setDaemon(true);
            return t;
        });
        final H2Backend store = h2;
        if (store instanceof DurableH2Backend durable) {
            background.scheduleWithFixedDelay(durable::compactIfSparse, 30, 30, TimeUnit.SECONDS);
        } else if (store != null) {
            background.scheduleWithFixedDelay(store::commit, 200, 200, TimeUnit.MILLISECONDS);
        }
        Runnable stop = () -> {
            background.shutdownNow();
            server.shutdownNow();
            if (store != null) {
                store.commit();
                store.close();
            }
        };
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "shutdown"));

        System.out.println("READY " + server.getLocalAddress().getPort());
        System.out.flush();

        // Parent gone (stdin EOF) -> exit; the shutdown hook closes H2.
        while (System.in.read() != -1) { /* ignore input */ }
        System.exit(0);
    }

    /** No background writer and no commit by H2 itself: commits happen at the end of a write. */
    static MVStore openStore(String file) {
        return new MVStore.Builder().fileName(file).autoCommitDisabled().autoCommitBufferSize(0).open();
    }

    static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause()) if (type.isInstance(t)) return true;
        return false;
    }

    static String oneLine(String text) {
        return text.replaceAll("\\s+", " ").trim();
    }

    static void fail(String line, int code) {
        System.out.println(line);
        System.out.flush();
        // halt, not exit: no shutdown hook may wait on a server that never started.
        Runtime.getRuntime().halt(code);
    }
}
