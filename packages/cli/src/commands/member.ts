/**
 * Enrollment, CSR style (issue 13): the member makes its keys, the coordinator never sees them.
 *
 *   member       kpfl member init --federation F --member alice --out DIR
 *                  DIR/enrollment-secrets.json  (0600) every private key of the future kit
 *                  DIR/enrollment-request.json  (public) what goes to the coordinator (or --request-out FILE)
 *   coordinator  kpfl members add --request FILE --kit KIT [--response-out FILE] [--aggregator H:P]
 *                  verifies the request, issues the TLS certificate for the CSR's key, registers the
 *                  public keys in the kit and in Postgres (one transaction with `member.enrolled`),
 *                  writes the signed response bundle; a refusal is audited (`member.enrollment_refused`)
 *   member       kpfl member join --response FILE --kit DIR [--ca-digest sha256:…]
 *                  checks the response and writes DIR/member.json (or auditor.json), the kit
 *                  `kpfl participant --kit DIR` reads; the secrets file is then removed (the kit holds them)
 *
 * The member side has no audit log: a response it refuses is reported to its operator only.
 */
import { createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { clip } from '@kpfl/common';
import { DEFAULT_HE_PARAMS, HE_PARAM_SETS } from '@kpfl/he';
import {
  answerEnrollment,
  certificateSha256,
  completeEnrollment,
  createCoordinatorKit,
  createEnrollment,
  type EncryptionKey,
  type EnrollmentRole,
  type EnrollmentSecrets,
  type IdentityKey,
  importEncryptionKey,
  importIdentity,
  isKptError,
  parseStrictJson,
  unverifiedEnrollmentRequest,
  verifyEnrollmentRequest,
} from '@kpfl/kpt';
import { enrollMemberAudited, recordEnrollmentRefusal } from '@kpfl/store';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import {
  connect,
  coordinatorOf,
  type DbOptions,
  json,
  readKit,
  saveKit,
  writePrivate,
} from '../kit-store.js';
import type { CoordinatorKitFile, MemberKitFile } from '../kits.js';
import { operatorActor } from '../operator.js';
import {
  existingPath,
  firstZodIssue,
  outputDir,
  outputFile,
  parseDigestOption,
  parseHostListOption,
  parseIdOption,
  UserError,
} from '../user-error.js';

const ROLES = ['participant', 'auditor'] as const;
export const SECRETS_FILE = 'enrollment-secrets.json';
export const REQUEST_FILE = 'enrollment-request.json';
export const RESPONSE_FILE = 'enrollment-response.json';
/** Request and response files are small; anything larger is refused before it is parsed. */
const MAX_FILE_BYTES = 1024 * 1024;

interface SecretsFile {
  kind: 'kpfl-enrollment-secrets';
  version: 1;
  federation: string;
  memberId: string;
  role: EnrollmentRole;
  requestFingerprint: string;
  identity: IdentityKey;
  encryption: EncryptionKey;
  tls: { keyPem: string };
}

const requestFileSchema = z
  .object({
    kind: z.literal('kpfl-enrollment-request'),
    version: z.literal(1),
    federation: z.string(),
    member: z.string(),
    role: z.enum(ROLES),
    fingerprint: z.string(),
    request: z.string().min(1),
  })
  .strict();

const responseFileSchema = z
  .object({ kind: z.literal('kpfl-enrollment-response'), version: z.literal(1), response: z.string().min(1) })
  .strict();

const secretsFileSchema = z
  .object({
    kind: z.literal('kpfl-enrollment-secrets'),
    version: z.literal(1),
    federation: z.string(),
    memberId: z.string(),
    role: z.enum(ROLES),
    requestFingerprint: z.string(),
    identity: z.object({
      kid: z.string(),
      privateJwk: z.object({}).passthrough(),
      publicJwk: z.object({}).passthrough(),
    }),
    encryption: z.object({
      kid: z.string(),
      privateJwk: z.object({}).passthrough(),
      publicJwk: z.object({}).passthrough(),
    }),
    tls: z.object({ keyPem: z.string() }),
  })
  .passthrough();

/** A JSON file the command reads from someone else: bounded, strict (no duplicate keys), checked. */
function readJsonFile<T>(path: string, what: string, schema: z.ZodType<T>): T {
  let text: string;
  try {
    if (statSync(path).size > MAX_FILE_BYTES) throw new UserError(`${path}: ${what} is larger than 1 MiB`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot read ${what} at ${path}: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
  let data: unknown;
  try {
    data = parseStrictJson(text, 'CLAIMS_INVALID', `${what} ${path}`);
  } catch (err) {
    throw new UserError((err as Error).message, undefined, { cause: err });
  }
  const r = schema.safeParse(data);
  if (!r.success) throw new UserError(`${path}: ${firstZodIssue(r.error)}`, undefined, { cause: r.error });
  return r.data;
}

function writePublic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
}

// ---------------------------------------------------------------------------------------------------
// kpfl member init

interface InitOptions {
  federation: string;
  member: string;
  role: EnrollmentRole;
  out: string;
  /** Where to write the (public) request; default DIR/enrollment-request.json. */
  requestOut?: string;
  json?: boolean;
}

export async function runMemberInit(o: InitOptions, print: (line: string) => void = console.log) {
  if (o.member === 'coordinator')
    throw new UserError('--member: "coordinator" is reserved for the coordinator');
  const dir = resolve(o.out);
  for (const f of [SECRETS_FILE, 'member.json', 'auditor.json'])
    if (existsSync(join(dir, f)))
      throw new UserError(
        `${join(dir, f)} exists: ${dir} already holds keys; refusing to overwrite them (choose another --out)`,
      );
  const { secrets, request, fingerprint } = await createEnrollment({
    federation: o.federation,
    memberId: o.member,
    role: o.role,
  });
  const file: SecretsFile = {
    kind: 'kpfl-enrollment-secrets',
    version: 1,
    federation: secrets.federation,
    memberId: secrets.memberId,
    role: secrets.role,
    requestFingerprint: fingerprint,
    identity: secrets.identity,
    encryption: secrets.encryption,
    tls: { keyPem: secrets.tlsKeyPem },
  };
  // writePrivate creates DIR 0700 and the file 0600 (write, then rename).
  writePrivate(join(dir, SECRETS_FILE), json(file));
  const requestPath = o.requestOut ? resolve(o.requestOut) : join(dir, REQUEST_FILE);
  writePublic(
    requestPath,
    json({
      kind: 'kpfl-enrollment-request',
      version: 1,
      federation: o.federation,
      member: o.member,
      role: o.role,
      fingerprint,
      request,
    }),
  );
  const result = {
    federation: o.federation,
    member: o.member,
    role: o.role,
    fingerprint,
    request: requestPath,
    kit: dir,
  };
  if (o.json) print(JSON.stringify(result));
  else {
    print(
      `made the keys of ${o.role} ${o.member} of ${o.federation} in ${dir} (private: ${SECRETS_FILE}, 0600)`,
    );
    print(`enrollment request: ${requestPath}`);
    print(`fingerprint: ${fingerprint}`);
    print(
      'next: send the request file to the coordinator, and read this fingerprint to its operator over another channel (a call, in person);',
    );
    print(`then run \`kpfl member join --response FILE --kit ${dir}\` with the response it sends back`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------
// kpfl members add --request (coordinator side)

export interface EnrollOptions extends DbOptions {
  request: string;
  kit: string;
  responseOut?: string;
  aggregator?: string;
  /** Set only when given on the command line: then the request must ask for this role. */
  role?: EnrollmentRole;
  json?: boolean;
}

export async function runMembersEnroll(o: EnrollOptions, print: (line: string) => void = console.log) {
  if (o.kitOnly)
    throw new UserError(
      '--kit-only cannot enroll: an enrollment is recorded in Postgres with its fingerprint (member.enrolled); drop --kit-only',
    );
  const { kit, file, root } = readKit(o.kit);
  const { db, why, missing } = await connect(o);
  if (!db)
    throw new UserError(
      `${why}${missing ? ' in Postgres (check --schema or KPFL_SCHEMA)' : ''}; nothing enrolled. Retry when Postgres is reachable`,
      missing ? 2 : 3,
    );
  const actor = operatorActor();
  try {
    const requestPath = resolve(o.request);
    let claimed: { fingerprint?: string; member?: unknown } = {};
    let verified: Awaited<ReturnType<typeof verifyEnrollmentRequest>>;
    try {
      const f = readJsonFile(requestPath, 'enrollment request', requestFileSchema);
      claimed = unverifiedEnrollmentRequest(f.request);
      verified = await verifyEnrollmentRequest(f.request, { federation: kit.federation });
      const c = verified.claims;
      if (f.fingerprint !== verified.fingerprint)
        throw new UserError(
          `${requestPath}: its "fingerprint" field (${clip(f.fingerprint, 32)}) is not the request's (${verified.fingerprint}): the file was edited`,
        );
      if (f.federation !== c.federation || f.member !== c.member || f.role !== c.role)
        throw new UserError(
          `${requestPath}: its federation, member or role field differs from the signed request (${c.federation}, ${c.member}, ${c.role}): the file was edited`,
        );
      if (o.role !== undefined && o.role !== c.role)
        throw new UserError(`the request asks to enroll ${c.member} as ${c.role}, not as ${o.role} (--role)`);
      const existing = kit.members.find((m) => m.id === c.member);
      if (existing)
        throw new UserError(
          `"${c.member}" is already ${existing.status === 'revoked' ? 'a revoked' : 'a'} member of ${kit.federation}: an enrollment request cannot replace a member's keys (request ${verified.fingerprint}); choose another id`,
        );
    } catch (err) {
      if (!(err instanceof UserError) && !isKptError(err)) throw err;
      await refuse(db, kit.federation, actor, claimed, (err as Error).message);
      throw err instanceof UserError ? err : new UserError((err as Error).message, undefined, { cause: err });
    }
    const c = verified.claims;
    const answer = await answerEnrollment(coordinatorOf(kit), verified, { aggregator: o.aggregator });
    const entry: CoordinatorKitFile['members'][number] = {
      id: c.member,
      kid: c.identityJwk.kid,
      publicJwk: c.identityJwk,
      encryptionJwk: c.encryptionJwk,
      roles: [c.role],
    };
    const responseOut = resolve(o.responseOut ?? join(dirname(requestPath), RESPONSE_FILE));
    const kitBefore = readFileSync(file, 'utf8');
    const publishedPath = join(root, 'federation.json');
    const publishedBefore = existsSync(publishedPath) ? readFileSync(publishedPath, 'utf8') : undefined;
    let wrote = false;
    let outcome: Awaited<ReturnType<typeof enrollMemberAudited>>;
    try {
      outcome = await enrollMemberAudited(db, {
        federation: kit.federation,
        member: entry,
        jwks: answer.coordinator.jwks,
        actor,
        fingerprint: verified.fingerprint,
        // The kit and the response are written last, inside the transaction: if either write fails
        // nothing is registered, and if the commit fails they are put back below.
        beforeCommit: () => {
          wrote = true;
          writePublic(
            responseOut,
            json({ kind: 'kpfl-enrollment-response', version: 1, response: answer.response }),
          );
          saveKit(file, root, { ...kit, members: [...kit.members, entry], jwks: answer.coordinator.jwks });
        },
      });
    } catch (err) {
      if (wrote) {
        writePrivate(file, kitBefore);
        if (publishedBefore !== undefined) writePrivate(publishedPath, publishedBefore);
        rmSync(responseOut, { force: true });
      }
      throw err;
    }
    if (!outcome.enrolled) {
      const message = `"${c.member}" is already ${outcome.status === 'revoked' ? 'a revoked' : 'a'} member of ${kit.federation} in Postgres schema ${o.schema}: an enrollment request cannot replace a member's keys (request ${verified.fingerprint}); choose another id`;
      await refuse(
        db,
        kit.federation,
        actor,
        { fingerprint: verified.fingerprint, member: c.member },
        message,
      );
      throw new UserError(message);
    }
    const result = {
      federation: kit.federation,
      member: c.member,
      role: c.role,
      fingerprint: verified.fingerprint,
      kid: c.identityJwk.kid,
      encryptionKid: c.encryptionJwk.kid,
      response: responseOut,
      caDigest: certificateSha256(kit.ca.certPem),
      schema: o.schema,
    };
    if (o.json) print(JSON.stringify(result));
    else {
      print(
        `enrolled ${c.role} ${c.member} in ${kit.federation} (registered in Postgres schema ${o.schema} and ${file})`,
      );
      print(`request fingerprint: ${verified.fingerprint}  (it must be the one the member read to you)`);
      print(`response: ${responseOut}`);
      print(`CA certificate: ${result.caDigest}  (read it to the member: \`kpfl member join --ca-digest\`)`);
      print(`send the response file to ${c.member}; it runs \`kpfl member join --response FILE --kit DIR\``);
    }
    return result;
  } finally {
    await db.close();
  }
}

/** Audits a refused request: the claimed id and the reason are the sender's, so they are clipped. */
async function refuse(
  db: NonNullable<Awaited<ReturnType<typeof connect>>['db']>,
  federation: string,
  actor: string,
  claimed: { fingerprint?: string; member?: unknown },
  reason: string,
): Promise<void> {
  await recordEnrollmentRefusal(db, {
    federation,
    actor,
    claimedMember: claimed.member === undefined ? null : clip(claimed.member, 64),
    fingerprint: claimed.fingerprint ?? null,
    reason: clip(reason, 256),
  });
}

// ---------------------------------------------------------------------------------------------------
// kpfl member join

interface JoinOptions {
  response: string;
  kit: string;
  caDigest?: string;
  json?: boolean;
}

export async function runMemberJoin(o: JoinOptions, print: (line: string) => void = console.log) {
  const dir = resolve(o.kit);
  const secretsPath = join(dir, SECRETS_FILE);
  for (const f of ['member.json', 'auditor.json'])
    if (existsSync(join(dir, f)))
      throw new UserError(`${join(dir, f)} exists: this member has joined already`);
  if (!existsSync(secretsPath))
    throw new UserError(`${secretsPath} does not exist: run \`kpfl member init --out ${dir}\` first`);
  const s = readJsonFile(secretsPath, 'enrollment secrets', secretsFileSchema) as unknown as SecretsFile;
  const secrets: EnrollmentSecrets = {
    federation: s.federation,
    memberId: s.memberId,
    role: s.role,
    identity: s.identity,
    encryption: s.encryption,
    tlsKeyPem: s.tls.keyPem,
  };
  const { response } = readJsonFile(resolve(o.response), 'enrollment response', responseFileSchema);
  try {
    // The secrets file is the member's own, but it may have been copied or edited: check its keys.
    await importIdentity(s.identity.privateJwk);
    await importEncryptionKey(s.encryption.privateJwk);
    createPrivateKey(s.tls.keyPem);
  } catch (err) {
    throw new UserError(
      `${secretsPath}: ${isKptError(err) ? err.message : 'tls.keyPem is not a PEM private key'}; run \`kpfl member init\` again`,
      undefined,
      { cause: err },
    );
  }
  let done: Awaited<ReturnType<typeof completeEnrollment>>;
  try {
    done = await completeEnrollment(
      response,
      { secrets, requestFingerprint: s.requestFingerprint },
      { expectCaSha256: o.caDigest },
    );
  } catch (err) {
    if (isKptError(err))
      throw new UserError(`${resolve(o.response)}: ${err.message}; nothing written`, undefined, {
        cause: err,
      });
    throw err;
  }
  const k = done.kit;
  const kitFile: MemberKitFile = {
    kind: k.role === 'auditor' ? 'kpfl-auditor-kit' : 'kpfl-member-kit',
    federation: k.federation,
    memberId: k.memberId,
    identity: k.identity,
    encryption: k.encryption,
    tls: k.tls,
    coordinatorJwks: k.coordinatorJwks,
  };
  const kitPath = join(dir, k.role === 'auditor' ? 'auditor.json' : 'member.json');
  if (k.role === 'auditor' && 'jwks' in k)
    writePublic(join(dir, 'federation.json'), json({ federation: k.federation, jwks: k.jwks }));
  writePrivate(kitPath, json(kitFile));
  // The kit now holds every key: one copy of them is enough.
  rmSync(secretsPath);
  const result = {
    federation: k.federation,
    member: k.memberId,
    role: k.role,
    kit: kitPath,
    aggregator: done.aggregator ?? null,
    caDigest: done.caSha256,
    coordinatorKid: done.coordinatorKid,
  };
  if (o.json) print(JSON.stringify(result));
  else {
    print(`joined ${k.federation} as ${k.role} ${k.memberId}: kit ${kitPath}`);
    print(
      `trusted from now on: CA certificate ${done.caSha256}, coordinator key ${done.coordinatorKid}${o.caDigest ? ' (CA as you were told)' : ' (compare the CA with what the coordinator read to you)'}`,
    );
    const at = done.aggregator ?? 'HOST:PORT';
    print(
      k.role === 'auditor'
        ? `next: kpfl audit export --kit ${dir} --aggregator ${at} --out audit.json; kpfl audit verify --file audit.json --jwks ${join(dir, 'federation.json')}`
        : `next: kpfl participant --kit ${dir} --aggregator ${at} --dataset DIR`,
    );
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------
// kpfl coordinator init

interface CoordinatorInitOptions {
  federation: string;
  out: string;
  serverHosts?: string;
  heParams: string;
  json?: boolean;
}

export async function runCoordinatorInit(
  o: CoordinatorInitOptions,
  print: (line: string) => void = console.log,
) {
  const out = resolve(o.out);
  const existing = ['coordinator', 'federation.json'].filter((p) => existsSync(join(out, p)));
  if (existing.length > 0)
    throw new UserError(
      `${out} already holds ${existing.join(', ')}; refusing to overwrite them: choose another --out`,
    );
  const serverHosts = o.serverHosts?.split(',').map((h) => h.trim());
  const c = await createCoordinatorKit({ federation: o.federation, serverHosts });
  const kit: CoordinatorKitFile = {
    kind: 'kpfl-coordinator-kit',
    federation: c.federation,
    signingKey: c.signingKey,
    ca: c.ca,
    server: c.server,
    members: [],
    jwks: c.jwks,
    heParams: o.heParams,
  };
  const file = join(out, 'coordinator', 'coordinator.json');
  writePrivate(file, json(kit));
  chmodSync(dirname(file), 0o700);
  writePublic(join(out, 'federation.json'), json({ federation: c.federation, jwks: c.jwks }));
  const result = {
    federation: c.federation,
    coordinator: dirname(file),
    serverHosts: c.server.hosts,
    caDigest: certificateSha256(c.ca.certPem),
  };
  if (o.json) print(JSON.stringify(result));
  else {
    print(
      `created the coordinator of ${c.federation} in ${dirname(file)} (signing key, CA, server certificate for ${c.server.hosts.join(', ')}; no member keys)`,
    );
    print(`CA certificate: ${result.caDigest}`);
    print(
      `members enroll themselves: \`kpfl member init\` on their machine, then \`kpfl members add --request FILE --kit ${dirname(file)}\` here`,
    );
  }
  return result;
}

export function registerMember(program: Command): void {
  program
    .command('coordinator')
    .description("the coordinator's side of a federation whose members enroll themselves")
    .command('init')
    .description(
      'create the coordinator kit (signing key, federation CA, aggregator server certificate) with no member in it: members then enroll with keys they make',
    )
    .requiredOption('--federation <name>', 'federation name', parseIdOption('--federation'))
    .requiredOption('--out <dir>', 'kit root: writes coordinator/ and federation.json', outputDir('--out'))
    .option(
      '--server-hosts <hosts>',
      'names/IPs the aggregator is reached at (TLS SAN), comma-separated (default localhost,127.0.0.1)',
      parseHostListOption('--server-hosts'),
    )
    .addOption(
      new Option('--he-params <name>', 'CKKS parameter set')
        .choices(Object.keys(HE_PARAM_SETS))
        .default(DEFAULT_HE_PARAMS),
    )
    .option('--json', 'print JSON')
    .action(async (o: CoordinatorInitOptions) => {
      await runCoordinatorInit(o);
    });

  const member = program
    .command('member')
    .description("a member's side of enrollment: make your own keys, then complete your kit");
  member
    .command('init')
    .description(
      "make this member's identity, encryption and TLS keys here, and write the enrollment request (public) for the coordinator",
    )
    .requiredOption('--federation <name>', 'federation to join', parseIdOption('--federation'))
    .requiredOption('--member <id>', 'your member (or auditor) id', parseIdOption('--member'))
    .addOption(new Option('--role <role>', 'participant or auditor').choices(ROLES).default('participant'))
    .requiredOption('--out <dir>', 'directory for your keys (created 0700)', outputDir('--out'))
    .option(
      '--request-out <file>',
      `where to write the enrollment request (public; default: ${REQUEST_FILE} in --out), e.g. a directory shared with the coordinator that holds no key`,
      outputFile('--request-out'),
    )
    .option('--json', 'print JSON')
    .action(async (o: InitOptions) => {
      await runMemberInit(o);
    });
  member
    .command('join')
    .description("check the coordinator's enrollment response and complete the kit in --kit")
    .requiredOption(
      '--response <file>',
      'the enrollment response from the coordinator',
      existingPath('--response'),
    )
    .requiredOption('--kit <dir>', 'the directory `kpfl member init` wrote', existingPath('--kit'))
    .option(
      '--ca-digest <sha256>',
      "the federation CA certificate's digest, as the coordinator read it to you (refuse any other CA)",
      parseDigestOption('--ca-digest'),
    )
    .option('--json', 'print JSON')
    .action(async (o: JoinOptions) => {
      await runMemberJoin(o);
    });
}
