/**
 * `kpfl he-key create | rotate | status`: the member side of the consortium HE key, run with the
 * member's own kit. The key is made here, on the member's machine, and delivered to the other active
 * members as JWEs the aggregator relays and cannot open; the aggregator only learns its keyId.
 */
import { dirname, resolve } from 'node:path';
import { createLogger } from '@kpfl/aggregator';
import { DEFAULT_HE_PARAMS, HE_PARAM_SETS } from '@kpfl/he';
import { importEncryptionKey } from '@kpfl/kpt';
import { AggregatorConnection, HeKeyStore, MemberKeys } from '@kpfl/participant';
import { type Command, Option } from 'commander';
import { identityOf, readMemberKit } from '../kits.js';
import { existingPath, parseHostPort, UserError } from '../user-error.js';

export interface HeKeyCliOptions {
  kit?: string;
  aggregator: string;
  insecure?: boolean;
  heParams: string;
  json?: boolean;
}

/** The kit's directory (where its keys per epoch live), from `--kit DIR` or `--kit DIR/member.json`. */
export function kitDirOf(kit: string): string {
  const p = resolve(kit);
  return p.endsWith('.json') ? dirname(p) : p;
}

/**
 * A member's HE keys from its kit: the store in the kit directory and its encryption key. `conn` is
 * the member's connection to the aggregator (the participant loop passes its own).
 */
export async function memberKeysOf(
  kitPath: string,
  conn: AggregatorConnection,
  log?: ConstructorParameters<typeof MemberKeys>[0]['log'],
): Promise<MemberKeys> {
  const kit = readMemberKit(kitPath);
  return new MemberKeys({
    federation: kit.federation,
    memberId: kit.memberId,
    identity: await identityOf(kit),
    encryption: kit.encryption ? await importEncryptionKey(kit.encryption.privateJwk) : undefined,
    conn,
    store: new HeKeyStore(kitDirOf(kitPath)),
    trustedJwks: kit.federationJwks,
    log,
  });
}

async function withKeys<T>(o: HeKeyCliOptions, fn: (keys: MemberKeys) => Promise<T>): Promise<T> {
  if (!o.kit) throw new UserError('--kit is required: the directory of your member kit');
  const kit = readMemberKit(o.kit);
  if (kit.kind !== 'kpfl-member-kit')
    throw new UserError(`${o.kit} is an auditor kit; only participants hold the HE key`);
  const conn = new AggregatorConnection({
    address: o.aggregator,
    memberId: kit.memberId,
    identity: await identityOf(kit),
    tls: o.insecure ? undefined : kit.tls,
  });
  try {
    const log = createLogger('he-key', { level: 'warn' }).child({ member: kit.memberId });
    return await fn(await memberKeysOf(o.kit, conn, log));
  } finally {
    conn.close();
  }
}

function print(o: HeKeyCliOptions, value: Record<string, unknown>, text: string): void {
  process.stdout.write(o.json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

export function registerHeKey(program: Command): void {
  const cmd = program
    .command('he-key')
    .description(
      'the consortium HE key, member side: make it, rotate it, see its epoch (with your own kit; the coordinator never holds it)',
    );
  const common = (c: Command) =>
    c
      .option('--kit <dir>', "this member's kit directory", existingPath('--kit'))
      .option(
        '--aggregator <host:port>',
        'aggregator address',
        parseHostPort('--aggregator'),
        'localhost:50051',
      )
      .option('--insecure', 'plaintext gRPC without TLS (loopback testing only)')
      .option('--json', 'print one JSON line');

  common(
    cmd
      .command('create')
      .description(
        "make the key of the federation's current epoch if it is pending (starting the first epoch if there is none) and deliver it to every other active member",
      )
      .addOption(
        new Option('--he-params <name>', 'parameter set of the first epoch')
          .choices(Object.keys(HE_PARAM_SETS))
          .default(DEFAULT_HE_PARAMS),
      ),
  ).action(async (o: HeKeyCliOptions) => {
    await withKeys(o, async (keys) => {
      const started = performance.now();
      const r = await keys.createIfPending(o.heParams);
      const ms = Math.round(performance.now() - started);
      if (r.epoch.state === 'ready' && !r.made) await keys.sync();
      print(
        o,
        { epoch: r.epoch.epoch, state: r.epoch.state, keyId: r.epoch.keyId, made: r.made, ms },
        r.made
          ? `made the key of epoch ${r.epoch.epoch} (keyId ${r.epoch.keyId}) and delivered it in ${ms} ms`
          : `epoch ${r.epoch.epoch} already has a key (keyId ${r.epoch.keyId}, made by ${r.epoch.createdBy}); this member holds it`,
      );
    });
  });

  common(
    cmd
      .command('rotate')
      .description(
        'start a new epoch (the current one retires; HE rounds in flight fail, ADR 0008) and make its key now',
      ),
  ).action(async (o: HeKeyCliOptions) => {
    await withKeys(o, async (keys) => {
      const started = performance.now();
      const r = await keys.rotate();
      const ms = Math.round(performance.now() - started);
      print(
        o,
        { epoch: r.epoch.epoch, state: r.epoch.state, keyId: r.epoch.keyId, made: r.made, ms },
        `epoch ${r.epoch.epoch} is ${r.epoch.state} (keyId ${r.epoch.keyId || 'none'})${r.made ? `: this member made its key and delivered it in ${ms} ms` : ''}`,
      );
    });
  });

  common(
    cmd
      .command('status')
      .description("the federation's current HE key epoch and whether this member holds its key"),
  ).action(async (o: HeKeyCliOptions) => {
    await withKeys(o, async (keys) => {
      const e = await keys.status();
      const held = keys.o.store.epochs();
      print(
        o,
        {
          epoch: e.epoch,
          state: e.state,
          keyId: e.keyId,
          createdBy: e.createdBy,
          reason: e.reason,
          haveKey: e.haveKey,
          heldEpochs: held,
        },
        `epoch ${e.epoch}: ${e.state} (${e.reason}), keyId ${e.keyId || 'none'}${e.createdBy ? `, made by ${e.createdBy}` : ''}; this member ${e.haveKey || held.includes(e.epoch) ? 'holds its key' : 'does not hold its key'}; keys held for epochs ${held.join(', ') || 'none'}`,
      );
    });
  });
}
