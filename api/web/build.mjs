// Builds the three front ends into dist/ with esbuild: every script, style, image and font
// the pages use is bundled from npm packages and src/, so the pages load nothing from any
// other host. `npm run build` (ops/dev.sh runs it after `npm ci`).
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

// Built beside dist/ and swapped in at the end, so a server starting meanwhile never reads a
// half-written tree.
const out = `dist-building-${process.pid}`;
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/pages`, { recursive: true });

await build({
  entryPoints: {
    dashboard: 'src/dashboard.js',
    public: 'src/public.js',
    report: 'src/report.js',
  },
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: false,
  outdir: `${out}/assets`,
  loader: { '.png': 'file', '.svg': 'file', '.woff2': 'file' },
  assetNames: '[name]-[hash]',
  legalComments: 'linked',
  logLevel: 'warning',
});

// The service worker is its own script, served from /report/ so that its scope is the client.
await build({
  entryPoints: ['src/sw.js'],
  bundle: true,
  format: 'iife',
  minify: true,
  outfile: `${out}/report-sw.js`,
  logLevel: 'warning',
});

// Pages: pages/layout.html around each page's <main> content. A page's first line says which
// bundle it loads, its title key, which menu item is current, and whether it is installable:
//   <!-- page: entry=report title=report.title current=/report manifest -->
const layout = readFileSync('pages/layout.html', 'utf8');
for (const name of readdirSync('pages')) {
  if (name === 'layout.html') continue;
  if (!name.endsWith('.html')) {
    cpSync(`pages/${name}`, `${out}/pages/${name}`);
    continue;
  }
  const source = readFileSync(`pages/${name}`, 'utf8');
  const header = /^<!-- page: (.*?) -->\n/.exec(source);
  if (!header) throw new Error(`pages/${name} must start with a <!-- page: ... --> line`);
  const options = Object.fromEntries(header[1].split(/\s+/).map((item) => item.split('=')));
  const head = 'manifest' in options
    ? '<link rel="manifest" href="/report.webmanifest">\n<meta name="theme-color" content="#14213d">\n'
    : '';
  const page = layout
    .replace('{{head}}', head)
    .replaceAll('{{entry}}', options.entry)
    .replace('{{title}}', options.title)
    .replace(`<a href="${options.current}" `, `<a href="${options.current}" aria-current="page" `)
    .replace('{{main}}', source.slice(header[0].length));
  writeFileSync(`${out}/pages/${name}`, page);
}

// A version stamp: the service worker's cache name and the server's ETag base.
const hash = createHash('sha256');
for (const dir of [`${out}/assets`, `${out}/pages`]) {
  for (const name of readdirSync(dir).sort()) hash.update(name).update(readFileSync(`${dir}/${name}`));
}
hash.update(readFileSync(`${out}/report-sw.js`));
writeFileSync(`${out}/build.json`, JSON.stringify({ version: hash.digest('hex').slice(0, 16) }) + '\n');

rmSync('dist', { recursive: true, force: true });
renameSync(out, 'dist');
