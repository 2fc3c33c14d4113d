/** All sessions of this leashd: creation, lookup, and the end of each. */
import * as crypto from 'node:crypto';
import {
  agentEnv,
  agentImage,
  agentPolicy,
  agentProfile,
  ensureConfigVolumes,
  KNOWN_AGENTS,
  type AgentProfile,
} from '../agents';
import type { AuditWriter } from '../audit/writer';
import type { Logger } from '../log';
import { sandboxEgress } from '../proxy/egress';
import { readDevcontainer, type DevcontainerSetup } from '../runtime/devcontainer';
import { baseImageOf, userIn, withAgentLayer } from '../runtime/devcontainer-image';
import { ENV_ALLOWLIST, type DockerRuntime } from '../runtime/docker';
import { PROCESS_HOME, sandboxUser, type ProcessRuntime } from '../runtime/process';
import { processNotices } from '../runtime/process-notices';
import { parseRuntime } from '../runtime/runtime';
import { parseMode } from './modes';
import { followPolicyFile } from './policy-watch';
import { SANDBOX_HOME, Session, type SessionSpec } from './session';
import { checkWorkspace } from './workspace';

export { KNOWN_AGENTS };
const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export class SessionManager {
  private readonly sessions = new Map<string, Session>();

  /** `dockerProblem`: why the docker runtime cannot be used here, when it cannot. */
  constructor(
    private readonly runtime: DockerRuntime,
    private readonly processRuntime: ProcessRuntime,
    private readonly dockerProblem: string | undefined,
    private readonly audit: AuditWriter,
    private readonly log: Logger,
    private readonly image: string,
    private readonly leashdPaths: string[],
    /** The kernel backend every session enforces with (docs/lsm.md). */
    private readonly backend: 'lsm' | 'portable' = 'portable',
  ) {}

  /** The image, home, environment and extras from the workspace's devcontainer.json, if any. */
  private async devcontainer(
    workspace: string,
    profile: { name: string; image: string },
    leashImage: string,
  ): Promise<
    | { image: string; home: string; env: Record<string, string>; setup: DevcontainerSetup }
    | undefined
  > {
    const dc = readDevcontainer(workspace);
    if (!dc) return undefined;
    const docker = this.runtime.docker;
    const base = await baseImageOf(docker, dc);
    const image =
      profile.image === 'base'
        ? base
        : await withAgentLayer(docker, base, leashImage, profile.name);
    const user = dc.user ?? ((await docker.getImage(image).inspect()).Config.User || 'root');
    const { home, uid, gid } = await userIn(docker, image, user);
    this.log.info('sandbox from devcontainer.json', { file: dc.file, image, user, home });
    return {
      image,
      home,
      env: dc.env,
      setup: {
        file: dc.file,
        ...(dc.user !== undefined ? { user: dc.user } : {}),
        owner: { uid, gid },
        mounts: dc.mounts,
        ...(dc.postCreate ? { postCreate: dc.postCreate } : {}),
        notices: dc.notHonoured.map((n) => `${dc.file}: ${n}`),
      },
    };
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  get(name: string): Session {
    const s = this.sessions.get(name);
    if (!s) throw new Error(`no session named ${name}; \`leash sessions\` lists them`);
    return s;
  }

  async create(
    req: Omit<SessionSpec, 'mode' | 'runtime'> & { mode: string; runtime: string },
  ): Promise<Session> {
    const profile = agentProfile(req.agent);
    const mode = parseMode(req.mode);
    const runtime = parseRuntime(req.runtime);
    const name = req.name || crypto.randomBytes(4).toString('hex');
    if (!NAME_RE.test(name)) {
      throw new Error(`session name ${name} is not valid: use lower-case letters, digits, . _ -`);
    }
    if (this.sessions.has(name)) throw new Error(`a session named ${name} already exists`);
    const workspace = checkWorkspace(req.workspace, this.leashdPaths);
    if (runtime === 'process') return this.createProcess({ ...req, name, mode, workspace });
    if (this.dockerProblem) {
      throw new Error(`${this.dockerProblem}; or run the session with --runtime process`);
    }
    const leashImage = agentImage(profile, this.image);
    if (!(await this.runtime.imageExists(leashImage))) {
      throw new Error(
        profile.image === 'base'
          ? `sandbox image ${leashImage} is missing; run \`npm run setup\` to build it`
          : `agents image ${leashImage} is missing; run \`bash scripts/build-agent-image.sh\` ` +
              '(or `LEASH_AGENT_IMAGES=1 npm run setup`) to build it',
      );
    }

    const dc = await this.devcontainer(workspace, profile, leashImage);
    const image = dc?.image ?? leashImage;

    const home = dc?.home ?? SANDBOX_HOME;
    const env = sandboxEnv(home, req.env);
    Object.assign(env, dc?.env ?? {}, agentEnv(profile, req.env, home));
    const session = new Session(
      {
        ...req,
        name,
        mode,
        runtime,
        backend: this.backend,
        workspace,
        env,
        command: profile.command(req.command),
        agentPolicy: agentHostsPolicy(profile, req.env),
        volumes: await ensureConfigVolumes(
          this.runtime.docker,
          profile,
          workspace,
          home,
          dc?.setup.owner,
        ),
        ...(dc ? { home: dc.home, devcontainer: dc.setup } : {}),
      },
      this.runtime,
      this.audit,
      this.log.child({ session: name }),
      image,
    );
    return this.started(session);
  }

  /** A session without an image: the host's own programs, as the workspace's owner. */
  private async createProcess(
    req: Omit<SessionSpec, 'runtime' | 'home' | 'devcontainer'>,
  ): Promise<Session> {
    // Checked here too, so that a root-owned workspace is refused before anything starts.
    sandboxUser(req.workspace);
    const profile = agentProfile(req.agent);
    const env = sandboxEnv(PROCESS_HOME, req.env);
    Object.assign(env, agentEnv(profile, req.env, PROCESS_HOME));
    const session = new Session(
      {
        ...req,
        runtime: 'process',
        backend: this.backend,
        home: PROCESS_HOME,
        env,
        command: profile.command(req.command),
        agentPolicy: agentHostsPolicy(profile, req.env),
        notices: processNotices(req.workspace, profile),
      },
      this.processRuntime,
      this.audit,
      this.log.child({ session: req.name }),
      '',
    );
    return this.started(session);
  }

  /** Starts a session and keeps it until it stops; one that fails to start is forgotten. */
  private async started(session: Session): Promise<Session> {
    const name = session.name;
    const log = this.log.child({ session: name });
    this.sessions.set(name, session);
    session.onStop(() => this.sessions.delete(name));
    try {
      await session.start();
    } catch (err) {
      this.sessions.delete(name);
      throw err;
    }
    session.onStop(followPolicyFile(session, log));
    return session;
  }

  async stopAll(reason: string): Promise<void> {
    await Promise.all(this.list().map((s) => s.stop(reason)));
  }
}

const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The permits for the agent's API hosts, with its keys when leashd holds them. */
function agentHostsPolicy(profile: AgentProfile, caller: Record<string, string>): string {
  return agentPolicy(profile, caller, sandboxEgress()?.secrets.names() ?? []);
}

/** PATH, HOME and the allowlisted variables the caller set; nothing else of its environment. */
function sandboxEnv(home: string, caller: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: SANDBOX_PATH, HOME: home };
  for (const key of ENV_ALLOWLIST) {
    const v = caller[key];
    if (v !== undefined) env[key] = v;
  }
  return env;
}
