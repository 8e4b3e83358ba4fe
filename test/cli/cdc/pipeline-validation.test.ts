import { describe, expect, it } from 'vitest';
import { pipelineFromFlags, validatePipeline } from '../../../src/cli/cdc/pipeline.js';

const source = { type: 'postgres', hostname: 'h', username: 'u', password: 'p', 'database-name': 'd', tables: 'public.*' };
const sink = { type: 'duckdb', path: 'w.duckdb' };

describe('pipeline validation', () => {
  it("'pipeline.checkpoint.interval' takes Flink's minimum of 10 ms; smaller values are named when set", () => {
    expect(validatePipeline({ source, sink, pipeline: { 'checkpoint.interval': '10 ms' } }, 'p.yaml').pipeline['checkpoint.interval']).toBe(10);
    expect(() => validatePipeline({ source, sink, pipeline: { 'checkpoint.interval': '5ms' } }, 'p.yaml')).toThrow(
      "p.yaml: 'pipeline.checkpoint.interval': expected a duration of at least 10 ms",
    );
    expect(() => pipelineFromFlags({ source: 'postgres://u@h/d', tables: 'public.*', sink: 'duckdb:w.duckdb', checkpointInterval: '0' })).toThrow(
      /at least 10 ms/,
    );
    expect(() => validatePipeline({ source, sink, pipeline: { parallelism: 129 } }, 'p.yaml')).toThrow(/'pipeline.parallelism'/);
  });
});
