/**
 * A workspace's `.devcontainer/devcontainer.json`, read as the base of its sandbox. The file
 * comes with the workspace (a cloned repository can ship one), so it is untrusted: only a safe
 * subset is honoured, anything that would weaken the sandbox is refused with the file, line and
 * column, and every other key is reported as not honoured rather than silently dropped.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findNodeAtLocation, parseTree, printParseErrorCode, type Node } from 'jsonc-parser';

export const DEVCONTAINER_FILE = path.join('.devcontainer', 'devcontainer.json');

export interface DevcontainerBuild {
  /** Absolute paths on the host, both inside the workspace. */
  dockerfile: string;
  context: string;
  args: Record<string, string>;
  target?: string;
}

export interface DevcontainerMount {
  /** The Docker volume's name, scoped to the workspace (`leash-dc-<hash>-<name>`). */
  source: string;
  target: string;
  type: 'volume';
  readOnly: boolean;
}

export interface Devcontainer {
  file: string;
  /** Exactly one of `image` and `build`. */
  image?: string;
  build?: DevcontainerBuild;
  /** The user the agent runs as (`remoteUser`, else `containerUser`); the image's default if
   *  unset. */
  user?: string;
  env: Record<string, string>;
  mounts: DevcontainerMount[];
  /** Run once in the sandbox after it starts, before the agent, under the same policy. */
  postCreate?: { shell: string } | { argv: string[] };
  /** Keys present in the file that this version does not act on, with the reason. */
  notHonoured: string[];
}

export class DevcontainerError extends Error {}

/** Keys read and acted on. */
const HONOURED = new Set([
  'name',
  'image',
  'build',
  'remoteUser',
  'containerUser',
  'containerEnv',
  'remoteEnv',
  'mounts',
  'postCreateCommand',
  'workspaceFolder',
  'workspaceMount',
  'runArgs',
  'privileged',
  'capAdd',
  'securityOpt',
]);

/** Keys that are understood but deliberately not acted on, and why. */
const IGNORED: Record<string, string> = {
  initializeCommand: 'it would run on the host, outside the sandbox',
  onCreateCommand: 'only postCreateCommand is run',
  updateContentCommand: 'only postCreateCommand is run',
  postStartCommand: 'only postCreateCommand is run',
  postAttachCommand: 'only postCreateCommand is run',
  features: 'dev container features are not installed (they need a registry)',
  forwardPorts: 'ports are not forwarded; connects are decided by the policy',
  appPort: 'ports are not published',
  portsAttributes: 'ports are not published',
  otherPortsAttributes: 'ports are not published',
  customizations: 'editor customizations are for the editor, not the sandbox',
  hostRequirements: 'host requirements are not checked',
  shutdownAction: 'a session ends when its agent exits',
  overrideCommand: 'the sandbox always runs its own init',
  userEnvProbe: 'the environment comes from containerEnv and remoteEnv only',
  updateRemoteUserUID: 'user ids are not remapped',
  waitFor: 'the agent starts after postCreateCommand',
  $schema: 'informational',
};

/** runArgs that would open the sandbox up. */
const REFUSED_RUN_ARGS = [
  '--privileged',
  '--cap-add',
  '--security-opt',
  '--device',
  '--network',
  '--net',
  '--pid',
  '--ipc',
  '--uts',
  '--userns',
  '--cgroupns',
  '-v',
  '--volume',
  '--mount',
  '--sysctl',
  '--add-host',
  '--dns',
  '--runtime',
  '--gpus',
];

interface Where {
  line: number;
  column: number;
}

