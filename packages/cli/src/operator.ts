import { hostname, userInfo } from 'node:os';

/**
 * The acting operator as audit events name it: `operator:<os user>@<host>`, the account that ran
 * the command (`kpfl members add|revoke`) or started the aggregator (start-up registration). An
 * account without a passwd entry (a container's arbitrary uid) is named by its uid.
 */
export function operatorActor(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = `uid-${process.getuid?.() ?? 'unknown'}`;
  }
  return `operator:${user}@${hostname()}`.slice(0, 256);
}
