// N locked counter increments with proper-lockfile + write-file-atomic, as a Node tool sharing
// files with stet does (used by the benchmark and by the interop tests).
// Usage: node node-worker.js FILE N      Prints {"ops", "seconds", "waits_us": [...]}.
'use strict';
const fs = require('fs');
const lockfile = require('proper-lockfile');
const writeFileAtomic = require('write-file-atomic');

async function main() {
  const [file, count] = [process.argv[2], Number(process.argv[3])];
  const options = {
    stale: 10000,
    retries: { retries: 5000, factor: 1.2, minTimeout: 1, maxTimeout: 20 },
    onCompromised: (err) => { console.error(`lock compromised: ${err.message}`); process.exit(3); },
  };
  const waits = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const asked = process.hrtime.bigint();
    const release = await lockfile.lock(file, options);
    waits.push(Number(process.hrtime.bigint() - asked) / 1000);
    const current = parseInt(fs.readFileSync(file, 'utf8') || '0', 10);
    await writeFileAtomic(file, `${current + 1}\n`);
    await release();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ ops: count, seconds, waits_us: waits }));
}

main().catch((err) => { console.error(err); process.exit(1); });