/** Reads and checks the workspace's devcontainer.json; undefined when there is none. */
export function readDevcontainer(workspace: string): Devcontainer | undefined {
  const file = path.join(workspace, DEVCONTAINER_FILE);
  if (!fs.existsSync(file)) return undefined;
  const text = fs.readFileSync(file, 'utf8');
  const errors: { error: number; offset: number; length: number }[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const at = (offset: number): Where => whereOf(text, offset);
  const fail = (node: Node | undefined, message: string): never => {
    const w = at(node?.offset ?? 0);
    throw new DevcontainerError(`${file}:${w.line}:${w.column}: ${message}`);
  };
  const first = errors[0];
  if (first) {
    const w = at(first.offset);
    throw new DevcontainerError(
      `${file}:${w.line}:${w.column}: not valid JSON with comments ` +
        `(${printParseErrorCode(first.error)})`,
    );
  }
  if (!root || root.type !== 'object') return fail(root, 'the file must hold one JSON object');

  const value = (key: string): Node | undefined => findNodeAtLocation(root, [key]);
  const str = (key: string): string | undefined => {
    const n = value(key);
    if (n === undefined) return undefined;
    if (n.type !== 'string') return fail(n, `"${key}" must be a string`);
    return n.value as string;
  };
  const strMap = (key: string): Record<string, string> => {
    const n = value(key);
    if (n === undefined) return {};
    if (n.type !== 'object') return fail(n, `"${key}" must be an object of strings`);
    const out: Record<string, string> = {};
    for (const prop of n.children ?? []) {
      const [k, v] = prop.children ?? [];
      if (!k || !v || v.type !== 'string')
        return fail(v ?? prop, `"${key}" values must be strings`);
      if (/\$\{localEnv:/.test(v.value as string)) {
        return fail(
          v,
          `"${key}.${k.value}" reads the host's environment, which never enters the sandbox`,
        );
      }
      out[k.value as string] = v.value as string;
    }
    return out;
  };

  const notHonoured: string[] = [];
  for (const prop of root.children ?? []) {
    const key = prop.children?.[0]?.value as string;
    if (HONOURED.has(key)) continue;
    const w = at(prop.offset);
    notHonoured.push(`${key} (line ${w.line}): ${IGNORED[key] ?? 'not supported by Leash'}`);
  }

  if (value('privileged')?.value === true) {
    fail(value('privileged'), '"privileged": true is refused: a sandbox never runs privileged');
  }
  for (const key of ['capAdd', 'securityOpt']) {
    const n = value(key);
    if (n && (n.type !== 'array' || (n.children?.length ?? 0) > 0)) {
      fail(n, `"${key}" is refused: the sandbox's capabilities and security options are Leash's`);
    }
  }
  const runArgs = value('runArgs');
  if (runArgs) {
    if (runArgs.type !== 'array') fail(runArgs, '"runArgs" must be an array of strings');
    for (const a of runArgs.children ?? []) {
      const arg = String(a.value);
      const flag = arg.split('=')[0] ?? arg;
      if (REFUSED_RUN_ARGS.includes(flag)) {
        fail(a, `runArgs "${arg}" is refused: it would change the sandbox's isolation`);
      }
    }
    if ((runArgs.children?.length ?? 0) > 0) {
      notHonoured.push('runArgs: other docker run flags are not passed on');
    }
  }
  const folder = str('workspaceFolder');
  if (folder !== undefined && folder !== workspace && folder !== '${localWorkspaceFolder}') {
    notHonoured.push(`workspaceFolder: the workspace is always mounted at ${workspace}`);
  }
  if (value('workspaceMount')) {
    notHonoured.push(`workspaceMount: the workspace is always mounted at ${workspace}`);
  }

  const dir = path.dirname(file);
  const image = str('image');
  const buildNode = value('build');
  let build: DevcontainerBuild | undefined;
  if (buildNode) {
    if (buildNode.type !== 'object') fail(buildNode, '"build" must be an object');
    const dockerfileNode = findNodeAtLocation(buildNode, ['dockerfile']);
    if (dockerfileNode?.type !== 'string') fail(buildNode, '"build.dockerfile" must name a file');
    const context = path.resolve(
      dir,
      String(findNodeAtLocation(buildNode, ['context'])?.value ?? '.'),
    );
    const dockerfile = path.resolve(dir, String(dockerfileNode?.value));
    // Judged on the real paths: a symlink in the workspace must not make a host folder (a home
    // directory, other repositories) the build context.
    const realWorkspace = fs.realpathSync(workspace);
    for (const [what, p, n] of [
      ['build.context', context, findNodeAtLocation(buildNode, ['context'])],
      ['build.dockerfile', dockerfile, dockerfileNode],
    ] as const) {
      const real = fs.existsSync(p) ? fs.realpathSync(p) : p;
      if (!isInside(p, workspace) || !isInside(real, realWorkspace)) {
        fail(n ?? buildNode, `${what} must be inside the workspace (symbolic links are followed)`);
      }
    }
    if (!fs.existsSync(dockerfile)) fail(dockerfileNode, `no Dockerfile at ${dockerfile}`);
    const argsNode = findNodeAtLocation(buildNode, ['args']);
    const args: Record<string, string> = {};
    for (const prop of argsNode?.children ?? []) {
      const [k, v] = prop.children ?? [];
      if (k && v) args[String(k.value)] = String(v.value);
    }
    const target = findNodeAtLocation(buildNode, ['target'])?.value as string | undefined;
    build = {
      dockerfile: fs.realpathSync(dockerfile),
      context: fs.realpathSync(context),
      args,
      ...(target ? { target } : {}),
    };
  }
  if (image === undefined && build === undefined) {
    fail(
      root,
      'name an "image" or a "build" with a "dockerfile" (Compose files are not supported)',
    );
  }
  if (image !== undefined && build !== undefined) {
    fail(buildNode, 'give either "image" or "build", not both');
  }

  const mounts = (value('mounts')?.children ?? []).map((n) => mountOf(n, workspace, fail));
  const user = str('remoteUser') ?? str('containerUser');
  if (user !== undefined && !/^[a-z_][a-z0-9_.-]*(:[a-z0-9_.-]+)?$|^\d+(:\d+)?$/i.test(user)) {
    fail(value('remoteUser') ?? value('containerUser'), `"${user}" is not a user name or id`);
  }

  const post = value('postCreateCommand');
  let postCreate: Devcontainer['postCreate'];
  if (post?.type === 'string') postCreate = { shell: post.value as string };
  else if (post?.type === 'array') {
    const argv = (post.children ?? []).map((c) => String(c.value));
    if (argv.length === 0) fail(post, '"postCreateCommand" is an empty list');
    postCreate = { argv };
  } else if (post) {
    fail(post, '"postCreateCommand" must be a string or a list (the object form is not supported)');
  }

  return {
    file,
    ...(image !== undefined ? { image } : {}),
    ...(build ? { build } : {}),
    ...(user !== undefined ? { user } : {}),
    env: { ...strMap('containerEnv'), ...strMap('remoteEnv') },
    mounts,
    ...(postCreate ? { postCreate } : {}),
    notHonoured,
  };
}

/** One `mounts` entry, in the string form (`source=…,target=…,type=…`) or the object form. */
function mountOf(
  n: Node,
  workspace: string,
  fail: (node: Node | undefined, message: string) => never,
): DevcontainerMount {
  const fields: Record<string, string> = {};
  if (n.type === 'string') {
    for (const part of String(n.value).split(',')) {
      const eq = part.indexOf('=');
      if (eq < 0) fields[part.trim()] = 'true';
      else fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
  } else if (n.type === 'object') {
    for (const prop of n.children ?? []) {
      const [k, v] = prop.children ?? [];
      if (k && v) fields[String(k.value)] = String(v.value);
    }
  } else {
    return fail(n, 'a mount must be a string or an object');
  }
  const source = fields.source ?? fields.src ?? '';
  const target = fields.target ?? fields.destination ?? fields.dst ?? '';
  const type = fields.type ?? 'bind';
  const readOnly = fields.readonly === 'true' || fields.readonly === '' || fields.ro === 'true';
  if (!target.startsWith('/')) fail(n, 'a mount needs an absolute "target"');
  const normal = path.posix.normalize(target).replace(/(.)\/$/, '$1');
  for (const reserved of ['/', '/proc', '/sys', '/dev', '/.leash-launch', workspace]) {
    if (normal === reserved || isInside(normal, workspace) || isInside(reserved, normal)) {
      fail(n, `a mount onto ${target} is refused: it would cover the workspace or the system`);
    }
  }
  if (type !== 'volume') {
    fail(
      n,
      `mount of ${source || '(no source)'} is refused: only Docker volumes can be mounted. A bind ` +
        'mount would show host files, or workspace files under a second name, that the ' +
        "policy's path rules do not cover",
    );
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(source)) fail(n, `volume name "${source}" is not valid`);
  // Volumes are scoped to the workspace, so a file cannot reach another project's volumes.
  const scope = crypto.createHash('sha256').update(workspace).digest('hex').slice(0, 12);
  return { source: `leash-dc-${scope}-${source}`, target: normal, type: 'volume', readOnly };
}

function isInside(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function whereOf(text: string, offset: number): Where {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** What a session takes from a devcontainer.json beyond its image. */
export interface DevcontainerSetup {
  file: string;
  user?: string;
  /** The user's ids, for what leashd creates for it (the MCP socket, configuration volumes). */
  owner?: { uid: number; gid: number };
  mounts: DevcontainerMount[];
  postCreate?: Devcontainer['postCreate'];
  /** Said to the user when the session starts: what the file asked for and did not get. */
  notices: string[];
}

/** The mounts as Docker binds (`volume:target:ro|rw`). */
export function bindsOf(mounts: DevcontainerMount[]): string[] {
  return mounts.map((m) => `${m.source}:${m.target}:${m.readOnly ? 'ro' : 'rw'}`);
}
