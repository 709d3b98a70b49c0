import Docker from 'dockerode';

const docker = new Docker();

/** The label every image built by doom-ops's scripts carries (Dockerfile, scripts/lib/rootfs-image.sh). */
export const BUILD_LABEL = 'doom-ops.build';

/** Ids of every image on the engine now, intermediate ones included (what was there before a run). */
export async function imageIds(): Promise<Set<string>> {
  return new Set((await docker.listImages({ all: true })).map((i) => i.Id));
}

/**
 * Removes the images a test run built: those labelled `doom-ops.build=<buildId>` that were not on the
 * engine when the run started (`before`). Never forced: an image a container still uses, or that
 * another image is built on, stays (and is reported). Tagged images are untagged tag by tag, which
 * deletes them with the untagged intermediate images only they used (the classic builder's steps).
 */
export async function removeBuiltImages(
  buildId: string,
  before: ReadonlySet<string>,
): Promise<{ removed: string[]; kept: Array<{ image: string; reason: string }> }> {
  const ours = (
    await docker.listImages({ all: true, filters: { label: [`${BUILD_LABEL}=${buildId}`] } })
  ).filter((i) => !before.has(i.Id));
  const removed: string[] = [];
  let left = ours;
  let reasons = new Map<string, string>();
  // Children before parents: retry what another of ours still built on, until nothing changes.
  while (left.length) {
    reasons = new Map();
    const next: typeof left = [];
    for (const image of left) {
      const refs = (image.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
      try {
        for (const ref of refs.length ? refs : [image.Id]) await docker.getImage(ref).remove();
        removed.push(refs[0] ?? image.Id);
      } catch (err) {
        const e = err as { statusCode?: number; message?: string };
        if (e.statusCode === 404) continue; // deleted with a child we removed
        reasons.set(image.Id, e.message ?? String(err));
        next.push(image);
      }
    }
    if (next.length === left.length) break;
    left = next;
  }
  return {
    removed,
    kept: left.map((i) => ({
      image: (i.RepoTags ?? []).find((t) => t !== '<none>:<none>') ?? i.Id,
      reason: reasons.get(i.Id) ?? 'unknown',
    })),
  };
}
