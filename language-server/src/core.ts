/**
 * The parts of the policy core the incremental checker builds on. The core's public API checks
 * a whole policy text at once; checking one policy at a time needs its stages one by one, so
 * they are imported from the modules that define them, here and nowhere else.
 */
export { policyToJsonMemo, cedar } from '@leash/policies/dist/cedar';
export { compileOne, type CompiledPolicy } from '@leash/policies/dist/compile/policy';
export { CompileError } from '@leash/policies/dist/compile/errors';
export { LineMap } from '@leash/policies/dist/diagnostics';
export { checkLimits, isWellFormed } from '@leash/policies/dist/limits';
export type { LintInput } from '@leash/policies/dist/lint/rule';
export { findTokens } from '@leash/policies/dist/source';
export { schema as builtinSchema } from '@leash/policies/dist/schema';
export {
  analyse,
  cedarDiagnostics,
  type Analysis,
  type CheckResult,
} from '@leash/policies/dist/validate';
