// Increments the counter in FILE N times, each under npm proper-lockfile's lock, writing with
// write-file-atomic: what a Node tool that shares files with stet does.
// Usage: node node-increment.js FILE N [STALE_MS]
'use strict';
const fs = require('fs');
const lockfile = require('proper-lockfile');
const writeFileAtomic = require('write-file-atomic');

async function main() {
  const [file, count, staleMs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 10000)];
  const options = {
    stale: staleMs,
    retries: { retries: 5000, factor: 1.2, minTimeout: 1, maxTimeout: 20 },
    onCompromised: (err) => { console.error(`lock compromised: ${err.message}`); process.exit(3); },
  };
  for (let i = 0; i < count; i++) {
    const release = await lockfile.lock(file, options);
    const current = parseInt(fs.readFileSync(file, 'utf8') || '0', 10);
    await writeFileAtomic(file, `${current + 1}\n`);
    await release();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
