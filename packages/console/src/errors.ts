import { KpflError } from '@kpfl/common';

/**
 * What the console refuses, each with a stable code. UNAUTHENTICATED and FORBIDDEN answer an HTTP
 * request (401, 403); BAD_REQUEST is a malformed request (400); CONFIG is a mistake in how the
 * console was started (exit code 2).
 */
export type ConsoleErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BAD_REQUEST' | 'CONFIG';

export class ConsoleError extends KpflError<ConsoleErrorCode> {}

export const HTTP_STATUS: Readonly<Record<ConsoleErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_REQUEST: 400,
  CONFIG: 500,
};
