export * from './audit.js';
export * from './contributions.js';
export * from './db.js';
export * from './evaluations.js';
export * from './members.js';
export * from './round-machine.js';
export * from './rounds.js';
