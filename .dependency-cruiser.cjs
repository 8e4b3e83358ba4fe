/**
 * weir's layers, bottom to top. A module may import its own layer and the layers below it, never
 * one above; `npm run lint` (the first step of `npm test`) fails on a violation or on any import
 * cycle. docs/architecture.md draws the same picture.
 */
const LAYERS = [
  ['base', '^src/(util/|errors[.]ts$|log[.]ts$)'],
  ['model', '^src/model/'],
  ['sql', '^src/sql/'],
  ['expr', '^src/(expr|catalog)/'],
  ['config', '^src/config/'],
  ['state', '^src/state/'],
  ['runtime', '^src/(runtime|sink)/'],
  ['checkpoint', '^src/checkpoint/'],
  ['connector-contract', '^src/connector/'],
  ['plan', '^src/plan/'],
  ['job', '^src/job/'],
  ['connectors', '^connectors/[^/]+/'],
  ['connector-registration', '^connectors/index[.]ts$'],
  ['cli', '^src/cli/'],
];

const layerRules = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `layer-${name}`,
  comment: `${name} may not import a layer above it (${LAYERS.slice(i + 1).map(([n]) => n).join(', ')})`,
  severity: 'error',
  from: { path },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => `(${p})`).join('|') },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'no import cycle between files (type-only imports count)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'connector-internals',
      comment: 'a connector reaches another only through connectors/common and connectors/formats (shared code), never its internals',
      severity: 'error',
      from: { path: '^connectors/([^/]+)/' },
      to: { path: '^connectors/[^/]+/', pathNot: ['^connectors/$1/', '^connectors/common/', '^connectors/formats/'] },
    },
    {
      name: 'formats-are-shared',
      comment: 'connectors/formats and connectors/common are used by connectors and use none of them',
      severity: 'error',
      from: { path: '^connectors/(formats|common)/' },
      to: { path: '^connectors/(?!formats/|common/)' },
    },
    {
      name: 'cli-through-the-contract',
      comment: 'the CLI reaches connectors only through the registration (connectors/index.ts) and the connector contract',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^connectors/[^/]+/' },
    },
    {
      name: 'node-sql-parser-in-sql-only',
      comment: 'nothing past src/sql imports node-sql-parser',
      severity: 'error',
      from: { pathNot: '^src/sql/' },
      to: { path: 'node_modules/node-sql-parser/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
