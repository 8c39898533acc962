// One locked counter increment with proper-lockfile + write-file-atomic, then exit: a Node CLI
// invoked once per operation. Usage: node node-once.js FILE
'use strict';
const fs = require('fs');
const lockfile = require('proper-lockfile');
const writeFileAtomic = require('write-file-atomic');

(async () => {
  const file = process.argv[2];
  const release = await lockfile.lock(file, { retries: { retries: 5000, factor: 1.2, minTimeout: 1, maxTimeout: 20 } });
  const current = parseInt(fs.readFileSync(file, 'utf8') || '0', 10);
  await writeFileAtomic(file, `${current + 1}\n`);
  await release();
})().catch((err) => { console.error(err); process.exit(1); });
