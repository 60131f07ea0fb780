// The driver workload of test_drivers.py for node-postgres (Debian's
// node-pg); py_workload.py and JdbcWorkload.java hold the same workload
// for the other drivers, and test_drivers.py describes it.
//
// Settings come from the environment: LGW_HOST, LGW_PORT, LGW_USER,
// LGW_PASSWORD, LGW_DB, LGW_TABLE, LGW_MODE, LGW_NAMED, LGW_WORKERS. The
// statements that repeat are named (server-side prepared statements) unless
// LGW_NAMED is 0, for poolers that cannot carry them in transaction mode.
//
// Output: one JSON object per line, {"w": worker, "step": name, "v": value}
// or {"w": worker, "step": name, "error": {...}} when a step failed.
'use strict';

const crypto = require('crypto');
const { Client } = require('pg');

const env = process.env;
const TABLE = env.LGW_TABLE;
const MODE = env.LGW_MODE;
const NAMED = env.LGW_NAMED !== '0';
const WORKERS = parseInt(env.LGW_WORKERS || '20', 10);
const ROWS = 8;
const REPORTED = ['application_name', 'client_encoding', 'DateStyle', 'TimeZone', 'IntervalStyle',
  'integer_datetimes', 'standard_conforming_strings', 'server_encoding', 'server_version'];
const SHOWN = ['application_name', 'TimeZone', 'DateStyle', 'client_encoding', 'extra_float_digits',
  'IntervalStyle', 'standard_conforming_strings'];
const FLOATS = [0.30000000000000004, 0.3333333333333333, 1.2345678901234567e300,
  -2.2250738585072014e-308, 5e-324, 123456789.12345679, 3.141592653589793, -1e-7];
const LARGE_SQL = 'SELECT g, md5(g::text), repeat(chr(65 + g % 26), g % 97)' +
  ' FROM generate_series(1, 10000) AS g ORDER BY g';
const PREPARED_SQL = "SELECT string_agg(name, ',' ORDER BY name) FROM pg_prepared_statements";
const COLUMNS = 'id, worker, i4, i8, num, txt, bin, ts, flag, nul, f8, doc';
const PLACEHOLDERS = Array.from({ length: 11 }, (_, i) => '$' + (i + 1)).join(', ') + ', $12::json';
const INSERT = `INSERT INTO ${TABLE} (${COLUMNS}) VALUES (${PLACEHOLDERS})`;

function emit(w, step, value, error) {
  const rec = { w, step };
  if (error !== undefined) rec.error = error;
  else rec.v = value;
  process.stdout.write(JSON.stringify(rec) + '\n');
}

function pad2(n) {
  return (n < 10 ? '0' : '') + n;
}

// The parameters of row k of worker w (bigint and numeric as strings:
// a JavaScript number cannot hold them).
function rowValues(w, k) {
  const i4 = k === 0 ? 2147483647 : k === 1 ? -2147483648 : w * 1000 + k;
  const i8 = k === 0 ? '9223372036854775807' : k === 1 ? '-9223372036854775808'
    : (9007199254740993n + BigInt(w * 1000 + k)).toString();
  const num = (k % 2 ? '-' : '') + '1234567890123456789012345.' + pad2(w) + k + '000000001';
  const txt = `O'Reilly "quoted" back\\slash tab\t nl\n \u00fcn\u00efc\u00f8d\u00e9 \u2713 \u{1F418}` +
    ` w${w}k${k}`;
  const bin = Buffer.alloc(300);
  for (let i = 0; i < 300; i++) bin[i] = (w * 7 + k * 13 + i) % 256;
  const ts = new Date(Date.UTC(2024, 1, 29, 13, 45, 56, 789) + w * 3600000 + k * 60000);
  const doc = JSON.stringify({ w, k, s: "\u00fc'\"\\", a: [1, 2.5, null, true] });
  return [w * 100 + k, w, i4, i8, num, txt, bin, ts, k % 2 === 0, null, FLOATS[k], doc];
}

function canon(value) {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return 'bytes:' + value.toString('hex');
  if (value instanceof Date) return 'Date:' + value.toISOString();
  if (typeof value === 'number' && !Number.isInteger(value)) return 'float:' + String(value);
  if (Array.isArray(value)) return value.map(canon);
  return value;
}

function errorOf(err) {
  return { sqlstate: err.code || null, type: err.constructor ? err.constructor.name : 'Error',
    message: String(err.message).slice(0, 300) };
}

