export * from './audit.js';
export * from './audit-checkpoint.js';
export * from './audit-views.js';
export * from './contributions.js';
export * from './db.js';
export * from './evaluations.js';
export * from './members.js';
export * from './rounds.js';
