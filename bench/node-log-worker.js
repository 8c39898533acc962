// N locked, durable appends to an NDJSON log with proper-lockfile + fs.appendFile + fsync, as a
// Node tool appending events does. Usage: node node-log-worker.js LOG N   Prints {"ops", "seconds", "waits_us"}.
'use strict';
const fs = require('fs');
const lockfile = require('proper-lockfile');

async function main() {
  const [file, count] = [process.argv[2], Number(process.argv[3])];
  const options = { stale: 10000, retries: { retries: 5000, factor: 1.2, minTimeout: 1, maxTimeout: 20 } };
  const waits = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const asked = process.hrtime.bigint();
    const release = await lockfile.lock(file, options);
    waits.push(Number(process.hrtime.bigint() - asked) / 1000);
    const fd = fs.openSync(file, 'a');
    fs.writeSync(fd, JSON.stringify({ id: `${process.pid}-${i}`, kind: 'progress', n: i }) + '\n');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    await release();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ ops: count, seconds, waits_us: waits }));
}

main().catch((err) => { console.error(err); process.exit(1); });
