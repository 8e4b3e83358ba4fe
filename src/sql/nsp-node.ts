import type { SourceText, Token } from './tokenizer.js';

/** node-sql-parser's AST is loosely typed; converters check each shape they rely on. */
// biome-ignore lint/suspicious/noExplicitAny: the parser's AST has no types; converters check each shape
export type NspNode = any;

/** The statement being parsed: its text (with file origin) and all its tokens. */
export interface StatementContext {
  readonly src: SourceText;
  readonly tokens: readonly Token[];
}
