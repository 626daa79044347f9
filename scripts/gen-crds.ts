/** Writes deploy/crds/*.yaml from the API schemas (`npm run gen:crds`). */
import fs from 'node:fs';
import path from 'node:path';
import { crdFiles } from '../src/apis/crd.ts';

const dir = path.resolve(import.meta.dirname, '../deploy/crds');
fs.mkdirSync(dir, { recursive: true });
for (const f of fs.readdirSync(dir)) if (f.endsWith('.yaml')) fs.rmSync(path.join(dir, f));
for (const [name, text] of crdFiles()) fs.writeFileSync(path.join(dir, name), text);
console.log(`wrote ${crdFiles().size} CRDs to ${dir}`);
