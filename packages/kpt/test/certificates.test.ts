import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import {
  certificateSubject,
  createFederationKits,
  type FederationKits,
  issueMemberCertificate,
  provisionMember,
} from '../src/index.js';
import { expectCode, federation, memberOf } from './fixtures.js';

interface Outcome {
  data: string;
  error?: string;
}

/** Connect with the given client credentials; resolve with what the server sent, or the error. */
function connect(
  port: number,
  opts: { host: string; servername?: string; caPem: string; certPem?: string; keyPem?: string },
): Promise<Outcome> {
  return new Promise((resolve) => {
    let data = '';
    let settled = false;
    const done = (o: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(o);
      }
    };
    const socket = tls.connect({
      host: opts.host,
      port,
      servername: opts.servername,
      ca: opts.caPem,
      cert: opts.certPem,
      key: opts.keyPem,
    });
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('error', (e) => done({ data, error: e.message }));
    socket.on('close', () => done({ data }));
    socket.on('end', () => socket.end());
  });
}

describe('X.509 for mutual TLS', () => {
  let f: FederationKits;
  let server: tls.Server;
  let port: number;
  const clientErrors: string[] = [];
  const accepted: string[] = [];

  before(async () => {
    f = await federation();
    server = tls.createServer({
      key: f.coordinator.server.keyPem,
      cert: f.coordinator.server.certPem,
      ca: f.coordinator.ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.on('secureConnection', (socket) => {
      const cn = certificateSubject(socket.getPeerCertificate().raw);
      accepted.push(cn);
      socket.end(`hello ${cn}`);
    });
    server.on('tlsClientError', (e) => clientErrors.push(e.message));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });

  after(() => new Promise<void>((r) => server.close(() => r())));

  it('accepts a member client certificate; the peer CN is the member id (localhost and 127.0.0.1 SANs)', async () => {
    const alice = memberOf(f, 'alice');
    const byName = await connect(port, { host: '127.0.0.1', servername: 'localhost', ...alice.tls });
    assert.equal(byName.error, undefined);
    assert.equal(byName.data, 'hello alice');
    const byIp = await connect(port, { host: '127.0.0.1', ...memberOf(f, 'bob').tls });
    assert.equal(byIp.data, 'hello bob');
    const auditor = f.auditors[0];
    assert.equal((await connect(port, { host: '127.0.0.1', ...auditor.tls })).data, 'hello audrey');
  });

  it('refuses a client certificate from another CA, and a client without certificate', async () => {
    const other = await createFederationKits({ federation: 'other', members: ['alice'] });
    const before = accepted.length;
    const foreign = await connect(port, {
      host: '127.0.0.1',
      servername: 'localhost',
      caPem: f.coordinator.ca.certPem,
      certPem: other.members[0].tls.certPem,
      keyPem: other.members[0].tls.keyPem,
    });
    assert.equal(foreign.data, '');
    const none = await connect(port, {
      host: '127.0.0.1',
      servername: 'localhost',
      caPem: f.coordinator.ca.certPem,
    });
    assert.equal(none.data, '');
    assert.equal(accepted.length, before, 'the server must not complete a handshake');
    assert.ok(clientErrors.length >= 2, `server saw ${clientErrors.join('; ')}`);
    assert.ok(
      clientErrors.some((e) => /certificate|unknown ca/i.test(e)),
      clientErrors.join('; '),
    );
  });

  it("a member refuses a server whose certificate is from another federation's CA", async () => {
    const other = await createFederationKits({ federation: 'other', members: ['alice'] });
    const r = await connect(port, { host: '127.0.0.1', servername: 'localhost', ...other.members[0].tls });
    assert.match(r.error ?? '', /self[- ]signed|unable to verify|certificate/i);
    assert.equal(r.data, '');
  });

  it('a member added later (kpfl members add) is accepted with the same CA', async () => {
    const { kit, coordinator } = await provisionMember(f.coordinator, 'dave');
    assert.ok(coordinator.registry.dave);
    assert.ok(coordinator.jwks.keys.some((k) => (k as Record<string, unknown>).kpfl_member === 'dave'));
    assert.equal(
      f.coordinator.registry.dave,
      undefined,
      'provisionMember returns a new kit, it does not mutate',
    );
    assert.equal(
      (await connect(port, { host: '127.0.0.1', servername: 'localhost', ...kit.tls })).data,
      'hello dave',
    );
    const extra = await issueMemberCertificate(f.coordinator.ca, 'erin');
    assert.equal(
      (await connect(port, { host: '127.0.0.1', caPem: f.coordinator.ca.certPem, ...extra })).data,
      'hello erin',
    );
  });
});

describe('certificate contents', () => {
  it('member certificate: CN = member id, clientAuth, signed by the federation CA', async () => {
    const f = await federation();
    const alice = memberOf(f, 'alice');
    const cert = new X509Certificate(alice.tls.certPem);
    const ca = new X509Certificate(f.coordinator.ca.certPem);
    assert.ok(cert.verify(ca.publicKey));
    assert.ok(cert.checkIssued(ca));
    assert.equal(ca.ca, true);
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
    assert.equal(certificateSubject(alice.tls.certPem), 'alice');
    assert.equal(certificateSubject(cert.raw), 'alice');
    const server = new X509Certificate(f.coordinator.server.certPem);
    assert.equal(server.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
    assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });

  it('certificateSubject and issueMemberCertificate refuse bad input', async () => {
    const f = await federation();
    await expectCode(() => certificateSubject('not a certificate'), 'CERTIFICATE_INVALID');
    await expectCode(() => certificateSubject(new Uint8Array([1, 2, 3])), 'CERTIFICATE_INVALID');
    await expectCode(() => issueMemberCertificate(f.coordinator.ca, 'CN=evil,O=x'), 'CLAIMS_INVALID');
    await expectCode(
      () => issueMemberCertificate(memberOf(f, 'alice').tls, 'mallory'),
      'CERTIFICATE_INVALID',
    );
  });
});
