import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { provisionKits, readMemberKit } from '../../cli/src/kits.js';
import { DEFAULT_HE_PARAMS } from '../../he/src/index.js';
import { importIdentity } from '../../kpt/src/index.js';
import {
  DEFAULT_DATABASE_URL,
  dropSchema,
  migrateSchema,
  openDb,
  registerFederationAudited,
} from '../../store/src/index.js';
import { ConsoleError, proveKitKey, startConsole } from '../src/index.js';

function httpsJson(
  url: string,
  ca: string,
  o: { method?: string; body?: unknown; cookie?: string; origin?: string },
) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> }>(
    (resolve, reject) => {
      const text = o.body === undefined ? undefined : JSON.stringify(o.body);
      const req = request(
        url,
        {
          ca,
          method: o.method ?? 'GET',
          headers: {
            ...(text ? { 'content-type': 'application/json' } : {}),
            ...(o.cookie ? { cookie: o.cookie } : {}),
            ...(o.origin ? { origin: o.origin } : {}),
          },
        },
        (res) => {
          let data = '';
          res.on('data', (c) => (data += c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(data || '{}') }),
          );
        },
      );
      req.on('error', reject);
      req.end(text);
    },
  );
}

test('over TLS with the kit material: log-in, a Secure cookie that expires, cross-origin POSTs refused; no TLS, no other address', {
  timeout: 60_000,
}, async (t) => {
  const id = randomBytes(4).toString('hex');
  const schema = `console_${id}`;
  const federation = `console-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'kpfl-console-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  await migrateSchema(DEFAULT_DATABASE_URL, schema);
  t.after(() => dropSchema(undefined, schema));
  const db = await openDb({ schema });
  t.after(() => db.close());
  const { coordinator } = await provisionKits({
    federation,
    members: ['alice'],
    auditors: ['auditor-1'],
    out: work,
    heParams: DEFAULT_HE_PARAMS,
  });
  await registerFederationAudited(db, {
    federation,
    jwks: coordinator.jwks,
    members: coordinator.members,
    actor: 'operator:test',
  });
  const base = {
    db,
    federation,
    coordinatorJwks: coordinator.jwks,
    operatorJwk: coordinator.signingKey.publicJwk,
    log: pino({ level: 'silent' }),
  };

  await assert.rejects(startConsole({ ...base, listen: '0.0.0.0:0' }), (err: unknown) => {
    assert.ok(err instanceof ConsoleError);
    assert.equal(err.code, 'CONFIG');
    assert.match(err.message, /binds 0\.0\.0\.0 only over TLS/);
    return true;
  });

  const web = await startConsole({
    ...base,
    tls: { certPem: coordinator.server.certPem, keyPem: coordinator.server.keyPem },
    sessionTtlSeconds: 1,
  });
  t.after(() => web.close());
  assert.match(web.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
  const ca = coordinator.ca.certPem;
  const auditor = await importIdentity(
    readMemberKit(join(work, 'auditors', 'auditor-1')).identity.privateJwk,
  );
  const proof = await proveKitKey(web.url, auditor, 'auditor-1', { ca });
  const login = await httpsJson(new URL('/api/login', web.url).href, ca, { method: 'POST', body: { proof } });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const setCookie = String(login.headers['set-cookie']);
  assert.match(setCookie, /; HttpOnly; SameSite=Strict; Secure$/);
  const cookie = setCookie.split(';')[0]!;
  const ok = await httpsJson(new URL('/api/overview', web.url).href, ca, { cookie });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.federation, federation);

  const cross = await httpsJson(new URL('/api/verify', web.url).href, ca, {
    method: 'POST',
    body: {},
    cookie,
    origin: 'https://evil.example',
  });
  assert.equal(cross.status, 403, 'a POST from another origin');

  await new Promise((r) => setTimeout(r, 1_500)); // past the 1 s session
  const late = await httpsJson(new URL('/api/overview', web.url).href, ca, { cookie });
  assert.equal(late.status, 401);
  assert.match(String(late.body.error), /expired: log in again/);
});
