import { AUDIT_EVENTS, AuditError, LEGACY_AUDIT_EVENTS } from '@kpfl/store';
import { z } from 'zod';

/**
 * Filters as the CLI and the gRPC AuditService receive them: numbers may come as strings
 * ("--round 3"), times as ISO 8601 strings or Dates. Unknown keys are refused (a typo must not
 * silently widen a query).
 */

const MAX_INT = 2 ** 31 - 1;

const wholeNumber = (what: string, min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*\d{1,16}\s*$/.test(v) ? Number(v) : v),
    z
      .number({ invalid_type_error: `${what} must be a whole number`, required_error: `${what} is required` })
      .int(`${what} must be a whole number`)
      .min(min, `${what} must be at least ${min}`)
      .max(max, `${what} must be at most ${max}`),
  );

/** A real calendar date: '2025-02-30' is refused, not rolled over to March 2. */
function realDate(s: string): boolean {
  const [y, m, d] = s.slice(0, 10).split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

const time = (what: string) =>
  z.union([z.date(), z.string().trim()]).transform((v, ctx) => {
    if (
      typeof v === 'string' &&
      !/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `${what} must be an ISO 8601 date or time, e.g. 2025-01-31 or 2025-01-31T12:00:00Z`,
      });
      return z.NEVER;
    }
    const d = v instanceof Date ? v : new Date(v);
    if (Number.isNaN(d.getTime()) || (typeof v === 'string' && !realDate(v))) {
      ctx.addIssue({ code: 'custom', message: `${what} is not a valid date or time` });
      return z.NEVER;
    }
    return d;
  });

const id = (what: string) =>
  z
    .string()
    .trim()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
      `${what} must look like an id ([A-Za-z0-9][A-Za-z0-9._-]{0,63})`,
    );

const fromTo = <T extends { from?: Date; to?: Date }>(f: T) =>
  !(f.from && f.to && f.from.getTime() >= f.to.getTime());
const fromToIssue = { message: 'from must be earlier than to', path: ['from'] };

export const contributionFilterSchema = z
  .object({
    federation: id('federation').optional(),
    planId: z.string().trim().min(1, 'planId must not be empty').max(128).optional(),
    round: wholeNumber('round', 0, MAX_INT).optional(),
    member: id('member').optional(),
    status: z.enum(['accepted', 'refused'], { message: "status must be 'accepted' or 'refused'" }).optional(),
    from: time('from').optional(),
    to: time('to').optional(),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,400}$/, 'cursor must be a value returned as nextCursor')
      .optional(),
    limit: wholeNumber('limit', 1, 10_000).default(1000),
  })
  .strict()
  .refine(fromTo, fromToIssue);

export type ContributionFilter = z.input<typeof contributionFilterSchema>;
export type ParsedContributionFilter = z.output<typeof contributionFilterSchema>;

export const roundFilterSchema = z
  .object({
    federation: id('federation').optional(),
    planId: z.string().trim().min(1, 'planId must not be empty').max(128).optional(),
    round: wholeNumber('round', 0, MAX_INT).optional(),
    state: z.enum(['open', 'collecting', 'aggregating', 'published', 'failed']).optional(),
  })
  .strict();

export type RoundFilter = z.input<typeof roundFilterSchema>;

/** Every name a log may hold: the current events and those older versions wrote. */
const QUERYABLE_EVENTS = [...AUDIT_EVENTS, ...LEGACY_AUDIT_EVENTS] as const;

export const auditLogFilterSchema = z
  .object({
    federation: id('federation').optional(),
    event: z
      .union([z.enum(QUERYABLE_EVENTS), z.array(z.enum(QUERYABLE_EVENTS)).min(1)], {
        errorMap: () => ({
          message: `event must be one of ${AUDIT_EVENTS.join(', ')} (or the legacy ${LEGACY_AUDIT_EVENTS.join(', ')})`,
        }),
      })
      .optional(),
    planId: z.string().trim().min(1).max(128).optional(),
    round: wholeNumber('round', 0, MAX_INT).optional(),
    member: id('member').optional(),
    from: time('from').optional(),
    to: time('to').optional(),
    afterSeq: wholeNumber('afterSeq', 0, Number.MAX_SAFE_INTEGER).optional(),
    limit: wholeNumber('limit', 1, 10_000).default(100),
  })
  .strict()
  .refine(fromTo, fromToIssue);

export type AuditLogFilter = z.input<typeof auditLogFilterSchema>;

/** Parses a filter or throws AuditError('BAD_FILTER') naming every offending field. */
export function parseFilter<S extends z.ZodTypeAny>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 5).map((i) => {
    if (i.code === 'unrecognized_keys') return `unknown filter ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    const field = i.path.join('.');
    return field && !i.message.startsWith(field) ? `${field}: ${i.message}` : i.message;
  });
  throw new AuditError('BAD_FILTER', `invalid ${what} filter: ${issues.join('; ')}`, { cause: r.error });
}
