// `make web`: bundle src/main.js into ../static/build/app.js (one ES module, no network at run time) and copy
// the Swagger UI and ReDoc assets of the pinned npm packages next to it, for the offline /docs and /redoc.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'static', 'build');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'vendor'), { recursive: true });

await build({
  entryPoints: [join(here, 'src', 'main.js')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

const vendor = [
  ['swagger-ui-dist/swagger-ui-bundle.js', 'swagger-ui-bundle.js'],
  ['swagger-ui-dist/swagger-ui.css', 'swagger-ui.css'],
  ['swagger-ui-dist/favicon-32x32.png', 'favicon-32x32.png'],
  ['redoc/bundles/redoc.standalone.js', 'redoc.standalone.js'],
];
for (const [from, to] of vendor) copyFileSync(join(here, 'node_modules', from), join(out, 'vendor', to));

// ReDoc's menu footer loads its logo from cdn.redoc.ly: the one URL of its bundle fetched at run time. Point it at
// our own icon so /redoc makes no request off this server (the build fails if the bundle changes under us).
const redoc = join(out, 'vendor', 'redoc.standalone.js');
const cdnLogo = '"https://cdn.redoc.ly/redoc/logo-mini.svg"';
const text = readFileSync(redoc, 'utf8');
if (text.split(cdnLogo).length !== 2) throw new Error(`expected ${cdnLogo} once in ${redoc}: check the redoc upgrade`);
writeFileSync(redoc, text.replace(cdnLogo, '"/static/favicon.svg"'));
console.log(`built ${join(out, 'app.js')} and ${vendor.length} API-docs assets`);
