/** Loads the service definition from helper/proto/leash.proto (shared by leashd and clients). */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_PATH } from './config';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export function loadService(): grpc.ServiceClientConstructor {
  const def = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    leash: { v1: { Leash: grpc.ServiceClientConstructor } };
  };
  return pkg.leash.v1.Leash;
}

/** Wire shapes (camelCase, as proto-loader gives them). */
export interface SessionInfoMsg {
  name: string;
  agent: string;
  workspace: string;
  mode: string;
  state: string;
  policyHash: string;
  policyOrigin: string;
  containerId: string;
  started: string;
  principals: string[];
  denials: string;
  notices: string[];
  runtime: string;
}

export interface EventMsg {
  id: string;
  time: string;
  session: string;
  principal: string;
  kind: string;
  action: string;
  machine: string;
  resource: string;
  decision: string;
  policies: string[];
  count: string;
  pid: number;
  comm: string;
  details: string;
}

export interface AttachInputMsg {
  start?: {
    session: string;
    tty: boolean;
    cols: number;
    rows: number;
    /** `leash exec`: a further command, as `principal`; empty for the session's own. */
    command?: string[];
    principal?: string;
  };
  stdin?: Buffer;
  resize?: { cols: number; rows: number };
  closeStdin?: boolean;
  input?: string;
}

export interface AttachOutputMsg {
  stdout?: Buffer;
  stderr?: Buffer;
  exitCode?: number;
  output?: string;
}
