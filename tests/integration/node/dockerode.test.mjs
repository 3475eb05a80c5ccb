// Berth driven by dockerode (the Docker client of testcontainers-node): the
// calls testcontainers makes first, in its order — info, ping, version,
// events — against the real berth binary on a temporary socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir, hostname, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';

const here = dirname(fileURLToPath(import.meta.url));
const berthBin = process.env.BERTH_BIN ?? join(here, '..', '..', '..', 'build', 'release', 'src', 'daemon', 'berth');
const dir = mkdtempSync(join(tmpdir(), 'berth-node-'));
const socketPath = join(dir, 'berth.sock');
const dataRoot = join(dir, 'data');
let daemon;
let docker;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  daemon = spawn(berthBin, ['serve', '-H', `unix://${socketPath}`, '--data-root', dataRoot, '--label', 'suite=node'],
                 { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  daemon.stderr.on('data', (d) => { stderr += d; });
  docker = new Docker({ socketPath });
  for (let i = 0; i < 200; i++) {
    if (existsSync(socketPath)) {
      try { await docker.ping(); return; } catch { /* not ready yet */ }
    }
    await sleep(50);
  }
  throw new Error(`berth did not answer: ${stderr}`);
});

after(async () => {
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

test('info carries the real host figures testcontainers reads', async () => {
  const info = await docker.info();
  assert.equal(info.OSType, 'linux');
  assert.equal(info.Name, hostname());
  assert.equal(info.NCPU, cpus().length);
  const memKb = Number(/MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))[1]);
  assert.equal(info.MemTotal, memKb * 1024);
  assert.equal(info.DockerRootDir, dataRoot);
  assert.equal(info.IndexServerAddress, 'https://index.docker.io/v1/');
  assert.deepEqual(info.Labels, ['suite=node']);
  assert.equal(info.Containers, 0);
  assert.match(info.ServerVersion, /^\d+\.\d+\.\d+/);
});

test('ping and version negotiate API 1.51', async () => {
  const pong = await docker.ping();
  assert.equal(pong.toString(), 'OK');
  const version = await docker.version();
  assert.equal(version.ApiVersion, '1.51');
  assert.equal(version.MinAPIVersion, '1.24');
  assert.equal(version.Os, 'linux');
  assert.equal(version.Components[0].Name, 'Engine');
  const pinned = new Docker({ socketPath, version: 'v1.44' });
  assert.equal((await pinned.version()).ApiVersion, '1.51');
});

test('events stream delivers the daemon reload event', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const stream = await docker.getEvents({ filters: { type: ['daemon'] } });
  const got = new Promise((resolve, reject) => {
    let buf = '';
    stream.on('data', (chunk) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    stream.on('error', reject);
  });
  await sleep(200);  // the stream's headers are out; the subscription is live
  daemon.kill('SIGHUP');
  const ev = await got;
  stream.destroy();
  assert.equal(ev.Type, 'daemon');
  assert.equal(ev.Action, 'reload');
  assert.equal(ev.Actor.ID, (await docker.info()).ID);
  assert.ok(ev.time >= since);
});

test('containers and images answer as testcontainers-node expects', async () => {
  assert.deepEqual(await docker.listContainers({ all: true }), []);
  assert.deepEqual(await docker.listImages(), []);
  // testcontainers-node pulls when the inspect error says "No such image".
  await assert.rejects(docker.getImage('busybox:latest').inspect(), (err) => {
    assert.equal(err.statusCode, 404);
    assert.match(err.message, /No such image: busybox:latest/);
    return true;
  });
});

test('networks list the predefined ones', async () => {
  const names = (await docker.listNetworks()).map((n) => n.Name).sort();
  assert.deepEqual(names, ['bridge', 'host', 'none']);
});

test('unimplemented endpoints fail with the 501 message, not a hang', async () => {
  await assert.rejects(docker.listPlugins(), (err) => {
    assert.equal(err.statusCode, 501);
    assert.match(err.message, /GET \/plugins is not implemented/);
    return true;
  });
});
