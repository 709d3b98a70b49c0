import { describe, expect, it } from 'vitest';
import { parseProcNetTcp } from '../../src/adapters/host/listeners.js';
import { canWrite, resolveUser } from '../../src/knowledge/permissions.js';
import { parseDependsOnLabel } from '../../src/tools/lib/dependencies.js';
import { parseBytes } from '../../src/util/duration.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nopensearch:x:1000:1000::/usr/share/opensearch:/bin/bash\n';
const GROUP = 'root:x:0:\nopensearch:x:1000:\ndocker:x:999:\n';

describe('resolveUser', () => {
  it.each([
    ['', { uid: 0, gid: 0, name: 'root' }],
    ['opensearch', { uid: 1000, gid: 1000, name: 'opensearch' }],
    ['1000', { uid: 1000, gid: 1000, name: 'opensearch' }],
    ['1000:docker', { uid: 1000, gid: 999 }],
    ['4242', { uid: 4242, gid: 0, name: null }],
    ['4242:4243', { uid: 4242, gid: 4243 }],
    ['ghost', { uid: null }],
  ])('%s', (spec, want) => {
    expect(resolveUser(spec, PASSWD, GROUP)).toMatchObject(want);
  });
});

describe('canWrite', () => {
  const user = (uid: number, gid: number) => ({ spec: `${uid}:${gid}`, uid, gid, name: null });
  it('applies owner, group, other bits in that order, root always, read-only never', () => {
    expect(canWrite({ uid: 0, gid: 0, mode: 0o755 }, user(1000, 1000), true).writable).toBe(false);
    expect(canWrite({ uid: 1000, gid: 0, mode: 0o755 }, user(1000, 1000), true).writable).toBe(true);
    expect(canWrite({ uid: 0, gid: 1000, mode: 0o775 }, user(1000, 1000), true).writable).toBe(true);
    // Owner bits win even when "others" could write.
    expect(canWrite({ uid: 1000, gid: 0, mode: 0o557 }, user(1000, 5), true).writable).toBe(false);
    expect(canWrite({ uid: 0, gid: 0, mode: 0o1777 }, user(1000, 1000), true).writable).toBe(true);
    expect(canWrite({ uid: 0, gid: 0, mode: 0o700 }, user(0, 0), true).writable).toBe(true);
    expect(canWrite({ uid: 1000, gid: 1000, mode: 0o777 }, user(1000, 1000), false)).toMatchObject({
      writable: false,
      reason: 'mounted read-only',
    });
    expect(canWrite({ uid: 0, gid: 0, mode: 0o755 }, user(1000, 1000), true).reason).toMatch(
      /"others" of owner 0:0, mode 0755/,
    );
  });
});

describe('parseProcNetTcp', () => {
  it('reads listening sockets (state 0A) with their inode, v4 and v6', () => {
    const v4 = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:1F91 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 12346 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    expect(parseProcNetTcp(v4, false)).toEqual([{ inode: '12345', address: '127.0.0.1', port: 8080 }]);
    const v6 = [
      '  sl  local_address                         remote_address                        st',
      '   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1',
      '   1: 0000000000000000FFFF00000100007F:0051 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 778 1',
    ].join('\n');
    expect(parseProcNetTcp(v6, true)).toEqual([
      { inode: '777', address: '::', port: 80 },
      { inode: '778', address: '127.0.0.1', port: 81 },
    ]);
  });
});

describe('parseDependsOnLabel', () => {
  it("reads Compose v2's depends_on label", () => {
    expect(parseDependsOnLabel('nats:service_healthy:false,mongodb:service_started:true')).toEqual([
      { service: 'nats', condition: 'service_healthy' },
      { service: 'mongodb', condition: 'service_started' },
    ]);
    expect(parseDependsOnLabel(undefined)).toEqual([]);
  });
});

describe('parseBytes', () => {
  it.each([
    ['512', 512],
    ['64m', 64 * 1024 ** 2],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['50GB', 50e9],
    ['2 KiB', 2048],
    ['lots', undefined],
    ['5xb', undefined],
  ])('%s', (text, want) => {
    expect(parseBytes(text)).toBe(want);
  });
});
