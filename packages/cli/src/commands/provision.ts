/**
 * `kpfl provision` writes a federation's kits; `kpfl members add|revoke|list` changes the membership
 * later. The coordinator kit (coordinator/coordinator.json) is the registry of record; Postgres' members
 * table is what a running aggregator checks on every RPC, so add and revoke update both. Each change
 * in Postgres is audited (member.added, member.revoked, federation.registered) in its own
 * transaction, naming the operator (`operator:<os user>@<host>`).
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  DEFAULT_HE_PARAMS,
  getHeParams,
  HE_PARAM_SETS,
  parseConsortiumKey,
  serializeConsortiumKey,
} from '@kpfl/he';
import { COORDINATOR_ID, ID_PATTERN, provisionMember } from '@kpfl/kpt';
import { addMemberAudited, listMembers, revokeMemberAudited } from '@kpfl/store';
import { type Command, Option } from 'commander';
import { databaseUrlOption, schemaOption } from '../config.js';
import {
  connect,
  coordinatorOf,
  type DbOptions,
  json,
  readKit,
  saveKit,
  writePrivate,
} from '../kit-store.js';
import { type CoordinatorKitFile, type MemberKitFile, provisionKits } from '../kits.js';
import { operatorActor } from '../operator.js';
import {
  existingPath,
  outputDir,
  outputFile,
  parseHostListOption,
  parseHostPort,
  parseIdListOption,
  parseIdOption,
  UserError,
} from '../user-error.js';
import { runMembersEnroll } from './member.js';

const ID_RULE = 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 64 characters';
const ROLES = ['participant', 'auditor'] as const;
type PartyRole = (typeof ROLES)[number];

/** A member entry of coordinator.json. */
type KitMember = CoordinatorKitFile['members'][number];

/** Splits "a,b,c" and checks every id; `what` names the option in messages. */
export function parseIdList(value: string | undefined, what: string): string[] {
  if (value === undefined) return [];
  const ids = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const id of ids) checkId(id, what);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup !== undefined) throw new UserError(`${what}: "${dup}" is listed twice`);
  return ids;
}

function checkId(id: string, what: string): string {
  if (!ID_PATTERN.test(id)) throw new UserError(`${what}: "${id}" is not a valid id (use ${ID_RULE})`);
  if (id === COORDINATOR_ID)
    throw new UserError(`${what}: "${COORDINATOR_ID}" is reserved for the coordinator`);
  return id;
}

function checkHeParams(name: string): string {
  try {
    return getHeParams(name).name;
  } catch (err) {
    throw new UserError(`--he-params: ${(err as Error).message}`);
  }
}

/** What in `out` would be overwritten by provisioning. */
function existingKits(out: string): string[] {
  return ['coordinator', 'members', 'auditors', 'federation.json'].filter((p) => existsSync(join(out, p)));
}

interface ProvisionOptions {
  federation: string;
  members: string;
  auditors?: string;
  out: string;
  serverHosts?: string;
  heParams: string;
  force?: boolean;
  json?: boolean;
}

export async function runProvision(o: ProvisionOptions, print: (line: string) => void = console.log) {
  if (!ID_PATTERN.test(o.federation))
    throw new UserError(`--federation: "${o.federation}" is not a valid name (use ${ID_RULE})`);
  const members = parseIdList(o.members, '--members');
  if (members.length === 0) throw new UserError('--members: name at least one member, e.g. --members a,b,c');
  const auditors = parseIdList(o.auditors, '--auditors');
  const both = auditors.find((a) => members.includes(a));
  if (both) throw new UserError(`"${both}" is listed both as a member and as an auditor`);
  const serverHosts = o.serverHosts === undefined ? undefined : o.serverHosts.split(',').map((h) => h.trim());
  if (serverHosts && (serverHosts.length === 0 || serverHosts.some((h) => !/^[A-Za-z0-9.:_-]+$/.test(h)))) {
    throw new UserError(
      `--server-hosts: expected host names or IP addresses separated by commas, got "${o.serverHosts}"`,
    );
  }
  const heParams = checkHeParams(o.heParams);
  const out = resolve(o.out);
  const existing = existingKits(out);
  if (existing.length > 0) {
    if (!o.force) {
      throw new UserError(
        `${out} already holds kits (${existing.join(', ')}); refusing to overwrite them: choose another --out, or pass --force to replace them`,
      );
    }
    for (const p of existing) rmSync(join(out, p), { recursive: true, force: true });
  }
  await provisionKits({ federation: o.federation, members, auditors, out, heParams, serverHosts });
  // Kit directories hold private keys: owner only.
  for (const dir of [
    join(out, 'coordinator'),
    ...members.map((m) => join(out, 'members', m)),
    ...auditors.map((a) => join(out, 'auditors', a)),
  ])
    chmodSync(dir, 0o700);
  const summary = {
    federation: o.federation,
    out,
    coordinator: join(out, 'coordinator'),
    members: Object.fromEntries(members.map((m) => [m, join(out, 'members', m)])),
    auditors: Object.fromEntries(auditors.map((a) => [a, join(out, 'auditors', a)])),
    heParams,
  };
  if (o.json) {
    print(JSON.stringify(summary));
    return summary;
  }
  print(`provisioned federation ${o.federation} in ${out}`);
  print(`  coordinator    ${summary.coordinator}  (signing key, CA, server certificate; no HE key)`);
  for (const m of members)
    print(`  member ${m.padEnd(8)}${join(out, 'members', m)}  (identity, client certificate, HE key)`);
  for (const a of auditors)
    print(`  auditor ${a.padEnd(7)}${join(out, 'auditors', a)}  (identity, client certificate)`);
  print(
    'hand each kit directory to its party over a secure channel; keep coordinator/ on the aggregator host',
  );
  return summary;
}

