/** Compose's own labels: how both Compose v1 (proj_svc_1) and v2 (proj-svc-1) mark containers. */
export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  /** On volumes: the Compose file's volume key (nats-data for <project>_nats-data). */
  volume: 'com.docker.compose.volume',
  number: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  configHash: 'com.docker.compose.config-hash',
  configFiles: 'com.docker.compose.project.config_files',
  workingDir: 'com.docker.compose.project.working_dir',
  version: 'com.docker.compose.version',
  /** Compose v2 only: the service's depends_on as name:condition:restart,... */
  dependsOn: 'com.docker.compose.depends_on',
} as const;

export interface ComposeIdentity {
  project: string;
  service: string;
  /** Replica number; 0 when the label is missing or malformed. */
  number: number;
  /** `docker compose run` containers: not replicas of the service. */
  oneoff: boolean;
}

/** Reads Compose's identity from labels; undefined for containers Compose did not create. */
export function composeIdentity(
  labels: Record<string, string> | null | undefined,
): ComposeIdentity | undefined {
  if (!labels) return undefined;
  const project = labels[LABEL.project];
  const service = labels[LABEL.service];
  if (!project || !service) return undefined;
  const number = Number.parseInt(labels[LABEL.number] ?? '', 10);
  return {
    project,
    service,
    number: Number.isFinite(number) && number > 0 ? number : 0,
    oneoff: /^true$/i.test(labels[LABEL.oneoff] ?? ''),
  };
}

/** Engine names carry a leading slash ("/clau-doom_agent_1"). */
export function containerName(names: string[] | string | undefined): string {
  const first = Array.isArray(names) ? names[0] : names;
  return (first ?? '').replace(/^\//, '');
}
