/** The one place that loads Cedar (cedar-wasm's Node build). */
export * as cedar from '@cedar-policy/cedar-wasm/nodejs';
