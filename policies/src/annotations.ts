/** The annotations of each policy, by `@id`: enforcement settings such as `@always` live here. */
import { cedar } from './cedar';
import { splitPolicies } from './source';

export type Annotations = Record<string, string>;

/** Annotations keyed by policy id; policies without an id or that fail to parse are skipped
 *  (checkPolicy reports them). */
export function policyAnnotations(text: string): Map<string, Annotations> {
  const byId = new Map<string, Annotations>();
  for (const source of splitPolicies(text)) {
    const json = cedar.policyToJson(source.text);
    if (json.type === 'failure') continue;
    const annotations = (json.json.annotations ?? {}) as Record<string, string | null>;
    const id = annotations.id;
    if (!id) continue;
    const clean: Annotations = {};
    for (const [k, v] of Object.entries(annotations)) clean[k] = v ?? '';
    byId.set(id, clean);
  }
  return byId;
}
