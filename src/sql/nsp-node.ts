import type { SourceText, Token } from './tokenizer.js';

/** node-sql-parser's AST is loosely typed; converters check each shape they rely on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NspNode = any;

/** The statement being parsed: its text (with file origin) and all its tokens. */
export interface StatementContext {
  readonly src: SourceText;
  readonly tokens: readonly Token[];
}
