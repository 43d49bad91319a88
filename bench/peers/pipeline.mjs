// A Node-only scenario B for profiling the hot path without Chromium: the peers adapter's relay,
// its publisher (in a child process, windowed as the harness does: 500-event chunks, at most 4
// unacknowledged) and N subscribers on the SDK in this process. Prints delivered ev/s and the CPU
// seconds of each process, so a change can be judged by where the time goes. Layer: bench.
//   node bench/peers/pipeline.mjs [events=100000] [subscribers=1] [rate]
// With a rate (events/s) the publisher is paced as in scenarios A and D instead of windowed.
// Profiles: PIPELINE_PROF=DIR writes --cpu-prof files of the publisher and of this process there.
import fs from 'node:fs';
import path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import adapter from './holdfast.mjs';

const self = fileURLToPath(import.meta.url);
const mono = () => Number(process.hrtime.bigint()) / 1e6;
// [utime, stime] in seconds (clock ticks of 10 ms)
const cpuOf = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return [Number(f[11]) / 100, Number(f[12]) / 100];
};

if (process.argv[2] === '--publisher') {
  const { info, session, count, rate } = JSON.parse(process.argv[3]);
  const pub = await adapter.createPublisher(info, session);
  process.send({ ready: true });
  process.once('message', async () => {
    const cpu0 = process.cpuUsage();
    const barriers = [];
    const t0 = mono();
    for (let i = 0; rate && i < count;) {
      const due = Math.min(count, Math.floor(((mono() - t0) * rate) / 1000) + 1);
      for (; i < due; i++) pub.append({ seq: i, t: mono(), tok: 'token-' + (i % 1000) });
      if (i < count) await new Promise((r) => setTimeout(r, Math.max(0, (i * 1000) / rate - (mono() - t0))));
    }
    for (let i = 0; !rate && i < count;) {
      const end = Math.min(count, i + 500);
      for (; i < end; i++) pub.append({ seq: i, t: mono(), tok: 'token-' + (i % 1000) });
      barriers.push(pub.barrier());
      if (barriers.length >= 4) await barriers.shift();
    }
    await pub.barrier();
    const cpu = process.cpuUsage(cpu0);
    process.send({ done: true, cpuS: (cpu.user + cpu.system) / 1e6 });
    await pub.close();
    process.exit(0);
  });
} else {
  const count = Number(process.argv[2] ?? 100000);
  const subscribers = Number(process.argv[3] ?? 1);
  const rate = Number(process.argv[4] ?? 0);
  const prof = process.env.PIPELINE_PROF;
  const server = await adapter.startServer({});
  const session = `pipe-${Date.now()}`;
  let delivered = 0;
  let tLast = 0;
  let allDone;
  const finished = new Promise((r) => { allDone = r; });
  const subs = [];
  for (let s = 0; s < subscribers; s++) {
    subs.push(await adapter.createSubscriber(server.info, session, () => {
      if (++delivered === count * subscribers) { tLast = mono(); allDone(); }
    }));
  }
  const execArgv = prof ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(prof)] : [];
  const child = fork(self, ['--publisher', JSON.stringify({ info: server.info, session, count, rate })], { execArgv });
  const exited = new Promise((r) => child.once('exit', r));
  await new Promise((r) => child.once('message', r));
  const relayCpu0 = cpuOf(server.pid);
  const myCpu0 = process.cpuUsage();
  const t0 = mono();
  child.send('go');
  const pubDone = new Promise((r) => child.on('message', (m) => { if (m.done) r(m); }));
  const [pub] = await Promise.all([pubDone, finished]);
  const my = process.cpuUsage(myCpu0);
  const relayCpu = cpuOf(server.pid).map((v, i) => v - relayCpu0[i]);
  const seconds = (tLast - t0) / 1000;
  console.log(JSON.stringify({
    events: count, subscribers, rate: rate || 'max', seconds: +seconds.toFixed(3),
    deliveredPerS: Math.round((count * subscribers) / seconds),
    cpuS: { publisher: +pub.cpuS.toFixed(2), relay: +(relayCpu[0] + relayCpu[1]).toFixed(2), relayKernel: +relayCpu[1].toFixed(2),
      subscribers: +((my.user + my.system) / 1e6).toFixed(2), subscribersKernel: +(my.system / 1e6).toFixed(2) },
  }));
  await exited;
  for (const s of subs) s.close();
  await server.stop();
  process.exit(0);
}
