/**
 * Reading and writing the coordinator kit for the commands that change the membership (`kpfl
 * members add|revoke|list`, and enrollment in commands/member.ts), and opening the aggregator's
 * database for them, and the kit as kpt's CoordinatorKit: one copy for both command modules.
 */
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type CoordinatorKit, type JWK, partyRole } from '@kpfl/kpt';
import { assertSchemaName, type Db, openDb, schemaExists } from '@kpfl/store';
import { OPERATOR_DEFAULTS } from './config.js';
import { type CoordinatorKitFile, readCoordinatorKit } from './kits.js';
import { UserError } from './user-error.js';

export function writePrivate(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Write then rename: a reader never sees half a kit, and an interrupted write leaves the old one.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export const json = (data: unknown) => `${JSON.stringify(data, null, 2)}\n`;

export interface DbOptions {
  schema: string;
  /** The CLI always passes one (--database-url, DATABASE_URL or the default). */
  databaseUrl?: string;
  kitOnly?: boolean;
}

function kitPaths(kitOption: string) {
  const file = kitOption.endsWith('.json') ? resolve(kitOption) : resolve(kitOption, 'coordinator.json');
  return { file, root: dirname(dirname(file)) };
}

export function readKit(kitOption: string) {
  const { file, root } = kitPaths(kitOption);
  const kit: CoordinatorKitFile = readCoordinatorKit(file);
  return { kit, file, root };
}

export function saveKit(file: string, root: string, kit: CoordinatorKitFile) {
  writePrivate(file, json(kit));
  const pub = join(root, 'federation.json');
  if (existsSync(pub)) writePrivate(pub, json({ federation: kit.federation, jwks: kit.jwks }));
}

/**
 * Opens the aggregator's database, or says why not. An absent schema is not created (a mistyped
 * --schema must not leave an empty deployment behind): `missing` is set instead.
 */
export async function connect(o: DbOptions): Promise<{ db?: Db; why?: string; missing?: boolean }> {
  if (o.kitOnly) return { why: '--kit-only' };
  try {
    assertSchemaName(o.schema);
  } catch (err) {
    throw new UserError(`--schema: ${(err as Error).message}`);
  }
  const url = o.databaseUrl ?? OPERATOR_DEFAULTS.databaseUrl;
  try {
    if (!(await schemaExists(url, o.schema)))
      return { why: `schema ${o.schema} does not exist`, missing: true };
  } catch (err) {
    return { why: (err as Error).message };
  }
  try {
    return { db: await openDb({ databaseUrl: url, schema: o.schema, max: 2, connectRetries: 2 }) };
  } catch (err) {
    return { why: (err as Error).message };
  }
}

/** The coordinator kit as kpt's CoordinatorKit (the registry from coordinator.json's members). */
export function coordinatorOf(kit: CoordinatorKitFile): CoordinatorKit {
  return {
    federation: kit.federation,
    signingKey: kit.signingKey,
    ca: kit.ca,
    server: { ...kit.server, hosts: [] },
    registry: Object.fromEntries(
      kit.members.map((m) => [
        m.id,
        {
          memberId: m.id,
          role: partyRole(m.roles),
          kid: m.kid,
          publicJwk: m.publicJwk as JWK,
          encryptionJwk: m.encryptionJwk as JWK | undefined,
        },
      ]),
    ),
    jwks: kit.jwks,
  };
}
