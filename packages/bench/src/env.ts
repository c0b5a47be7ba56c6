/**
 * What the system suites need from the `kpfl` command itself: writing kit files, reading a member
 * kit, the argv to run `kpfl` again in a child process, and the Postgres and Redis URLs (the suites
 * read no environment variable). The CLI owns these (packages/cli/src/kits.ts, paths.ts); it passes
 * them in, so that @kpfl/bench does not depend on @kpfl/cli (which depends on it).
 */
import type { CoordinatorKitLike } from '@kpfl/aggregator';
import type { ConsortiumKey } from '@kpfl/he';
import type { IdentityKey, JSONWebKeySet } from '@kpfl/kpt';

export interface MemberKitLike {
  memberId: string;
  identity: IdentityKey;
  tls: { caPem: string; certPem: string; keyPem: string };
  coordinatorJwks: JSONWebKeySet;
  heKey?: ConsortiumKey;
}

export interface BenchEnv {
  /** Writes coordinator/, members/<id>/ (with he-key.json) and auditors/ under `out`. */
  provisionKits(o: {
    federation: string;
    members: string[];
    auditors?: string[];
    out: string;
    heParams: string;
  }): Promise<{ out: string; coordinator: CoordinatorKitLike }>;
  /** Reads members/<id> (member.json and he-key.json). */
  readMemberKit(dir: string): MemberKitLike;
  /** argv to run `kpfl <args>` in a child process with the same TypeScript loader. */
  cliCommand(args: string[]): { cmd: string; args: string[] };
  /** The same for the kpfl checkout at `root` (another version, to compare under the same load). */
  cliCommandAt?(root: string, args: string[]): { cmd: string; args: string[] };
  /**
   * Postgres (as the owner of the suites' throwaway schemas) and Redis the suites use (the CLI
   * passes --database-url/DATABASE_URL, --redis-url/REDIS_URL).
   */
  databaseUrl?: string;
  redisUrl?: string;
}
