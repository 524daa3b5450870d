// tools/check-packs: proves each package works when installed from its npm tarball,
// outside the workspace:
//   1. `npm pack` every project (after the build);
//   2. inspect each tarball: required files present, no workspace paths leaked
//      (file:/workspace:/link: specifiers, absolute paths of this checkout);
//   3. `npm install` all tarballs into a scratch project in the OS temp dir;
//   4. import each package from plain Node (ESM): it loads, exports exactly what the
//      workspace build exports, and its internals are not importable;
//   5. typecheck a TypeScript file against the shipped types (strict, NodeNext);
//   6. run each shipped bin with --help.
// Writes reports/check-packs.json (passed/failed counts) for tools/summary.mjs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projects } from './projects.mjs';

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const scratch = mkdtempSync(join(tmpdir(), 'kitbox-packs-'));
const results = [];
const env = { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', npm_config_fund: 'false', npm_config_audit: 'false' };

function check(name, fn) {
  try {
    const note = fn();
    results.push([name, true]);
    console.log(`  ok   ${name}${note ? ` (${note})` : ''}`);
  } catch (err) {
    results.push([name, false]);
    console.log(`  FAIL ${name}\n       ${String(err?.stderr ?? err?.message ?? err).trim().replaceAll('\n', '\n       ')}`);
  }
}
const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env, ...opts });

try {
  // 1-2. Pack and inspect.
  const tarballs = {};
  for (const [name, p] of Object.entries(projects)) {
    check(`${name}: npm pack`, () => {
      const out = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: join(root, p.dir) }));
      const info = out[0];
      tarballs[name] = join(scratch, info.filename);
      const files = info.files.map((f) => f.path);
      for (const required of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'src/index.ts']) {
        if (!files.includes(required)) throw new Error(`tarball lacks ${required}`);
      }
      const tests = files.filter((f) => /\.(test|bench)\./.test(f));
      if (tests.length) throw new Error(`tarball ships tests: ${tests.join(', ')}`);
    });
    check(`${name}: no workspace paths in the tarball`, () => {
      const dir = join(scratch, `unpacked-${name}`);
      mkdirSync(dir);
      run('tar', ['-xzf', tarballs[name], '-C', dir]);
      const pkg = JSON.parse(readFileSync(join(dir, 'package/package.json'), 'utf8'));
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        for (const [dep, spec] of Object.entries(pkg[field] ?? {})) {
          if (/^(file|workspace|link|portal):|^\.{0,2}\//.test(spec)) throw new Error(`${field}.${dep} = ${spec}`);
        }
      }
      const leaks = readdirSync(join(dir, 'package'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && readFileSync(join(e.parentPath, e.name), 'utf8').includes(root))
        .map((e) => e.name);
      if (leaks.length) throw new Error(`files contain the checkout path ${root}: ${leaks.join(', ')}`);
    });
  }
  // 3. Install everything from the tarballs into a project outside the workspace.
  const app = join(scratch, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kitbox-pack-check', private: true, type: 'module' }));
  const tsVersion = JSON.parse(readFileSync(join(root, 'node_modules/typescript/package.json'), 'utf8')).version;
  const nodeTypes = JSON.parse(readFileSync(join(root, 'node_modules/@types/node/package.json'), 'utf8')).version;
  check('npm install of all tarballs outside the workspace', () => {
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error',
      ...Object.values(tarballs), `typescript@${tsVersion}`, `@types/node@${nodeTypes}`], { cwd: app });
  });

  // 4. Plain Node: same exports as the workspace build, internals sealed.
  for (const [name, p] of Object.entries(projects)) {
    check(`${name}: import '${p.pkg}' from plain Node`, () => {
      const script = `
        const shipped = await import(${JSON.stringify(p.pkg)});
        const built = await import(${JSON.stringify(pathToFileURL(join(root, p.dir, 'dist/index.js')).href)});
        const a = Object.keys(shipped).sort().join(','), b = Object.keys(built).sort().join(',');
        if (!a) throw new Error('no exports');
        if (a !== b) throw new Error('exports differ from the workspace build: ' + a + ' vs ' + b);
        try { await import(${JSON.stringify(`${p.pkg}/dist/index.js`)}); throw new Error('internals are importable'); }
        catch (e) { if (e.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw e; }
        console.log(a.split(',').length + ' exports');`;
      return run('node', ['--input-type=module', '-e', script], { cwd: app }).trim();
    });
  }

  // 4b. Every other subpath the exports map declares (e.g. @kitbox/vpnkit/testing) loads.
  for (const [name, p] of Object.entries(projects)) {
    const pkg = JSON.parse(readFileSync(join(root, p.dir, 'package.json'), 'utf8'));
    for (const sub of Object.keys(pkg.exports ?? {}).filter((k) => k !== '.' && k !== './package.json')) {
      const spec = `${p.pkg}${sub.slice(1)}`;
      check(`${name}: import '${spec}' from plain Node`, () =>
        run('node', ['--input-type=module', '-e', `const m = await import(${JSON.stringify(spec)}); if (!Object.keys(m).length) throw new Error('no exports'); console.log(Object.keys(m).length + ' exports');`], { cwd: app }).trim(),
      );
    }
  }

  // 5. TypeScript against the shipped types: every runtime export has a type.
  check('typecheck a TypeScript consumer against the shipped types', () => {
    const lines = [];
    for (const [name, p] of Object.entries(projects)) {
      const keys = Object.keys(JSON.parse(run('node', ['--input-type=module', '-e',
        `console.log(JSON.stringify(Object.fromEntries(Object.keys(await import(${JSON.stringify(p.pkg)})).map(k=>[k,1]))))`], { cwd: app })));
      lines.push(`import * as ${name} from '${p.pkg}';`);
      lines.push(`export const ${name}Exports: ReadonlyArray<keyof typeof ${name}> = ${JSON.stringify(keys)};`);
    }
    writeFileSync(join(app, 'consumer.ts'), `${lines.join('\n')}\n`);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2023', noEmit: true, types: ['node'], skipLibCheck: false },
      files: ['consumer.ts'],
    }));
    run(join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: app });
  });

  // 6. Bins.
  for (const [name, p] of Object.entries(projects)) {
    const pkg = JSON.parse(readFileSync(join(root, p.dir, 'package.json'), 'utf8'));
    for (const bin of Object.keys(pkg.bin ?? {})) {
      check(`${name}: bin '${bin} --help' runs`, () => {
        const out = run(join(app, 'node_modules/.bin', bin), ['--help'], { cwd: app });
        if (!/usage/i.test(out)) throw new Error(`no usage text: ${out.slice(0, 200)}`);
      });
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const passed = results.filter(([, ok]) => ok).length;
const failed = results.length - passed;
mkdirSync(join(root, 'reports'), { recursive: true });
writeFileSync(join(root, 'reports/check-packs.json'), JSON.stringify({ numPassedTests: passed, numFailedTests: failed }));
console.log(`check-packs: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