// ---------------------------------------------------------------------------------------------------
// members add | revoke | list

function findHeKey(root: string, heKeyOption: string | undefined, heParams: string) {
  let path = heKeyOption ? resolve(heKeyOption) : undefined;
  if (!path) {
    const dir = join(root, 'members');
    const candidates = existsSync(dir)
      ? readdirSync(dir)
          .map((m) => join(dir, m, 'he-key.json'))
          .filter((p) => existsSync(p))
      : [];
    path = candidates[0];
    if (!path)
      throw new UserError(
        `no consortium HE key found under ${dir}: pass --he-key FILE (an existing member's he-key.json)`,
      );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UserError(`--he-key: cannot read ${path}`);
  }
  let key: ReturnType<typeof parseConsortiumKey>;
  try {
    key = parseConsortiumKey(text);
  } catch (err) {
    throw new UserError(`${path}: ${(err as Error).message}`);
  }
  if (key.paramsName !== heParams) {
    throw new UserError(
      `${path} is a key for HE parameters '${key.paramsName}', but this federation uses '${heParams}'`,
    );
  }
  return { key, path };
}

/** The enrollment flags of `members add` (commands/member.ts does the work). */
interface EnrollFlags {
  request?: string;
  responseOut?: string;
  aggregator?: string;
}

interface AddOptions extends DbOptions {
  kit: string;
  role: PartyRole;
  out?: string;
  heKey?: string;
  json?: boolean;
}

export async function runMembersAdd(id: string, o: AddOptions, print: (line: string) => void = console.log) {
  checkId(id, 'member id');
  if (!(ROLES as readonly string[]).includes(o.role))
    throw new UserError(`--role must be one of ${ROLES.join(', ')}, got "${o.role}"`);
  const role = o.role as PartyRole;
  const { kit, file, root } = readKit(o.kit);
  const existing = kit.members.find((m) => m.id === id);
  if (existing) {
    throw new UserError(
      `"${id}" is already ${existing.status === 'revoked' ? 'a revoked' : 'a'} member of ${kit.federation}; choose another id`,
    );
  }
  const outRoot = o.out ? resolve(o.out) : root;
  const dir = join(outRoot, role === 'auditor' ? 'auditors' : 'members', id);
  if (existsSync(dir) && readdirSync(dir).length > 0)
    throw new UserError(`${dir} already exists and is not empty; refusing to overwrite a kit`);
  const heKey = role === 'participant' ? findHeKey(root, o.heKey, kit.heParams) : undefined;

  const coordinator = coordinatorOf(kit);
  const { coordinator: next, kit: party } = await provisionMember(coordinator, id, { role });
  const memberKit: MemberKitFile = {
    kind: role === 'auditor' ? 'kpfl-auditor-kit' : 'kpfl-member-kit',
    federation: kit.federation,
    memberId: id,
    identity: party.identity,
    encryption: party.encryption,
    tls: party.tls,
    coordinatorJwks: party.coordinatorJwks,
  };
  writePrivate(join(dir, role === 'auditor' ? 'auditor.json' : 'member.json'), json(memberKit));
  if (heKey) writePrivate(join(dir, 'he-key.json'), serializeConsortiumKey(heKey.key));
  chmodSync(dir, 0o700);
  const entry: KitMember = {
    id,
    kid: party.identity.kid,
    publicJwk: party.identity.publicJwk,
    encryptionJwk: party.encryption.publicJwk,
    roles: [role],
  };
  saveKit(file, root, { ...kit, members: [...kit.members, entry], jwks: next.jwks });

  const { db, why } = await connect(o);
  let registered = false;
  if (db) {
    try {
      // The JWKS row, the member and their audit events commit together.
      await addMemberAudited(db, {
        federation: kit.federation,
        member: {
          id,
          kid: entry.kid,
          publicJwk: entry.publicJwk,
          encryptionJwk: entry.encryptionJwk,
          roles: [role],
        },
        jwks: next.jwks,
        actor: operatorActor(),
      });
      registered = true;
    } finally {
      await db.close();
    }
  }
  const result = { member: id, role, kit: dir, registered, schema: registered ? o.schema : undefined };
  if (o.json) print(JSON.stringify(result));
  else {
    print(
      `added ${role} ${id} to ${kit.federation}; its kit is in ${dir}${heKey ? ` (HE key from ${heKey.path})` : ''}`,
    );
    print(
      registered
        ? `registered in Postgres schema ${o.schema}: it can authenticate now`
        : `not registered in Postgres (${why}): the aggregator registers it from ${file} when it next starts`,
    );
  }
  return result;
}