async function worker(w) {
  const client = new Client({
    host: env.LGW_HOST, port: parseInt(env.LGW_PORT, 10), user: env.LGW_USER,
    password: env.LGW_PASSWORD, database: env.LGW_DB, application_name: `lg-node-pg-${w}`,
    connectionTimeoutMillis: 10000,
  });
  const reported = {};
  client.connection.on('parameterStatus', (msg) => {
    reported[msg.parameterName] = msg.parameterValue;
  });
  // The statements that repeat are named: node-postgres prepares them once
  // per connection and then only binds and executes.
  const q = (name, text, values) => {
    const config = { text, values, rowMode: 'array' };
    if (NAMED && name) config.name = name;
    return client.query(config);
  };
  const step = async (name, fn) => {
    try {
      emit(w, name, await fn());
    } catch (err) {
      emit(w, name, undefined, errorOf(err));
    }
  };
  // A simple-protocol query's first value.
  const scalar = async (text) => (await client.query({ text, rowMode: 'array' })).rows[0][0];
  await client.connect();
  const countSql = `SELECT count(*) FROM ${TABLE} WHERE worker = $1`;
  const count = async () => (await q('lg_count', countSql, [w])).rows[0][0];

  await step('startup', async () => {
    const out = {};
    for (const n of REPORTED) out[n] = n in reported ? reported[n] : null;
    return out;
  });
  await step('show', async () => {
    const out = {};
    for (const n of SHOWN) out[n] = await scalar('SHOW ' + n);
    return out;
  });
  await step('insert', async () => {
    let n = 0;
    for (let k = 0; k < ROWS; k++) n += (await q('lg_insert', INSERT, rowValues(w, k))).rowCount;
    return n;
  });
  await step('select', async () => {
    const r = await q('lg_select', `SELECT ${COLUMNS} FROM ${TABLE} WHERE worker = $1 ORDER BY id`,
      [w]);
    return r.rows.map(canon);
  });
  await step('select_text', async () => {
    const r = await q(null, "SELECT ts::text, '03/04/05'::date::text, f8::text, num::text" +
      ` FROM ${TABLE} WHERE worker = $1 ORDER BY id`, [w]);
    return r.rows;
  });
  await step('repeat', async () => {
    const out = [];
    for (let i = 0; i < 6; i++) {
      out.push((await q('lg_repeat', `SELECT count(*), min(id), max(id) FROM ${TABLE}` +
        ' WHERE worker = $1 AND id >= $2', [w, w * 100 + i])).rows[0]);
    }
    return out;
  });
  await step('prepared', () => scalar(PREPARED_SQL));
  await step('rollback', async () => {
    await client.query('BEGIN');
    let inside;
    try {
      const row = rowValues(w, 0);
      row[0] = w * 100 + 99;
      await q('lg_insert', INSERT, row);
      inside = await count();
    } finally {
      await client.query('ROLLBACK');
    }
    return [inside, await count()];
  });
  await step('unique', async () => {
    let state = null;
    try {
      await q('lg_insert', INSERT, rowValues(w, 0));
    } catch (err) {
      state = err.code;
    }
    return [state, await scalar('SELECT 1')];
  });
  await step('divzero', async () => {
    let state = null;
    try {
      await q(null, 'SELECT 1 / $1::int', [0]);
    } catch (err) {
      state = err.code;
    }
    return [state, await count()];
  });
  await step('txerror', async () => {
    const states = [];
    await client.query('BEGIN');
    try {
      for (const sql of ['SELECT 1 / 0', 'SELECT 1']) {
        try {
          await client.query(sql);
        } catch (err) {
          states.push(err.code);
        }
      }
    } finally {
      await client.query('ROLLBACK');
    }
    return states.concat([await scalar('SELECT 2')]);
  });
  await step('large', async () => {
    const r = await client.query({ text: LARGE_SQL, rowMode: 'array' });
    const h = crypto.createHash('sha256');
    let sum = 0;
    for (const [g, md5, pad] of r.rows) {
      sum += g;
      h.update(`${g}|${md5}|${pad}\n`);
    }
    const n = r.rows.length;
    return {
      n, sum, first: n ? r.rows[0] : null, last: n ? r.rows[n - 1] : null, sha256: h.digest('hex'),
    };
  });
  await step('final', async () => (await q(null,
    `SELECT count(*), sum(i8)::text FROM ${TABLE} WHERE worker = $1`, [w])).rows[0]);
  await client.end();
  emit(w, 'done', true);
}

async function main() {
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w).catch((err) => {
    emit(w, 'fatal', undefined, errorOf(err));
  })));
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(String(err && err.stack) + '\n');
  process.exit(1);
});
