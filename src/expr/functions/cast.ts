/**
 * CAST and TRY_CAST as bound calls: the target type is the call's type. Type checking happens in
 * the binder (type-rules.canCast); the conversions live in ../cast.ts.
 */
import { internalError } from '../../errors.js';
import { inlineCast, makeCaster } from '../cast.js';
import { type GenContext, type ScalarFunction, register } from './registry.js';

function genCast(g: GenContext, tryCast: boolean): string {
  const from = g.call.args[0].type;
  const to = g.call.type;
  return inlineCast(g.a[0], from, to) ?? `${g.konst(makeCaster(from, to, tryCast, g.call.pos))}(${g.a[0]})`;
}

const castFn = (name: string, tryCast: boolean): ScalarFunction => ({
  name,
  minArgs: 1,
  maxArgs: 1,
  nulls: 'strict',
  infer() {
    throw internalError(`${name} is typed by the binder`);
  },
  gen: (g) => genCast(g, tryCast),
});

register(castFn('CAST', false), castFn('TRY_CAST', true));