export async function runMembersRevoke(
  id: string,
  o: DbOptions & { kit: string; json?: boolean },
  print: (line: string) => void = console.log,
) {
  checkId(id, 'member id');
  const { kit, file, root } = readKit(o.kit);
  const entry = kit.members.find((m) => m.id === id);
  if (!entry) {
    throw new UserError(
      `unknown member "${id}" in ${kit.federation}; members: ${kit.members.map((m) => m.id).join(', ') || '(none)'}`,
    );
  }
  // Postgres first: that is what the running aggregator checks. If it cannot be reached, change nothing.
  let inDb: 'revoked' | 'already revoked' | 'not registered' | 'skipped' = 'skipped';
  if (!o.kitOnly) {
    const { db, why, missing } = await connect(o);
    if (!db) {
      throw new UserError(
        missing
          ? `${why} in Postgres (check --schema or KPFL_SCHEMA); ${id} is NOT revoked (pass --kit-only to mark only the kit)`
          : `${why}; ${id} is NOT revoked. Retry when Postgres is reachable (or pass --kit-only to mark only the kit)`,
        missing ? 2 : 3,
      );
    }
    try {
      // The revocation and its member.revoked event commit together.
      inDb = await revokeMemberAudited(db, { federation: kit.federation, id, actor: operatorActor() });
    } finally {
      await db.close();
    }
  }
  const already = entry.status === 'revoked';
  if (!already) {
    const members = kit.members.map((m) =>
      m.id === id ? { ...m, status: 'revoked' as const, revokedAt: new Date().toISOString() } : m,
    );
    saveKit(file, root, { ...kit, members });
  }
  const result = {
    member: id,
    kit: already ? 'already revoked' : 'revoked',
    postgres: inDb,
    schema: o.schema,
  };
  if (o.json) print(JSON.stringify(result));
  else {
    print(`${id} ${already ? 'was already revoked' : 'revoked'} in ${file}`);
    if (inDb === 'revoked')
      print(`revoked in Postgres schema ${o.schema}: its sessions are refused from now on`);
    else if (inDb === 'already revoked') print(`already revoked in Postgres schema ${o.schema}`);
    else if (inDb === 'not registered')
      print(
        `${kit.federation}/${id} is not registered in Postgres schema ${o.schema} (no aggregator has run there?)`,
      );
    else print('Postgres not updated (--kit-only): a running aggregator still accepts it');
  }
  return result;
}

export async function runMembersList(
  o: DbOptions & { kit: string; json?: boolean },
  print: (line: string) => void = console.log,
) {
  const { kit } = readKit(o.kit);
  const { db, why } = await connect(o);
  const live = new Map<string, { status: string; last_seen_at: Date | null }>();
  if (db) {
    try {
      for (const m of await listMembers(db, kit.federation)) live.set(m.id, m);
    } finally {
      await db.close();
    }
  }
  const rows = kit.members.map((m) => ({
    id: m.id,
    role: m.roles.join(','),
    kid: m.kid,
    kitStatus: m.status ?? 'active',
    dbStatus: db ? (live.get(m.id)?.status ?? 'unregistered') : undefined,
    lastSeenAt: live.get(m.id)?.last_seen_at?.toISOString() ?? null,
  }));
  if (o.json) {
    print(JSON.stringify({ federation: kit.federation, members: rows, postgres: db ? o.schema : null }));
    return rows;
  }
  print(
    `federation ${kit.federation}: ${rows.length} parties${db ? ` (status from Postgres schema ${o.schema})` : ` (kit only: ${why})`}`,
  );
  print(`${'id'.padEnd(20)} ${'role'.padEnd(12)} ${'status'.padEnd(13)} ${'last seen'.padEnd(25)} kid`);
  for (const r of rows) {
    const status =
      r.dbStatus && r.dbStatus !== r.kitStatus
        ? `${r.dbStatus} (kit: ${r.kitStatus})`
        : (r.dbStatus ?? r.kitStatus);
    print(
      `${r.id.padEnd(20)} ${r.role.padEnd(12)} ${status.padEnd(13)} ${(r.lastSeenAt ?? '-').padEnd(25)} ${r.kid.slice(0, 12)}…`,
    );
  }
  return rows;
}

