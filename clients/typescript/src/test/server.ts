// Starts a real exactly server for a test file: free port, temp dir, stopped by PID.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface TestServer { port: number; url: string; stop(): Promise<void> }

function binary(): string {
  const fromEnv = process.env.EXACTLY_BINARY;
  return fromEnv ? resolve(fromEnv) : resolve(__dirname, '../../../../build/exactly');
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const sock = new Socket();
    sock.once('connect', () => { sock.destroy(); ok(true); });
    sock.once('error', () => { sock.destroy(); ok(false); });
    sock.connect(port, '127.0.0.1');
  });
}

export async function startServer(): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'exactly-ts-'));
  const port = await freePort();
  const proc: ChildProcess = spawn(binary(), ['serve', '--dir', join(dir, 'data'), '--port',
                                              String(port), '--bind', '127.0.0.1'],
                                   { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`exactly did not start on port ${port} (${binary()})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port, url: `redis://127.0.0.1:${port}`,
    stop: () => new Promise<void>((ok) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', () => { clearTimeout(timer); rmSync(dir, { recursive: true, force: true }); ok(); });
      proc.kill('SIGTERM');
    }),
  };
}
