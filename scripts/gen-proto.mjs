// Generates TypeScript types for protos/kpfl/v1 with proto-loader-gen-types, then adds the ".js"
// suffix to relative imports so the output type-checks as ESM under module NodeNext.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = 'packages/proto/src/generated';
rmSync(out, { recursive: true, force: true });
const protos = readdirSync('protos/kpfl/v1')
  .filter((f) => f.endsWith('.proto'))
  .map((f) => `protos/kpfl/v1/${f}`);
execFileSync(
  'node_modules/.bin/proto-loader-gen-types',
  [
    '--longs=Number',
    '--enums=String',
    '--defaults',
    '--oneofs',
    '--grpcLib=@grpc/grpc-js',
    `--outDir=${out}`,
    ...protos,
  ],
  { stdio: 'inherit' },
);
const walk = (dir) =>
  readdirSync(dir).flatMap((f) =>
    statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)],
  );
for (const file of walk(out)) {
  const text = readFileSync(file, 'utf8').replace(/from '(\.\.?\/[^']+?)'/g, "from '$1.js'");
  writeFileSync(file, text);
}