export function registerProvision(program: Command): void {
  program
    .command('provision')
    .description(
      'one-machine convenience for demos and tests: create a federation with every key made here (identity keys, CA and TLS certificates, the coordinator kit, one kit per member and auditor; members also get the consortium HE key). A deployment enrolls members with `kpfl member init` / `kpfl members add --request` instead',
    )
    .requiredOption('--federation <name>', 'federation name', parseIdOption('--federation'))
    .requiredOption(
      '--members <ids>',
      'member ids, comma-separated (e.g. a,b,c)',
      parseIdListOption('--members'),
    )
    .option(
      '--auditors <ids>',
      'auditor ids, comma-separated (read-only role)',
      parseIdListOption('--auditors'),
    )
    .requiredOption('--out <dir>', 'directory to write the kits into', outputDir('--out'))
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
    .option('--force', 'replace kits already in --out')
    .option('--json', 'print a JSON summary')
    .action(async (o: ProvisionOptions) => {
      await runProvision(o);
    });

  const members = program
    .command('members')
    .description('add, revoke and list the members of a provisioned federation');
  const common = (c: Command) =>
    c
      .requiredOption(
        '--kit <dir>',
        'coordinator kit directory (from `kpfl provision`)',
        existingPath('--kit'),
      )
      .addOption(schemaOption("the aggregator's Postgres schema"))
      .addOption(databaseUrlOption('Postgres URL'))
      .option('--kit-only', 'do not touch Postgres: change only the coordinator kit')
      .option('--json', 'print JSON');
  const memberId = (c: Command) => c.argument('<id>', 'member or auditor id', parseIdOption('member id'));
  common(
    members
      .command('add')
      .argument('[id]', 'member or auditor id (the convenience path only)', parseIdOption('member id'))
      .description(
        "enroll a member from its request (--request FILE: its keys were made on its own machine), or, with an id, the one-machine convenience for demos and tests: make the member's keys here and write its kit",
      )
      .option(
        '--request <file>',
        'an enrollment request from `kpfl member init`: verify it, issue the certificate, register, write the response',
        existingPath('--request'),
      )
      .option(
        '--response-out <file>',
        'with --request: where to write the response bundle (default: enrollment-response.json next to the request)',
        outputFile('--response-out'),
      )
      .option(
        '--aggregator <host:port>',
        'with --request: the aggregator address to tell the member',
        parseHostPort('--aggregator', 'fl.example.org:50051'),
      )
      .addOption(
        new Option(
          '--role <role>',
          'participant or auditor (with --request: the role the request must ask for)',
        )
          .choices(ROLES)
          .default('participant'),
      )
      .option(
        '--out <dir>',
        'kit root to write into (default: the directory holding coordinator/)',
        outputDir('--out'),
      )
      .option(
        '--he-key <file>',
        "the consortium HE key (default: an existing member's he-key.json)",
        existingPath('--he-key'),
      ),
  ).action(async (id: string | undefined, o: AddOptions & EnrollFlags, cmd: Command) => {
    if (o.request !== undefined) {
      if (id !== undefined)
        throw new UserError(`give either an id or --request, not both (the request names the member)`);
      if (o.out !== undefined || o.heKey !== undefined)
        throw new UserError(
          '--out and --he-key go with a member id, not with --request (the member keeps its kit)',
        );
      const role = cmd.getOptionValueSource('role') === 'cli' ? o.role : undefined;
      await runMembersEnroll({ ...o, request: o.request, role });
      return;
    }
    if (id === undefined)
      throw new UserError('members add: give --request FILE (enrollment), or a member id (convenience path)');
    if (o.responseOut !== undefined || o.aggregator !== undefined)
      throw new UserError('--response-out and --aggregator go with --request');
    await runMembersAdd(id, o);
  });
  common(
    memberId(members.command('revoke')).description(
      'revoke a member: its sessions and new authentications are refused',
    ),
  ).action(async (id: string, o: DbOptions & { kit: string; json?: boolean }) => {
    await runMembersRevoke(id, o);
  });
  common(members.command('list').description('list members with their status')).action(
    async (o: DbOptions & { kit: string; json?: boolean }) => {
      await runMembersList(o);
    },
  );
}
