/** The Leash policy core: check, compile and decide Cedar policies. */
export * from './ir';
export { policyAnnotations, type Annotations } from './annotations';
export { builtinRules, type BuiltinOptions } from './builtin';
export { compilePolicy, type CompileOptions, type CompileResult } from './compile';
export {
  decideConnect,
  decideExec,
  decideFile,
  decideHttp,
  decideMcp,
  likeHolds,
  stringHolds,
  type HeaderInjection,
  type HttpRequestFacts,
  type McpCallFacts,
} from './decide';
export { differential, type DifferentialCase, type ExecFacts, type Mismatch } from './differential';
export { formatDiagnostic, type Diagnostic, type Severity } from './diagnostics';
export { authorize, type OracleRequest } from './oracle';
export { DEFAULT_POLICY_PATH, SCHEMA_PATH } from './schema';
export { checkPolicy, type CheckResult } from './validate';
export {
  EXAMPLE_SESSION,
  parseExamples,
  runExamples,
  type Example,
  type ExampleResult,
} from './examples';
export {
  explain,
  parseRequest,
  permitFor,
  cedarString,
  RequestError,
  type Explanation,
  type Fix,
  type JudgeOptions,
  type Request,
} from './explain';
export { describeExecRule, describeHttpRule, describeMcpRule, describeString } from './describe';
export { formatPolicy, type FormatResult } from './format';
export { LINT_RULES } from './lint';
export { splitPolicies, tokenize, type PolicySource, type Token } from './source';
export {
  formatAddress,
  formatCidr,
  parseAddress,
  parseCidr,
  unmap,
  type Address,
  type Cidr,
} from './ip';
export { isNormalPath } from './paths';
export { describeRequest } from './explain';
export {
  seenFromEvents,
  suggestPolicy,
  SuggestError,
  GROUP_AT,
  type AuditEvent,
  type LeftOut,
  type Seen,
  type SeenConnect,
  type SeenFile,
  type SuggestInput,
  type Suggestion,
} from './suggest';
export { commentString } from './suggest';
export { KNOWN_ANNOTATIONS } from './lint/unknown-annotation';
