import { hostname, userInfo } from 'node:os';

/** Who an operator command's audit rows name as the actor: the OS user on this host. */
export function operatorActor(): string {
  return `operator:${userInfo().username}@${hostname()}`;
}
