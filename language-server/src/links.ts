/** Where diagnostics point for more: the policy guide in this repository, by section anchor. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Each diagnostic code has a section (or anchor) in the guide named by the code itself. */
export const POLICY_GUIDE = pathToFileURL(resolve(__dirname, '..', '..', 'docs', 'policy.md')).href;
