// One racer of test/integration/lock-race.test.ts: takes the built StackLock `rounds` times,
// records `enter`/`exit` in a shared log while holding it, and every `crashEvery`-th round "dies"
// holding it (the lock file is replaced, atomically, by one naming a process that does not exist),
// so the other racers also race to take over a stale lock.
// Usage: node lock-racer.mjs <lockDir> <logFile> <rounds> <crashEvery>
import { randomUUID } from 'node:crypto';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const { StackLock } = await import(new URL('../../dist/src/safety/lock.js', import.meta.url).href);
const [dir, log, roundsArg, crashEveryArg] = process.argv.slice(2);
const rounds = Number(roundsArg);
const crashEvery = Number(crashEveryArg);
const lock = new StackLock(dir);
const NO_SUCH_PID = 2 ** 22 + 7; // above Linux's largest pid_max

for (let round = 0; round < rounds; round++) {
  let release;
  while (!release) {
    try {
      release = await lock.acquire('race', 'round', `racer:${process.pid}`);
    } catch (err) {
      if (err?.code !== 'busy') throw err;
      await sleep(Math.random() * 2);
    }
  }
  appendFileSync(log, `enter ${process.pid} ${round}\n`);
  await sleep(1);
  appendFileSync(log, `exit ${process.pid} ${round}\n`);
  if (crashEvery > 0 && round % crashEvery === crashEvery - 1) {
    const ghost = join(dir, `ghost-${randomUUID()}`);
    writeFileSync(
      ghost,
      JSON.stringify({
        pid: NO_SUCH_PID,
        host: hostname(),
        operation: 'ghost',
        principal: 'ghost',
        since: new Date().toISOString(),
        token: randomUUID(),
      }),
    );
    renameSync(ghost, join(dir, 'race.lock'));
  } else {
    release();
  }
}
