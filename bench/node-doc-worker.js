// Locked frontmatter edits with proper-lockfile + gray-matter + write-file-atomic, as a Node
// spec/story tool does them.
// Usage: node node-doc-worker.js FILE N           N increments of `counter`; prints {"ops", "seconds", "waits_us"}
//        node node-doc-worker.js FILE --set K V   one edit setting K to V (a process per operation)
'use strict';
const fs = require('fs');
const lockfile = require('proper-lockfile');
const matter = require('gray-matter');
const writeFileAtomic = require('write-file-atomic');

const options = {
  stale: 10000,
  retries: { retries: 5000, factor: 1.2, minTimeout: 1, maxTimeout: 20 },
  onCompromised: (err) => { console.error(`lock compromised: ${err.message}`); process.exit(3); },
};

async function edit(file, change) {
  const release = await lockfile.lock(file, options);
  // gray-matter caches parses by content; a fresh object per read avoids serving stale data.
  const parsed = matter(fs.readFileSync(file, 'utf8'), { cache: false });
  change(parsed.data);
  await writeFileAtomic(file, matter.stringify(parsed.content, parsed.data));
  await release();
}

async function main() {
  const file = process.argv[2];
  if (process.argv[3] === '--set') {
    const [key, value] = [process.argv[4], process.argv[5]];
    await edit(file, (data) => { data[key] = value; });
    return;
  }
  const count = Number(process.argv[3]);
  const waits = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const asked = process.hrtime.bigint();
    await edit(file, (data) => {
      waits.push(Number(process.hrtime.bigint() - asked) / 1000);
      data.counter = (data.counter || 0) + 1;
    });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ ops: count, seconds, waits_us: waits }));
}

main().catch((err) => { console.error(err); process.exit(1); });
