import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.MVStoreException;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.ObjectDataType;

import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

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
     * The key type of the index maps: H2's own (same bytes on disk, same order), except that a
     * key's serialized form is remembered instead of being made again for every comparison.
     * mongo-java-server's index keys are not Comparable, so H2 orders them by their Java
     * serialization, and made it twice per comparison of a B-tree search: with 100k documents
     * that was most of the server's time for any write (each touches every unique index).
     * Keys that are equal (KeyValue.equals) serialize alike, so remembering by equality keeps
     * the order exactly as it was.
     */
    static final class RememberedKeys extends ObjectDataType {
        private static final int REMEMBERED = 400_000;
        private static final Map<KeyValue, byte[]> SERIALIZED = new ConcurrentHashMap<>();

        /** A key object and its bytes (immutable, so a slot is read whole by any thread). */
        private record Known(KeyValue key, byte[] bytes) {}

        /**
         * The bytes of key objects by identity, one slot per identity hash (a later key takes the
         * slot). A B-tree search compares its key with the keys of the pages it passes, the same
         * objects again and again while the pages are cached: by identity that is one array read,
         * where the map by equality hashes and compares the keys' value lists (with 100k
         * documents per collection that was a third of the server's time).
         */
        private static final int SLOTS = 1 << 18;
        private static final AtomicReferenceArray<Known> BY_IDENTITY = new AtomicReferenceArray<>(SLOTS);

        private static byte[] bytes(KeyValue key) {
            int slot = System.identityHashCode(key) & (SLOTS - 1);
            Known seen = BY_IDENTITY.getPlain(slot);
            if (seen != null && seen.key() == key) return seen.bytes();
            byte[] known = SERIALIZED.get(key);
            if (known == null) {
                known = ObjectDataType.serialize(key);
                if (SERIALIZED.size() >= REMEMBERED) SERIALIZED.clear();
                SERIALIZED.put(key, known);
            }
            BY_IDENTITY.setPlain(slot, new Known(key, known));
            return known;
        }

        @Override
        public int compare(Object a, Object b) {
            if (a instanceof KeyValue x && b instanceof KeyValue y) return x == y ? 0 : ObjectDataType.compareNotNull(bytes(x), bytes(y));
            return super.compare(a, b);
        }

        /**
         * What H2 counts a key as in a page's size and in its page cache: about what the key takes
         * on the heap. H2's own estimate is a running average that only its write and read update,
         * which this class replaces, so every key counted 10,000 bytes: index pages split at two
         * or three keys (B-trees some 17 levels deep) and the cache held a fraction of the pages it
         * could, so lookups read and deserialized index pages again (a quarter of the server's time
         * in the settlement bench's part B).
         */
        @Override
        public int getMemory(Object value) {
            return value instanceof KeyValue key ? 2 * bytes(key).length + 64 : super.getMemory(value);
        }

        /** As H2 writes a serialized object (tag 19, length, bytes), from the remembered bytes. */
        @Override
        public void write(WriteBuffer buffer, Object value) {
            if (!(value instanceof KeyValue key)) {
                super.write(buffer, value);
                return;
            }
            byte[] data = bytes(key);
            buffer.put((byte) 19).putVarInt(data.length).put(data);
        }
    }

    /**
     * The value type of the collections' data maps: a document is stored as its BSON (tag
     * {@link #BSON}, length, bytes) instead of H2's Java serialization of the object (tag 19),
     * which was a third of the server's time (every page a commit rewrites serializes all of its
     * documents; every page read back deserializes them) and most of its garbage. Documents
     * stored by Java serialization (data folders made before) are read as before, and written
     * as BSON when their page is next rewritten. A document BSON cannot hold (no such type is
     * stored today) is written the old way.
     */
    static final class BsonDocuments extends ObjectDataType {
        /** A tag H2's ObjectDataType never writes (its tags end at 119). */
        static final byte BSON = 120;
        /** Encoding buffer per thread (commits run one at a time). */
        private static final ThreadLocal<ByteBuf> BUFFER = ThreadLocal.withInitial(() -> Unpooled.buffer(4096));
        /**
         * What H2 counts a document as in its page cache (a running average): about what the
         * decoded document takes on the heap, 5 times its BSON (a map entry, key and boxed value
         * per field). Counting the BSON size, or the Java serialization's as before, let the
         * cache (a quarter of the heap) hold documents taking most of the heap: the JVM ran out
         * of its 1 GB at the settlement bench's second 100k poll.
         */
        private volatile int averageSize = 2048;

        @Override
        public void write(WriteBuffer buffer, Object value) {
            if (!(value instanceof Document document)) {
                super.write(buffer, value);
                return;
            }
            ByteBuf out = BUFFER.get().clear();
            try {
                encode(document, out);
            } catch (RuntimeException notBson) {
                super.write(buffer, value);
                return;
            }
            int length = out.readableBytes();
            buffer.put(BSON).putVarInt(length).put(out.array(), out.arrayOffset() + out.readerIndex(), length);
            averageSize = (averageSize * 15 + 5 * length) >> 4;
        }

        /**
         * The bytes BsonEncoder.encodeDocument makes, walking entries instead of looking each key
         * up again (its keySet-then-get was a tenth of the server's time once documents were BSON).
         */
        static void encode(Map<?, ?> document, ByteBuf out) {
            int start = out.writerIndex();
            out.writeIntLE(0);
            for (Map.Entry<?, ?> entry : document.entrySet()) encodeElement((String) entry.getKey(), entry.getValue(), out);
            out.writeByte(0);
            out.setIntLE(start, out.writerIndex() - start);
        }

        private static void encodeElement(String key, Object value, ByteBuf out) {
            byte type = BsonEncoder.determineType(value);
            out.writeByte(type);
            out.writeCharSequence(key, StandardCharsets.UTF_8);
            out.writeByte(0);
            if (value instanceof Map<?, ?> map) encode(map, out);
            else if (value instanceof List<?> list) {
                int start = out.writerIndex();
                out.writeIntLE(0);
                for (int i = 0; i < list.size(); i++) encodeElement(Integer.toString(i), list.get(i), out);
                out.writeByte(0);
                out.setIntLE(start, out.writerIndex() - start);
            } else BsonEncoder.encodeValue(type, value, out);
        }

        @Override
        public Object read(ByteBuffer buffer) {
            if (buffer.get(buffer.position()) != BSON) return super.read(buffer);
            buffer.get();
            int length = DataUtils.readVarInt(buffer);
            ByteBuffer bytes = buffer.slice();
            bytes.limit(length);
            buffer.position(buffer.position() + length);
            return BsonDecoder.decodeBson(Unpooled.wrappedBuffer(bytes));
        }

        @Override
        public int getMemory(Object value) {
            return value instanceof Document ? averageSize : super.getMemory(value);
        }
    }

    /** Index maps opened with RememberedKeys (H2Database then gets this instance from openMap). */
    static final Set<String> FAST_INDEX_MAPS = ConcurrentHashMap.newKeySet();

    static void openIndexMap(MVStore store, String name) {
        if (FAST_INDEX_MAPS.add(name)) store.openMap(name, new MVMap.Builder<KeyValue, Object>().keyType(new RememberedKeys()));
    }

    /**
     * mongo-java-server uses an index only for a query whose fields are exactly an index's keys,
     * so a conditional single-document write ({_id, status: …}) read the whole collection unless
     * an index on exactly those fields existed, and every such index is updated by every write
     * that changes its fields (settlement's writes change `status` and fences on each request).
     * Here a query that names `_id` (a value, or {$in: […]}) and that no index covers whole reads
     * the documents with those ids through the _id index, then matches the whole query.
     *
     * And a query on {_id: {$in: […]}}: the index already found exactly the documents whose id is
     * in the list, so they are matched against the rest of the query only (mongo-java-server
     * compared each of them with the whole list: the square of its length).
     */
    record IdLookup<P>(Iterable<P> positions, Document rest) {
        /** The _id lookup for this query, or null when an index covers it whole or it names no _id (then mongo-java-server plans it). */
        static <P> IdLookup<P> of(Document query, List<Index<P>> indexes, String idField) {
            Object id = query.get("_id");
            if (id == null || !"_id".equals(idField)) return null;
            Document byId = new Document("_id", id);
            boolean listed = id instanceof Document in && in.size() == 1 && in.containsKey("$in");
            Index<P> idIndex = null;
            for (Index<P> index : indexes) {
                // Another index covering the query whole is used as mongo-java-server would (not for an _id list: the _id index finds exactly its documents).
                if (!listed && index.canHandle(query)) return null;
                if (idIndex == null && index.isUnique() && index.getKeys().size() == 1 && index.canHandle(byId)) idIndex = index;
            }
            if (idIndex == null) return null;
            Document rest = query;
            if (listed) {
                rest = new Document(query);
                rest.remove("_id");
            }
            return new IdLookup<>(idIndex.getPositions(byId), rest);
        }
    }

    static final class IdLedCollection extends H2Collection {
        private final MVMap<Object, Document> data;

        IdLedCollection(MongoDatabase database, String name, CollectionOptions options, MVMap<Object, Document> data, MVMap<String, Object> meta, CursorRegistry cursors) {
            super(database, name, options, data, meta, cursors);
            this.data = data;
        }

        /**
         * The documents an aggregation starts from (and so every countDocuments, which the driver
         * sends as one): read from the map as the stages consume them, in the same order as
         * before. mongo-java-server first read the whole collection into one list, so a count
         * held every document at once: at 100k requests the default 1 GB heap ran out and the
         * server died. An H2 map's iterator reads the tree as it was when it began (writes make
         * new pages), as the list was a copy of the collection at that moment.
         */
        @Override
        public Stream<Document> queryAllAsStream() {
            return data.values().stream();
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int skip, int limit, int batchSize, Document fieldSelector) {
            IdLookup<Object> byId = IdLookup.of(query, getIndexes(), getIdField());
            return byId == null ? super.queryDocuments(query, orderBy, skip, limit, batchSize, fieldSelector) : matchDocuments(byId.rest(), byId.positions(), orderBy, skip, limit, batchSize, fieldSelector);
        }
    }

    /** The in-memory engine (tests, and `npm start` without a data folder) plans the same way. */
    static final class IdLedMemoryCollection extends MemoryCollection {
        IdLedMemoryCollection(MongoDatabase database, String name, CollectionOptions options, CursorRegistry cursors) {
            super(database, name, options, cursors);
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int skip, int limit, int batchSize, Document fieldSelector) {
            IdLookup<Integer> byId = IdLookup.of(query, getIndexes(), getIdField());
            return byId == null ? super.queryDocuments(query, orderBy, skip, limit, batchSize, fieldSelector) : matchDocuments(byId.rest(), byId.positions(), orderBy, skip, limit, batchSize, fieldSelector);
        }
    }

    static final class IdLedMemoryBackend extends MemoryBackend {
        @Override
        public MemoryDatabase openOrCreateDatabase(String databaseName) {
            return new MemoryDatabase(databaseName, getCursorRegistry()) {
                @Override
                protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
                    return new IdLedMemoryCollection(this, collectionName, options, cursorRegistry);
                }
            };
        }
    }

    /** The store of this process's backend: collections are opened while H2Database's constructor runs, before a subclass's fields are set. */
    static volatile MVStore STORE;

    static final class IdLedDatabase extends H2Database {
        IdLedDatabase(String name, MVStore store, CursorRegistry cursors) {
            super(name, store, cursors);
        }

        @Override
        protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
            String full = getFullCollectionNamespace(collectionName);
            // The map names H2Database itself uses.
            MVMap<Object, Document> data = STORE.openMap("databases." + full, new MVMap.Builder<Object, Document>().valueType(new BsonDocuments()));
            return new IdLedCollection(this, collectionName, options, data, STORE.openMap("meta." + full), cursorRegistry);
        }
    }

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
        protected MongoDatabase openOrCreateDatabase(String databaseName) {
            return new IdLedDatabase(databaseName, getMvStore(), getCursorRegistry());
        }

        @Override
        public Document handleCommand(Channel channel, String database, String command, Document query) {
            if (!WRITES.contains(command.toLowerCase(Locale.ROOT))) {
                try {
                    return super.handleCommand(channel, database, command, query);
                } finally {
                    // A read that created something (a database's catalogue, an aggregation's $out).
                    if (store.hasUnsavedChanges()) commitIfIdle();
                }
            }
            long ticket;
            turns.lock();
            try {
                openIndexMapsFor(database, command, query);
                Document answer = super.handleCommand(channel, database, command, query);
                forgetDroppedMaps(database, command, query);
                return answer;
            } finally {
                // Also after a failed write: what it did change (an ordered insert's first
                // documents) is reported to the client as done.
                ticket = applied.incrementAndGet();
                turns.unlock();
                commitAppliedWrites(ticket);
            }
        }

        /** A write may create a collection (its _id index) or indexes: their maps are opened with RememberedKeys first. */
        private void openIndexMapsFor(String database, String command, Document query) {
            if (!(query.get(command) instanceof String collection)) return;
            String prefix = database + "." + collection + "._index_";
            openIndexMap(store, prefix + "_id_");
            if (command.equalsIgnoreCase("createIndexes") && query.get("indexes") instanceof List<?> indexes) {
                for (Object index : indexes) if (index instanceof Document d && d.get("name") instanceof String name) openIndexMap(store, prefix + name);
            }
        }

        /**
         * Maps of a dropped collection, database or index are gone: a new one of the same name is
         * opened again (forgetting a map still open is harmless: opening it returns it as it is).
         */
        private static void forgetDroppedMaps(String database, String command, Document query) {
            boolean dropsMaps = command.equalsIgnoreCase("drop") || command.equalsIgnoreCase("dropIndexes");
            String gone = command.equalsIgnoreCase("dropDatabase") ? database + "." : dropsMaps && query.get(command) instanceof String c ? database + "." + c + "._index_" : null;
            if (gone != null) FAST_INDEX_MAPS.removeIf(name -> name.startsWith(gone));
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

        /**
         * A read's own changes are committed only if no write holds the turns: that write commits
         * them with its own (or, if it was committing already, commitLeftovers does). A read never
         * waits for writes: the driver's heartbeat (hello) is a read, and one that waited behind a
         * queue of long writes past the driver's 30 s timeout made it drop the server.
         */
        private void commitIfIdle() {
            if (!turns.tryLock()) return;
            try {
                if (store.hasUnsavedChanges()) {
                    long upTo = applied.get();
                    store.commit();
                    durable = upTo;
                }
            } finally {
                turns.unlock();
            }
        }

        /** Between writes: what reads changed while a write was committing (see commitIfIdle). */
        void commitLeftovers() {
            if (store.hasUnsavedChanges()) commitAppliedWrites(Long.MAX_VALUE);
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
                if (periodic) h2 = new H2Backend(file);
                else {
                    STORE = openStore(file);
                    h2 = new DurableH2Backend(STORE);
                }
            } catch (MVStoreException e) {
                if (e.getErrorCode() == DataUtils.ERROR_FILE_LOCKED) fail("LOCKED " + file, 3);
                fail("ERROR the data file " + file + " cannot be opened: " + oneLine(e.getMessage()), 1);
            }
        }
        MongoBackend backend = (h2 != null ? h2 : new IdLedMemoryBackend()).version(REPORTED);
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
            background.scheduleWithFixedDelay(durable::commitLeftovers, 1, 1, TimeUnit.SECONDS);
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
        // H2's page cache (16 MB by default) in MB: pages read again are deserialized again, so it grows
        // with the heap. At least 768 MB (and half the heap) stay for the rest, above all a query's whole
        // result, which the server holds: 100k open requests are some 350 MB decoded. So about a fifth
        // of the default 1 GB heap (a quarter before), half of 2 GB or more.
        long heapMb = Runtime.getRuntime().maxMemory() / (1024 * 1024);
        int cacheMb = (int) Math.max(16, Math.min(heapMb / 2, heapMb - 768));
        MVStore store = new MVStore.Builder().fileName(file).autoCommitDisabled().autoCommitBufferSize(0).cacheSize(cacheMb).open();
        for (String name : store.getMapNames()) if (name.contains("._index_")) openIndexMap(store, name);
        return store;
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
