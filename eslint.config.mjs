// One lint setup for the whole workspace (ESLint flat config + typescript-eslint).
// The module-boundary rule encodes the one-way dependencies of ARCHITECTURE.md:
//   desktop -> hyperkit, vpnkit, datakit, p9p;  datakit -> p9p;  nothing else.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export const depConstraints = [
  { sourceTag: 'scope:p9p', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:vpnkit', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:hyperkit', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:datakit', onlyDependOnLibsWithTags: ['scope:p9p'] },
  {
    sourceTag: 'scope:desktop',
    onlyDependOnLibsWithTags: ['scope:p9p', 'scope:vpnkit', 'scope:hyperkit', 'scope:datakit'],
  },
];

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/reports/**', '**/.nx/**', '**/.cache/**'],
  },
  ...tseslint.configs.recommended,
  {
    plugins: { '@nx': nx },
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints,
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // koffi is declared only in hyperkit/src/ffi and vpnkit's host syscalls (TAP link, ICMP socket) (CONVENTIONS.md #3).
    files: ['packages/**/*.ts', 'apps/**/*.ts'],
    ignores: ['packages/hyperkit/src/ffi/**', 'packages/vpnkit/src/link/tap/**', 'packages/vpnkit/src/host/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'koffi', message: 'koffi is used only in hyperkit/src/ffi/ (and vpnkit/src/link/tap/, vpnkit/src/host/).' }] },
      ],
    },
  },
  {
    // Pure protocol layers do no I/O and read no clock (CONVENTIONS.md #2).
    files: ['packages/vpnkit/src/{wire,tcp,arp,dhcp,icmp,ip}/**/*.ts', 'packages/p9p/src/codec/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='Date'][property.name='now']",
          message: 'Protocol code takes time as an argument (CONVENTIONS.md #2).',
        },
        { selector: "CallExpression[callee.name='setTimeout']", message: 'No timers in protocol code.' },
        { selector: "CallExpression[callee.name='setInterval']", message: 'No timers in protocol code.' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:net', 'node:dgram', 'node:fs', 'node:fs/*', 'node:timers', 'net', 'dgram', 'fs'], message: 'Protocol code does no I/O.' },
          ],
        },
      ],
    },
  },
);
