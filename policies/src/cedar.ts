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

export * as cedar from '@cedar-policy/cedar-wasm/nodejs';
