import { LABEL } from '../../adapters/docker/labels.js';
import type { ContainerDetail } from '../../adapters/docker/types.js';
import type { ExpectedService } from '../../config/schema.js';
import { redact } from '../../safety/redact.js';
import { containerHealth, type ServiceStatus, serviceHealth } from './service-status.js';

export const CONDITIONS = ['service_healthy', 'service_started', 'service_completed_successfully'] as const;
export type Condition = (typeof CONDITIONS)[number];

export interface Dependency {
  service: string;
  condition: Condition;
  /** From the config's startup DAG (no condition given there), not from Compose's own label. */
  fromConfig?: boolean;
}

/** Compose v2 records depends_on on each container: "mongodb:service_healthy:false,nats:service_started:false". */
export function parseDependsOnLabel(label: string | undefined): Dependency[] {
  if (!label) return [];
  return label
    .split(',')
    .map((part) => part.split(':'))
    .filter((f) => f[0])
    .map(([service, condition]) => ({
      service: service!,
      condition: (CONDITIONS as readonly string[]).includes(condition ?? '')
        ? (condition as Condition)
        : 'service_started',
    }));
}

/**
 * What a service waits for: Compose v2's depends_on label on its containers when present,
 * otherwise the handbook's startup DAG from config (services.<name>.dependsOn, as service_healthy).
 */
export function dependenciesOf(
  expected: ExpectedService | undefined,
  containers: ReadonlyArray<Pick<ContainerDetail, 'labels'>>,
): Dependency[] {
  const fromLabel = parseDependsOnLabel(
    containers.find((d) => d.labels[LABEL.dependsOn])?.labels[LABEL.dependsOn],
  );
  if (fromLabel.length) return fromLabel;
  return (expected?.dependsOn ?? []).map((service) => ({
    service,
    condition: 'service_healthy' as const,
    fromConfig: true,
  }));
}

/**
 * Whether a dependency holds, given the dependency's containers. The config's DAG has no
 * conditions: a dependency that ran once and exited 0 under restart "no" or on-failure is a
 * one-shot job (a migration) that completed, which is what its dependents waited for.
 */
export function dependencyHolds(
  dep: Dependency,
  status: ServiceStatus,
  containers: ReadonlyArray<Pick<ContainerDetail, 'healthcheck' | 'restartPolicy'>>,
): boolean {
  if (
    satisfied(
      dep.condition,
      status,
      containers.some((d) => d.healthcheck !== null),
    )
  )
    return true;
  return (
    Boolean(dep.fromConfig) &&
    status === 'stopped' &&
    containers.length > 0 &&
    containers.every((d) => d.restartPolicy.name === 'no' || d.restartPolicy.name === 'on-failure')
  );
}

/** Whether a dependency in `status` meets `condition`. */
export function satisfied(condition: Condition, s: ServiceStatus, hasHealthcheck: boolean): boolean {
  if (condition === 'service_completed_successfully') return s === 'stopped';
  if (condition === 'service_started') return s === 'healthy' || s === 'running' || s === 'starting';
  // Without a healthcheck, "healthy" can only mean running.
  return s === 'healthy' || (s === 'running' && !hasHealthcheck);
}

/**
 * The dependencies of `service` that do not hold now, described for a person: "db (depends_on
 * service_healthy), which is unhealthy: health check failing: …". `all` is every container of the
 * stack (inspected); `expectedOf` gives each service's configured expectations.
 */
export function unmetDependencies(
  service: string,
  all: readonly ContainerDetail[],
  expectedOf: (service: string) => ExpectedService | undefined,
  now: number,
): string[] {
  return dependenciesOf(
    expectedOf(service),
    all.filter((d) => d.service === service),
  ).flatMap((dep) => {
    const mine = all.filter((d) => d.service === dep.service);
    const expected = expectedOf(dep.service);
    const h = serviceHealth(
      expected,
      mine.map((d) => containerHealth(d, expected?.startPeriod ?? 0, now)),
      { service: dep.service },
    );
    if (
      satisfied(
        dep.condition,
        h.status,
        mine.some((d) => d.healthcheck !== null),
      )
    )
      return [];
    const why = h.problems[0]
      ? // Any container's secret, not only the dependency's: the whole stack is at hand here.
        redact(
          h.problems[0],
          all.flatMap((d) => d.secretValues),
        )
      : undefined;
    return [`${dep.service} (depends_on ${dep.condition}), which is ${h.status}${why ? `: ${why}` : ''}`];
  });
}
