/**
 * The one place that loads Cedar (cedar-wasm's Node build).
 *
 * V8 in Node 20 inlines JS-to-Wasm calls into optimised code, and deoptimising such a frame
 * lazily crashes the whole process now and then ("Fatal error … unreachable code" in
 * `DoComputeBuiltinContinuation`); repeated `isAuthorized` calls hit it within seconds. Turning
 * that one inlining off before any call avoids it at no measurable cost.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-turbo-inline-js-wasm-calls');

import * as wasm from '@cedar-policy/cedar-wasm/nodejs';

export * as cedar from '@cedar-policy/cedar-wasm/nodejs';

type PolicyToJsonAnswer = ReturnType<typeof wasm.policyToJson>;

const MEMO_LIMIT = 20_000;
const memo = new Map<string, PolicyToJsonAnswer>();

/**
 * `cedar.policyToJson` remembered by policy text. Editors and reloads check a whole file
 * again after a small change, and this one call per policy is most of the cost; the answer
 * depends on the text alone. Callers must not change what it returns.
 */
export function policyToJsonMemo(text: string): PolicyToJsonAnswer {
  const known = memo.get(text);
  if (known) return known;
  const answer = wasm.policyToJson(text);
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(text, answer);
  return answer;
}
