// The driver workload of test_drivers.py for the PostgreSQL JDBC driver
// (Debian's libpostgresql-jdbc-java); py_workload.py and pg_workload.js hold
// the same workload for the other drivers, and test_drivers.py describes it.
//
// Settings come from the environment: LGW_HOST, LGW_PORT, LGW_USER,
// LGW_PASSWORD, LGW_DB, LGW_TABLE, LGW_MODE, LGW_NAMED, LGW_WORKERS. The driver sends
// DateStyle, TimeZone (the JVM's: test_drivers.py runs java with
// -Duser.timezone), extra_float_digits=3 and application_name in the
// startup packet (assumeMinServerVersion=9.0). With LGW_NAMED=0
// prepareThreshold=0 keeps every statement unnamed; else in transaction
// mode prepareThreshold=1 names every statement from its second use, and
// in session mode the driver's default (5) names statements used often.
//
// Output: one JSON object per line, {"w": worker, "step": name, "v": value}
// or {"w": worker, "step": name, "error": {...}} when a step failed.

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

public class JdbcWorkload {
    static final String TABLE = System.getenv("LGW_TABLE");
    static final String MODE = System.getenv("LGW_MODE");
    static final int ROWS = 8;
    static final String[] REPORTED = {"application_name", "client_encoding", "DateStyle",
        "TimeZone", "IntervalStyle", "integer_datetimes", "standard_conforming_strings",
        "server_encoding", "server_version"};
    static final String[] SHOWN = {"application_name", "TimeZone", "DateStyle",
        "client_encoding", "extra_float_digits", "IntervalStyle", "standard_conforming_strings"};
    static final double[] FLOATS = {0.30000000000000004, 0.3333333333333333,
        1.2345678901234567e300, -2.2250738585072014e-308, 5e-324, 123456789.12345679,
        3.141592653589793, -1e-7};
    static final String LARGE_SQL = "SELECT g, md5(g::text), repeat(chr(65 + g % 26), g % 97)"
        + " FROM generate_series(1, 10000) AS g ORDER BY g";
    static final String PREPARED_SQL =
        "SELECT string_agg(name, ',' ORDER BY name) FROM pg_prepared_statements";
    static final String COLUMNS = "id, worker, i4, i8, num, txt, bin, ts, flag, nul, f8, doc";
    static final String INSERT = "INSERT INTO " + TABLE + " (" + COLUMNS
        + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::json)";

    // --- a small JSON writer -------------------------------------------

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
            }
        }
        return b.append('"').toString();
    }

    static String json(Object v) {
        if (v == null) return "null";
        if (v instanceof String) return quote((String) v);
        if (v instanceof Boolean || v instanceof Integer || v instanceof Long) return v.toString();
        if (v instanceof Map) {
            StringBuilder b = new StringBuilder("{");
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (b.length() > 1) b.append(", ");
                b.append(quote(e.getKey().toString())).append(": ").append(json(e.getValue()));
            }
            return b.append('}').toString();
        }
        if (v instanceof List) {
            StringBuilder b = new StringBuilder("[");
            for (Object o : (List<?>) v) {
                if (b.length() > 1) b.append(", ");
                b.append(json(o));
            }
            return b.append(']').toString();
        }
        return quote(v.getClass().getSimpleName() + ":" + v);
    }

    static synchronized void emit(int w, String step, Object value, Map<String, Object> error) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("w", w);
        rec.put("step", step);
        if (error != null) rec.put("error", error);
        else rec.put("v", value);
        System.out.println(json(rec));
        System.out.flush();
    }

    static Map<String, Object> errorOf(Throwable e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("sqlstate", e instanceof SQLException ? ((SQLException) e).getSQLState() : null);
        m.put("type", e.getClass().getSimpleName());
        String msg = String.valueOf(e.getMessage());
        m.put("message", msg.length() > 300 ? msg.substring(0, 300) : msg);
        return m;
    }

    // --- the workload ----------------------------------------------------

    static String hex(byte[] bytes) {
        StringBuilder b = new StringBuilder();
        for (byte x : bytes) b.append(String.format("%02x", x & 0xff));
        return b.toString();
    }

    static void bindRow(PreparedStatement ps, int w, int k, int id) throws SQLException {
        long i8 = k == 0 ? Long.MAX_VALUE : k == 1 ? Long.MIN_VALUE
            : 9007199254740993L + w * 1000L + k;
        String num = (k % 2 == 1 ? "-" : "") + "1234567890123456789012345."
            + String.format("%02d", w) + k + "000000001";
        String txt = "O'Reilly \"quoted\" back\\slash tab\t nl\n \u00fcn\u00efc\u00f8d\u00e9 "
            + "\u2713 "
            + new String(Character.toChars(0x1F418)) + " w" + w + "k" + k;
        byte[] bin = new byte[300];
        for (int i = 0; i < 300; i++) bin[i] = (byte) ((w * 7 + k * 13 + i) % 256);
        OffsetDateTime ts = OffsetDateTime.of(2024, 2, 29, 13, 45, 56, 789_000_000, ZoneOffset.UTC)
            .plusHours(w).plusMinutes(k);
        String doc = "{\"w\": " + w + ", \"k\": " + k
            + ", \"s\": \"\u00fc'\\\"\\\\\", \"a\": [1, 2.5, null, true]}";
        ps.setInt(1, id);
        ps.setInt(2, w);
        ps.setInt(3, k == 0 ? Integer.MAX_VALUE : k == 1 ? Integer.MIN_VALUE : w * 1000 + k);
        ps.setLong(4, i8);
        ps.setBigDecimal(5, new BigDecimal(num));
        ps.setString(6, txt);
        ps.setBytes(7, bin);
        ps.setObject(8, ts);
        ps.setBoolean(9, k % 2 == 0);
        ps.setNull(10, java.sql.Types.VARCHAR);
        ps.setDouble(11, FLOATS[k]);
        ps.setString(12, doc);
    }

    static Object canon(ResultSet rs, int col) throws SQLException {
        String type = rs.getMetaData().getColumnTypeName(col);
        if (type.equals("timestamptz")) {
            OffsetDateTime t = rs.getObject(col, OffsetDateTime.class);
            return t == null ? null : "OffsetDateTime:" + t;
        }
        if (type.equals("bytea")) {
            byte[] b = rs.getBytes(col);
            return b == null ? null : "bytes:" + hex(b);
        }
        Object v = rs.getObject(col);
        if (v == null || v instanceof String || v instanceof Integer || v instanceof Long
            || v instanceof Boolean) return v;
        if (v instanceof BigDecimal) return "BigDecimal:" + ((BigDecimal) v).toPlainString();
        if (v instanceof Double) return "Double:" + Double.toString((Double) v);
        return v.getClass().getSimpleName() + ":" + rs.getString(col);
    }

    static List<Object> rows(ResultSet rs, boolean typed) throws SQLException {
        List<Object> out = new ArrayList<>();
        ResultSetMetaData md = rs.getMetaData();
        while (rs.next()) {
            List<Object> row = new ArrayList<>();
            for (int c = 1; c <= md.getColumnCount(); c++)
                row.add(typed ? canon(rs, c) : rs.getString(c));
            out.add(row);
        }
        return out;
    }

    interface Step {
        Object run() throws Exception;
    }

    static void step(Connection conn, int w, String name, Step fn) {
        try {
            emit(w, name, fn.run(), null);
        } catch (Exception e) {
            emit(w, name, null, errorOf(e));
            try {
                if (!conn.getAutoCommit()) conn.rollback();
                conn.setAutoCommit(true);
            } catch (SQLException ignored) {
                // the connection may be gone; later steps will say so
            }
        }
    }

    static Object scalar(Connection conn, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) ps.setObject(i + 1, args[i]);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getObject(1);
            }
        }
    }

    static void worker(int w) throws Exception {
        String url = "jdbc:postgresql://" + System.getenv("LGW_HOST") + ":"
            + System.getenv("LGW_PORT") + "/" + System.getenv("LGW_DB");
        Properties props = new Properties();
        props.setProperty("user", System.getenv("LGW_USER"));
        props.setProperty("password", System.getenv("LGW_PASSWORD"));
        props.setProperty("ApplicationName", "lg-jdbc-" + w);
        props.setProperty("assumeMinServerVersion", "9.0");
        props.setProperty("sslmode", "disable");
        props.setProperty("connectTimeout", "10");
        if ("0".equals(System.getenv("LGW_NAMED")))
            props.setProperty("prepareThreshold", "0");
        else if (MODE.equals("transaction"))
            props.setProperty("prepareThreshold", "1");
        String countSql = "SELECT count(*) FROM " + TABLE + " WHERE worker = ?";

        try (Connection conn = DriverManager.getConnection(url, props)) {
            step(conn, w, "startup", () -> {
                Map<String, String> all = conn.unwrap(org.postgresql.PGConnection.class)
                    .getParameterStatuses();
                Map<String, Object> out = new LinkedHashMap<>();
                for (String n : REPORTED) out.put(n, all.get(n));
                return out;
            });
            step(conn, w, "show", () -> {
                Map<String, Object> out = new LinkedHashMap<>();
                try (Statement st = conn.createStatement()) {
                    for (String n : SHOWN) {
                        try (ResultSet rs = st.executeQuery("SHOW " + n)) {
                            rs.next();
                            out.put(n, rs.getString(1));
                        }
                    }
                }
                return out;
            });
            step(conn, w, "insert", () -> {
                int n = 0;
                conn.setAutoCommit(false);
                try (PreparedStatement ps = conn.prepareStatement(INSERT)) {
                    for (int k = 0; k < ROWS / 2; k++) {
                        bindRow(ps, w, k, w * 100 + k);
                        n += ps.executeUpdate();
                    }
                    for (int k = ROWS / 2; k < ROWS; k++) {
                        bindRow(ps, w, k, w * 100 + k);
                        ps.addBatch();
                    }
                    for (int c : ps.executeBatch()) n += c;
                }
                conn.commit();
                conn.setAutoCommit(true);
                return n;
            });
            step(conn, w, "select", () -> {
                try (PreparedStatement ps = conn.prepareStatement(
                        "SELECT " + COLUMNS + " FROM " + TABLE + " WHERE worker = ? ORDER BY id")) {
                    ps.setInt(1, w);
                    try (ResultSet rs = ps.executeQuery()) {
                        return rows(rs, true);
                    }
                }
            });
            step(conn, w, "select_text", () -> {
                try (PreparedStatement ps = conn.prepareStatement(
                        "SELECT ts::text, '03/04/05'::date::text, f8::text, num::text FROM " + TABLE
                        + " WHERE worker = ? ORDER BY id")) {
                    ps.setInt(1, w);
                    try (ResultSet rs = ps.executeQuery()) {
                        return rows(rs, false);
                    }
                }
            });
            step(conn, w, "repeat", () -> {
                // Six runs: past prepareThreshold in session mode.
                List<Object> out = new ArrayList<>();
                try (PreparedStatement ps = conn.prepareStatement(
                        "SELECT count(*), min(id), max(id) FROM " + TABLE
                        + " WHERE worker = ? AND id >= ?")) {
                    for (int i = 0; i < 6; i++) {
                        ps.setInt(1, w);
                        ps.setInt(2, w * 100 + i);
                        try (ResultSet rs = ps.executeQuery()) {
                            out.addAll(rows(rs, true));
                        }
                    }
                }
                return out;
            });
            step(conn, w, "prepared", () -> scalar(conn, PREPARED_SQL));
            step(conn, w, "rollback", () -> {
                conn.setAutoCommit(false);
                try (PreparedStatement ps = conn.prepareStatement(INSERT)) {
                    bindRow(ps, w, 0, w * 100 + 99);
                    ps.executeUpdate();
                }
                Object inside = scalar(conn, countSql, w);
                conn.rollback();
                conn.setAutoCommit(true);
                return Arrays.asList(inside, scalar(conn, countSql, w));
            });
            step(conn, w, "unique", () -> {
                String state = null;
                try (PreparedStatement ps = conn.prepareStatement(INSERT)) {
                    bindRow(ps, w, 0, w * 100);
                    ps.executeUpdate();
                } catch (SQLException e) {
                    state = e.getSQLState();
                }
                return Arrays.asList(state, scalar(conn, "SELECT 1"));
            });
            step(conn, w, "divzero", () -> {
                String state = null;
                try {
                    scalar(conn, "SELECT 1 / ?::int", 0);
                } catch (SQLException e) {
                    state = e.getSQLState();
                }
                return Arrays.asList(state, scalar(conn, countSql, w));
            });
            step(conn, w, "txerror", () -> {
                List<Object> out = new ArrayList<>();
                conn.setAutoCommit(false);
                for (String sql : new String[] {"SELECT 1 / 0", "SELECT 1"}) {
                    try {
                        scalar(conn, sql);
                    } catch (SQLException e) {
                        out.add(e.getSQLState());
                    }
                }
                conn.rollback();
                conn.setAutoCommit(true);
                out.add(scalar(conn, "SELECT 2"));
                return out;
            });
            step(conn, w, "large", () -> {
                // A fetch size inside a transaction: the driver reads the
                // result through a portal, 1000 rows per Execute.
                conn.setAutoCommit(false);
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                long sum = 0;
                int n = 0;
                List<Object> first = null, last = null;
                try (Statement st = conn.createStatement()) {
                    st.setFetchSize(1000);
                    try (ResultSet rs = st.executeQuery(LARGE_SQL)) {
                        while (rs.next()) {
                            int g = rs.getInt(1);
                            String h = rs.getString(2), pad = rs.getString(3);
                            String line = g + "|" + h + "|" + pad + "\n";
                            md.update(line.getBytes(StandardCharsets.UTF_8));
                            sum += g;
                            last = Arrays.asList(g, h, pad);
                            if (n++ == 0) first = last;
                        }
                    }
                }
                conn.commit();
                conn.setAutoCommit(true);
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("n", n);
                out.put("sum", sum);
                out.put("first", first);
                out.put("last", last);
                out.put("sha256", String.format("%064x", new BigInteger(1, md.digest())));
                return out;
            });
            step(conn, w, "final", () -> {
                try (PreparedStatement ps = conn.prepareStatement(
                        "SELECT count(*), sum(i8)::text FROM " + TABLE + " WHERE worker = ?")) {
                    ps.setInt(1, w);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        return Arrays.asList(rs.getLong(1), rs.getString(2));
                    }
                }
            });
        }
        emit(w, "done", true, null);
    }

    public static void main(String[] args) throws Exception {
        int workers = Integer.parseInt(System.getenv().getOrDefault("LGW_WORKERS", "20"));
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
            final int w = i;
            Thread t = new Thread(() -> {
                try {
                    worker(w);
                } catch (Exception e) {
                    emit(w, "fatal", null, errorOf(e));
                }
            });
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) t.join();
    }
}
