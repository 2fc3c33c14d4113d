/**
 * cedar-wasm for what the policy core does not wrap: the schema's JSON form. The policy core
 * is imported first: loading it turns off the V8 inlining that crashes repeated cedar-wasm
 * calls, and that must happen before any call from here.
 */
import '@leash/policies';

export { schemaToJson } from '@cedar-policy/cedar-wasm/nodejs';
