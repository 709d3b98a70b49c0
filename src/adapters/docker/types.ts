/** The stack as the Docker adapter reports it; plain data, no dockerode types leak past here. */
export interface StackContainer {
  id: string;
  name: string;
  project: string;
  service: string;
  number: number;
  oneoff: boolean;
  /** Engine state: created | running | paused | restarting | removing | exited | dead */
  state: string;
  /** Engine status text, e.g. "Up 5 minutes (healthy)". */
  status: string;
  image: string;
  createdAt: string;
  labels: Record<string, string>;
}

/** A named volume of a stack as the engine holds it. */
export interface StackVolume {
  /** The engine's name, e.g. clau-doom_nats-data. */
  name: string;
  /** The Compose file's key, e.g. nats-data. */
  key: string;
  driver: string;
  options: Record<string, string>;
  /** A path on the engine's host. */
  mountpoint: string;
}

export interface HealthProbe {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

export interface ContainerDetail {
  id: string;
  name: string;
  service: string | undefined;
  number: number;
  image: string;
  createdAt: string;
  state: {
    status: string;
    running: boolean;
    restarting: boolean;
    paused: boolean;
    oomKilled: boolean;
    exitCode: number;
    error: string;
    startedAt: string | null;
    finishedAt: string | null;
    pid: number;
  };
  health: { status: string; failingStreak: number; log: HealthProbe[] } | null;
  healthcheck: { test: string[]; intervalNs: number; startPeriodNs: number; retries: number } | null;
  restartCount: number;
  restartPolicy: { name: string; maximumRetryCount: number };
  memoryLimitBytes: number | null;
  nanoCpus: number | null;
  /** HostConfig.PidsLimit (Compose pids_limit); null when unlimited. */
  pidsLimit: number | null;
  /** HostConfig.CpusetCpus (Compose cpuset), e.g. "0,1"; null = any CPU. */
  cpuset: string | null;
  /** HostConfig.LogConfig: the logging driver and its options (decides whether logs can be read back). */
  logConfig: { driver: string; options: Record<string, string> };
  tty: boolean;
  /** HostConfig.ReadonlyRootfs (Compose read_only: true): only mounts and tmpfs are writable. */
  readOnlyRootfs: boolean;
  /** HostConfig.NetworkMode: default, bridge, host, none, a network name, or container:<id>. */
  networkMode: string;
  user: string;
  /** Seconds `docker stop` waits before SIGKILL (Compose's stop_grace_period); null = engine default. */
  stopTimeoutS: number | null;
  /** Values of environment variables whose names look secret: redacted wherever they appear. */
  secretValues: string[];
  /**
   * What it asks of GPUs (HostConfig.DeviceRequests: driver, count (-1 = all), device ids,
   * capabilities; HostConfig.Runtime; NVIDIA_VISIBLE_DEVICES); null when it asks for none.
   */
  gpu: {
    requests: Array<{ driver: string; count: number; deviceIds: string[]; capabilities: string[] }>;
    runtime: string | null;
    visibleDevices: string | null;
  } | null;
  /** LogPath: the json-file driver's log file on the engine's host; null for other drivers. */
  logPath: string | null;
  /** Names of the environment variables set in the container (Config.Env), and those set empty; never values. */
  envNames: string[];
  emptyEnv: string[];
  labels: Record<string, string>;
  mounts: MountInfo[];
  /** Ports the container asks to publish (HostConfig), whether or not it is running. */
  portBindings: PortBinding[];
  /** Published host port ranges the container asks for (one port of the range per container). */
  portRanges: PortRange[];
  /** Ports published with no host port asked for: the engine picks one at each start. */
  ephemeralPorts: PortRequest[];
  /** Ports the engine actually published (only while running), ephemeral and range ports included. */
  publishedPorts: PortBinding[];
  /** Container ports the image or Compose exposes, e.g. "4222/tcp". */
  exposedPorts: string[];
  /** The networks it is attached to, with its aliases and its IPv4 address there (null when stopped). */
  networks: Array<{ name: string; aliases: string[]; ip: string | null }>;
}

export interface MountInfo {
  type: string;
  /** Volume name for volumes, null for binds. */
  name: string | null;
  source: string;
  destination: string;
  rw: boolean;
}

export interface PortBinding {
  containerPort: string;
  hostIp: string;
  hostPort: number;
}

/** A container port published on a host port the engine chooses. */
export interface PortRequest {
  containerPort: string;
  hostIp: string;
}

export interface PortRange {
  containerPort: string;
  hostIp: string;
  from: number;
  to: number;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  time: string | undefined;
  text: string;
  /** Service logs (Swarm) only: the task the line came from, and its node's id. */
  task?: string;
  nodeId?: string;
}

export interface EngineEvent {
  time: string;
  type: string;
  action: string;
  id: string;
  name: string | undefined;
  attributes: Record<string, string>;
}

/** GET /containers/{id}/top: the live processes (zombies are not listed), one row per ps line. */
export interface ProcessList {
  titles: string[];
  processes: string[][];
}

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
}
