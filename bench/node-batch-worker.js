// A Node client of `stet batch`: one stet process, its pipes kept open, one request in flight.
// Usage: node node-batch-worker.js FILE N        N durable edits setting `counter` to the next
//                                                 number; prints {"ops", "seconds", "waits_us"}
//        node node-batch-worker.js FILE --get N  N gets of `counter`; prints {"median_us"}
// The stet binary is $STET_BIN (default: stet on PATH).
'use strict';
const fs = require('fs');
const { spawn } = require('child_process');
const readline = require('readline');

function startBatch() {
  const child = spawn(process.env.STET_BIN || 'stet', ['batch', '--timeout', 'inf'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const response = JSON.parse(line);
    const { resolve, reject } = waiting.shift();
    if (response.ok) resolve(response.result);
    else reject(Object.assign(new Error(response.error.message), { code: response.error.code }));
  });
  const call = (request) => new Promise((resolve, reject) => {
    waiting.push({ resolve, reject });
    child.stdin.write(`${JSON.stringify(request)}\n`);
  });
  const close = () => new Promise((resolve) => { child.on('close', resolve); child.stdin.end(); });
  return { call, close };
}

async function main() {
  const file = process.argv[2];
  const batch = startBatch();
  if (process.argv[3] === '--get') {
    const count = Number(process.argv[4]);
    const samples = [];
    for (let i = 0; i < count; i++) {
      const started = process.hrtime.bigint();
      await batch.call({ op: 'get', path: file, key: 'counter' });
      samples.push(Number(process.hrtime.bigint() - started) / 1000);
    }
    await batch.close();
    samples.sort((a, b) => a - b);
    console.log(JSON.stringify({ median_us: samples[Math.floor(samples.length / 2)] }));
    return;
  }
  const count = Number(process.argv[3]);
  const start = Number(/\ncounter: (\d+)/.exec(fs.readFileSync(file, 'utf8'))[1]);
  const started = process.hrtime.bigint();
  for (let n = 1; n <= count; n++) {
    await batch.call({ op: 'set', path: file, values: { counter: start + n } });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await batch.close();
  console.log(JSON.stringify({ ops: count, seconds, waits_us: [] }));
}

main().catch((err) => { console.error(err); process.exit(1); });
