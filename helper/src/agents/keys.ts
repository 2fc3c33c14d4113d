/**
 * API keys of agents: the real key stays with leashd (a secret named like the agent's
 * variable) and the sandbox sees a placeholder. The permit each profile adds to the session's
 * policy lets the agent reach its API host and, when leashd holds the key, has the proxy put
 * it on requests to that host only.
 */
import * as net from 'node:net';
import { PLACEHOLDER_PREFIX } from '../secrets/store';
import type { AgentProfile, ApiKey } from './profile';

/** A host name safe to write into Cedar and to match against a TLS server name (an address
 *  has no server name, so it is not one). */
const HOST = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** What the sandbox holds in place of an agent's keys; never a real key. */
export function keyPlaceholder(profile: AgentProfile): string {
  return `${PLACEHOLDER_PREFIX}${profile.name}`;
}

/** The host `key` goes to: its own, or that of the `https:` base URL the caller set for it.
 *  A plain-HTTP or unparsable base URL keeps the key's own host (a key never travels in
 *  clear text; such a URL then gets the placeholder). */
export function keyHost(key: ApiKey, callerEnv: Record<string, string>): string {
  const base = key.baseUrlEnv ? callerEnv[key.baseUrlEnv] : undefined;
  if (!base || !URL.canParse(base)) return key.host;
  const url = new URL(base);
  const named = HOST.test(url.hostname) && net.isIP(url.hostname) === 0;
  return url.protocol === 'https:' && named ? url.hostname : key.host;
}

/**
 * The Cedar a profile adds to its sessions' policy: for each key, a permit for the agent (and
 * no other principal) to send HTTP requests to the key's host, which injects the key when
 * `held` (the secrets leashd holds) has it. A user's forbid still wins over it.
 */
export function agentPolicy(
  profile: AgentProfile,
  callerEnv: Record<string, string>,
  held: string[],
): string {
  return profile.apiKeys
    .map((key) => {
      const host = keyHost(key, callerEnv);
      const inject = held.includes(key.env)
        ? `@inject_header(${JSON.stringify(key.header.replace('KEY', `\${secret:${key.env}}`))})\n`
        : '';
      return (
        `\n@id("leash-agent-${profile.name}-${key.env}")\n${inject}` +
        `permit (\n  principal == Leash::Agent::"${profile.name}",\n` +
        '  action == Leash::Action::"HttpRequest",\n' +
        `  resource == Leash::Host::"${host}"\n);\n`
      );
    })
    .join('');
}

interface SecretsClient {
  call<T>(method: string, request: object): Promise<T>;
}

/**
 * `leash run`'s part: each of the agent's keys found in the caller's environment is handed to
 * leashd as the secret of the same name (replacing an earlier value). Returns notices for the
 * user when the agent has keys and none is in the environment or held by leashd.
 */
export async function registerKeys(
  client: SecretsClient,
  profile: AgentProfile,
  callerEnv: NodeJS.ProcessEnv,
): Promise<string[]> {
  if (profile.apiKeys.length === 0) return [];
  let registered = false;
  for (const key of profile.apiKeys) {
    const value = callerEnv[key.env];
    if (!value || value.startsWith(PLACEHOLDER_PREFIX)) continue;
    await client.call('setSecret', { name: key.env, value });
    registered = true;
  }
  if (registered) return [];
  const { names } = await client.call<{ names?: string[] }>('listSecrets', {});
  if (profile.apiKeys.some((k) => (names ?? []).includes(k.env))) return [];
  const variables = profile.apiKeys.map((k) => k.env).join(' or ');
  const store = `leash secret set ${profile.apiKeys[0]?.env ?? ''}`;
  return [
    `no ${variables} in your environment or held by leashd: ${profile.title} reaches its API ` +
      `without a key from Leash (set the variable, or \`${store}\`)`,
  ];
}
