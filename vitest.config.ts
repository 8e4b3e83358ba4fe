import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Hang guards, not expectations: a test waits on conditions, and a loaded two-core machine may
    // take minutes where an idle one takes seconds.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // Two cores: crash tests spawn whole weir processes, so keep file-level parallelism low.
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Stops the Kafka test broker (started on first use by test/support/kafka.ts) after the run.
    globalSetup: ['./test/support/kafka-global-setup.ts'],
    // Removes the temp folders each test file made (test/support/temp-dirs.ts) after the file.
    setupFiles: ['./test/support/cleanup-setup.ts'],
  },
});
