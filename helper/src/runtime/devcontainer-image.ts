/**
 * The image a devcontainer session runs: the workspace's image (or one built from its
 * Dockerfile, offline, cached by content), plus, for an agent other than the shell, a layer
 * with Node and that agent's CLI copied from Leash's agents image.
 */
import type Docker from 'dockerode';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extract } from 'tar-stream';
import type { Devcontainer } from './devcontainer';

/** Files of a build context larger than this in all are refused (a context is sent whole). */
const MAX_CONTEXT_BYTES = 512 * 1024 * 1024;

async function exists(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/** Every file below `dir`, relative, sorted; symlinks are listed, not followed; anything else
 *  (a FIFO, a socket, a device) is refused. */
function filesOf(dir: string): string[] {
  const out: string[] = [];
  let bytes = 0;
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (!entry.isFile() && !entry.isSymbolicLink()) {
        // A FIFO would block the read (and leashd with it); sockets and devices are no content.
        throw new Error(
          `the devcontainer build context holds ${path.join(dir, child)}, which is neither a ` +
            'file, a directory nor a symbolic link; remove it or point build.context elsewhere',
        );
      } else {
        out.push(child);
        bytes += fs.lstatSync(path.join(dir, child)).size;
        if (bytes > MAX_CONTEXT_BYTES) {
          throw new Error(
            `the devcontainer build context ${dir} holds more than ` +
              `${MAX_CONTEXT_BYTES / 1024 / 1024} MB; point build.context at a smaller folder`,
          );
        }
      }
    }
  };
  walk('');
  return out.sort();
}

async function build(
  docker: Docker,
  context: string,
  files: string[],
  options: { t: string; dockerfile: string; buildargs?: Record<string, string>; target?: string },
  what: string,
): Promise<void> {
  const stream = await docker.buildImage({ context, src: files }, {
    ...options,
    buildargs: options.buildargs ? JSON.stringify(options.buildargs) : undefined,
    // The build runs outside the sandbox's enforcement, so it gets no network at all: nothing
    // from the build context can leave while the image is made.
    networkmode: 'none',
    rm: true,
  } as Docker.ImageBuildOptions);
  const log: string[] = [];
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, output: { error?: string; stream?: string }[]) => {
        const failed = err?.message ?? output.find((o) => o.error)?.error;
        if (failed) {
          const tail = log.join('').trim().split('\n').slice(-15).join('\n');
          reject(new Error(`building ${what} failed: ${failed}\n${tail}`));
        } else resolve();
      },
      (event: { stream?: string }) => {
        if (event.stream) log.push(event.stream);
      },
    );
  });
}

/** The workspace's own image: named by `image` (it must already be on this machine, since no
 *  registry is reachable), or built from `build`, tagged by a hash of everything it is built
 *  from so an unchanged workspace builds once. */
export async function baseImageOf(docker: Docker, dc: Devcontainer): Promise<string> {
  if (dc.image !== undefined) {
    if (!(await exists(docker, dc.image))) {
      throw new Error(
        `${dc.file}: image ${dc.image} is not on this machine, and leashd pulls nothing; ` +
          '`docker pull` or `docker load` it, or give a "build" with a Dockerfile',
      );
    }
    return dc.image;
  }
  const b = dc.build;
  if (!b) throw new Error(`${dc.file}: neither "image" nor "build" is set`);
  const dockerfile = path.relative(b.context, b.dockerfile);
  if (dockerfile.startsWith('..')) {
    throw new Error(`${dc.file}: build.dockerfile must be inside build.context`);
  }
  const files = filesOf(b.context);
  const hash = crypto.createHash('sha256');
  hash.update(JSON.stringify({ dockerfile, args: b.args, target: b.target ?? '' }));
  for (const f of files) {
    const full = path.join(b.context, f);
    const st = fs.lstatSync(full);
    hash.update(`${f}\0${st.mode}\0`);
    hash.update(st.isSymbolicLink() ? fs.readlinkSync(full) : fs.readFileSync(full));
  }
  const tag = `leash/devcontainer:${hash.digest('hex').slice(0, 16)}`;
  if (!(await exists(docker, tag))) {
    await build(
      docker,
      b.context,
      files,
      { t: tag, dockerfile, buildargs: b.args, ...(b.target ? { target: b.target } : {}) },
      `the image of ${dc.file}`,
    );
  }
  return tag;
}

/** `base` with Node and one agent's CLI copied in from the agents image. */
export async function withAgentLayer(
  docker: Docker,
  base: string,
  agentsImage: string,
  agent: string,
): Promise<string> {
  const ids = await Promise.all([base, agentsImage].map((i) => docker.getImage(i).inspect()));
  const hash = crypto.createHash('sha256').update(`${ids[0]?.Id}\0${ids[1]?.Id}\0${agent}`);
  const tag = `leash/devcontainer-${agent}:${hash.digest('hex').slice(0, 16)}`;
  if (await exists(docker, tag)) return tag;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leash-layer-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'Dockerfile'),
      [
        `FROM ${base}`,
        `COPY --from=${agentsImage} /usr/local/bin/node /usr/local/bin/node`,
        `COPY --from=${agentsImage} /opt/agents/${agent} /opt/agents/${agent}`,
        '',
      ].join('\n'),
    );
    await build(
      docker,
      dir,
      ['Dockerfile'],
      { t: tag, dockerfile: 'Dockerfile' },
      `the ${agent} layer`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return tag;
}

/** A user of an image: its home directory and ids. */
export interface ImageUser {
  home: string;
  uid: number;
  gid: number;
}

/** `user` (name or uid, with `:group` as Docker takes it) in `image`, from its /etc/passwd,
 *  read from a container that is created but never started; a numeric group given wins. */
export async function userIn(docker: Docker, image: string, user: string): Promise<ImageUser> {
  // An image id names fixed content, so its /etc/passwd is read once per id and user.
  const { Id: id } = await docker.getImage(image).inspect();
  const key = `${id} ${user}`;
  let found = users.get(key);
  if (found === undefined) {
    found = await readUser(docker, id, user);
    users.set(key, found);
  }
  return found;
}

const users = new Map<string, ImageUser>();

async function readUser(docker: Docker, image: string, user: string): Promise<ImageUser> {
  const [name, group] = user.split(':');
  const container = await docker.createContainer({ Image: image, Cmd: ['/bin/true'] });
  try {
    const archive = await container.getArchive({ path: '/etc/passwd' });
    const passwd = await firstFileOf(archive);
    for (const line of passwd.split('\n')) {
      const f = line.split(':');
      if (f[0] === name || f[2] === name) {
        const home = f[5] ?? '';
        const gid = group !== undefined && /^\d+$/.test(group) ? group : f[3];
        if (home.startsWith('/')) {
          return {
            home: path.posix.normalize(home).replace(/(.)\/$/, '$1'),
            uid: Number(f[2]),
            gid: Number(gid),
          };
        }
      }
    }
    throw new Error(`user ${name} is not in /etc/passwd of image ${image} (remoteUser)`);
  } finally {
    await container.remove({ force: true });
  }
}

function firstFileOf(archive: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const tar = extract();
    let text: string | undefined;
    tar.on('entry', (_header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        text ??= Buffer.concat(chunks).toString('utf8');
        next();
      });
      stream.resume();
    });
    tar.on('finish', () =>
      text === undefined ? reject(new Error('the image has no /etc/passwd')) : resolve(text),
    );
    tar.on('error', reject);
    archive.pipe(tar);
  });
}
